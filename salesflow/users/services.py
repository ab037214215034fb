"""Writes for people and organisation: users, teams, delegation, API tokens."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.audit import record_event
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.users.choices import Role
from salesflow.users.models import (
    ApiToken,
    CalendarToken,
    LoginThrottle,
    SavedView,
    Share,
    ShareAccess,
    Team,
    TeamMembership,
    User,
    hash_token,
    validate_time_zone,
)
from salesflow.users.permissions import SYSTEM_USERNAME, is_system_actor
from salesflow.users.policy import may_manage_shares, shareable_kind
from salesflow.users.selectors import login_throttle_keys


def system_actor() -> User:
    """The named actor of scheduled jobs, imports and the demo generator (created on demand).

    It is a ``User`` row so that events, stage changes and created rows name it like any
    actor ("System" on timelines, in the reader's language). It cannot log in: it is inactive (so it never appears
    among assignable owners or in owner filters) and has no usable password. The policy
    recognises it by that combination and lets it read and write every record; the
    username is reserved (``user_create`` refuses it).
    """
    user = User.objects.filter(username=SYSTEM_USERNAME).first()
    if user is None:
        user = User(username=SYSTEM_USERNAME, is_active=False, role=Role.ADMIN)
        user.set_unusable_password()
        user.save()
    return user


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    role: str,
    team: Team | None = None,
    display_name: str = "",
    email: str = "",
    validate: bool = True,
) -> User:
    """Create an active user. Raises ``ValidationFailed`` for a taken username, unknown
    role or (when ``validate``) a weak password; nothing is written then."""
    errors: dict[str, list[str]] = {}
    username = username.strip()
    if not username:
        errors["username"] = [_("This field is required.")]
    elif username.lower() == SYSTEM_USERNAME or User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("A user with this username already exists.")]
    if role not in Role.values:
        errors["role"] = [_("Unknown role “%(role)s”.") % {"role": role}]
    if validate:
        try:
            validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise ValidationFailed(_("The user could not be created."), field_errors=errors)
    user = User(
        username=username,
        role=role,
        team=team,
        display_name=display_name,
        email=email,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    user.set_password(password)
    user.save()
    TeamMembership.objects.create(user=user, team=team, start=timezone.localdate())
    record_event(actor=actor, verb="users.user.created", target=user, data={"role": role})
    return user


#: where a team history split before the first recorded interval begins (nothing is older)
HISTORY_START = date(2000, 1, 1)


@transaction.atomic
def user_change_team(*, actor: User, user: User, team: Team | None, effective: date | None = None) -> User:
    """Move ``user`` to ``team`` from the day ``effective`` on (default today, company time zone).

    Guarantees: the user's team history stays a sequence of non-overlapping ``[start, end)``
    intervals whose open one is ``User.team``; days before ``effective`` keep the old team, so
    targets and actuals already earned stay with it (issue 10). Administrators only
    (``Forbidden``); ``ValidationFailed`` (field ``effective``) for a day after today, or on or
    before the start of the current interval when earlier ones exist. When the current interval is
    the only one, the days before it belong to its team, so a day before its start splits it
    there (the old team keeps everything before the day). Audited ``users.user.team_changed``. Moving to the same
    team writes nothing.
    """
    if not (actor.is_admin or is_system_actor(actor)):
        raise Forbidden(_("Only administrators may move people between teams."))
    today = timezone.localdate()
    effective = effective or today
    locked = User.objects.select_for_update().get(pk=user.pk)
    current = TeamMembership.objects.filter(user=locked, end__isnull=True).order_by("-start").first()
    if locked.team_id == (team.pk if team else None) and current is not None:
        return locked
    if effective > today:
        raise ValidationFailed(
            _("The team could not be changed."), field_errors={"effective": [_("The day cannot be in the future.")]}
        )
    if current is not None and effective <= current.start and TeamMembership.objects.filter(user=locked).count() > 1:
        raise ValidationFailed(
            _("The team could not be changed."),
            field_errors={"effective": [_("The day must be after the start of the current team membership.")]},
        )
    old_team_id = locked.team_id
    if current is not None and effective > current.start:
        current.end = effective
        current.save(update_fields=["end"])
        TeamMembership.objects.create(user=locked, team=team, start=effective)
    elif current is not None and effective > HISTORY_START:
        # the only interval starts on or after the day; the days before it belong to its team
        # (users.selectors.TeamHistory.team_on), so it is split there, not rewritten: the old
        # team keeps everything before the day
        current.start = HISTORY_START
        current.end = effective
        current.save(update_fields=["start", "end"])
        TeamMembership.objects.create(user=locked, team=team, start=effective)
    elif current is not None:
        current.team = team
        current.save(update_fields=["team"])
    else:
        if old_team_id is not None:
            TeamMembership.objects.create(user=locked, team_id=old_team_id, start=HISTORY_START, end=effective)
        TeamMembership.objects.create(user=locked, team=team, start=effective)
    locked.team = team
    locked.save(update_fields=["team"])
    user.team = team
    record_event(
        actor=actor,
        verb="users.user.team_changed",
        target=locked,
        data={"from_team_id": old_team_id, "to_team_id": team.pk if team else None, "effective": effective.isoformat()},
    )
    return locked


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the raw token, which is never stored."""
    name = name.strip()
    if not name:
        raise ValidationFailed(_("Give the token a name."), field_errors={"name": [_("This field is required.")]})
    raw = ApiToken.generate_raw()
    token = ApiToken.objects.create(user=user, name=name[:100], token_hash=hash_token(raw), token_prefix=raw[:10])
    record_event(actor=user, verb="users.api_token.created", target=user, data={"name": token.name})
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke ``token`` (idempotent). Only its owner or an administrator may revoke it."""
    if token.user_id != actor.pk and not actor.is_admin:
        raise Forbidden(_("You may not revoke this token."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        record_event(actor=actor, verb="users.api_token.revoked", target=token.user, data={"name": token.name})
    return token


# --- sharing -------------------------------------------------------------------------------


def _share_payload(share: Share) -> dict[str, object]:
    return {
        "share_id": share.pk,
        "grantee_user_id": share.grantee_user_id,
        "grantee_team_id": share.grantee_team_id,
        "access": share.access,
    }


@transaction.atomic
def share_grant(
    *,
    actor: User,
    target: models.Model,
    grantee_user: User | None = None,
    grantee_team: Team | None = None,
    access: str = ShareAccess.READ,
) -> Share:
    """Share ``target`` (an account, lead or opportunity) with one user or one team.

    Only the record's owner, a manager above the owner or an administrator may share
    (else ``Forbidden``). Sharing again with the same grantee changes the access of the
    existing share. Raises ``ValidationFailed`` (nothing written) unless exactly one
    grantee is given, for an inactive user or the owner themselves, and for an unknown
    access. Audits ``users.share.granted`` on the record's timeline with
    ``{share_id, grantee_user_id, grantee_team_id, access}``.
    """
    if shareable_kind(type(target)) is None:
        raise ValidationFailed(_("Records of this kind cannot be shared."))
    owner_id: int | None = getattr(target, "owner_id", None)
    if not may_manage_shares(actor, owner_id):
        raise Forbidden(_("Only the owner, a manager above the owner or an administrator may share this record."))
    errors: dict[str, list[str]] = {}
    if (grantee_user is None) == (grantee_team is None):
        errors["grantee"] = [_("Choose a user or a team.")]
    elif grantee_user is not None and (not grantee_user.is_active or is_system_actor(grantee_user)):
        errors["user_id"] = [_("This user is inactive.")]
    elif grantee_user is not None and grantee_user.pk == owner_id:
        errors["user_id"] = [_("The owner already has access.")]
    if access not in ShareAccess.values:
        errors["access"] = [_("Choose read only or read and write.")]
    if errors:
        raise ValidationFailed(_("The record could not be shared."), field_errors=errors)
    ct = ContentType.objects.get_for_model(target)
    key = {"content_type": ct, "object_id": target.pk, "grantee_user": grantee_user, "grantee_team": grantee_team}
    try:
        with transaction.atomic():
            share, created = Share.objects.select_for_update().get_or_create(
                **key, defaults={"access": access, "created_by": actor if actor.pk else None}
            )
    except IntegrityError:
        # a concurrent grant to the same grantee won the unique constraint: update that one
        share, created = Share.objects.select_for_update().get(**key), False
    if not created:
        if share.access == access:
            return share
        share.access = access
        share.save(update_fields=["access"])
    record_event(actor=actor, verb="users.share.granted", target=target, data=_share_payload(share))
    return share


@transaction.atomic
def share_revoke(*, actor: User, share: Share) -> None:
    """Remove ``share`` (idempotent). Same rights as ``share_grant`` (else ``Forbidden``).
    Audits ``users.share.revoked`` on the record's timeline with the share's payload."""
    model = share.content_type.model_class()
    target = model._default_manager.filter(pk=share.object_id).first() if model is not None else None
    if target is None:
        share.delete()
        return
    if not may_manage_shares(actor, getattr(target, "owner_id", None)):
        raise Forbidden(_("Only the owner, a manager above the owner or an administrator may share this record."))
    payload = _share_payload(share)
    deleted, _rows = Share.objects.filter(pk=share.pk).delete()
    if deleted:
        record_event(actor=actor, verb="users.share.revoked", target=target, data=payload)


def shares_delete_for(target: models.Model) -> None:
    """Remove the shares of a record being deleted (called by the delete services), so a
    later record that reuses the id (SQLite may) never inherits them. Not audited: the
    record's own deletion event covers it."""
    Share.objects.filter(content_type=ContentType.objects.get_for_model(target), object_id=target.pk).delete()


# --- time zone and sign-in throttling ---------------------------------------------------


def user_set_time_zone(*, actor: User, user: User, time_zone: str) -> User:
    """Set the time zone in which ``user`` sees "today", due and overdue.

    Users change their own zone; administrators may change anyone's. Raises ``Forbidden``
    otherwise and ``ValidationFailed`` (field ``time_zone``) for a name that is not an IANA
    zone known to this system; nothing is written then.
    """
    if actor.pk != user.pk and not actor.is_admin:
        raise Forbidden(_("You may only change your own preferences."))
    time_zone = time_zone.strip()
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        raise ValidationFailed(
            _("The preferences could not be saved."), field_errors={"time_zone": exc.messages}
        ) from None
    if user.time_zone != time_zone:
        user.time_zone = time_zone
        user.save(update_fields=["time_zone"])
    return user


def _login_limits() -> dict[str, int]:
    return {
        LoginThrottle.Scope.USERNAME.value: int(settings.SALESFLOW_LOGIN_FAILURE_LIMIT),
        LoginThrottle.Scope.ADDRESS.value: int(settings.SALESFLOW_LOGIN_ADDRESS_FAILURE_LIMIT),
    }


@transaction.atomic
def login_failure_record(*, username: str, address: str) -> datetime | None:
    """Count one failed sign-in for ``username`` and for ``address``; lock whichever reached
    its limit within the window (``SALESFLOW_LOGIN_*`` settings) for the lock period.

    Rows are locked while counted, so concurrent failures on several server processes are all
    counted. Returns when the new lock ends, or ``None`` when nothing got locked. A lock of a
    known username is audited as ``users.login.locked`` on that user.
    """
    now = timezone.now()
    window = timedelta(seconds=int(settings.SALESFLOW_LOGIN_FAILURE_WINDOW))
    lock = timedelta(seconds=int(settings.SALESFLOW_LOGIN_LOCK_SECONDS))
    limits = _login_limits()
    locked: datetime | None = None
    for scope, key in login_throttle_keys(username=username, address=address):
        limit = limits[scope]
        if limit <= 0:  # this kind of throttle is switched off
            continue
        row, _created = LoginThrottle.objects.select_for_update().get_or_create(
            scope=scope, key=key, defaults={"window_started_at": now}
        )
        if row.window_started_at <= now - window or (row.locked_until is not None and row.locked_until <= now):
            row.failures, row.window_started_at, row.locked_until = 0, now, None
        row.failures += 1
        if row.failures >= limit:
            row.locked_until = now + lock
            locked = max(locked, row.locked_until) if locked else row.locked_until
            user = User.objects.filter(username__iexact=key).first() if scope == "username" else None
            if user is not None:
                record_event(
                    actor=None,
                    verb="users.login.locked",
                    target=user,
                    data={"failures": row.failures, "locked_until": row.locked_until.isoformat()},
                )
        row.save()
    return locked


def login_success_record(*, username: str) -> None:
    """A correct sign-in clears the username's failure count (the address keeps its count, so
    one known account cannot be used to reset an address that is guessing others)."""
    name = username.strip().lower()[:150]
    LoginThrottle.objects.filter(scope=LoginThrottle.Scope.USERNAME, key=name).exclude(
        locked_until__gt=timezone.now()
    ).delete()


# ------------------------------------------------------------------ saved views (issue 6)

SAVED_VIEW_NAME_MAX = 100


def _saved_view_payload(view: SavedView) -> dict[str, object]:
    return {"list": view.list_key, "name": view.name, "query": view.query, "shared_team_id": view.shared_team_id}


def _clean_saved_view(
    actor: User, list_key: str, name: str, query: str, shared_team: Team | None, errors: dict[str, list[str]]
) -> tuple[str, str]:
    from salesflow.core.exports import clean_query, list_spec
    from salesflow.users.permissions import managed_team_ids

    spec = list_spec(list_key)
    if spec is None:
        errors["list"] = [_("Unknown list.")]
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Enter a name.")]
    elif len(name) > SAVED_VIEW_NAME_MAX:
        errors["name"] = [_("At most %(n)d characters.") % {"n": SAVED_VIEW_NAME_MAX}]
    elif any(ord(ch) < 32 for ch in name):
        errors["name"] = [_("Control characters are not allowed.")]
    if spec is not None:
        try:
            query = clean_query(spec, query)
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    if shared_team is not None and shared_team.pk not in managed_team_ids(actor):
        errors["shared_team_id"] = [_("You may share views only with a team you manage.")]
    return name, query


def _saved_view_save(view: SavedView, fields: list[str] | None = None) -> None:
    """Save in a savepoint: the (owner, list, name) race becomes a field error, not a 500."""
    try:
        with transaction.atomic():
            view.save(update_fields=fields) if fields else view.save()
    except IntegrityError:
        raise ValidationFailed(
            _("The view could not be saved."), field_errors={"name": [_("You already have a view with this name.")]}
        ) from None


def _check_view_actor(actor: User) -> None:
    if actor is None or not actor.is_active or not actor.pk or is_system_actor(actor):
        raise Forbidden(_("You may not save views."))


@transaction.atomic
def saved_view_create(
    *, actor: User, list_key: str, name: str, query: str, shared_team: Team | None = None
) -> SavedView:
    """Save list ``list_key``'s filter and sort (``query``) as ``actor``'s view ``name``.

    Raises ``ValidationFailed`` (nothing written) for an unknown list, an empty or too long
    name, a query string with parameters the list does not have, a team the actor does not
    manage, or a name the actor already uses for this list (also when two requests race).
    Audited ``users.saved_view.created``.
    """
    _check_view_actor(actor)
    errors: dict[str, list[str]] = {}
    name, query = _clean_saved_view(actor, list_key, name, query, shared_team, errors)
    if not errors and SavedView.objects.filter(owner=actor, list_key=list_key, name=name).exists():
        errors["name"] = [_("You already have a view with this name.")]
    if errors:
        raise ValidationFailed(_("The view could not be saved."), field_errors=errors)
    view = SavedView(owner=actor, list_key=list_key, name=name, query=query, shared_team=shared_team)
    _saved_view_save(view)
    record_event(actor=actor, verb="users.saved_view.created", target=view, data=_saved_view_payload(view))
    return view


_UNSET: object = object()


@transaction.atomic
def saved_view_update(
    *,
    actor: User,
    view: SavedView,
    name: str | None = None,
    query: str | None = None,
    shared_team: Team | object | None = _UNSET,
) -> SavedView:
    """Rename ``view``, change its query or whom it is shared with (``shared_team=None``
    stops sharing). Only its owner (else ``Forbidden``); same checks as ``saved_view_create``.
    Audited ``users.saved_view.updated`` with ``changes``; a change of nothing writes nothing."""
    _check_view_actor(actor)
    if view.owner_id != actor.pk:
        raise Forbidden(_("Only the owner of a saved view may change it."))
    new_team = view.shared_team if shared_team is _UNSET else shared_team
    assert new_team is None or isinstance(new_team, Team)
    errors: dict[str, list[str]] = {}
    team_to_check = new_team if new_team is not None and new_team.pk != view.shared_team_id else None
    new_name, new_query = _clean_saved_view(
        actor,
        view.list_key,
        view.name if name is None else name,
        view.query if query is None else query,
        team_to_check,
        errors,
    )
    taken = SavedView.objects.filter(owner=actor, list_key=view.list_key, name=new_name).exclude(pk=view.pk)
    if not errors and new_name != view.name and taken.exists():
        errors["name"] = [_("You already have a view with this name.")]
    if errors:
        raise ValidationFailed(_("The view could not be saved."), field_errors=errors)
    changes: dict[str, list[object]] = {}
    if new_name != view.name:
        changes["name"] = [view.name, new_name]
    if new_query != view.query:
        changes["query"] = [view.query, new_query]
    new_team_id = new_team.pk if new_team is not None else None
    if new_team_id != view.shared_team_id:
        changes["shared_team_id"] = [view.shared_team_id, new_team_id]
    if not changes:
        return view
    view.name, view.query, view.shared_team = new_name, new_query, new_team
    _saved_view_save(view, ["name", "query", "shared_team", "updated_at"])
    record_event(actor=actor, verb="users.saved_view.updated", target=view, data={"changes": changes})
    return view


@transaction.atomic
def saved_view_delete(*, actor: User, view: SavedView) -> None:
    """Delete ``view``; only its owner (else ``Forbidden``). Audited ``users.saved_view.deleted``."""
    _check_view_actor(actor)
    if view.owner_id != actor.pk:
        raise Forbidden(_("Only the owner of a saved view may delete it."))
    payload = _saved_view_payload(view)
    record_event(actor=actor, verb="users.saved_view.deleted", target=view, data=payload)
    SavedView.objects.filter(pk=view.pk).delete()


# --- the private calendar feed (issue 7) ---------------------------------------------------------


def _revoke_calendar_tokens(*, actor: User, user: User) -> int:
    revoked = 0
    for token in CalendarToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True):
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        record_event(actor=actor, verb="users.calendar_token.revoked", target=user, data={"prefix": token.token_prefix})
        revoked += 1
    return revoked


@transaction.atomic
def calendar_token_create(*, actor: User) -> tuple[CalendarToken, str]:
    """Give ``actor`` a new calendar feed URL token (rotating: the active one is revoked).
    Returns the row and the raw token, which is never stored (only its SHA-256 hash).
    Raises ``Forbidden`` for inactive users and the system actor."""
    if not actor.is_active or is_system_actor(actor):
        raise Forbidden(_("You may not create a calendar feed."))
    _revoke_calendar_tokens(actor=actor, user=actor)
    raw = CalendarToken.generate_raw()
    token = CalendarToken.objects.create(user=actor, token_hash=hash_token(raw), token_prefix=raw[:10])
    record_event(actor=actor, verb="users.calendar_token.created", target=actor, data={"prefix": token.token_prefix})
    return token, raw


@transaction.atomic
def calendar_token_revoke(*, actor: User, user: User | None = None) -> int:
    """Revoke ``user``'s (default: ``actor``'s) calendar feed URL: it answers 404 from now
    on. Only the user or an administrator (``Forbidden``). Idempotent; returns how many
    tokens were revoked."""
    user = user or actor
    if user.pk != actor.pk and not actor.is_admin:
        raise Forbidden(_("You may not revoke this calendar feed."))
    return _revoke_calendar_tokens(actor=actor, user=user)
