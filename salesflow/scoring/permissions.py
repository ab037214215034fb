"""Who may configure scoring and read data quality.

Score rules are configuration: administrators change them; everyone reads a lead's score
through the lead's own visibility. The data-quality page is for managers and
administrators, and counts only the records the reader can see (``users.policy`` through
the record apps' access functions).
"""

from __future__ import annotations

from salesflow.users.choices import Role
from salesflow.users.models import User


def can_manage_rules(user: User) -> bool:
    return bool(user.is_active and user.is_admin)


def can_see_quality_page(user: User) -> bool:
    return bool(user.is_active and (user.is_admin or user.role == Role.MANAGER))
