"""Writes for opportunities. Stage, probability and forecast category change together;
every stage change writes a ``StageChange`` row and an audit event in one transaction.

Transitions that can race (moving, closing, reopening) lock the opportunity row with
``select_for_update()`` and re-check its state under the lock, so two concurrent moves
serialise and a second identical move is a no-op. (On SQLite the settings open every
transaction with ``BEGIN IMMEDIATE``, which serialises writers the same way.)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from salesflow.core.audit import changed_fields, in_every_language, record_event
from salesflow.core.errors import Conflict, ValidationFailed
from salesflow.core.money import currency_choices, default_currency, quantize
from salesflow.parties.choices import BuyingRole
from salesflow.parties.models import Account, Contact
from salesflow.sales.choices import ForecastCategory, Outcome, StageKind
from salesflow.sales.models import (
    Competitor,
    LostReason,
    Opportunity,
    OpportunityContact,
    Pipeline,
    Stage,
    StageChange,
)
from salesflow.users.models import User
from salesflow.users.permissions import assignable_users_for


class _Unset(enum.Enum):
    """Marker for "field not given" in partial updates (``None`` is a real value for dates)."""

    UNSET = 0


UNSET: Final = _Unset.UNSET

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
)
NEXT_STEP_MAX = 300


def default_pipeline() -> Pipeline:
    """The pipeline marked default (seeded by migration ``sales.0003``)."""
    return Pipeline.objects.get(is_default=True)


def first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("position").first()
    if stage is None:
        raise ValidationFailed(_("The pipeline has no open stage."), field_errors={"pipeline": [_("No open stage.")]})
    return stage


def _end_stage(pipeline_id: int, kind: str) -> Stage | None:
    return Stage.objects.filter(pipeline_id=pipeline_id, kind=kind).order_by("position").first()


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


def _record_stage_change(*, actor: User | None, opp: Opportunity, to_stage: Stage, now: datetime) -> StageChange:
    return StageChange.objects.create(
        opportunity=opp,
        from_stage_id=opp.stage_id,
        to_stage=to_stage,
        changed_by=actor if actor is not None and actor.pk else None,
        changed_at=now,
        duration_seconds=_seconds_between(opp.stage_entered_at, now),
    )


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
    actor: User | None,
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
) -> Opportunity:
    """Create an open opportunity in ``stage`` (default: the pipeline's first open stage).

    Probability and forecast category default from the stage. The initial stage entry
    is recorded as a ``StageChange`` with no ``from_stage``. Raises ``ValidationFailed``
    (nothing written) for a blank name, a negative or malformed amount, a stage of
    another pipeline, a closed stage, or contacts of another account.
    """
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    try:
        money = quantize(amount)
        if money < 0:
            errors["amount"] = [_("The amount cannot be negative.")]
    except ValueError:
        money = Decimal("0")
        errors["amount"] = [_("Enter a number.")]
    pipeline = pipeline or (stage.pipeline if stage else default_pipeline())
    if stage is None:
        stage = first_open_stage(pipeline)
    elif stage.pipeline_id != pipeline.pk:
        errors["stage"] = [_("The stage does not belong to the pipeline.")]
    elif stage.kind != StageKind.OPEN:
        errors["stage"] = [_("A new opportunity must start in an open stage.")]
    for contact, _role in contacts:
        if contact.account_id != account.pk:
            errors["contacts"] = [_("Contacts must belong to the opportunity's account.")]
    if errors:
        raise ValidationFailed(_("The opportunity could not be saved."), field_errors=errors)
    now = timezone.now()
    opp = Opportunity.objects.create(
        name=name,
        account=account,
        owner=owner,
        pipeline=pipeline,
        stage=stage,
        amount=money,
        currency=(currency or default_currency()).upper(),
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        expected_close_date=expected_close_date,
        next_step=next_step.strip(),
        next_step_date=next_step_date,
        description=description,
        stage_entered_at=now,
    )
    OpportunityContact.objects.bulk_create(
        [OpportunityContact(opportunity=opp, contact=c, role=role) for c, role in contacts]
    )
    opp.competitors.set(list(competitors))
    StageChange.objects.create(opportunity=opp, from_stage=None, to_stage=stage, changed_by=actor, changed_at=now)
    record_event(
        actor=actor,
        verb="sales.opportunity.created",
        target=opp,
        data={"amount": money, "currency": opp.currency, "stage": stage.code, "owner": opp.owner_id},
        related=[account],
    )
    return opp


@transaction.atomic
def opportunity_update(
    *,
    actor: User | None,
    opportunity: Opportunity,
    name: str | _Unset = UNSET,
    amount: Decimal | int | str | _Unset = UNSET,
    currency: str | _Unset = UNSET,
    expected_close_date: date | _Unset | None = UNSET,
    next_step: str | _Unset = UNSET,
    next_step_date: date | _Unset | None = UNSET,
    description: str | _Unset = UNSET,
    owner: User | _Unset = UNSET,
    probability: int | _Unset = UNSET,
    forecast_category: str | _Unset = UNSET,
    contacts: Sequence[tuple[Contact, str]] | _Unset = UNSET,
    competitors: Iterable[Competitor] | _Unset = UNSET,
) -> Opportunity:
    """Change the given fields of ``opportunity``; fields left out keep their values.

    ``probability`` is a manual override of the stage's default (it is reset to the
    stage default by the next stage move). ``contacts`` replaces the decision-maker map
    (``(contact, buying role)`` pairs, contacts of the opportunity's account only);
    ``competitors`` replaces the competitor list. Stage and outcome are not changed here
    (see ``opportunity_move_stage`` / ``opportunity_close``). Closed deals stay editable,
    e.g. to correct the amount of a won deal.

    Raises ``ValidationFailed`` (nothing written) for a blank or too long name, a
    negative or malformed amount, an unknown currency, a probability outside 0–100, an
    unknown forecast category, an owner outside ``assignable_users_for(actor)``, or
    contacts of another account / with an unknown role / listed twice. Audits
    ``sales.opportunity.updated`` with ``changes`` (``{field: [old, new]}``);
    an update that changes nothing writes nothing.
    """
    errors: dict[str, list[str]] = {}
    new: dict[str, Any] = {}
    if not isinstance(name, _Unset):
        name = name.strip()
        if not name:
            errors["name"] = [_("This field is required.")]
        elif len(name) > NAME_MAX:
            errors["name"] = [_("Use at most %(max)d characters.") % {"max": NAME_MAX}]
        new["name"] = name
    if not isinstance(amount, _Unset):
        try:
            money = quantize(amount)
            if money < 0:
                errors["amount"] = [_("The amount cannot be negative.")]
            new["amount"] = money
        except ValueError:
            errors["amount"] = [_("Enter a number.")]
    if not isinstance(currency, _Unset):
        currency = currency.strip().upper()
        allowed = {code for code, _label in currency_choices()} | {opportunity.currency}
        if currency not in allowed:
            errors["currency"] = [_("“%(currency)s” is not a supported currency.") % {"currency": currency}]
        new["currency"] = currency
    if not isinstance(expected_close_date, _Unset):
        new["expected_close_date"] = expected_close_date
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
        if (
            owner.pk != opportunity.owner_id
            and actor is not None
            and not assignable_users_for(actor).filter(pk=owner.pk).exists()
        ):
            errors["owner"] = [_("You cannot assign records to this user.")]
        new["owner_id"] = owner.pk
    if not isinstance(probability, _Unset):
        if not isinstance(probability, int) or isinstance(probability, bool) or not 0 <= probability <= 100:
            errors["probability"] = [_("Enter a whole number from 0 to 100.")]
        new["probability"] = probability
    if not isinstance(forecast_category, _Unset):
        if forecast_category not in ForecastCategory.values:
            errors["forecast_category"] = [_("Select a valid forecast category.")]
        new["forecast_category"] = forecast_category
    if not isinstance(contacts, _Unset):
        contacts = list(contacts)
        _validate_contacts(opportunity.account_id, contacts, errors)
    if not isinstance(competitors, _Unset):
        competitors = list(competitors)
    if errors:
        raise ValidationFailed(_("The opportunity could not be saved."), field_errors=errors)

    before = {key: getattr(opportunity, key) for key in new}
    changes = changed_fields(before, new)
    if changes:
        for key, value in new.items():
            setattr(opportunity, key, value)
        if not isinstance(owner, _Unset):
            opportunity.owner = owner
        opportunity.save(update_fields=[*changes, "updated_at"])
    if not isinstance(contacts, _Unset):
        old_map = sorted(opportunity.contact_roles.values_list("contact_id", "role"))
        new_map = sorted((c.pk, role) for c, role in contacts)
        if old_map != new_map:
            opportunity.contact_roles.all().delete()
            OpportunityContact.objects.bulk_create(
                [OpportunityContact(opportunity=opportunity, contact=c, role=role) for c, role in contacts]
            )
            changes["contacts"] = [[list(x) for x in old_map], [list(x) for x in new_map]]
    if not isinstance(competitors, _Unset):
        old_ids = sorted(opportunity.competitors.values_list("pk", flat=True))
        new_ids = sorted({c.pk for c in competitors})
        if old_ids != new_ids:
            opportunity.competitors.set(competitors)
            changes["competitors"] = [old_ids, new_ids]
    if changes:
        if "owner_id" in changes:
            changes["owner"] = changes.pop("owner_id")
        record_event(
            actor=actor,
            verb="sales.opportunity.updated",
            target=opportunity,
            data={"changes": changes, "summary": in_every_language(lambda: _changed_summary(changes))},
            related=[opportunity.account],
        )
    return opportunity


@transaction.atomic
def opportunity_move_stage(*, actor: User | None, opportunity: Opportunity, stage: Stage) -> Opportunity:
    """Move an open opportunity to another open ``stage`` of its pipeline.

    Locks the row so concurrent moves serialise. Writes one ``StageChange`` (from, to,
    who, when, seconds spent in the previous stage since ``stage_entered_at``), resets
    probability and forecast category to the new stage's defaults and restarts the
    stage clock. Moving to the stage the deal is already in is a no-op (no row, no
    event). Raises ``ValidationFailed`` for a stage of another pipeline or a won/lost
    stage (those go through ``opportunity_close``) and ``Conflict`` when the deal is not
    open. Audits ``sales.opportunity.stage_changed`` with the from/to stage codes.
    """
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
    locked = _lock(opportunity)
    if locked.outcome != Outcome.OPEN:
        raise Conflict(_("Only open opportunities can change stage; reopen it first."), code="not_open")
    if locked.stage_id == stage.pk:
        _copy_state(locked, opportunity, STATE_FIELDS)
        return opportunity
    now = timezone.now()
    from_stage = locked.stage
    change = _record_stage_change(actor=actor, opp=locked, to_stage=stage, now=now)
    locked.stage = stage
    locked.probability = stage.probability
    locked.forecast_category = stage.forecast_category
    locked.stage_entered_at = now
    locked.save(update_fields=["stage", "probability", "forecast_category", "stage_entered_at", "updated_at"])
    _copy_state(locked, opportunity, STATE_FIELDS)
    record_event(
        actor=actor,
        verb="sales.opportunity.stage_changed",
        target=locked,
        data={
            "from": from_stage.code,
            "to": stage.code,
            "duration_seconds": change.duration_seconds,
            "summary": in_every_language(lambda: f"{from_stage.label} → {stage.label}"),
        },
        related=[locked.account],
    )
    return opportunity


CLOSE_OUTCOMES = (Outcome.WON, Outcome.LOST, Outcome.PAUSED, Outcome.UPGRADED)


@transaction.atomic
def opportunity_close(
    *,
    actor: User | None,
    opportunity: Opportunity,
    outcome: str,
    lost_reason: LostReason | None = None,
    lost_to: Competitor | None = None,
    note: str = "",
    resume_date: date | None = None,
) -> Opportunity:
    """End (or pause) an open opportunity with ``outcome``.

    - ``won``: moves to the pipeline's won stage (``StageChange`` row), probability 100,
      forecast category ``closed``, ``closed_at`` now.
    - ``lost``: moves to the lost stage (probability and forecast from that stage),
      requires ``lost_reason``; ``lost_to`` optionally names the winning competitor.
    - ``paused``: stays in its stage; requires a ``resume_date`` after today.
    - ``upgraded``: stays in its stage; ``closed_at`` now.

    ``note`` is kept as ``outcome_note``. Raises ``ValidationFailed`` (nothing written)
    for an unknown outcome, a missing/inactive lost reason, a missing or past resume
    date or a pipeline without a won/lost stage, and ``Conflict`` when the deal is not
    open. Audits ``sales.opportunity.<outcome>``.
    """
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
    end_stage: Stage | None = None
    if outcome in (Outcome.WON, Outcome.LOST):
        end_stage = _end_stage(opportunity.pipeline_id, StageKind.WON if outcome == Outcome.WON else StageKind.LOST)
        if end_stage is None:
            errors["outcome"] = [_("The pipeline has no stage for this outcome.")]
    if errors:
        raise ValidationFailed(_("The opportunity could not be closed."), field_errors=errors)

    locked = _lock(opportunity)
    if locked.outcome != Outcome.OPEN:
        raise Conflict(_("The opportunity is not open any more."), code="not_open")
    now = timezone.now()
    from_stage = locked.stage
    data: dict[str, Any] = {"from": from_stage.code, "amount": locked.amount, "currency": locked.currency}
    fields = ["outcome", "outcome_note", "lost_reason", "lost_to", "resume_date", "closed_at"]
    locked.outcome = outcome
    locked.outcome_note = note.strip()
    locked.lost_reason = lost_reason if outcome == Outcome.LOST else None
    locked.lost_to = lost_to if outcome == Outcome.LOST else None
    locked.resume_date = resume_date if outcome == Outcome.PAUSED else None
    locked.closed_at = None if outcome == Outcome.PAUSED else now
    if end_stage is not None:
        change = _record_stage_change(actor=actor, opp=locked, to_stage=end_stage, now=now)
        data.update(to=end_stage.code, duration_seconds=change.duration_seconds)
        locked.stage = end_stage
        locked.stage_entered_at = now
        locked.probability = 100 if outcome == Outcome.WON else end_stage.probability
        locked.forecast_category = ForecastCategory.CLOSED if outcome == Outcome.WON else end_stage.forecast_category
        fields += ["stage", "stage_entered_at", "probability", "forecast_category"]
    locked.save(update_fields=[*fields, "updated_at"])
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
def opportunity_reopen(*, actor: User | None, opportunity: Opportunity, stage: Stage | None = None) -> Opportunity:
    """Bring a won, lost, paused or upgraded opportunity back to ``open``.

    The deal goes to ``stage`` (an open stage of its pipeline) or, by default, to the
    open stage it was last in. When that differs from its current stage a
    ``StageChange`` row is written and probability / forecast category are reset to the
    stage's defaults; a paused deal reopened in its own stage keeps them. Lost reason,
    competitor, resume date, note and ``closed_at`` are cleared (the audit trail keeps
    them). Raises ``ValidationFailed`` for a stage of another pipeline or a closed stage
    and ``Conflict`` when the deal is already open. Audits ``sales.opportunity.reopened``.
    """
    if stage is not None:
        error = None
        if stage.pipeline_id != opportunity.pipeline_id:
            error = _("The stage does not belong to the opportunity's pipeline.")
        elif stage.kind != StageKind.OPEN:
            error = _("Reopen into an open stage.")
        if error:
            raise ValidationFailed(_("The opportunity could not be reopened."), field_errors={"stage": [error]})
    locked = _lock(opportunity)
    if locked.outcome == Outcome.OPEN:
        raise Conflict(_("The opportunity is already open."), code="already_open")
    target = stage
    if target is None:
        target = locked.stage if locked.stage.is_open else _last_open_stage(locked)
    if target is None:
        target = first_open_stage(locked.pipeline)
    now = timezone.now()
    previous_outcome = locked.outcome
    from_stage = locked.stage
    fields = ["outcome", "outcome_note", "lost_reason", "lost_to", "resume_date", "closed_at"]
    data: dict[str, Any] = {"from_outcome": previous_outcome, "from": from_stage.code, "to": target.code}
    if target.pk != locked.stage_id:
        change = _record_stage_change(actor=actor, opp=locked, to_stage=target, now=now)
        data["duration_seconds"] = change.duration_seconds
        locked.stage = target
        locked.stage_entered_at = now
        locked.probability = target.probability
        locked.forecast_category = target.forecast_category
        fields += ["stage", "stage_entered_at", "probability", "forecast_category"]
    locked.outcome = Outcome.OPEN
    locked.outcome_note = ""
    locked.lost_reason = None
    locked.lost_to = None
    locked.resume_date = None
    locked.closed_at = None
    locked.save(update_fields=[*fields, "updated_at"])
    _copy_state(locked, opportunity, STATE_FIELDS)
    data["summary"] = in_every_language(lambda: target.label)
    record_event(actor=actor, verb="sales.opportunity.reopened", target=locked, data=data, related=[locked.account])
    return opportunity


@transaction.atomic
def opportunity_delete(*, actor: User | None, opportunity: Opportunity) -> None:
    """Delete the opportunity with its stage history, decision-maker map and activities.

    The audit event ``sales.opportunity.deleted`` is written first (same transaction)
    and linked to the account, so the account's timeline keeps a trace of the deal.
    """
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
    opportunity.delete()
