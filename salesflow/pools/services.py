"""Writes of the public pools: claim (领取), release (退回公海), recycle (回收) and the settings.

Guarantees:

- :func:`pool_claim` locks the claiming user's row, then the pool entry and the record, so
  two claims by the same user run one after the other and two claims of the same record
  cannot both succeed; the ownership caps (保有量上限) are counted under that lock, so
  concurrent claims never take a user past a cap. A claim runs the intake checks
  (``core.intake``, action ``claim``, option ``via="claim"``), which may refuse it.
- A record is in at most one pool (one-to-one membership); in a pool it has no owner.
- Every change is audited (``pools.record.*``, ``pools.pool.*``…, declared in ``events.py``).
- :func:`recycle_run` is idempotent: a recycled record has no owner and is not picked again,
  and each owner is warned once per rule, record and due date.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.activities.models import Activity
from salesflow.catalogue.models import OpportunityLine, ProductCategory
from salesflow.core.audit import record_event
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.intake import Intake, run_after, run_before
from salesflow.leads.models import Lead
from salesflow.parties.choices import Grade
from salesflow.parties.models import Account
from salesflow.pools.choices import RecordKind
from salesflow.pools.models import (
    DESCRIPTION_LENGTH,
    MAX_CAP,
    MAX_DAYS,
    NAME_LENGTH,
    REASON_LENGTH,
    CapRule,
    Pool,
    PoolAccount,
    PoolLead,
    RecycleRule,
    RecycleWarning,
)
from salesflow.pools.selectors import OPEN_LEAD_STATUSES, effective_caps, held_count
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.search.services import index_record
from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.permissions import writable_owner_ids
from salesflow.users.policy import pool_team_ids, unrestricted

Record = Lead | Account


def record_model(kind: str) -> type[Lead] | type[Account]:
    if kind == RecordKind.LEAD:
        return Lead
    if kind == RecordKind.ACCOUNT:
        return Account
    raise ValidationFailed(_("Unknown record type."), field_errors={"kind": [_("Choose leads or accounts.")]})


def _check_id(record_id: object) -> int:
    if isinstance(record_id, bool) or not isinstance(record_id, int) or not 0 < record_id < 2**63:
        raise ValidationFailed(_("Unknown record."), field_errors={"record_id": [_("Unknown record.")]})
    return record_id


def entry_model(kind: str) -> type[PoolLead] | type[PoolAccount]:
    return PoolLead if record_model(kind) is Lead else PoolAccount


def _entry_field(kind: str) -> str:
    return "lead" if kind == RecordKind.LEAD else "account"


def is_member(user: User, pool: Pool) -> bool:
    """Whether ``user`` belongs to ``pool`` (a member team is theirs or, for a manager, one
    they manage); administrators belong to every pool."""
    if unrestricted(user):
        return True
    teams = pool_team_ids(user)
    return bool(teams) and pool.teams.filter(pk__in=teams).exists()


def _clean_text(value: object, field: str, *, max_length: int, required: bool = False) -> str:
    text = str(value or "").strip()
    if "\x00" in text:
        raise ValidationFailed(_("Invalid input."), field_errors={field: [_("Null characters are not allowed.")]})
    if len(text) > max_length:
        raise ValidationFailed(
            _("Invalid input."),
            field_errors={field: [_("At most %(n)s characters.") % {"n": max_length}]},
        )
    if required and not text:
        raise ValidationFailed(_("Invalid input."), field_errors={field: [_("This field is required.")]})
    return text


# --- caps --------------------------------------------------------------------------------------


def _cap_message(held: int, cap: int, kind: str, grade: str) -> str:
    values = {"held": held, "cap": cap, "grade": grade}
    if kind == RecordKind.LEAD:
        return _("You hold %(held)s of %(cap)s leads: the ownership cap is reached.") % values
    if grade:
        return _("You hold %(held)s of %(cap)s %(grade)s-grade accounts: the ownership cap is reached.") % values
    return _("You hold %(held)s of %(cap)s accounts: the ownership cap is reached.") % values


def check_caps(user: User, kind: str, grade: str) -> None:
    """Raise ``Conflict`` (code ``cap_reached``) naming the cap when taking one more record of
    ``kind``/``grade`` would pass one of ``user``'s caps. Call under the user's row lock."""
    caps = effective_caps(user, kind)
    for cap_grade in ("", grade) if grade else ("",):
        rule = caps.get(cap_grade)
        if rule is None:
            continue
        held = held_count(user, kind, cap_grade)
        if held >= rule.max_count:
            raise Conflict(_cap_message(held, rule.max_count, kind, cap_grade), code="cap_reached")


# --- claim and release ---------------------------------------------------------------------------


def pool_claim(*, actor: User, kind: str, record_id: int) -> Record:
    """``actor`` takes the unowned record out of its pool and becomes its owner.

    Refuses with ``Forbidden`` when the actor may hold no records (support, inactive) or is
    not a member of the record's pool, ``Conflict`` when the record is in no (active) pool
    or already has an owner (``not_in_pool``), when a cap is reached (``cap_reached``, the
    message names it: "You hold 50 of 50 A-grade accounts…"), or when an intake check
    refuses. On success: owner = actor, ``protected_until`` = now + the pool's protection
    period, the membership row is deleted, ``pools.record.claimed`` is audited.
    """
    model = record_model(kind)
    entries = entry_model(kind)
    field = _entry_field(kind)
    record_id = _check_id(record_id)
    if writable_owner_ids(actor) == set() or not actor.is_active:
        raise Forbidden(_("You may not claim records."))
    with transaction.atomic():
        # the user's row first: their claims queue here, so the caps are counted alone
        User.objects.select_for_update().filter(pk=actor.pk).first()
        entry = entries.objects.select_for_update().filter(**{f"{field}_id": record_id}).first()
        record = model.objects.select_for_update().filter(pk=record_id).first()
        if entry is None or record is None:
            raise Conflict(_("This record is no longer in a public pool."), code="not_in_pool")
        pool = Pool.objects.get(pk=entry.pool_id)
        if not is_member(actor, pool):
            raise Forbidden(_("You are not a member of this pool."))
        if record.owner_id is not None:
            entry.delete()  # a stale membership (the record was given an owner elsewhere)
            raise Conflict(_("This record is no longer in a public pool."), code="not_in_pool")
        if not pool.active:
            raise Conflict(_("This pool is closed for claims."), code="pool_inactive")
        grade = record.grade if isinstance(record, Account) else ""
        check_caps(actor, kind, grade)
        intake = run_before(
            Intake(
                kind="lead" if kind == RecordKind.LEAD else "account",
                action="claim",
                actor=actor,
                values={"owner": actor},
                record=record,
                options={"via": "claim"},
            )
        )
        owner = intake.values.get("owner") or actor
        record.owner = owner
        record.protected_until = timezone.now() + timedelta(days=pool.protection_days)
        record.save(update_fields=["owner", "protected_until", "updated_at"])
        entry.delete()
        record_event(
            actor=actor,
            verb="pools.record.claimed",
            target=record,
            data={
                "kind": kind,
                "pool_id": pool.pk,
                "pool": pool.name,
                "owner": owner.pk,
                "protected_until": record.protected_until.isoformat(),
            },
        )
        index_record(record)
        run_after(intake, record)
    return record


def may_release(actor: User, record: Record) -> bool:
    """The owner, a manager above the owner, or an administrator may release a record."""
    if not actor.is_authenticated or not actor.is_active or record.owner_id is None:
        return False
    if unrestricted(actor) or record.owner_id == actor.pk:
        return True
    ids = writable_owner_ids(actor)
    return actor.role == Role.MANAGER and ids is not None and record.owner_id in ids


def release_pools(actor: User, owner: User | None, kind: str) -> list[Pool]:
    """Active pools that take ``kind`` and into which ``actor`` may release ``owner``'s
    record: pools of the owner's team first (the default is the first), then the actor's."""
    pools = list(Pool.objects.filter(active=True).prefetch_related("teams"))
    pools = [p for p in pools if p.holds(kind)]
    owner_teams = {owner.team_id} if owner is not None and owner.team_id is not None else set()
    mine = pool_team_ids(actor)
    first = [p for p in pools if owner_teams & {t.pk for t in p.teams.all()}]
    rest = [p for p in pools if p not in first and (unrestricted(actor) or mine & {t.pk for t in p.teams.all()})]
    return first + rest


def pool_release(*, actor: User, kind: str, record_id: int, reason: str, pool_id: int | None = None) -> Record:
    """Give the record back to a pool with a required ``reason``.

    ``pool_id`` empty: the first pool (by position) taking ``kind`` whose member teams
    include the owner's team, else one of the actor's. Refuses with ``Forbidden`` unless
    the actor is the owner, a manager above them or an administrator; ``ValidationFailed``
    for a missing or too long reason (``reason``), a pool that does not take the kind or is
    not the actor's (``pool``), a converted or disqualified lead. Clears the owner and
    ``protected_until``; the pool entry records who released it and why; audited.
    """
    model = record_model(kind)
    entries = entry_model(kind)
    field = _entry_field(kind)
    text = _clean_text(reason, "reason", max_length=REASON_LENGTH, required=True)
    record_id = _check_id(record_id)
    with transaction.atomic():
        record = model.objects.select_for_update(of=("self",)).select_related("owner").filter(pk=record_id).first()
        if record is None:
            raise ValidationFailed(_("Unknown record."), field_errors={"record_id": [_("Unknown record.")]})
        if not may_release(actor, record):
            raise Forbidden(_("Only the owner or their manager may release this record."))
        if isinstance(record, Lead) and record.status not in OPEN_LEAD_STATUSES:
            raise ValidationFailed(
                _("Only open leads can be released."), field_errors={"record_id": [_("This lead is closed.")]}
            )
        choices = release_pools(actor, record.owner, kind)
        if pool_id is None:
            pool = choices[0] if choices else None
        else:
            pool = next((p for p in choices if p.pk == pool_id), None)
        if pool is None:
            raise ValidationFailed(
                _("Choose a pool."), field_errors={"pool": [_("No public pool of yours takes this record.")]}
            )
        previous = record.owner_id
        assert previous is not None
        record.owner = None
        record.protected_until = None
        record.save(update_fields=["owner", "protected_until", "updated_at"])
        entries.objects.update_or_create(
            **{f"{field}_id": record.pk},  # type: ignore[arg-type]
            defaults={
                "pool": pool,
                "entered_at": timezone.now(),
                "released_by": actor,
                "reason": text,
                "rule": None,
            },
        )
        record_event(
            actor=actor,
            verb="pools.record.released",
            target=record,
            data={"kind": kind, "pool_id": pool.pk, "pool": pool.name, "previous_owner": previous, "reason": text},
        )
        index_record(record)
    return record


# --- recycling -----------------------------------------------------------------------------------

RECYCLE_BATCH = 500


@dataclass
class RecycleResult:
    warned: int = 0
    recycled: int = 0


def _stale_rows(rule: RecycleRule, now: datetime, cutoff: datetime) -> models.QuerySet[Any]:
    """Held records of the rule's kind whose last follow-up (``basis``) is at or before
    ``cutoff``, not protected at ``now``, and (accounts with ``no_opportunity_days``) with
    no open deal and none created in that many days. With a ``product_line`` (accounts):
    only accounts with a deal that has a line of that product line, and only such deals
    count for ``no_opportunity_days``."""
    if rule.kind == RecordKind.LEAD:
        last = Subquery(
            Activity.objects.filter(lead=OuterRef("pk")).order_by("-created_at").values("created_at")[:1],
            output_field=models.DateTimeField(),
        )
        qs: models.QuerySet[Any] = Lead.objects.filter(owner__isnull=False, status__in=OPEN_LEAD_STATUSES).annotate(
            basis=Coalesce(last, F("created_at"), output_field=models.DateTimeField())
        )
    else:
        qs = Account.objects.filter(owner__isnull=False).annotate(
            basis=Coalesce(F("last_follow_up_at"), F("created_at"), output_field=models.DateTimeField())
        )
        if rule.grade:
            qs = qs.filter(grade=rule.grade)
        deals = Opportunity.objects.filter(account=OuterRef("pk"))
        if rule.product_line_id is not None:
            in_line = OpportunityLine.objects.filter(
                opportunity=OuterRef("pk"), product__category_id=rule.product_line_id
            )
            deals = deals.filter(Exists(in_line))
            qs = qs.filter(Exists(deals))
        if rule.no_opportunity_days:
            since = now - timedelta(days=rule.no_opportunity_days)
            qs = qs.exclude(Exists(deals.filter(outcome=Outcome.OPEN))).exclude(
                Exists(deals.filter(created_at__gte=since))
            )
    return qs.filter(basis__lte=cutoff).filter(Q(protected_until__isnull=True) | Q(protected_until__lte=now))


def _batches(qs: models.QuerySet[Any]) -> Iterator[list[Any]]:
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last).order_by("pk")[:RECYCLE_BATCH])
        if not rows:
            return
        yield rows
        last = rows[-1].pk


def _recycle_one(rule: RecycleRule, kind: str, record_id: int, now: datetime) -> bool:
    model = record_model(kind)
    field = _entry_field(kind)
    with transaction.atomic():
        record = model.objects.select_for_update().filter(pk=record_id, owner__isnull=False).first()
        if record is None:
            return False
        previous = record.owner_id
        assert previous is not None
        record.owner = None
        record.protected_until = None
        record.save(update_fields=["owner", "protected_until", "updated_at"])
        entry_model(kind).objects.update_or_create(
            **{f"{field}_id": record.pk},  # type: ignore[arg-type]
            defaults={
                "pool": rule.target_pool,
                "entered_at": now,
                "released_by": None,
                "reason": rule.name,
                "rule": rule,
            },
        )
        record_event(
            actor=None,
            verb="pools.record.recycled",
            target=record,
            data={
                "kind": kind,
                "pool_id": rule.target_pool_id,
                "pool": rule.target_pool.name,
                "previous_owner": previous,
                "rule_id": rule.pk,
                "rule": rule.name,
            },
        )
        index_record(record)
    return True


def _warn_one(rule: RecycleRule, kind: str, record: Record, due: datetime) -> bool:
    assert record.owner_id is not None
    with transaction.atomic():
        try:
            with transaction.atomic():
                RecycleWarning.objects.create(
                    rule=rule, kind=kind, record_id=record.pk, owner_id=record.owner_id, due_on=due.date()
                )
        except IntegrityError:
            return False
        record_event(
            actor=None,
            verb="pools.record.recycle_warning",
            target=record,
            data={
                "kind": kind,
                "pool_id": rule.target_pool_id,
                "pool": rule.target_pool.name,
                "owner": record.owner_id,
                "rule_id": rule.pk,
                "due_on": due.date(),
            },
        )
    return True


def recycle_run(*, now: datetime | None = None) -> RecycleResult:
    """Apply every active recycle rule: warn owners ``warn_days_before`` days ahead (once per
    rule, record and due date) and give records past the limit back to the rule's pool.

    Reads in batches of ``RECYCLE_BATCH`` by primary key; each record changes in its own
    transaction (a failure leaves the others done). Rerunning changes nothing new.
    """
    now = now or timezone.now()
    result = RecycleResult()
    rules = RecycleRule.objects.filter(active=True, target_pool__active=True).select_related("target_pool")
    for rule in rules.order_by("id"):
        if not rule.target_pool.holds(rule.kind):
            continue
        limit = timedelta(days=rule.no_follow_up_days)
        recycle_cutoff = now - limit
        warn_days = min(rule.warn_days_before, rule.no_follow_up_days)
        warn_cutoff = recycle_cutoff + timedelta(days=warn_days)
        for rows in _batches(_stale_rows(rule, now, warn_cutoff)):
            for row in rows:
                if row.basis <= recycle_cutoff:
                    result.recycled += _recycle_one(rule, rule.kind, row.pk, now)
                elif warn_days:
                    result.warned += _warn_one(rule, rule.kind, row, row.basis + limit)
    return result


# --- settings (administrators) --------------------------------------------------------------------


def _require_admin(actor: User) -> None:
    if not (actor.is_authenticated and actor.is_active and actor.is_admin):
        raise Forbidden(_("Only administrators may change public pool settings."))


def _days(value: object, field: str, *, allow_none: bool = False) -> int | None:
    if value is None or value == "":
        if allow_none:
            return None
        raise ValidationFailed(_("Invalid input."), field_errors={field: [_("This field is required.")]})
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationFailed(_("Invalid input."), field_errors={field: [_("Enter a whole number.")]})
    try:
        number = int(value)
    except ValueError:
        raise ValidationFailed(_("Invalid input."), field_errors={field: [_("Enter a whole number.")]}) from None
    if not 0 <= number <= MAX_DAYS:
        raise ValidationFailed(
            _("Invalid input."), field_errors={field: [_("Between 0 and %(max)s.") % {"max": MAX_DAYS}]}
        )
    return number


def pool_save(
    *,
    actor: User,
    pool: Pool | None = None,
    name: str,
    description: str = "",
    active: bool = True,
    holds_leads: bool = True,
    holds_accounts: bool = True,
    protection_days: object = 30,
    position: object = 0,
    team_ids: list[int] | None = None,
) -> Pool:
    """Create or change a pool (administrators). ``ValidationFailed`` names the field: a
    blank or taken name, a pool holding nothing, days outside 0–3650, unknown teams."""
    _require_admin(actor)
    clean_name = _clean_text(name, "name", max_length=NAME_LENGTH, required=True)
    clean_description = _clean_text(description, "description", max_length=DESCRIPTION_LENGTH)
    days = _days(protection_days, "protection_days")
    pos = _days(position, "position")
    if not holds_leads and not holds_accounts:
        raise ValidationFailed(
            _("Invalid input."), field_errors={"holds_accounts": [_("A pool holds leads, accounts or both.")]}
        )
    teams = list(Team.objects.filter(pk__in=team_ids or []))
    if len(teams) != len(set(team_ids or [])):
        raise ValidationFailed(_("Invalid input."), field_errors={"team_ids": [_("Unknown team.")]})
    others = Pool.objects.filter(name=clean_name)
    if (others.exclude(pk=pool.pk) if pool is not None else others).exists():
        raise ValidationFailed(_("Invalid input."), field_errors={"name": [_("Another pool has this name.")]})
    created = pool is None
    target = pool or Pool()
    target.name = clean_name
    target.description = clean_description
    target.active = bool(active)
    target.holds_leads = bool(holds_leads)
    target.holds_accounts = bool(holds_accounts)
    target.protection_days = days or 0
    target.position = pos or 0
    try:
        with transaction.atomic():
            target.save()
            target.teams.set(teams)
            record_event(
                actor=actor, verb="pools.pool.saved", target=target, data={"name": target.name, "created": created}
            )
    except IntegrityError:
        raise ValidationFailed(_("Invalid input."), field_errors={"name": [_("Another pool has this name.")]}) from None
    return target


def pool_delete(*, actor: User, pool: Pool) -> None:
    """Delete a pool that holds no records and no recycle rule names (``Conflict`` otherwise)."""
    _require_admin(actor)
    with transaction.atomic():
        locked = Pool.objects.select_for_update().get(pk=pool.pk)
        if (
            locked.lead_entries.exists()
            or locked.account_entries.exists()
            or RecycleRule.objects.filter(target_pool=locked).exists()
        ):
            raise Conflict(_("This pool still holds records or is the target of a recycle rule."), code="pool_in_use")
        record_event(actor=actor, verb="pools.pool.deleted", target=locked, data={"name": locked.name})
        locked.delete()


def _kind(value: object) -> str:
    if value not in RecordKind.values:
        raise ValidationFailed(_("Invalid input."), field_errors={"kind": [_("Choose leads or accounts.")]})
    return str(value)


def _grade(value: object, kind: str) -> str:
    grade = str(value or "")
    if grade and grade not in Grade.values:
        raise ValidationFailed(_("Invalid input."), field_errors={"grade": [_("Unknown grade.")]})
    if grade and kind != RecordKind.ACCOUNT:
        raise ValidationFailed(_("Invalid input."), field_errors={"grade": [_("Only accounts have a grade.")]})
    return grade


def cap_save(
    *,
    actor: User,
    cap: CapRule | None = None,
    kind: object,
    max_count: object,
    role: object = "",
    user_id: int | None = None,
    grade: object = "",
) -> CapRule:
    """Create or change an ownership cap (administrators): for a role or one user (exactly
    one), a kind, an optional grade (accounts only) and a maximum (0–1,000,000)."""
    _require_admin(actor)
    clean_kind = _kind(kind)
    clean_grade = _grade(grade, clean_kind)
    clean_role = str(role or "")
    if clean_role and clean_role not in Role.values:
        raise ValidationFailed(_("Invalid input."), field_errors={"role": [_("Unknown role.")]})
    if bool(clean_role) == (user_id is not None):
        raise ValidationFailed(_("Invalid input."), field_errors={"role": [_("Choose a role or a user.")]})
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if user_id is not None and user is None:
        raise ValidationFailed(_("Invalid input."), field_errors={"user_id": [_("Unknown user.")]})
    if isinstance(max_count, bool) or not isinstance(max_count, int | str):
        raise ValidationFailed(_("Invalid input."), field_errors={"max_count": [_("Enter a whole number.")]})
    try:
        count = int(max_count)
    except ValueError:
        raise ValidationFailed(_("Invalid input."), field_errors={"max_count": [_("Enter a whole number.")]}) from None
    if not 0 <= count <= MAX_CAP:
        raise ValidationFailed(
            _("Invalid input."), field_errors={"max_count": [_("Between 0 and %(max)s.") % {"max": MAX_CAP}]}
        )
    created = cap is None
    target = cap or CapRule()
    target.kind, target.grade, target.role, target.user, target.max_count = (
        clean_kind,
        clean_grade,
        clean_role,
        user,
        count,
    )
    try:
        with transaction.atomic():
            target.save()
            record_event(
                actor=actor,
                verb="pools.cap.saved",
                target=target,
                data={"kind": clean_kind, "grade": clean_grade, "max_count": count, "created": created},
            )
    except IntegrityError:
        raise ValidationFailed(
            _("Invalid input."), field_errors={"grade": [_("A cap for this role or user, type and grade exists.")]}
        ) from None
    return target


def cap_delete(*, actor: User, cap: CapRule) -> None:
    _require_admin(actor)
    with transaction.atomic():
        record_event(actor=actor, verb="pools.cap.deleted", target=cap, data={"kind": cap.kind, "grade": cap.grade})
        cap.delete()


def recycle_rule_save(
    *,
    actor: User,
    rule: RecycleRule | None = None,
    name: str,
    kind: object,
    target_pool_id: int | None,
    no_follow_up_days: object,
    no_opportunity_days: object = None,
    grade: object = "",
    warn_days_before: object = 3,
    active: bool = True,
    product_line_id: int | None = None,
) -> RecycleRule:
    """Create or change a recycle rule (administrators). The target pool must take the
    kind; days are 0–3650 (``no_follow_up_days`` at least 1); deal days and a product line
    (an active catalogue product line) only for accounts. ``ValidationFailed`` naming the
    field otherwise; nothing is written."""
    _require_admin(actor)
    clean_name = _clean_text(name, "name", max_length=NAME_LENGTH, required=True)
    clean_kind = _kind(kind)
    clean_grade = _grade(grade, clean_kind)
    follow = _days(no_follow_up_days, "no_follow_up_days") or 0
    if follow < 1:
        raise ValidationFailed(_("Invalid input."), field_errors={"no_follow_up_days": [_("At least 1 day.")]})
    deals = _days(no_opportunity_days, "no_opportunity_days", allow_none=True)
    if deals is not None and clean_kind != RecordKind.ACCOUNT:
        raise ValidationFailed(
            _("Invalid input."), field_errors={"no_opportunity_days": [_("Only accounts have opportunities.")]}
        )
    line: ProductCategory | None = None
    if product_line_id is not None:
        if clean_kind != RecordKind.ACCOUNT:
            raise ValidationFailed(
                _("Invalid input."),
                field_errors={"product_line_id": [_("Only accounts have deals with product lines.")]},
            )
        line = (
            ProductCategory.objects.filter(pk=product_line_id, active=True).first()
            if isinstance(product_line_id, int) and 0 < product_line_id < 2**63
            else None
        )
        if line is None:
            raise ValidationFailed(
                _("Invalid input."), field_errors={"product_line_id": [_("Choose an active product line.")]}
            )
    warn = _days(warn_days_before, "warn_days_before") or 0
    pool = Pool.objects.filter(pk=target_pool_id).first() if target_pool_id is not None else None
    if pool is None or not pool.holds(clean_kind):
        raise ValidationFailed(
            _("Invalid input."), field_errors={"target_pool_id": [_("Choose a pool that takes this record type.")]}
        )
    created = rule is None
    target = rule or RecycleRule()
    target.name, target.kind, target.grade, target.target_pool = clean_name, clean_kind, clean_grade, pool
    target.no_follow_up_days, target.no_opportunity_days = follow, deals or None
    target.warn_days_before, target.active = warn, bool(active)
    target.product_line = line
    with transaction.atomic():
        target.save()
        record_event(
            actor=actor, verb="pools.recycle_rule.saved", target=target, data={"name": target.name, "created": created}
        )
    return target


def recycle_rule_delete(*, actor: User, rule: RecycleRule) -> None:
    _require_admin(actor)
    with transaction.atomic():
        record_event(actor=actor, verb="pools.recycle_rule.deleted", target=rule, data={"name": rule.name})
        rule.delete()
