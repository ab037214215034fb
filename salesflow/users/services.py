"""Writes for people and organisation: users, teams, delegation, API tokens."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.audit import record_event
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.users.choices import Role
from salesflow.users.models import ApiToken, Team, User, hash_token, validate_time_zone


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
    elif User.objects.filter(username__iexact=username).exists():
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
    record_event(actor=actor, verb="users.user.created", target=user, data={"role": role})
    return user


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
