"""Who may use the duplicate report: administrators only."""

from __future__ import annotations

from django.utils.translation import gettext as _

from salesflow.core.errors import Forbidden
from salesflow.users.models import User


def may_run_duplicate_report(user: User) -> bool:
    """Only active administrators see, start and work the duplicate report."""
    return bool(user.is_active and user.is_admin)


def require_report_access(user: User) -> None:
    """Raise ``Forbidden`` unless ``user`` may use the duplicate report."""
    if not may_run_duplicate_report(user):
        raise Forbidden(_("Only administrators can use the duplicate report."))
