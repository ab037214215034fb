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

# Saved views of lists (issue 6): name, list key, query string and the team it is shared with.
_SAVED_VIEW = {"list": "str", "name": "str", "query": "str", "shared_team_id": "int|null"}
declare(
    EventType("users.saved_view.created", _SAVED_VIEW, description="A user saved a list's filter and sort as a view."),
    EventType(
        "users.saved_view.updated",
        {"changes": "changes"},
        description="The owner renamed a saved view, changed its filter or whom it is shared with.",
    ),
    EventType("users.saved_view.deleted", _SAVED_VIEW, description="The owner deleted a saved view."),
    # issue 7: the private calendar feed (ICS)
    EventType(
        "users.calendar_token.created",
        {"prefix": "str"},
        description="A user created or rotated their calendar feed URL.",
    ),
    EventType("users.calendar_token.revoked", {"prefix": "str"}, description="A calendar feed URL was revoked."),
)

# Team changes (issue 10): targets and actuals attach to the team at the time.
declare(
    EventType(
        "users.user.team_changed",
        {"from_team_id": "int|null", "to_team_id": "int|null", "effective": "date"},
        description="The user moved to another team from the day effective (ISO date) on.",
        label=_("changed team"),
    ),
)
