"""Writes for opportunities. Stage, probability and forecast category change together;
every stage change writes a ``StageChange`` row and an audit event in one transaction.

Transitions that can race (moving, closing, reopening) lock the opportunity row with
``select_for_update()`` and re-check its state under the lock, so two concurrent moves
serialise and a second identical move is a no-op. (On SQLite the settings open every
transaction with ``BEGIN IMMEDIATE``, which serialises writers the same way.)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypedDict, TypeVar, Unpack

from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from salesflow.core.audit import changed_fields, in_every_language, record_event, record_events
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from salesflow.core.escalation import catch_up, first_ids, is_digest
from salesflow.core.money import AmountError, currency_choices, default_currency, parse_amount
from salesflow.parties.choices import BuyingRole
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import can_write_account
from salesflow.parties.services import account_record_win
from salesflow.sales.choices import ForecastCategory, HistoryField, Outcome, StageKind, StallRecipient
from salesflow.sales.gates import CriterionResult, GateRefused, unmet_criteria
from salesflow.sales.models import (
    Competitor,
    LostReason,
    Opportunity,
    OpportunityContact,
    OpportunityFieldChange,
    Pipeline,
    Stage,
    StageChange,
    StageDwellStat,
    StallEscalationStep,
    StallNotice,
    stage_rank_of,
)
from salesflow.sales.permissions import can_manage_opportunity, can_override_gates, can_write_opportunity
from salesflow.sales.selectors import (
    STALL_STAT_WINDOW_DAYS,
    StallRules,
    pipeline_available_to,
    stall_rules,
    team_default_pipeline,
)
from salesflow.sales.stuck_services import bucket_state, stuck_buckets_add_many, stuck_buckets_follow
from salesflow.search.services import index_record, unindex_record
from salesflow.users.models import Team, User
from salesflow.users.permissions import assignable_users_for, is_system_actor
from salesflow.users.policy import may_assign_owner
from salesflow.users.services import shares_delete_for


class OpportunityChanges(TypedDict, total=False):
    """The fields ``opportunity_update`` may change; absent keys keep their values."""

    name: str
    amount: Decimal | int | str
    currency: str
    expected_close_date: date | None
    next_step: str
    next_step_date: date | None
    description: str
    owner: User
    probability: int
    forecast_category: str
    contacts: Sequence[tuple[Contact, str]]
    competitors: Iterable[Competitor]
    closed_on: date | None


OPPORTUNITY_FIELDS: frozenset[str] = frozenset(OpportunityChanges.__annotations__)


class _Unset(enum.Enum):
    """Marker for "field not given" in partial updates (``None`` is a real value for dates)."""

    UNSET = 0


UNSET: Final = _Unset.UNSET

# Amount guards: an app above sales that derives a deal's amount (the catalogue: a deal with
# product lines has their total as its amount) registers a guard from its ``AppConfig.ready``.
# ``opportunity_update`` asks each guard when a caller gives an amount that differs from the
# stored one; a guard answers a message (the change is refused as a 400 on ``amount``, nothing
# written) or ``None`` (allowed). Without guards every amount is accepted.
AmountGuard = Callable[["Opportunity", Decimal], "str | None"]
_amount_guards: list[AmountGuard] = []


def register_amount_guard(guard: AmountGuard) -> None:
    """Register (once) a guard of hand-entered deal amounts; see ``_amount_guards``."""
    if guard not in _amount_guards:
        _amount_guards.append(guard)


# Owner followers: an app above sales whose records follow a deal's owner (billing: the open
# payment plans of the deal's contracts and orders) registers a follower from its
# ``AppConfig.ready``. ``opportunity_update`` calls each one, inside its transaction, after
# the deal changed owner; a follower changes its records through its own services and may
# refuse with ``Forbidden`` (the reassignment then rolls back whole).
OwnerFollower = Callable[["User", "Opportunity", "User"], None]
_owner_followers: list[OwnerFollower] = []


def register_opportunity_owner_follower(follower: OwnerFollower) -> None:
    """Register (once) ``follower(actor, opportunity, new_owner)``; see ``_owner_followers``."""
    if follower not in _owner_followers:
        _owner_followers.append(follower)


NAME_MAX = 200
# What a transition may change; copied back onto the caller's instance after the write.
STATE_FIELDS = (
    "stage",
    "stage_entered_at",
    "probability",
    "forecast_category",
    "outcome",
    "outcome_note",
    "lost_reason",
    "lost_to",
    "resume_date",
    "closed_at",
    "closed_on",
    "close_date",
    "amount",
)
NEXT_STEP_MAX = 300
# The earliest actual close date accepted. Deals are often entered after the fact (an
# import, a rep catching up), so the deal's creation date is no floor; a date before the
# company used any CRM is a typo (2026 → 2006 passes, 0206 does not).
CLOSED_ON_MIN = date(2000, 1, 1)
CLOSED_OUTCOMES = (Outcome.WON, Outcome.LOST)


def close_date_of(opp: Opportunity) -> date | None:
    """The date lists filter and sort by: the actual close date of a won or lost deal,
    else the expected one (``Opportunity.close_date`` stores it)."""
    return opp.closed_on if opp.outcome in CLOSED_OUTCOMES else opp.expected_close_date


def closed_on_error(value: date | None) -> str | None:
    """Why ``value`` is not an acceptable actual close date (``None``: it is): required,
    never in the future (the actor's today, ``timezone.localdate()``), not before 2000."""
    if value is None:
        return _("Say when the opportunity was closed.")
    if value > timezone.localdate():
        return _("The close date cannot be in the future.")
    if value < CLOSED_ON_MIN:
        return _("The close date cannot be before %(date)s.") % {"date": CLOSED_ON_MIN.isoformat()}
    return None


def bant_entry_stage(pipeline: Pipeline) -> Stage | None:
    """Where a lead converted with a complete BANT starts in ``pipeline``: the first active
    open stage after the pipeline's BANT stage (``Stage.is_bant_gate``), or ``None`` when
    the pipeline has no BANT stage or no open stage after it (the first open stage then)."""
    gate = pipeline.stages.filter(is_bant_gate=True, kind=StageKind.OPEN).first()
    if gate is None:
        return None
    return (
        pipeline.stages.filter(kind=StageKind.OPEN, is_active=True, position__gt=gate.position)
        .order_by("position")
        .first()
    )


def default_pipeline() -> Pipeline:
    """The active pipeline marked default (seeded by migration ``sales.0003``).

    The configuration services keep exactly one default among the active pipelines; if
    the data says otherwise anyway (rows edited outside the services), the first active
    pipeline stands in. Raises ``ValidationFailed`` (never a 500) when no pipeline is
    active at all.
    """
    active = Pipeline.objects.filter(is_active=True)
    pipeline = active.filter(is_default=True).first() or active.order_by("position", "id").first()
    if pipeline is None:
        raise ValidationFailed(
            _("No sales pipeline is set up; ask an administrator."),
            field_errors={"pipeline": [_("No active pipeline.")]},
        )
    return pipeline


def default_pipeline_for(user: User) -> Pipeline:
    """Where ``user``'s new deals start: their team's default pipeline (the nearest team up
    the tree that has one, ``sales.selectors.team_default_pipeline``), else the global
    default (``default_pipeline``)."""
    return team_default_pipeline(user) or default_pipeline()


def first_open_stage(pipeline: Pipeline) -> Stage:
    """The first active open stage of ``pipeline``, or ``ValidationFailed``."""
    stage = pipeline.stages.filter(kind=StageKind.OPEN, is_active=True).order_by("position").first()
    if stage is None:
        raise ValidationFailed(_("The pipeline has no open stage."), field_errors={"pipeline": [_("No open stage.")]})
    return stage


def _end_stage(pipeline_id: int, kind: str) -> Stage | None:
    return Stage.objects.filter(pipeline_id=pipeline_id, kind=kind, is_active=True).order_by("position").first()


HIDDEN_STAGE_ERROR = gettext_lazy("This stage is hidden and takes no deals.")


# ------------------------------------------------------------------ history rows


def _tracked(opp: Opportunity) -> dict[str, Any]:
    """The values of the fields kept in ``OpportunityFieldChange`` (ids for relations)."""
    return {
        HistoryField.AMOUNT: (opp.amount, opp.currency),
        HistoryField.EXPECTED_CLOSE_DATE: opp.expected_close_date,
        HistoryField.PROBABILITY: opp.probability,
        HistoryField.FORECAST_CATEGORY: opp.forecast_category,
        HistoryField.STAGE: opp.stage_id,
        HistoryField.OWNER: opp.owner_id,
        HistoryField.PIPELINE: opp.pipeline_id,
        HistoryField.OUTCOME: opp.outcome,
        HistoryField.CLOSED_ON: opp.closed_on,
    }


def _id_labels(field: str, ids: set[int]) -> dict[int, str]:
    """Readable text for related ids: stage and pipeline codes, usernames."""
    if field == HistoryField.STAGE:
        return dict(Stage.objects.filter(pk__in=ids).values_list("pk", "code"))
    if field == HistoryField.PIPELINE:
        return dict(Pipeline.objects.filter(pk__in=ids).values_list("pk", "code"))
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "username"))


def _record_field_changes(
    *, actor: User | None, opp: Opportunity, before: dict[str, Any] | None, now: datetime
) -> list[OpportunityFieldChange]:
    """Write one ``OpportunityFieldChange`` per tracked field whose value differs from
    ``before`` (``None``: the deal was just created, every field is written with empty
    old values). An amount row is written when the amount or the currency changes."""
    return OpportunityFieldChange.objects.bulk_create(
        _field_change_rows(actor=actor, opp=opp, before=before, now=now, labels=_id_labels)
    )


def _field_change_rows(
    *,
    actor: User | None,
    opp: Opportunity,
    before: dict[str, Any] | None,
    now: datetime,
    labels: Callable[[str, set[int]], dict[int, str]],
) -> list[OpportunityFieldChange]:
    """The unsaved rows of :func:`_record_field_changes`; ``labels(field, ids)`` gives the
    readable text of stage, pipeline and owner ids (:func:`_id_labels`, or a batch's cache)."""
    after = _tracked(opp)
    rows: list[OpportunityFieldChange] = []
    for field, new in after.items():
        old = before.get(field) if before is not None else None
        if before is not None and old == new:
            continue
        if before is None and new is None and field == HistoryField.CLOSED_ON:
            continue  # a new deal has no close date: nothing to record
        row = OpportunityFieldChange(
            opportunity=opp,
            field=field,
            changed_by=actor if actor is not None and actor.pk else None,
            changed_at=now,
        )
        if field == HistoryField.AMOUNT:
            row.old_amount = old[0] if old is not None else None
            row.new_amount, row.currency = new
            row.old_value = f"{old[0]:.2f}" if old is not None else ""
            row.new_value = f"{new[0]:.2f}"
        elif field in (HistoryField.EXPECTED_CLOSE_DATE, HistoryField.CLOSED_ON):
            row.old_date, row.new_date = old, new
            row.old_value = old.isoformat() if old else ""
            row.new_value = new.isoformat() if new else ""
        elif field in (HistoryField.STAGE, HistoryField.OWNER, HistoryField.PIPELINE):
            names = labels(field, {i for i in (old, new) if i is not None})
            row.old_number, row.new_number = old, new
            row.old_value = names.get(old, "") if old is not None else ""
            row.new_value = names.get(new, "")
        elif field == HistoryField.PROBABILITY:
            row.old_number, row.new_number = old, new
            row.old_value = "" if old is None else str(old)
            row.new_value = str(new)
        else:
            row.old_value = old or ""
            row.new_value = new
        rows.append(row)
    return rows


def _lock(opportunity: Opportunity) -> Opportunity:
    """Re-read the row under a lock; the caller's copy may be stale.

    No ``select_related`` here: on PostgreSQL a ``FOR UPDATE`` over a join re-checks the
    join against the *old* related row after waiting for a concurrent writer, and would
    lose the row when that writer changed the stage.
    """
    locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    locked.account = opportunity.account
    return locked


def _copy_state(src: Opportunity, dst: Opportunity, fields: Iterable[str]) -> None:
    """Keep the caller's instance in step with the row that was written."""
    for field in fields:
        setattr(dst, field, getattr(src, field))
    dst.updated_at = src.updated_at


def _seconds_between(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def _stage_rank(stage: Stage) -> int:
    """``stage``'s sort key for the deal list (its pipeline's position read once if the
    pipeline is not loaded with the stage)."""
    if Stage.pipeline.is_cached(stage):
        position = stage.pipeline.position
    else:
        position = Pipeline.objects.values_list("position", flat=True).get(pk=stage.pipeline_id)
    return stage_rank_of(position, stage.pipeline_id, stage.position)


def _record_stage_change(
    *,
    actor: User,
    opp: Opportunity,
    to_stage: Stage,
    now: datetime,
    probability: int,
    first: bool = False,
    gate_overridden: bool = False,
) -> StageChange:
    """One ``StageChange`` from the deal's current stage (none when ``first``) to
    ``to_stage`` with the snapshot at this moment (and sets the deal's ``stage_rank`` for
    ``to_stage``, which the caller saves with the stage): both positions, the owner and the
    owner's team, the amount and currency, and ``probability`` (the deal's probability
    in ``to_stage``). Called before the deal row is updated. A move to a lower position of
    the same pipeline is marked ``is_regression`` (stage gates: moving back is allowed and
    recorded as such); ``gate_overridden`` marks a move a manager forced past unmet criteria."""
    owner = User.objects.only("pk", "team_id").get(pk=opp.owner_id)
    from_stage = None if first else opp.stage
    # the list's stage sort key follows the deal into ``to_stage``; every caller saves
    # ``stage_rank`` with ``stage``
    opp.stage_rank = _stage_rank(to_stage)
    return StageChange.objects.create(
        opportunity=opp,
        from_stage=from_stage,
        to_stage=to_stage,
        changed_by=actor if actor.pk else None,
        changed_at=now,
        duration_seconds=None if first else _seconds_between(opp.stage_entered_at, now),
        from_position=from_stage.position if from_stage is not None else None,
        to_position=to_stage.position,
        owner_id=owner.pk,
        owner_team_id=owner.team_id,
        amount=opp.amount,
        currency=opp.currency,
        probability=probability,
        is_regression=is_regression(from_stage, to_stage),
        gate_overridden=gate_overridden,
    )


def _move_summary(from_stage: Stage, to_stage: Stage, *, regression: bool) -> str:
    """The timeline's text of a stage move; a move back says so."""
    move = f"{from_stage.label} → {to_stage.label}"
    return _("%(move)s (moved back)") % {"move": move} if regression else move


def is_regression(from_stage: Stage | None, to_stage: Stage) -> bool:
    """A move back: to a lower position of the same pipeline."""
    return (
        from_stage is not None
        and from_stage.pipeline_id == to_stage.pipeline_id
        and to_stage.position < from_stage.position
    )


# --- stage gates ---------------------------------------------------------------------------

OVERRIDE_REASON_MAX = 500


def clean_override_reason(reason: str | None) -> str | None:
    """The override reason as stored, or ``ValidationFailed`` on ``override_reason``:
    ``None`` means "no override asked"; given, it is required (not blank), at most 500
    characters, without control characters other than line breaks and tabs."""
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise ValidationFailed(
            _("The opportunity could not be moved."), field_errors={"override_reason": [_("Enter text.")]}
        )
    text = reason.strip()
    error = None
    if not text:
        error = _("Say why the entry criteria are overridden.")
    elif len(text) > OVERRIDE_REASON_MAX:
        error = _("Use at most %(max)d characters.") % {"max": OVERRIDE_REASON_MAX}
    elif any(ord(ch) < 32 and ch not in "\n\r\t" for ch in text) or "\x7f" in text:
        error = _("Remove the control characters.")
    if error:
        raise ValidationFailed(_("The opportunity could not be moved."), field_errors={"override_reason": [error]})
    return text


def _check_gate(*, actor: User, opp: Opportunity, stage: Stage, override_reason: str | None) -> list[CriterionResult]:
    """Stage gates for a forward move of ``opp`` into ``stage``: the unmet entry criteria of
    ``stage`` (only the target's, not those of stages skipped on the way: each stage states
    what a deal needs to be *in* it). None unmet → ``[]``. Unmet without an override →
    ``GateRefused`` (409, the list); with ``override_reason`` → ``Forbidden`` unless the
    actor may override (``can_override_gates``), else the overridden list for the caller's
    audit event. Nothing is written here."""
    unmet = unmet_criteria(opp, stage)
    if not unmet:
        return []
    if override_reason is None:
        raise GateRefused(stage, unmet)
    if not can_override_gates(actor, opp):
        raise Forbidden(_("Only a manager over the owner or an administrator may override the entry criteria."))
    return unmet


def _record_override(*, actor: User, opp: Opportunity, stage: Stage, unmet: list[CriterionResult], reason: str) -> None:
    record_event(
        actor=actor,
        verb="sales.opportunity.gate_overridden",
        target=opp,
        data={
            "stage": stage.code,
            "unmet": [r.as_dict() for r in unmet],
            "reason": reason,
            "summary": in_every_language(lambda: f"{stage.label}: {reason[:200]}"),
        },
        related=[opp.account],
    )


def _require_write(actor: User, opportunity: Opportunity, *, manage: bool = False) -> None:
    """Refuse with ``Forbidden`` unless ``actor`` may change ``opportunity`` (``manage``:
    delete it or give it another owner, which a read-write share does not allow)."""
    allowed = can_manage_opportunity(actor, opportunity) if manage else can_write_opportunity(actor, opportunity)
    if not allowed:
        raise Forbidden(_("You may not change this opportunity."))


def _changed_summary(changes: dict[str, Any]) -> str:
    """The changed fields' names in the actor's language, for the timeline."""
    names = []
    for key in changes:
        try:
            names.append(str(getattr(Opportunity._meta.get_field(key), "verbose_name", key)))
        except FieldDoesNotExist:
            names.append(key)
    return "、".join(names) if (get_language() or "").startswith("zh") else ", ".join(names)


def _validate_contacts(account_id: int, contacts: Sequence[tuple[Contact, str]], errors: dict[str, list[str]]) -> None:
    seen: set[int] = set()
    valid_roles = set(BuyingRole.values)
    for contact, role in contacts:
        if contact.account_id != account_id:
            errors["contacts"] = [_("Contacts must belong to the opportunity's account.")]
            return
        if role not in valid_roles:
            errors["contacts"] = [_("“%(role)s” is not a valid buying role.") % {"role": role}]
            return
        if contact.pk in seen:
            errors["contacts"] = [_("Each contact can be listed only once.")]
            return
        seen.add(contact.pk)


@transaction.atomic
def opportunity_create(
    *,
    actor: User,
    account: Account,
    owner: User,
    name: str,
    amount: Decimal | int | str = Decimal("0"),
    currency: str | None = None,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    expected_close_date: date | None = None,
    next_step: str = "",
    next_step_date: date | None = None,
    description: str = "",
    contacts: Sequence[tuple[Contact, str]] = (),
    competitors: Iterable[Competitor] = (),
    created_at: datetime | None = None,
) -> Opportunity:
    """Create an open opportunity in ``stage`` (default: the pipeline's first open stage).

    ``created_at`` (imports only: history moved from a spreadsheet or another CRM) backdates
    the deal's creation and its first stage entry; never in the future.

    Probability and forecast category default from the stage. The initial stage entry
    is recorded as a ``StageChange`` with no ``from_stage``. Raises ``ValidationFailed``
    (nothing written) for a blank name, an amount ``parse_amount`` refuses in the deal's
    currency (negative, malformed, too large, too many places), an unknown currency, a stage of
    another pipeline, a closed stage, contacts of another account, or an owner ``actor``
    may not assign; ``Forbidden`` when ``actor`` may not add deals to ``account``.
    """
    if not can_write_account(actor, account):
        raise Forbidden(_("You may not add opportunities to this account."))
    errors: dict[str, list[str]] = {}
    if not may_assign_owner(actor, owner):
        errors["owner"] = [_("You cannot assign records to this user.")]
    name = name.strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    currency = (currency or default_currency()).strip().upper()
    if currency not in {code for code, _label in currency_choices()}:
        errors["currency"] = [_("“%(currency)s” is not a supported currency.") % {"currency": currency}]
    try:
        money = parse_amount(amount, currency)
    except AmountError as exc:
        money = Decimal("0")
        errors["amount"] = [str(exc.message)]
    pipeline = pipeline or (stage.pipeline if stage else default_pipeline_for(owner))
    if not pipeline_available_to(owner, pipeline):
        errors["pipeline"] = [_("The owner's team does not use this pipeline, or it is hidden.")]
    if stage is None:
        stage = first_open_stage(pipeline)
    elif stage.pipeline_id != pipeline.pk:
        errors["stage"] = [_("The stage does not belong to the pipeline.")]
    elif stage.kind != StageKind.OPEN:
        errors["stage"] = [_("A new opportunity must start in an open stage.")]
    elif not stage.is_active:
        errors["stage"] = [str(HIDDEN_STAGE_ERROR)]
    for contact, _role in contacts:
        if contact.account_id != account.pk:
            errors["contacts"] = [_("Contacts must belong to the opportunity's account.")]
    now = timezone.now()
    if created_at is not None:
        if created_at > now:
            errors["created_at"] = [_("The creation date cannot be in the future.")]
        now = min(created_at, now)
    if errors:
        raise ValidationFailed(_("The opportunity could not be saved."), field_errors=errors)
    opp = Opportunity.objects.create(
        created_at=now,
        name=name,
        account=account,
        owner=owner,
        pipeline=pipeline,
        stage=stage,
        stage_rank=stage_rank_of(pipeline.position, pipeline.pk, stage.position),
        amount=money,
        currency=currency,
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        expected_close_date=expected_close_date,
        close_date=expected_close_date,
        next_step=next_step.strip(),
        next_step_date=next_step_date,
        description=description,
        stage_entered_at=now,
    )
    index_record(opp)
    stuck_buckets_follow(None, bucket_state(opp))
    OpportunityContact.objects.bulk_create(
        [OpportunityContact(opportunity=opp, contact=c, role=role) for c, role in contacts]
    )
    opp.competitors.set(list(competitors))
    _record_stage_change(actor=actor, opp=opp, to_stage=stage, now=now, probability=opp.probability, first=True)
    _record_field_changes(actor=actor, opp=opp, before=None, now=now)
    record_event(
        actor=actor,
        verb="sales.opportunity.created",
        target=opp,
        data={"amount": money, "currency": opp.currency, "stage": stage.code, "owner": opp.owner_id},
        related=[account],
    )
    return opp


# ------------------------------------------------------------------ many at once (imports)


@dataclass
class CreatedOpportunity:
    """One row of :func:`opportunity_create_many`: the saved deal, or why it was refused."""

    record: Opportunity | None = None
    error: ServiceError | None = None


#: the keys a row of :func:`opportunity_create_many` may hold
BATCH_FIELDS = frozenset(
    {
        "account",
        "owner",
        "name",
        "amount",
        "currency",
        "pipeline",
        "stage",
        "expected_close_date",
        "next_step",
        "next_step_date",
        "description",
        "created_at",
        "outcome",
        "closed_on",
        "closed_at",
        "lost_reason",
        "note",
    }
)


def historical_close(closed_on: date, created_at: datetime) -> datetime:
    """When a deal imported as won or lost on ``closed_on`` closed: noon of that day in the
    current time zone, but never after now nor before the deal's creation."""
    moment = timezone.make_aware(datetime.combine(closed_on, datetime.min.time().replace(hour=12)))
    return max(min(moment, timezone.now()), created_at)


@dataclass
class _Plan:
    """A row that passed every check of :func:`opportunity_create_many`, ready to insert."""

    position: int
    account: Account
    owner: User
    name: str
    money: Decimal
    currency: str
    pipeline: Pipeline
    stage: Stage
    created: datetime
    row: Mapping[str, Any]
    end: Stage | None = None
    closed_at: datetime | None = None


class _NotWritable(Exception):
    """Rows whose new deal ``actor`` may not close (``can_write_opportunity``): the insert is
    rolled back and retried without them."""

    def __init__(self, positions: set[int]) -> None:
        super().__init__(positions)
        self.positions = positions


def _create_and_close(actor: User, row: Mapping[str, Any]) -> Opportunity:
    """One row the one-row services write (:func:`opportunity_create`, then
    :func:`opportunity_close` for a won or lost row), in a savepoint."""
    values = dict(row)
    outcome = values.pop("outcome", Outcome.OPEN) or Outcome.OPEN
    closed_on = values.pop("closed_on", None)
    closed_at = values.pop("closed_at", None)
    lost_reason = values.pop("lost_reason", None)
    note = values.pop("note", "")
    with transaction.atomic():
        opp = opportunity_create(actor=actor, **values)
        if outcome != Outcome.OPEN:
            if closed_at is None and closed_on is not None:
                closed_at = historical_close(closed_on, opp.created_at)
            opportunity_close(
                actor=actor,
                opportunity=opp,
                outcome=outcome,
                lost_reason=lost_reason,
                closed_on=closed_on,
                closed_at=closed_at,
                note=note,
            )
    return opp


_T = TypeVar("_T")


def _once(cache: dict[int, _T | ServiceError], key: int, compute: Callable[[], _T]) -> _T | ServiceError:
    """``compute()`` for ``key`` the first time, its result or its ``ServiceError`` after
    (a batch looks up each owner's default pipeline and each pipeline's first stage once)."""
    if key not in cache:
        try:
            cache[key] = compute()
        except ServiceError as exc:
            cache[key] = exc
    return cache[key]


@transaction.atomic
def opportunity_create_many(*, actor: User, rows: Sequence[Mapping[str, Any]]) -> list[CreatedOpportunity]:
    """Create many opportunities at once (imports), each open or already won or lost.

    A row holds :func:`opportunity_create`'s keyword arguments (``account``, ``owner``,
    ``name``, ``amount``, ``pipeline``, ``stage``, ``created_at``… but no contacts or
    competitors) and optionally ``outcome`` (``open``, ``won``, ``lost``) with
    :func:`opportunity_close`'s ``closed_on``, ``lost_reason`` and ``note``, and ``closed_at``
    (default :func:`historical_close`). The result of each row is what
    :func:`opportunity_create` followed by :func:`opportunity_close` gives it, row by row: the
    same refusals (``Forbidden`` for an account ``actor`` may not add deals to or a deal
    ``actor`` may not close, ``ValidationFailed`` for an owner ``actor`` may not assign, a
    blank name, a bad amount or currency, a pipeline the owner's team does not use, a stage
    that is not an open active stage of the pipeline, a backdate in the future, a missing or
    inactive lost reason, a close date out of range…), returned with the row (it leaves
    nothing), and for the others the same rows: the deal in its final state, its search row,
    its stage changes (the first stage, then the won or lost stage), its field history, the
    ``sales.opportunity.created`` and ``.won`` / ``.lost`` events and, for a won deal, the
    account made a customer (``parties.services.account_record_win``).

    The rows that pass are written in bulk with a fixed number of statements; the checks
    cost one query per distinct account, owner and pipeline. Rows the bulk path does not
    cover — a close refused by its own checks, a win into a won stage with entry criteria
    (stage gates) — go through the one-row services in a savepoint, so they end exactly as
    there. Raises ``TypeError`` for a key not in :data:`BATCH_FIELDS`.
    """
    from salesflow.parties.services import WIN_MAKES_CUSTOMER
    from salesflow.sales.gates import criteria_of
    from salesflow.sales.permissions import opportunities_writable_by
    from salesflow.sales.selectors import pipelines_for
    from salesflow.users.permissions import can_see_unowned

    results = [CreatedOpportunity() for _row in rows]
    writable: dict[int, bool] = {}
    assignable: set[int] | None = None
    defaults: dict[int, Pipeline | ServiceError] = {}
    available: dict[int, set[int]] = {}
    first_stages: dict[int, Stage | ServiceError] = {}
    end_stages: dict[tuple[int, str], Stage | None] = {}
    gated: dict[int, bool] = {}
    currencies = {code for code, _label in currency_choices()}
    now = timezone.now()
    plans: list[_Plan] = []
    one_by_one: list[int] = []
    for position, row in enumerate(rows):
        unknown = set(row) - BATCH_FIELDS
        if unknown:
            raise TypeError(f"opportunity_create_many got unknown fields {sorted(unknown)}")
        account: Account = row["account"]
        owner: User = row["owner"]
        # opportunity_create's checks, in its order
        if account.pk not in writable:
            writable[account.pk] = can_write_account(actor, account)
        if not writable[account.pk]:
            results[position].error = Forbidden(_("You may not add opportunities to this account."))
            continue
        errors: dict[str, list[str]] = {}
        if owner is None:
            owner_ok = can_see_unowned(actor)
        else:
            if assignable is None:
                assignable = set(assignable_users_for(actor).values_list("pk", flat=True))
            owner_ok = owner.pk in assignable
        if not owner_ok:
            errors["owner"] = [_("You cannot assign records to this user.")]
        name = str(row.get("name") or "").strip()
        if not name:
            errors["name"] = [_("This field is required.")]
        currency = (row.get("currency") or default_currency()).strip().upper()
        if currency not in currencies:
            errors["currency"] = [_("“%(currency)s” is not a supported currency.") % {"currency": currency}]
        try:
            money = parse_amount(row.get("amount", Decimal("0")), currency)
        except AmountError as exc:
            money = Decimal("0")
            errors["amount"] = [str(exc.message)]
        stage: Stage | None = row.get("stage")
        pipeline: Pipeline | None = row.get("pipeline") or (stage.pipeline if stage else None)
        if pipeline is None:
            found = _once(defaults, owner.pk, lambda: default_pipeline_for(owner))  # noqa: B023 - called now
            if isinstance(found, ServiceError):
                results[position].error = found
                continue
            pipeline = found
        if owner.pk not in available:
            available[owner.pk] = set(pipelines_for(owner).values_list("pk", flat=True))
        if pipeline.pk not in available[owner.pk]:
            errors["pipeline"] = [_("The owner's team does not use this pipeline, or it is hidden.")]
        if stage is None:
            first = _once(first_stages, pipeline.pk, lambda: first_open_stage(pipeline))  # noqa: B023 - called now
            if isinstance(first, ServiceError):
                results[position].error = first
                continue
            stage = first
        elif stage.pipeline_id != pipeline.pk:
            errors["stage"] = [_("The stage does not belong to the pipeline.")]
        elif stage.kind != StageKind.OPEN:
            errors["stage"] = [_("A new opportunity must start in an open stage.")]
        elif not stage.is_active:
            errors["stage"] = [str(HIDDEN_STAGE_ERROR)]
        created_at: datetime | None = row.get("created_at")
        created = now
        if created_at is not None:
            if created_at > now:
                errors["created_at"] = [_("The creation date cannot be in the future.")]
            created = min(created_at, now)
        if errors:
            results[position].error = ValidationFailed(_("The opportunity could not be saved."), field_errors=errors)
            continue
        plan = _Plan(position, account, owner, name, money, currency, pipeline, stage, created, row)
        outcome = row.get("outcome") or Outcome.OPEN
        if outcome != Outcome.OPEN:
            # opportunity_close's checks; a row they refuse (or a gated win) takes the one-row path
            closed_on: date | None = row.get("closed_on")
            reason: LostReason | None = row.get("lost_reason")
            end: Stage | None = None
            if outcome in CLOSED_OUTCOMES:
                key = (pipeline.pk, StageKind.WON if outcome == Outcome.WON else StageKind.LOST)
                if key not in end_stages:
                    end_stages[key] = _end_stage(*key)
                end = end_stages[key]
            if end is not None and end.pk not in gated:
                gated[end.pk] = bool(criteria_of([end.pk])[end.pk])
            closed_at = row.get("closed_at")
            if closed_at is None and closed_on is not None:
                closed_at = historical_close(closed_on, created)
            simple = (
                outcome in CLOSED_OUTCOMES
                and end is not None
                and not (outcome == Outcome.WON and gated[end.pk])
                and (outcome != Outcome.LOST or (reason is not None and reason.is_active))
                and closed_on_error(closed_on) is None
                and closed_at is not None
                and created <= closed_at <= timezone.now()
            )
            if not simple:
                one_by_one.append(position)
                continue
            plan.end, plan.closed_at = end, closed_at
        plans.append(plan)
    refused: dict[int, ServiceError] = {}
    while True:
        try:
            with transaction.atomic():
                saved = _insert_plans(actor, [p for p in plans if p.position not in refused], opportunities_writable_by)
            break
        except _NotWritable as exc:
            for position in exc.positions:
                refused[position] = Forbidden(_("You may not change this opportunity."))
    for position, error in refused.items():
        results[position].error = error
    for plan, opp in saved:
        results[plan.position].record = opp
    won = [(plan, opp) for plan, opp in saved if opp.outcome == Outcome.WON]
    if won:
        # account_record_win for the first won deal of each account that is not a customer yet
        # (for the others it changes nothing)
        changing = set(
            Account.objects.filter(
                pk__in={plan.account.pk for plan, _opp in won}, lifecycle__in=WIN_MAKES_CUSTOMER
            ).values_list("pk", flat=True)
        )
        for plan, opp in won:
            if plan.account.pk in changing:
                changing.discard(plan.account.pk)
                account_record_win(actor=actor, account=plan.account, opportunity_id=opp.pk)
    for position in one_by_one:
        try:
            results[position].record = _create_and_close(actor, rows[position])
        except ServiceError as exc:
            results[position].error = exc
    return results


def _insert_plans(
    actor: User, plans: list[_Plan], writable_by: Callable[[User], Any]
) -> list[tuple[_Plan, Opportunity]]:
    """Insert the deals of ``plans`` with their search rows, stage changes, field history and
    events (:func:`opportunity_create_many`); raises :class:`_NotWritable` (the caller's
    savepoint rolls back) when ``actor`` may not close some of the new deals."""
    from salesflow.search.inserts import bulk_insert

    if not plans:
        return []
    by = actor if actor.pk else None
    teams = dict(User.objects.filter(pk__in={p.owner.pk for p in plans}).values_list("pk", "team_id"))
    unsaved: list[Opportunity] = []
    for plan in plans:
        stage = plan.stage
        opp = Opportunity(
            created_at=plan.created,
            name=plan.name,
            account=plan.account,
            owner=plan.owner,
            pipeline=plan.pipeline,
            stage=stage,
            stage_rank=stage_rank_of(plan.pipeline.position, plan.pipeline.pk, stage.position),
            amount=plan.money,
            currency=plan.currency,
            probability=stage.probability,
            forecast_category=stage.forecast_category,
            expected_close_date=plan.row.get("expected_close_date"),
            close_date=plan.row.get("expected_close_date"),
            next_step=str(plan.row.get("next_step") or "").strip(),
            next_step_date=plan.row.get("next_step_date"),
            description=plan.row.get("description") or "",
            stage_entered_at=plan.created,
        )
        unsaved.append(opp)
    labels: dict[str, dict[int, str]] = {
        HistoryField.STAGE: dict(Stage.objects.values_list("pk", "code")),
        HistoryField.PIPELINE: dict(Pipeline.objects.values_list("pk", "code")),
        HistoryField.OWNER: dict(User.objects.filter(pk__in={p.owner.pk for p in plans}).values_list("pk", "username")),
    }

    def label(field: str, _ids: set[int]) -> dict[int, str]:
        return labels[field]

    # the created state, as opportunity_create records it, before the deal is closed: its
    # field history (every field of the new deal) and the values the close compares against
    history: list[OpportunityFieldChange] = []
    created_tracked: list[dict[str, Any]] = []
    for plan, opp in zip(plans, unsaved, strict=True):
        history.extend(_field_change_rows(actor=actor, opp=opp, before=None, now=plan.created, labels=label))
        created_tracked.append(_tracked(opp))
    for plan, opp in zip(plans, unsaved, strict=True):
        end = plan.end
        if end is None or plan.closed_at is None:
            continue
        outcome = end.kind
        opp.outcome = outcome
        opp.outcome_note = str(plan.row.get("note") or "").strip()
        opp.lost_reason = plan.row.get("lost_reason") if outcome == Outcome.LOST else None
        opp.closed_at = plan.closed_at
        opp.closed_on = plan.row.get("closed_on")
        opp.close_date = close_date_of(opp)
        opp.stage = end
        opp.stage_rank = stage_rank_of(plan.pipeline.position, plan.pipeline.pk, end.position)
        opp.stage_entered_at = plan.closed_at
        opp.probability = end.probability
        opp.forecast_category = end.forecast_category
    starts = {id(opp): plan.stage for plan, opp in zip(plans, unsaved, strict=True)}
    saved = bulk_insert(
        actor=actor,
        objs=unsaved,
        verb="sales.opportunity.created",
        data=lambda o: {
            "amount": o.amount,
            "currency": o.currency,
            "stage": starts[id(o)].code,
            "owner": o.owner_id,
        },
        related=lambda o: [o.account],
    )
    closing = [(plan, opp) for plan, opp in zip(plans, saved, strict=True) if plan.end is not None]
    if closing:
        ok = set(writable_by(actor).filter(pk__in=[opp.pk for _p, opp in closing]).values_list("pk", flat=True))
        bad = {plan.position for plan, opp in closing if opp.pk not in ok}
        if bad:
            raise _NotWritable(bad)
    changes: list[StageChange] = []
    for plan, opp, tracked in zip(plans, saved, created_tracked, strict=True):
        stage, end = plan.stage, plan.end
        team = teams.get(plan.owner.pk)
        snapshot = {"owner_id": plan.owner.pk, "owner_team_id": team, "amount": opp.amount, "currency": opp.currency}
        changes.append(
            StageChange(
                opportunity=opp,
                from_stage=None,
                to_stage=stage,
                changed_by=by,
                changed_at=plan.created,
                duration_seconds=None,
                from_position=None,
                to_position=stage.position,
                probability=stage.probability,
                is_regression=False,
                gate_overridden=False,
                **snapshot,
            )
        )
        if end is not None and plan.closed_at is not None:
            changes.append(
                StageChange(
                    opportunity=opp,
                    from_stage=stage,
                    to_stage=end,
                    changed_by=by,
                    changed_at=plan.closed_at,
                    duration_seconds=_seconds_between(plan.created, plan.closed_at),
                    from_position=stage.position,
                    to_position=end.position,
                    probability=end.probability,
                    is_regression=is_regression(stage, end),
                    gate_overridden=False,
                    **snapshot,
                )
            )
            history.extend(_field_change_rows(actor=actor, opp=opp, before=tracked, now=plan.closed_at, labels=label))
    StageChange.objects.bulk_create(changes, batch_size=500)
    OpportunityFieldChange.objects.bulk_create(history, batch_size=500)
    stuck_buckets_add_many(bucket_state(opp) for opp in saved)  # the open ones: the stuck matrix
    for outcome in CLOSED_OUTCOMES:
        items = [(opp, _close_data(plan, opp)) for plan, opp in closing if opp.outcome == outcome]
        if items:
            record_events(
                actor=actor,
                verb=f"sales.opportunity.{outcome}",
                items=items,
                related=lambda o: [getattr(o, "account", None)],
            )
    return list(zip(plans, saved, strict=True))


def _close_data(plan: _Plan, opp: Opportunity) -> dict[str, Any]:
    """The payload of the ``.won`` / ``.lost`` event :func:`opportunity_close` writes."""
    assert plan.end is not None and plan.closed_at is not None
    data: dict[str, Any] = {"from": plan.stage.code, "amount": opp.amount, "currency": opp.currency}
    if opp.closed_on is not None:
        data["closed_on"] = opp.closed_on
    data.update(to=plan.end.code, duration_seconds=_seconds_between(plan.created, plan.closed_at))
    note = opp.outcome_note
    parts: list[Callable[[], str]] = []
    if opp.outcome == Outcome.LOST:
        reason = opp.lost_reason
        data.update(lost_reason=reason.code if reason else None, lost_to=None)
        parts = [lambda: reason.label if reason is not None else "", lambda: ""]
    if note:
        data["note"] = note
        clipped = note[:200]
        parts.append(lambda: clipped)
    if parts:
        data["summary"] = in_every_language(lambda: " · ".join(filter(None, (part() for part in parts))))
    return data


@transaction.atomic
def opportunity_update(
    *,
    actor: User,
    opportunity: Opportunity,
    **changes: Unpack[OpportunityChanges],
) -> Opportunity:
    """Change the given fields of ``opportunity``; fields left out keep their values.

    ``probability`` is a manual override of the stage's default (it is reset to the
    stage default by the next stage move). ``contacts`` replaces the decision-maker map
    (``(contact, buying role)`` pairs, contacts of the opportunity's account only);
    ``competitors`` replaces the competitor list. Stage and outcome are not changed here
    (see ``opportunity_move_stage`` / ``opportunity_close``). Closed deals stay editable,
    e.g. to correct the amount of a won deal (parsed with ``parse_amount`` in the deal's
    new currency), but the probability and forecast category
    of a won or lost deal are those of its end stage and cannot be changed (a field
    error; sending the current value is accepted). Replacing ``contacts`` locks the deal
    row first, so concurrent updates of the map serialise instead of colliding on the
    unique (deal, contact) key. A new owner takes the records registered to follow the deal
    (``register_opportunity_owner_follower``: the open receivables of its contracts and
    orders) in the same transaction. Changes of the amount, expected close date,
    probability, forecast category and owner are kept in ``OpportunityFieldChange``.
    ``closed_on`` corrects the actual close date of a won or lost deal (same rules as
    ``opportunity_close``: not in the future, not before 2000; an open, paused or upgraded
    deal has none). ``close_date`` follows: ``closed_on`` for won and lost deals, else
    ``expected_close_date``.

    Raises ``ValidationFailed`` (nothing written) for a blank or too long name, a
    negative or malformed amount, an unknown currency, a probability outside 0–100, an
    unknown forecast category, an owner outside ``assignable_users_for(actor)``, or
    contacts of another account / with an unknown role / listed twice, or a key that is not
    one of ``OpportunityChanges``. Audits
    ``sales.opportunity.updated`` with ``changes`` (``{field: [old, new]}``);
    an update that changes nothing writes nothing. Raises ``Forbidden`` when ``actor`` may
    not change the deal, or gives it another owner without holding it through ownership
    scope (a read-write share does not allow that).
    """
    _require_write(actor, opportunity)
    refuse_unknown_fields(changes, OPPORTUNITY_FIELDS, _("The opportunity could not be saved."))
    name = changes.get("name", UNSET)
    amount = changes.get("amount", UNSET)
    currency = changes.get("currency", UNSET)
    expected_close_date = changes.get("expected_close_date", UNSET)
    next_step = changes.get("next_step", UNSET)
    next_step_date = changes.get("next_step_date", UNSET)
    description = changes.get("description", UNSET)
    owner = changes.get("owner", UNSET)
    probability = changes.get("probability", UNSET)
    forecast_category = changes.get("forecast_category", UNSET)
    contacts = changes.get("contacts", UNSET)
    competitors = changes.get("competitors", UNSET)
    closed_on = changes.get("closed_on", UNSET)
    errors: dict[str, list[str]] = {}
    new: dict[str, Any] = {}
    if not isinstance(name, _Unset):
        name = name.strip()
        if not name:
            errors["name"] = [_("This field is required.")]
        elif len(name) > NAME_MAX:
            errors["name"] = [_("Use at most %(max)d characters.") % {"max": NAME_MAX}]
        new["name"] = name
    if not isinstance(currency, _Unset):
        currency = currency.strip().upper()
        allowed = {code for code, _label in currency_choices()} | {opportunity.currency}
        if currency not in allowed:
            errors["currency"] = [_("“%(currency)s” is not a supported currency.") % {"currency": currency}]
        new["currency"] = currency
    # The amount is checked against the currency it will have (JPY has no decimals): a
    # currency change alone re-checks the stored amount too.
    target_currency = str(new.get("currency", opportunity.currency))
    if not isinstance(amount, _Unset) or "currency" in new:
        try:
            new["amount"] = parse_amount(opportunity.amount if isinstance(amount, _Unset) else amount, target_currency)
        except AmountError as exc:
            errors["amount"] = [str(exc.message)]
        else:
            if not isinstance(amount, _Unset) and new["amount"] != opportunity.amount:
                refusal = next((m for m in (g(opportunity, new["amount"]) for g in _amount_guards) if m), None)
                if refusal:
                    errors["amount"] = [str(refusal)]
    if not isinstance(expected_close_date, _Unset):
        new["expected_close_date"] = expected_close_date
    if not isinstance(closed_on, _Unset):
        if opportunity.outcome not in CLOSED_OUTCOMES:
            if closed_on is not None:
                errors["closed_on"] = [_("Only won or lost opportunities have a close date.")]
        else:
            message = closed_on_error(closed_on)
            if message:
                errors["closed_on"] = [message]
            new["closed_on"] = closed_on
    if not isinstance(next_step, _Unset):
        next_step = next_step.strip()
        if len(next_step) > NEXT_STEP_MAX:
            errors["next_step"] = [_("Use at most %(max)d characters.") % {"max": NEXT_STEP_MAX}]
        new["next_step"] = next_step
    if not isinstance(next_step_date, _Unset):
        new["next_step_date"] = next_step_date
    if not isinstance(description, _Unset):
        new["description"] = description
    if not isinstance(owner, _Unset):
        if owner.pk != opportunity.owner_id:
            _require_write(actor, opportunity, manage=True)
        if owner.pk != opportunity.owner_id and not assignable_users_for(actor).filter(pk=owner.pk).exists():
            errors["owner"] = [_("You cannot assign records to this user.")]
        new["owner_id"] = owner.pk
    closed = opportunity.outcome in (Outcome.WON, Outcome.LOST)
    if not isinstance(probability, _Unset):
        if not isinstance(probability, int) or isinstance(probability, bool) or not 0 <= probability <= 100:
            errors["probability"] = [_("Enter a whole number from 0 to 100.")]
        elif closed and probability != opportunity.probability:
            errors["probability"] = [_("A won or lost opportunity keeps the probability of its stage.")]
        new["probability"] = probability
    if not isinstance(forecast_category, _Unset):
        if forecast_category not in ForecastCategory.values:
            errors["forecast_category"] = [_("Select a valid forecast category.")]
        elif closed and forecast_category != opportunity.forecast_category:
            errors["forecast_category"] = [_("A won or lost opportunity keeps the forecast category of its stage.")]
        new["forecast_category"] = forecast_category
    if not isinstance(contacts, _Unset):
        contacts = list(contacts)
        _validate_contacts(opportunity.account_id, contacts, errors)
    if not isinstance(competitors, _Unset):
        competitors = list(competitors)
    if errors:
        raise ValidationFailed(_("The opportunity could not be saved."), field_errors=errors)

    if not isinstance(contacts, _Unset):
        # Serialise concurrent replacements of the decision-maker map (see docstring).
        Opportunity.objects.select_for_update().filter(pk=opportunity.pk).values_list("pk").first()
    before = {key: getattr(opportunity, key) for key in new}
    diff = changed_fields(before, new)
    if diff:
        tracked_before = _tracked(opportunity)
        for key, value in new.items():
            setattr(opportunity, key, value)
        if not isinstance(owner, _Unset):
            opportunity.owner = owner
        derived = []
        if close_date_of(opportunity) != opportunity.close_date:
            opportunity.close_date = close_date_of(opportunity)
            derived.append("close_date")
        # the stuck matrix's buckets follow the owner, amount and currency; the row as the
        # database holds it (the caller's copy may be stale), locked until the commit
        in_buckets = set(diff) & {"owner_id", "amount", "currency"}
        stored = Opportunity.objects.select_for_update().filter(pk=opportunity.pk).first() if in_buckets else None
        opportunity.save(update_fields=[*diff, *derived, "updated_at"])
        if stored is not None:
            old_state = bucket_state(stored)
            for key in in_buckets:
                setattr(stored, key, getattr(opportunity, key))
            stuck_buckets_follow(old_state, bucket_state(stored))
        index_record(opportunity)
        _record_field_changes(actor=actor, opp=opportunity, before=tracked_before, now=timezone.now())
    if not isinstance(contacts, _Unset):
        old_map = sorted(opportunity.contact_roles.values_list("contact_id", "role"))
        new_map = sorted((c.pk, role) for c, role in contacts)
        if old_map != new_map:
            opportunity.contact_roles.all().delete()
            OpportunityContact.objects.bulk_create(
                [OpportunityContact(opportunity=opportunity, contact=c, role=role) for c, role in contacts]
            )
            diff["contacts"] = [[list(x) for x in old_map], [list(x) for x in new_map]]
    if not isinstance(competitors, _Unset):
        old_ids = sorted(opportunity.competitors.values_list("pk", flat=True))
        new_ids = sorted({c.pk for c in competitors})
        if old_ids != new_ids:
            opportunity.competitors.set(competitors)
            diff["competitors"] = [old_ids, new_ids]
    if diff:
        if "owner_id" in diff:
            diff["owner"] = diff.pop("owner_id")
        record_event(
            actor=actor,
            verb="sales.opportunity.updated",
            target=opportunity,
            data={"changes": diff, "summary": in_every_language(lambda: _changed_summary(diff))},
            related=[opportunity.account],
        )
        if "owner" in diff:
            for follower in _owner_followers:
                follower(actor, opportunity, opportunity.owner)
    return opportunity


@transaction.atomic
def opportunity_move_stage(
    *, actor: User, opportunity: Opportunity, stage: Stage, override_reason: str | None = None
) -> Opportunity:
    """Move an open opportunity to another open ``stage`` of its pipeline.

    Locks the row so concurrent moves serialise. Writes one ``StageChange`` (from, to,
    who, when, seconds spent in the previous stage since ``stage_entered_at``, and the
    snapshot of positions, owner, team, amount and probability) and the field history
    of stage, probability and forecast category, resets
    probability and forecast category to the new stage's defaults and restarts the
    stage clock. Moving to the stage the deal is already in is a no-op (no row, no
    event). Raises ``ValidationFailed`` for a stage of another pipeline, a hidden
    stage or a won/lost stage (those go through ``opportunity_close``), ``Conflict`` when
    the deal is not open, ``Forbidden`` when ``actor`` may not change the deal. Audits
    ``sales.opportunity.stage_changed`` with the from/to stage codes (and ``regression``).

    Stage gates: a forward move (to a higher position) needs every active entry criterion
    of ``stage`` met (``salesflow.sales.gates``); otherwise ``GateRefused`` (a 409
    ``Conflict`` listing each unmet criterion) and nothing is written. ``override_reason``
    (1–500 characters) moves anyway when ``actor`` is a manager over the owner or an
    administrator (else ``Forbidden``), audited ``sales.opportunity.gate_overridden`` with
    the unmet list and the reason. Moving back is always allowed and recorded as a
    regression (``StageChange.is_regression``).
    """
    _require_write(actor, opportunity)
    override_reason = clean_override_reason(override_reason)
    if stage.pipeline_id != opportunity.pipeline_id:
        raise ValidationFailed(
            _("The opportunity could not be moved."),
            field_errors={"stage": [_("The stage does not belong to the opportunity's pipeline.")]},
        )
    if stage.kind != StageKind.OPEN:
        raise ValidationFailed(
            _("The opportunity could not be moved."),
            field_errors={"stage": [_("Use “Won” or “Lost” to close the opportunity.")]},
        )
    if not stage.is_active:
        raise ValidationFailed(_("The opportunity could not be moved."), field_errors={"stage": [HIDDEN_STAGE_ERROR]})
    locked = _lock(opportunity)
    if locked.outcome != Outcome.OPEN:
        raise Conflict(_("Only open opportunities can change stage; reopen it first."), code="not_open")
    if locked.stage_id == stage.pk:
        _copy_state(locked, opportunity, STATE_FIELDS)
        return opportunity
    from_stage = locked.stage
    overridden: list[CriterionResult] = []
    if stage.position > from_stage.position:
        overridden = _check_gate(actor=actor, opp=locked, stage=stage, override_reason=override_reason)
    now = timezone.now()
    before = _tracked(locked)
    old_state = bucket_state(locked)
    change = _record_stage_change(
        actor=actor,
        opp=locked,
        to_stage=stage,
        now=now,
        probability=stage.probability,
        gate_overridden=bool(overridden),
    )
    if overridden and override_reason is not None:
        _record_override(actor=actor, opp=locked, stage=stage, unmet=overridden, reason=override_reason)
    locked.stage = stage
    locked.probability = stage.probability
    locked.forecast_category = stage.forecast_category
    locked.stage_entered_at = now
    locked.save(
        update_fields=["stage", "stage_rank", "probability", "forecast_category", "stage_entered_at", "updated_at"]
    )
    stuck_buckets_follow(old_state, bucket_state(locked))
    _record_field_changes(actor=actor, opp=locked, before=before, now=now)
    _copy_state(locked, opportunity, STATE_FIELDS)
    record_event(
        actor=actor,
        verb="sales.opportunity.stage_changed",
        target=locked,
        data={
            "from": from_stage.code,
            "to": stage.code,
            "duration_seconds": change.duration_seconds,
            "regression": change.is_regression,
            "summary": in_every_language(lambda: _move_summary(from_stage, stage, regression=change.is_regression)),
        },
        related=[locked.account],
    )
    return opportunity


CLOSE_OUTCOMES = (Outcome.WON, Outcome.LOST, Outcome.PAUSED, Outcome.UPGRADED)


@transaction.atomic
def opportunity_close(
    *,
    actor: User,
    opportunity: Opportunity,
    outcome: str,
    lost_reason: LostReason | None = None,
    lost_to: Competitor | None = None,
    note: str = "",
    resume_date: date | None = None,
    closed_on: date | None = None,
    amount: Decimal | int | str | None = None,
    override_reason: str | None = None,
    closed_at: datetime | None = None,
) -> Opportunity:
    """End (or pause) an open opportunity with ``outcome``.

    ``closed_at`` (imports only) is the moment a won or lost deal closed historically
    (default now): it becomes ``closed_at`` and the end stage's entry time; it may be
    neither in the future nor before the deal's creation (``ValidationFailed``).

    - ``won``: moves to the pipeline's won stage (``StageChange`` row), probability and
      forecast category from that stage (as configured, e.g. 100 % / ``closed``),
      ``closed_at`` now. ``amount`` optionally records the final amount (``parse_amount``
      in the deal's currency; kept in the field history like every amount change). The
      account becomes a customer (``parties.services.account_record_win``, same
      transaction, authorised by this deal's write access).
    - ``lost``: moves to the lost stage (probability and forecast from that stage),
      requires ``lost_reason``; ``lost_to`` optionally names the winning competitor.
    - ``won`` and ``lost`` record the actual close date ``closed_on`` (default: today in
      the actor's time zone; never in the future, not before 2000) and set ``close_date``
      to it; the field history keeps it.
    - ``paused``: stays in its stage; requires a ``resume_date`` after today.
    - ``upgraded``: stays in its stage; ``closed_at`` now.

    ``note`` is kept as ``outcome_note``. Raises ``ValidationFailed`` (nothing written)
    for an unknown outcome, a missing/inactive lost reason, a missing or past resume
    date, a pipeline without a won/lost stage, a close date in the future or before 2000
    (``closed_on``), a close date for a paused or upgraded deal, an amount that is not
    valid or given for another outcome than won, and ``Conflict`` when the deal is not
    open, ``Forbidden`` when ``actor`` may not change the deal. Audits
    ``sales.opportunity.<outcome>``; keeps outcome, stage, probability and forecast
    category changes in ``OpportunityFieldChange``.

    Stage gates: winning needs the won stage's entry criteria (when it has any), with the
    same refusal (``GateRefused``, 409) and manager override (``override_reason``) as
    ``opportunity_move_stage``. Losing, pausing and upgrading are never gated.
    """
    _require_write(actor, opportunity)
    override_reason = clean_override_reason(override_reason)
    errors: dict[str, list[str]] = {}
    if outcome not in CLOSE_OUTCOMES:
        errors["outcome"] = [_("Select a valid outcome.")]
    if outcome == Outcome.LOST:
        if lost_reason is None:
            errors["lost_reason"] = [_("Say why the opportunity was lost.")]
        elif not lost_reason.is_active:
            errors["lost_reason"] = [_("This lost reason is no longer in use.")]
    if outcome == Outcome.PAUSED:
        if resume_date is None:
            errors["resume_date"] = [_("Say when to resume the opportunity.")]
        elif resume_date <= timezone.localdate():
            errors["resume_date"] = [_("The resume date must be in the future.")]
    if outcome in CLOSED_OUTCOMES:
        closed_on = closed_on or timezone.localdate()
        message = closed_on_error(closed_on)
        if message:
            errors["closed_on"] = [message]
    elif closed_on is not None:
        errors["closed_on"] = [_("Only won or lost opportunities have a close date.")]
    final_amount: Decimal | None = None
    if amount is not None and amount != "":
        if outcome != Outcome.WON:
            errors["amount"] = [_("A final amount is recorded only when the opportunity is won.")]
        else:
            try:
                final_amount = parse_amount(amount, opportunity.currency)
            except AmountError as exc:
                errors["amount"] = [str(exc.message)]
    end_stage: Stage | None = None
    if outcome in (Outcome.WON, Outcome.LOST):
        end_stage = _end_stage(opportunity.pipeline_id, StageKind.WON if outcome == Outcome.WON else StageKind.LOST)
        if end_stage is None:
            errors["outcome"] = [_("The pipeline has no stage for this outcome.")]
    if closed_at is not None:
        if outcome not in CLOSED_OUTCOMES:
            errors["closed_at"] = [_("Only won or lost opportunities have a close date.")]
        elif closed_at > timezone.now() or closed_at < opportunity.created_at:
            errors["closed_at"] = [_("The close date must lie between the creation date and now.")]
    if errors:
        raise ValidationFailed(_("The opportunity could not be closed."), field_errors=errors)

    locked = _lock(opportunity)
    if locked.outcome != Outcome.OPEN:
        raise Conflict(_("The opportunity is not open any more."), code="not_open")
    overridden: list[CriterionResult] = []
    if outcome == Outcome.WON and end_stage is not None:
        overridden = _check_gate(actor=actor, opp=locked, stage=end_stage, override_reason=override_reason)
    now = closed_at or timezone.now()
    from_stage = locked.stage
    before = _tracked(locked)
    old_state = bucket_state(locked)
    data: dict[str, Any] = {"from": from_stage.code, "amount": locked.amount, "currency": locked.currency}
    fields = ["outcome", "outcome_note", "lost_reason", "lost_to", "resume_date", "closed_at"]
    locked.outcome = outcome
    locked.outcome_note = note.strip()
    locked.lost_reason = lost_reason if outcome == Outcome.LOST else None
    locked.lost_to = lost_to if outcome == Outcome.LOST else None
    locked.resume_date = resume_date if outcome == Outcome.PAUSED else None
    locked.closed_at = None if outcome == Outcome.PAUSED else now
    locked.closed_on = closed_on if outcome in CLOSED_OUTCOMES else None
    locked.close_date = close_date_of(locked)
    fields += ["closed_on", "close_date"]
    if final_amount is not None and final_amount != locked.amount:
        data["previous_amount"] = locked.amount
        locked.amount = final_amount
        data["amount"] = final_amount
        fields.append("amount")
    if locked.closed_on is not None:
        data["closed_on"] = locked.closed_on
    if end_stage is not None:
        change = _record_stage_change(
            actor=actor,
            opp=locked,
            to_stage=end_stage,
            now=now,
            probability=end_stage.probability,
            gate_overridden=bool(overridden),
        )
        if overridden and override_reason is not None:
            _record_override(actor=actor, opp=locked, stage=end_stage, unmet=overridden, reason=override_reason)
        data.update(to=end_stage.code, duration_seconds=change.duration_seconds)
        locked.stage = end_stage
        locked.stage_entered_at = now
        # The end stage's configured values, for won as for lost (configuration is data).
        locked.probability = end_stage.probability
        locked.forecast_category = end_stage.forecast_category
        fields += ["stage", "stage_rank", "stage_entered_at", "probability", "forecast_category"]
    locked.save(update_fields=[*fields, "updated_at"])
    stuck_buckets_follow(old_state, None)  # no longer open
    _record_field_changes(actor=actor, opp=locked, before=before, now=now)
    _copy_state(locked, opportunity, STATE_FIELDS)
    if outcome == Outcome.LOST:
        data.update(lost_reason=lost_reason.code if lost_reason else None, lost_to=lost_to.pk if lost_to else None)
        reason = lost_reason
        lost_to_name = lost_to.name if lost_to is not None else ""
        parts: list[Callable[[], str]] = [lambda: reason.label if reason is not None else "", lambda: lost_to_name]
    elif outcome == Outcome.PAUSED:
        data.update(resume_date=resume_date)
        resume = resume_date.isoformat() if resume_date else ""
        parts = [lambda: resume]
    else:
        parts = []
    if note.strip():
        data["note"] = note.strip()
        clipped = note.strip()[:200]
        parts.append(lambda: clipped)
    if parts:
        data["summary"] = in_every_language(lambda: " · ".join(filter(None, (part() for part in parts))))
    record_event(actor=actor, verb=f"sales.opportunity.{outcome}", target=locked, data=data, related=[locked.account])
    if outcome == Outcome.WON:
        account_record_win(actor=actor, account=locked.account, opportunity_id=locked.pk)
    return opportunity


def _last_open_stage(opp: Opportunity) -> Stage | None:
    """The open stage the deal was last in (from its stage history)."""
    change = (
        StageChange.objects.filter(
            opportunity=opp, to_stage__kind=StageKind.OPEN, to_stage__pipeline_id=opp.pipeline_id
        )
        .select_related("to_stage")
        .order_by("-changed_at", "-id")
        .first()
    )
    return change.to_stage if change else None


@transaction.atomic
def opportunity_reopen(*, actor: User, opportunity: Opportunity, stage: Stage | None = None) -> Opportunity:
    """Bring a won, lost, paused or upgraded opportunity back to ``open``.

    The deal goes to ``stage`` (an open stage of its pipeline) or, by default, to the
    open stage it was last in. When that differs from its current stage a
    ``StageChange`` row is written and probability / forecast category are reset to the
    stage's defaults; a paused deal reopened in its own stage keeps them. Lost reason,
    competitor, resume date, note, ``closed_at`` and the actual close date ``closed_on``
    are cleared (the audit trail and field history keep them); ``close_date`` goes back
    to the expected close date. The account's lifecycle is not downgraded: a reopened
    win leaves a customer a customer (someone edits the account if that is wrong).
    Raises ``ValidationFailed`` for a stage of another pipeline or a closed stage,
    ``Conflict`` when the deal is already open, ``Forbidden`` when ``actor`` may not
    change the deal. A hidden stage is never the default target (the first open stage is).
    Audits ``sales.opportunity.reopened``.
    """
    _require_write(actor, opportunity)
    if stage is not None:
        error = None
        if stage.pipeline_id != opportunity.pipeline_id:
            error = _("The stage does not belong to the opportunity's pipeline.")
        elif stage.kind != StageKind.OPEN:
            error = _("Reopen into an open stage.")
        elif not stage.is_active:
            error = str(HIDDEN_STAGE_ERROR)
        if error:
            raise ValidationFailed(_("The opportunity could not be reopened."), field_errors={"stage": [error]})
    locked = _lock(opportunity)
    if locked.outcome == Outcome.OPEN:
        raise Conflict(_("The opportunity is already open."), code="already_open")
    target = stage
    if target is None:
        target = locked.stage if locked.stage.is_open else _last_open_stage(locked)
    if target is None or not target.is_active:
        target = first_open_stage(locked.pipeline)
    now = timezone.now()
    previous_outcome = locked.outcome
    from_stage = locked.stage
    before = _tracked(locked)
    fields = ["outcome", "outcome_note", "lost_reason", "lost_to", "resume_date", "closed_at"]
    data: dict[str, Any] = {"from_outcome": previous_outcome, "from": from_stage.code, "to": target.code}
    if target.pk != locked.stage_id:
        change = _record_stage_change(actor=actor, opp=locked, to_stage=target, now=now, probability=target.probability)
        data["duration_seconds"] = change.duration_seconds
        locked.stage = target
        locked.stage_entered_at = now
        locked.probability = target.probability
        locked.forecast_category = target.forecast_category
        fields += ["stage", "stage_rank", "stage_entered_at", "probability", "forecast_category"]
    locked.outcome = Outcome.OPEN
    locked.outcome_note = ""
    locked.lost_reason = None
    locked.lost_to = None
    locked.resume_date = None
    locked.closed_at = None
    locked.closed_on = None
    locked.close_date = close_date_of(locked)
    fields += ["closed_on", "close_date"]
    locked.save(update_fields=[*fields, "updated_at"])
    stuck_buckets_follow(None, bucket_state(locked))  # open again (it was not before)
    _record_field_changes(actor=actor, opp=locked, before=before, now=now)
    _copy_state(locked, opportunity, STATE_FIELDS)
    data["summary"] = in_every_language(lambda: target.label)
    record_event(actor=actor, verb="sales.opportunity.reopened", target=locked, data=data, related=[locked.account])
    return opportunity


@transaction.atomic
def opportunity_change_pipeline(
    *, actor: User, opportunity: Opportunity, pipeline: Pipeline, stage: Stage
) -> Opportunity:
    """Move ``opportunity`` to another ``pipeline``, into ``stage`` (the explicit stage
    mapping: stage positions and codes differ between pipelines, so the caller says where
    the deal lands).

    ``stage`` must be an active stage of ``pipeline``; an open deal needs an open stage,
    a won or lost deal the target pipeline's stage of the same kind (a paused or upgraded
    deal stays out of the won/lost stages as well). Locks the row; writes one
    ``StageChange`` (with the snapshot), the field history of pipeline, stage,
    probability and forecast category, and audits ``sales.opportunity.pipeline_changed``
    with ``{"from_pipeline", "to_pipeline", "from_stage", "to_stage"}`` (codes).
    Probability and forecast category take the new stage's defaults; the stage clock
    restarts.

    Raises ``Forbidden`` when ``actor`` may not write the deal and ``ValidationFailed``
    (nothing written) for an inactive pipeline, the deal's own pipeline, a pipeline the
    owner's team does not use (the same rule as on creation), or a stage that does not fit.
    """
    if not can_write_opportunity(actor, opportunity):
        raise Forbidden(_("You may not change this opportunity."))
    locked = _lock(opportunity)
    errors: dict[str, list[str]] = {}
    if not pipeline.is_active:
        errors["pipeline"] = [_("This pipeline is not in use.")]
    elif pipeline.pk == locked.pipeline_id:
        errors["pipeline"] = [_("The opportunity is already in this pipeline.")]
    elif not pipeline_available_to(locked.owner, pipeline):
        errors["pipeline"] = [_("The owner's team does not use this pipeline, or it is hidden.")]
    if stage.pipeline_id != pipeline.pk:
        errors["stage"] = [_("The stage does not belong to the pipeline.")]
    elif not stage.is_active:
        errors["stage"] = [str(HIDDEN_STAGE_ERROR)]
    else:
        wanted = {Outcome.WON: StageKind.WON, Outcome.LOST: StageKind.LOST}.get(Outcome(locked.outcome), StageKind.OPEN)
        if stage.kind != wanted:
            errors["stage"] = [
                _("Choose an open stage.")
                if wanted == StageKind.OPEN
                else _("Choose the pipeline's “%(kind)s” stage.") % {"kind": StageKind(wanted).label}
            ]
    if errors:
        raise ValidationFailed(_("The opportunity could not be moved to the pipeline."), field_errors=errors)
    now = timezone.now()
    from_pipeline = locked.pipeline
    from_stage = locked.stage
    before = _tracked(locked)
    old_state = bucket_state(locked)
    change = _record_stage_change(actor=actor, opp=locked, to_stage=stage, now=now, probability=stage.probability)
    locked.pipeline = pipeline
    locked.stage = stage
    locked.stage_entered_at = now
    locked.probability = stage.probability
    locked.forecast_category = stage.forecast_category
    locked.close_date = close_date_of(locked)  # unchanged by design; kept consistent
    locked.save(
        update_fields=[
            "pipeline",
            "stage",
            "stage_rank",
            "stage_entered_at",
            "probability",
            "forecast_category",
            "close_date",
            "updated_at",
        ]
    )
    stuck_buckets_follow(old_state, bucket_state(locked))
    _record_field_changes(actor=actor, opp=locked, before=before, now=now)
    _copy_state(locked, opportunity, [*STATE_FIELDS, "pipeline"])
    record_event(
        actor=actor,
        verb="sales.opportunity.pipeline_changed",
        target=locked,
        data={
            "from_pipeline": from_pipeline.code,
            "to_pipeline": pipeline.code,
            "from_stage": from_stage.code,
            "to_stage": stage.code,
            "duration_seconds": change.duration_seconds,
            "summary": in_every_language(
                lambda: f"{from_pipeline.label} · {from_stage.label} → {pipeline.label} · {stage.label}"
            ),
        },
        related=[locked.account],
    )
    return opportunity


@transaction.atomic
def opportunity_delete(*, actor: User, opportunity: Opportunity) -> None:
    """Delete the opportunity with its stage history, decision-maker map and activities.

    The audit event ``sales.opportunity.deleted`` is written first (same transaction)
    and linked to the account, so the account's timeline keeps a trace of the deal.
    Raises ``Forbidden`` unless ``actor`` holds the deal through ownership scope (a
    read-write share never allows deleting).
    """
    _require_write(actor, opportunity, manage=True)
    record_event(
        actor=actor,
        verb="sales.opportunity.deleted",
        target=opportunity,
        data={
            "name": opportunity.name,
            "amount": opportunity.amount,
            "currency": opportunity.currency,
            "outcome": opportunity.outcome,
            "summary": opportunity.name,
        },
        related=[opportunity.account],
    )
    shares_delete_for(opportunity)
    unindex_record(opportunity)
    # the row as stored, locked (the caller's copy may be stale), for the stuck matrix's buckets
    old_state = bucket_state(Opportunity.objects.select_for_update().filter(pk=opportunity.pk).first())
    opportunity.delete()
    stuck_buckets_follow(old_state, None)


# --- next step from a planned follow-up (used by activities) ---------------------------------


@transaction.atomic
def opportunity_set_next_step(*, actor: User, opportunity: Opportunity, on: date, text: str = "") -> bool:
    """Make ``on`` the deal's next-step date when it is the nearest upcoming step; fill the
    next-step text with ``text`` when the deal has none. Returns whether the deal changed.

    Called when a follow-up is planned on the deal (an activity with a due date, or a
    next follow-up date), so the deal leaves "deals without a next step". The date is set
    when the deal is open and has no next-step date, or its date has passed, or ``on`` is
    earlier than it (the nearest planned step is the next step); otherwise nothing changes.
    Completing the follow-up later does not clear the date. Goes through
    ``opportunity_update`` under a row lock (so audited ``sales.opportunity.updated``).

    Raises ``Forbidden`` when ``actor`` may not change the deal.
    """
    _require_write(actor, opportunity)
    locked = _lock(opportunity)
    if locked.outcome != Outcome.OPEN:
        return False
    today = timezone.localdate()
    current = locked.next_step_date
    changes: OpportunityChanges = {}
    if (current is None or current < today or on < current) and on != current:
        changes["next_step_date"] = on
    text = text.strip()[:NEXT_STEP_MAX]
    if not locked.next_step.strip() and text:
        changes["next_step"] = text
    if not changes:
        return False
    opportunity_update(actor=actor, opportunity=locked, **changes)
    _copy_state(locked, opportunity, ("next_step", "next_step_date"))
    return True


# --- bulk reassignment of accounts ----------------------------------------------------------------


def open_deals_follow_account(actor: User, account: Account, owner: User) -> None:
    """Give the account's open deals to ``owner`` through ``opportunity_update`` (its rules,
    one audit event per deal). Registered with ``parties.services.account_reassign``."""
    deals = Opportunity.objects.filter(account=account, outcome=Outcome.OPEN).exclude(owner=owner).order_by("pk")
    for deal in deals:
        opportunity_update(actor=actor, opportunity=deal, owner=owner)


# ------------------------------------------------------------------ stall detection


def _require_system_or_admin(actor: User) -> None:
    if not (is_system_actor(actor) or (actor.is_active and actor.is_admin)):
        raise Forbidden(_("Only the system or an administrator may do this."))


@transaction.atomic
def stage_dwell_stats_compute(*, actor: User, now: datetime | None = None) -> int:
    """Recompute ``StageDwellStat``: for each (owner's team at the time, stage) the 80th
    percentile — nearest rank: the ⌈0.8·n⌉-th smallest — of ``duration_seconds`` over the
    exits from the stage (``StageChange.from_stage``) of the last ``STALL_STAT_WINDOW_DAYS``,
    with the number of exits. One window query numbers the exits of each group in SQL, so
    only the percentile row of each group leaves the database (both databases); the table
    is replaced in the same transaction. Idempotent: the same history gives the same rows.
    A derived statistic, so no audit event. Only the system actor or an administrator
    (``Forbidden``). Returns the number of rows written."""
    _require_system_or_admin(actor)
    now = now or timezone.now()
    exits = StageChange.objects.filter(
        from_stage__isnull=False,
        duration_seconds__isnull=False,
        changed_at__gte=now - timedelta(days=STALL_STAT_WINDOW_DAYS),
    )
    partition = [F("owner_team_id"), F("from_stage_id")]
    ranked = exits.annotate(
        sf_rn=Window(RowNumber(), partition_by=partition, order_by=[F("duration_seconds").asc(), F("id").asc()]),
        sf_n=Window(Count("id"), partition_by=partition),
    )
    # rank k = ⌈0.8·n⌉ ⇔ k ≥ 0.8·n > k − 1
    picked = ranked.filter(sf_rn__gte=F("sf_n") * 0.8, sf_rn__lt=F("sf_n") * 0.8 + 1)
    rows = []
    for team_id, stage_id, seconds, rn, n in picked.values_list(
        "owner_team_id", "from_stage_id", "duration_seconds", "sf_rn", "sf_n"
    ):
        if not (5 * rn >= 4 * n > 5 * (rn - 1)):  # exact integer check of the float bound
            continue
        rows.append(
            StageDwellStat(team_id=team_id, stage_id=stage_id, p80_seconds=seconds or 0, sample_size=n, computed_at=now)
        )
    StageDwellStat.objects.all().delete()
    StageDwellStat.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _managers_above(team_id: int | None, teams: dict[int, tuple[int | None, int | None]], exclude: int) -> list[int]:
    """Managers up the team tree from ``team_id`` (nearest first, each once, not ``exclude``)."""
    found: list[int] = []
    seen: set[int] = set()
    current = team_id
    while current is not None and current not in seen:
        seen.add(current)
        parent_id, manager_id = teams.get(current, (None, None))
        if manager_id is not None and manager_id != exclude and manager_id not in found:
            found.append(manager_id)
        current = parent_id
    return found


def _stall_recipient(notify: str, owner_id: int, managers: list[int]) -> int | None:
    if notify == StallRecipient.OWNER:
        return owner_id
    if notify == StallRecipient.MANAGER:
        return managers[0] if managers else None
    return managers[1] if len(managers) > 1 else None


STALL_BATCH = 500


@dataclass(frozen=True)
class _StallItem:
    """One step to take for one deal: what the job found, before it writes anything."""

    opportunity_id: int
    account_id: int
    stage_id: int
    stage_entered_at: datetime
    step_id: int
    notify: str
    recipient_id: int | None
    data: dict[str, Any]


def opportunities_escalate_stalled(*, actor: User, now: datetime | None = None, batch_size: int = STALL_BATCH) -> int:
    """Apply the escalation ladder (active ``StallEscalationStep`` rows) to every open deal
    stalled at ``now``. Each step is taken at most once per deal and stall episode (a
    ``StallNotice``: deal, step, time the stage was entered; unique), so running the job
    again writes nothing; moving the deal to another stage starts a new episode.

    Catching up (``core.escalation.catch_up``): of the steps a deal has reached (days past
    its threshold ≥ the step's ``after_days_stalled``) and not yet taken, only those of the
    furthest step reached are taken — a notice and the event ``sales.opportunity.stalled``
    (owner step) or ``sales.opportunity.stall_escalated`` (manager steps), from which the
    notification comes; earlier ones get a notice with ``skipped`` and no event. So the
    first run on an existing database, or a run after an outage, tells each deal's current
    step once instead of replaying the ladder. Digest: when one recipient would get more
    than ``digest_threshold()`` notifications of one kind (owner / manager steps) from this
    run, each deal's event carries ``digest: true`` (its timeline, no notification of its
    own) and one ``sales.stall.digest`` event (target: the recipient) lists them.

    Set-based: one SQL condition selects the stalled deals (``stalled_q``, index
    ``opp_stall_idx``), read by id in batches of ``batch_size`` with one query for their
    existing notices; the skipped steps are written per batch; the steps to take are then
    written per recipient in one transaction each (events and digest together). "Manager"
    is the nearest manager up the owner's team tree other than the owner; "manager's
    manager" the next one. Only the system actor or an administrator (``Forbidden``).
    Returns the number of steps taken (skipped ones not counted)."""
    _require_system_or_admin(actor)
    now = now or timezone.now()
    steps = list(StallEscalationStep.objects.filter(is_active=True).order_by("after_days_stalled", "position", "pk"))
    if not steps:
        return 0
    rules = stall_rules()
    stages = {s.pk: s for s in Stage.objects.filter(kind=StageKind.OPEN)}
    teams: dict[int, tuple[int | None, int | None]] = {
        pk: (parent, manager) for pk, parent, manager in Team.objects.values_list("pk", "parent_id", "manager_id")
    }
    stalled = Opportunity.objects.filter(rules.q(list(stages.values()), now)).order_by("pk")
    to_take: dict[tuple[int | None, bool], list[_StallItem]] = {}
    last = 0
    while True:
        batch = list(
            stalled.filter(pk__gt=last)
            .select_related("owner")
            .only("pk", "account_id", "outcome", "stage_id", "stage_entered_at", "owner_id", "owner__team_id")[
                :batch_size
            ]
        )
        if not batch:
            break
        last = batch[-1].pk
        take, skip = _stall_plan(batch, steps, stages, rules, teams, now)
        _stall_write_skipped(skip)
        for item in take:
            to_take.setdefault((item.recipient_id, item.notify == StallRecipient.OWNER), []).append(item)
    written = 0
    for (recipient_id, owner_step), items in sorted(to_take.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        written += _stall_take(actor, recipient_id, owner_step, items)
    return written


def _stall_offset(step: StallEscalationStep) -> int:
    return step.after_days_stalled


def _stall_plan(
    batch: list[Opportunity],
    steps: list[StallEscalationStep],
    stages: dict[int, Stage],
    rules: StallRules,
    teams: dict[int, tuple[int | None, int | None]],
    now: datetime,
) -> tuple[list[_StallItem], list[_StallItem]]:
    """The steps to take and to skip for a batch of stalled deals (one query: their notices)."""
    done = set(
        StallNotice.objects.filter(opportunity_id__in=[o.pk for o in batch]).values_list(
            "opportunity_id", "step_id", "stage_entered_at"
        )
    )
    take: list[_StallItem] = []
    skip: list[_StallItem] = []
    for opp in batch:
        stage = stages[opp.stage_id]
        status = rules.status(opp, stage, now, opp.owner.team_id)
        if not status.stalled or status.threshold_days is None:
            continue
        reached = [step for step in steps if status.days_stalled >= step.after_days_stalled]
        taken = {step for step in reached if (opp.pk, step.pk, opp.stage_entered_at) in done}
        now_steps, skipped = catch_up(reached, taken=taken, offset=_stall_offset)
        if not now_steps and not skipped:
            continue
        managers = _managers_above(opp.owner.team_id, teams, opp.owner_id)
        data = {
            "stage": stage.code,
            "days_in_stage": status.days_in_stage,
            "days_stalled": status.days_stalled,
            "threshold_days": status.threshold_days,
            "basis": status.basis or "",
            "sample_size": status.sample_size,
        }
        for steps_of, out in ((now_steps, take), (skipped, skip)):
            for step in steps_of:
                out.append(
                    _StallItem(
                        opportunity_id=opp.pk,
                        account_id=opp.account_id,
                        stage_id=stage.pk,
                        stage_entered_at=opp.stage_entered_at,
                        step_id=step.pk,
                        notify=step.notify,
                        recipient_id=_stall_recipient(step.notify, opp.owner_id, managers),
                        data=data,
                    )
                )
    return take, skip


def _stall_notice(item: _StallItem, *, skipped: bool = False, digest: bool = False) -> StallNotice:
    return StallNotice(
        opportunity_id=item.opportunity_id,
        step_id=item.step_id,
        stage_entered_at=item.stage_entered_at,
        stage_id=item.stage_id,
        recipient_id=item.recipient_id,
        skipped=skipped,
        digest=digest,
    )


@transaction.atomic
def _stall_write_skipped(items: list[_StallItem]) -> None:
    """Record the skipped steps (no event, no notification); a step another run recorded
    meanwhile is left as it is."""
    StallNotice.objects.bulk_create([_stall_notice(i, skipped=True) for i in items], ignore_conflicts=True)


@transaction.atomic
def _stall_take(actor: User, recipient_id: int | None, owner_step: bool, items: list[_StallItem]) -> int:
    """Take the steps of one recipient and kind: a notice and an event per deal, and — above
    the digest threshold — one digest event for the recipient. One transaction, so the
    digest and the events it stands for are written together or not at all."""
    digest = is_digest(len(items), recipient_id)
    opportunities = {
        o.pk: o
        for o in Opportunity.objects.filter(pk__in=[i.opportunity_id for i in items])
        .select_related("account")
        .only("pk", "name", "account_id", "account__name")
    }
    taken: list[int] = []
    for item in items:
        opp = opportunities.get(item.opportunity_id)
        if opp is None:
            continue  # deleted since it was read
        try:
            with transaction.atomic():
                _stall_notice(item, digest=digest).save(force_insert=True)
        except IntegrityError:
            continue  # another run took this step of this episode just now
        data: dict[str, Any] = {
            "step": item.step_id,
            "notify": item.notify,
            "recipient": item.recipient_id,
            **item.data,
        }
        if digest:
            data["digest"] = True
        record_event(
            actor=actor,
            verb="sales.opportunity.stalled" if owner_step else "sales.opportunity.stall_escalated",
            target=opp,
            data=data,
            related=[opp.account],
        )
        taken.append(opp.pk)
    if digest and taken and recipient_id is not None:
        recipient = User.objects.filter(pk=recipient_id).first()
        if recipient is not None:
            record_event(
                actor=actor,
                verb="sales.stall.digest",
                target=recipient,
                data={
                    "recipient": recipient_id,
                    "owner_step": owner_step,
                    "count": len(taken),
                    "opportunities": first_ids(taken),
                },
            )
    return len(taken)
