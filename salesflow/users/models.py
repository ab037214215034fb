"""People and organisation: users with roles, nested teams, territories, delegation, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.models import TimestampedModel
from salesflow.users.choices import Role


class Team(TimestampedModel):
    """A sales team; teams nest (``parent``) and each may have a manager.

    A manager sees the records of every member of the teams they manage and of all
    teams below those.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent team")
    )
    manager = models.ForeignKey(
        "users.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_teams",
        verbose_name=_("manager"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse a parent that is this team or lies below it: the hierarchy must stay a tree."""
        super().clean()
        if self.parent_id is None or self.pk is None:
            return
        seen: set[int] = set()
        current: int | None = self.parent_id
        while current is not None and current not in seen:
            if current == self.pk:
                raise ValidationError({"parent": _("A team cannot be placed below itself or one of its sub-teams.")})
            seen.add(current)
            current = Team.objects.filter(pk=current).values_list("parent_id", flat=True).first()


class Territory(TimestampedModel):
    """A sales region; territories form a tree (country → region → province → city)."""

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=50, unique=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("territory")
        verbose_name_plural = _("territories")

    def __str__(self) -> str:
        return self.name


@cache
def time_zone_names() -> frozenset[str]:
    """The IANA time zone names this system knows (``Asia/Shanghai``, ``America/Los_Angeles``…)."""
    return frozenset(available_timezones())


def default_time_zone() -> str:
    """New users start in the installation's zone (``TIME_ZONE``)."""
    return str(settings.TIME_ZONE)


def validate_time_zone(value: str) -> None:
    if value not in time_zone_names():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value}, code="time_zone")


class User(AbstractUser):
    """A person who logs in. ``role`` decides what they see; ``team`` places them in the hierarchy."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="members", verbose_name=_("team")
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    territories = models.ManyToManyField(Territory, blank=True, related_name="users", verbose_name=_("territories"))
    delegated_reps = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="assistants",
        verbose_name=_("delegated reps"),
        help_text=_("For sales assistants: the reps whose records this assistant handles."),
    )
    can_view_personal_data = models.BooleanField(
        _("may view personal data"),
        default=False,
        help_text=_(
            "Reads the sales archive of every contact the user can see (birthday, family, hobbies…). "
            "Sales support never reads it."
        ),
    )

    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text=_("“Today”, due and overdue are computed in this zone."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        if self.username == "system" and not self.is_active and not self.has_usable_password():
            return str(_("System"))  # the named actor of jobs and imports, in the reader's language
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def zone(self) -> ZoneInfo:
        """The user's zone; the installation's when the stored name is unknown to this system."""
        return ZoneInfo(self.time_zone if self.time_zone in time_zone_names() else settings.TIME_ZONE)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(TimestampedModel):
    """A personal API token. Only its SHA-256 hash is stored; the raw token is shown once."""

    PREFIX = "sf_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(_("prefix"), max_length=12)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.token_prefix}…)"

    @classmethod
    def generate_raw(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def mark_used(self) -> None:
        ApiToken.objects.filter(pk=self.pk).update(last_used_at=timezone.now())


class CalendarToken(TimestampedModel):
    """A user's private calendar feed (ICS, issue 7). Only the SHA-256 hash of the token is
    stored; the raw token is in the feed URL, shown to its owner when created. Rotating
    revokes the active token and creates another; a revoked token's URL answers 404."""

    PREFIX = "cal_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="calendar_tokens", verbose_name=_("user"))
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(_("prefix"), max_length=12)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        constraints = [
            # at most one active feed per user
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="calendar_token_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.token_prefix}…)"

    @classmethod
    def generate_raw(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)


class ShareAccess(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")


class Share(models.Model):
    """A record (account, lead or opportunity) shared with a user or with a team.

    Exactly one grantee is set. A team share covers the members of that team. ``write``
    lets the grantee change the record, never delete it or give it another owner. Shares
    are written only by ``share_grant`` / ``share_revoke``, which audit them.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    grantee_user = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="shares_received", verbose_name=_("user")
    )
    grantee_team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="shares_received", verbose_name=_("team")
    )
    access = models.CharField(_("access"), max_length=10, choices=ShareAccess.choices, default=ShareAccess.READ)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("shared by")
    )
    created_at = models.DateTimeField(_("shared at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("share")
        verbose_name_plural = _("shares")
        constraints = [
            models.CheckConstraint(
                condition=(Q(grantee_user__isnull=False, grantee_team__isnull=True))
                | Q(grantee_user__isnull=True, grantee_team__isnull=False),
                name="share_one_grantee",
            ),
            models.UniqueConstraint(
                fields=["content_type", "object_id", "grantee_user"],
                condition=Q(grantee_user__isnull=False),
                name="share_unique_user",
            ),
            models.UniqueConstraint(
                fields=["content_type", "object_id", "grantee_team"],
                condition=Q(grantee_team__isnull=False),
                name="share_unique_team",
            ),
            models.CheckConstraint(condition=Q(access__in=["read", "write"]), name="share_access_valid"),
        ]
        indexes = [
            # visibility subquery: WHERE content_type=? AND grantee_user=? → object_id
            models.Index(fields=["content_type", "grantee_user", "object_id"], name="share_user_idx"),
            # visibility subquery: WHERE content_type=? AND grantee_team=? → object_id
            models.Index(fields=["content_type", "grantee_team", "object_id"], name="share_team_idx"),
            # the "Shared with" card: WHERE content_type=? AND object_id=?
            models.Index(fields=["content_type", "object_id"], name="share_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type_id}:{self.object_id} → {self.grantee_user or self.grantee_team} ({self.access})"


class LoginThrottle(models.Model):
    """Recent failed sign-ins for one username or one client address, and the lock they caused.

    ``failures`` counts failures since ``window_started_at``; reaching the limit sets
    ``locked_until``, and until then every sign-in for that username (or from that address) is
    refused, the right password included. Kept in the database so that every server process
    sees the same counts. Written only by the ``login_*`` services.
    """

    class Scope(models.TextChoices):
        USERNAME = "username", _("username")
        ADDRESS = "address", _("client address")

    scope = models.CharField(max_length=10, choices=Scope.choices)
    key = models.CharField(max_length=150)
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("login throttle")
        verbose_name_plural = _("login throttles")
        constraints = [
            # one row per username / address; also the index of the lock check at every sign-in
            models.UniqueConstraint(fields=["scope", "key"], name="users_loginthrottle_scope_key_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class SavedView(TimestampedModel):
    """A named filter and sort of one list (``core.exports`` list key), saved by ``owner``
    ("本季度我的重点商机"). ``query`` is the list's query string, checked against the list's
    own parameters (``core.exports.clean_query``). A manager may share a view with a team
    they manage (``shared_team``): its members see it in the picker, read-only. Written only
    through ``saved_view_create`` / ``_update`` / ``_delete`` (audited)."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="saved_views", verbose_name=_("owner"))
    list_key = models.CharField(_("list"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    query = models.CharField(_("filter"), max_length=1000, blank=True)
    shared_team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shared_views",
        verbose_name=_("shared with team"),
    )

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            # also the index of the picker's "my views of this list" (owner, list_key)
            models.UniqueConstraint(fields=["owner", "list_key", "name"], name="savedview_owner_list_name_unique"),
        ]
        indexes = [
            # the picker's "views shared with my team": WHERE shared_team_id=? AND list_key=?
            models.Index(fields=["shared_team", "list_key"], name="savedview_team_list_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """Which team a user belonged to, and when: ``[start, end)`` in days (``end`` NULL = still).

    Written only by ``users.services.user_change_team`` (and ``user_create``), so a user's
    intervals never overlap and the open one names ``User.team``. Targets and actuals attach
    to the person *and the team at the time* (issue 10): a deal a rep won in March for team
    North still counts for North after the rep moved to South in July
    (``users.selectors.team_on``).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user"))
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    start = models.DateField(pgettext_lazy("team membership", "from"))
    end = models.DateField(pgettext_lazy("team membership", "until"), null=True, blank=True)

    class Meta:
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gt=models.F("start")), name="membership_end_after_start"
            ),
        ]
        indexes = [
            # team history of the users behind an attainment figure: WHERE user_id IN (…) ORDER BY start
            models.Index(fields=["user", "start"], name="membership_user_start_idx"),
            # "who was in team T during the period": WHERE team_id IN (…)
            models.Index(fields=["team", "start"], name="membership_team_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.team_id} {self.start}–{self.end or ''}"
