"""Reads for people and organisation: who a record is shared with, who may be a grantee, and
whether sign-in is locked."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Max, QuerySet
from django.utils import timezone

from salesflow.users.models import CalendarToken, LoginThrottle, SavedView, Share, TeamMembership, User, hash_token
from salesflow.users.permissions import SYSTEM_USERNAME, org_memoised


def shares_of(target: models.Model) -> QuerySet[Share]:
    """The shares of ``target`` with their grantees loaded (one query)."""
    return (
        Share.objects.filter(content_type=ContentType.objects.get_for_model(target), object_id=target.pk)
        .select_related("grantee_user", "grantee_team", "created_by")
        .order_by("created_at", "id")
    )


def shareable_users() -> QuerySet[User]:
    """People a record can be shared with: active users, not the system actor."""
    return User.objects.filter(is_active=True).exclude(username=SYSTEM_USERNAME).order_by("display_name", "username")


def login_throttle_keys(*, username: str, address: str) -> list[tuple[str, str]]:
    """The (scope, key) rows that count sign-in failures for this username and address."""
    keys = []
    name = username.strip().lower()[:150]
    if name:
        keys.append((LoginThrottle.Scope.USERNAME.value, name))
    if address:
        keys.append((LoginThrottle.Scope.ADDRESS.value, address[:150]))
    return keys


def login_locked_until(*, username: str, address: str) -> datetime | None:
    """When the lock on this username or address ends, or ``None`` when sign-in is open."""
    keys = login_throttle_keys(username=username, address=address)
    if not keys:
        return None
    rows = LoginThrottle.objects.none()
    for scope, key in keys:
        rows = rows | LoginThrottle.objects.filter(scope=scope, key=key)
    until: datetime | None = rows.filter(locked_until__gt=timezone.now()).aggregate(until=Max("locked_until"))["until"]
    return until


def saved_views_for(user: User, list_key: str) -> list[SavedView]:
    """The views of list ``list_key`` ``user`` may pick: their own, then those shared with
    their team by others (one query, owner loaded), each group by name."""
    from django.db.models import Case, IntegerField, Q, Value, When

    cond = Q(owner=user)
    if user.team_id:
        cond |= Q(shared_team_id=user.team_id)
    return list(
        SavedView.objects.filter(cond, list_key=list_key)
        .select_related("owner", "shared_team")
        .annotate(sf_mine=Case(When(owner=user, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("sf_mine", "name", "id")[:200]
    )


def saved_view_for_user(user: User, pk: int | str, *, write: bool = False) -> SavedView:
    """A saved view ``user`` may see (own or shared with their team); ``write`` needs ownership.
    Unseen → ``Http404``; seen but not theirs → ``Forbidden``."""
    from django.http import Http404

    from salesflow.core.errors import Forbidden

    try:
        number = int(pk)
        if not 0 < number < 2**63:
            raise ValueError(pk)
        view = SavedView.objects.select_related("owner", "shared_team").get(pk=number)
    except (SavedView.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if view.owner_id != user.pk and not (view.shared_team_id and view.shared_team_id == user.team_id):
        raise Http404
    if write and view.owner_id != user.pk:
        from django.utils.translation import gettext as _

        raise Forbidden(_("Only the owner of a saved view may change it."))
    return view


def calendar_feed_user(raw: str) -> User | None:
    """The active user whose active calendar token is ``raw`` (compared by hash), else None."""
    if not raw or len(raw) > 100 or not raw.startswith(CalendarToken.PREFIX):
        return None
    token = (
        CalendarToken.objects.filter(token_hash=hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .select_related("user")
        .first()
    )
    return token.user if token is not None else None


def active_calendar_token(user: User) -> CalendarToken | None:
    return CalendarToken.objects.filter(user=user, revoked_at__isnull=True).first()


# --- team history (issue 10: targets and actuals attach to the team at the time) -----------


@dataclass(frozen=True)
class TeamHistory:
    """The team intervals of some users, loaded in one query; answers "team of U on day D".

    A day before a user's first interval or inside a gap answers ``None`` (no team).
    """

    starts: dict[int, list[date]]
    rows: dict[int, list[tuple[date, date | None, int | None]]]

    def team_on(self, user_id: int, day: date) -> int | None:
        """The team of ``user_id`` on ``day``, ``None`` when they had none.

        Days before a user's first recorded interval belong to that first team: history
        starts when it was first recorded, and earlier work (imported deals, the demo's past
        year) stays with the team the user was first seen in.
        """
        starts = self.starts.get(user_id)
        if not starts:
            return None
        i = max(bisect_right(starts, day) - 1, 0)
        _start, end, team_id = self.rows[user_id][i]
        return team_id if end is None or day < end else None

    def members_during(self, team_ids: set[int], start: date, end: date) -> set[int]:
        """Users who belonged to one of ``team_ids`` on at least one day of ``[start, end]``."""
        found: set[int] = set()
        for user_id, intervals in self.rows.items():
            for i, (s, e, team_id) in enumerate(intervals):
                if i == 0:
                    s = date.min  # before the first interval: the first team (see team_on)
                if team_id in team_ids and s <= end and (e is None or e > start):
                    found.add(user_id)
                    break
        return found


def team_history(user_ids: Iterable[int] | None = None) -> TeamHistory:
    """Team intervals of ``user_ids`` (every user when ``None``), ordered by start, in one query
    (everyone's: once per ``users.permissions.org_snapshot`` block)."""
    if user_ids is None:
        return org_memoised("team_history", lambda: _team_history(None))
    return _team_history(user_ids)


def _team_history(user_ids: Iterable[int] | None) -> TeamHistory:
    qs = TeamMembership.objects.order_by("user_id", "start")
    if user_ids is not None:
        qs = qs.filter(user_id__in=list(user_ids))
    starts: dict[int, list[date]] = {}
    rows: dict[int, list[tuple[date, date | None, int | None]]] = {}
    for user_id, team_id, s, e in qs.values_list("user_id", "team_id", "start", "end"):
        starts.setdefault(user_id, []).append(s)
        rows.setdefault(user_id, []).append((s, e, team_id))
    # users created without a recorded membership (fixtures, raw loads): their current team, always
    bare = User.objects.exclude(pk__in=list(rows)) if user_ids is None else None
    if user_ids is not None:
        missing = set(user_ids) - set(rows)
        bare = User.objects.filter(pk__in=list(missing)) if missing else None
    if bare is not None:
        for user_id, team_id in bare.values_list("pk", "team_id"):
            starts[user_id] = [date.min]
            rows[user_id] = [(date.min, None, team_id)]
    return TeamHistory(starts=starts, rows=rows)
