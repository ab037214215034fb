"""Who configures lead capture and assignment, and who sees a lead's routing panel.

- Web-to-lead forms, assignment rules, working hours and first-response SLAs are
  configuration: administrators (and the system actor) change them; nobody else reads
  them through the settings pages or the API.
- A lead's assignment history and SLA state are read by whoever may read the lead
  (``leads.permissions.get_lead_for_user``).
- The public form endpoints need no login: the unguessable token is the only key, and
  an inactive form answers 404 like an unknown token.
"""

from __future__ import annotations

from salesflow.users.models import User
from salesflow.users.permissions import is_system_actor


def can_configure_routing(user: User) -> bool:
    """Administrators and the system actor."""
    if is_system_actor(user):
        return True
    return bool(user.is_authenticated and user.is_active and user.is_admin)
