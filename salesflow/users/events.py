"""Event types of the users app (labels: ``core.timeline``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from salesflow.core.events import EventType, declare

_SHARE = {"share_id": "int", "grantee_user_id": "int|null", "grantee_team_id": "int|null", "access": "str"}

declare(
    EventType("users.user.created", {"role": "str"}, description="A user account was created."),
    EventType("users.api_token.created", {"name": "str"}, description="A user created an API token."),
    EventType("users.api_token.revoked", {"name": "str"}, description="An API token was revoked."),
    EventType(
        "users.share.granted",
        _SHARE,
        description="A record (the target) was shared with a user or a team; access is read or write.",
        label=_("shared the record"),
    ),
    EventType(
        "users.share.revoked",
        _SHARE,
        description="A share of the target record was revoked.",
        label=_("stopped sharing the record"),
    ),
    EventType(
        "users.login.locked",
        {"failures": "int", "locked_until": "date"},
        description="Too many failed sign-ins locked the user's username until locked_until (ISO datetime).",
    ),
)
