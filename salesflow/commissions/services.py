"""Writes of commissions: plans and rules (administrators), statements (generate, submit,
return, approve, lock, correct, export). Every write checks the actor, validates first,
runs in one transaction and records its event (``commissions/events.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TypedDict, Unpack

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.catalogue.models import ProductCategory
from salesflow.commissions.choices import STATEMENT_PERIOD_KINDS, Basis, LineKind, RunStatus, StatementStatus
from salesflow.commissions.models import (
    MAX_MULTIPLIER_MILLI,
    MAX_THRESHOLD_BP,
    MAX_TIERS,
    NAME_LENGTH,
    NOTES_LENGTH,
    CommissionPlan,
    CommissionRule,
    CommissionStatement,
    CommissionTier,
    ComputeRun,
    StatementLine,
)
from salesflow.commissions.permissions import (
    can_approve,
    can_generate,
    can_manage_rules,
    can_submit,
    manages_rep,
)
from salesflow.commissions.selectors import (
    compute_statement,
    covering_plan,
    export_rows,
    open_statement,
    overlapping_plans,
    reps_managed_by,
)
from salesflow.core.audit import record_event
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from salesflow.core.money import company_currency
from salesflow.core.periods import Period, parse_period
from salesflow.core.quantities import parse_percent
from salesflow.core.schemas import text_error
from salesflow.core.tasks import enqueue_on_commit
from salesflow.users.choices import Role
from salesflow.users.models import User

REASON_LENGTH = 500


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("Please correct the errors below."), field_errors={field: [message]})


def _require_admin(actor: User) -> None:
    if not can_manage_rules(actor):
        raise Forbidden(_("Only administrators change commission rules."))


def _text(value: object, field: str, *, max_length: int, required: bool = False, multiline: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(field, _("Enter text."))
    text = value.strip()
    if required and not text:
        raise _invalid(field, _("This field is required."))
    if len(text) > max_length:
        raise _invalid(field, _("Use at most %(max)d characters.") % {"max": max_length})
    error = text_error(text, multiline=multiline)
    if error:
        raise _invalid(field, error)
    return text


def _date(value: object, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise _invalid(field, _("Enter a valid date."))
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        try:
            if len(value.strip()) != 10:
                raise ValueError(value)
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise _invalid(field, _("Enter a valid date.")) from None
    else:
        raise _invalid(field, _("Enter a valid date."))
    if not 2000 <= day.year <= 2100:
        raise _invalid(field, _("Enter a date between 2000 and 2100."))
    return day


def parse_decimal(value: object, field: str, *, places: int, low: Decimal, high: Decimal) -> Decimal:
    """A finite decimal in ``(low, high]`` with at most ``places`` places (text or int)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _invalid(field, _("Enter a number."))
    text = str(value).strip()
    if len(text) > 20:
        raise _invalid(field, _("Enter a number."))
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _invalid(field, _("Enter a number.")) from None
    if not number.is_finite():
        raise _invalid(field, _("Enter a number."))
    if not low < number <= high:
        raise _invalid(field, _("Enter a number above %(low)s and at most %(high)s.") % {"low": low, "high": high})
    scaled = number.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise _invalid(field, _("Use at most %(places)d decimal places.") % {"places": places})
    return number


@dataclass(frozen=True)
class TierInput:
    """Above ``threshold`` % of the target the rate is × ``multiplier`` (text or Decimal)."""

    threshold: object
    multiplier: object


def _clean_tiers(tiers: Sequence[TierInput]) -> list[tuple[int, int]]:
    if len(tiers) > MAX_TIERS:
        raise _invalid("tiers", _("At most %(n)d tiers.") % {"n": MAX_TIERS})
    result: list[tuple[int, int]] = []
    for i, tier in enumerate(tiers):
        threshold = parse_decimal(
            tier.threshold, f"tiers.{i}.threshold", places=2, low=Decimal(0), high=Decimal(MAX_THRESHOLD_BP) / 100
        )
        multiplier = parse_decimal(
            tier.multiplier,
            f"tiers.{i}.multiplier",
            places=3,
            low=Decimal(0),
            high=Decimal(MAX_MULTIPLIER_MILLI) / 1000,
        )
        result.append((int(threshold * 100), int(multiplier * 1000)))
    thresholds = [t for t, _m in result]
    if len(set(thresholds)) != len(thresholds):
        raise _invalid("tiers", _("Each tier needs its own threshold."))
    return sorted(result)


def _tiers_repr(rule: CommissionRule) -> list[dict[str, int]]:
    return [{"threshold_bp": t.threshold_bp, "multiplier_milli": t.multiplier_milli} for t in rule.tiers.all()]


# --- plans ----------------------------------------------------------------------------------


def _check_plan_range(valid_from: dt.date, valid_to: dt.date, active: bool, exclude_id: int | None) -> None:
    if valid_to < valid_from:
        raise _invalid("valid_to", _("The end must not be before the start."))
    if (valid_to - valid_from).days > 3 * 366:
        raise _invalid("valid_to", _("A plan is valid for at most three years."))
    if active and overlapping_plans(valid_from, valid_to, exclude_id=exclude_id).exists():
        raise _invalid("valid_from", _("Another active plan covers some of these days."))


@transaction.atomic
def plan_create(
    *, actor: User, name: object, valid_from: object, valid_to: object, active: bool = True, notes: object = ""
) -> CommissionPlan:
    """Create a plan (administrators). 403 for others; 400 on ``name``, ``valid_from``
    (overlaps another active plan), ``valid_to``."""
    _require_admin(actor)
    clean_name = _text(name, "name", max_length=NAME_LENGTH, required=True)
    start, end = _date(valid_from, "valid_from"), _date(valid_to, "valid_to")
    clean_notes = _text(notes, "notes", max_length=NOTES_LENGTH, multiline=True)
    _check_plan_range(start, end, bool(active), None)
    plan = CommissionPlan.objects.create(
        name=clean_name, valid_from=start, valid_to=end, active=bool(active), notes=clean_notes, created_by=actor
    )
    record_event(
        actor=actor,
        verb="commissions.plan.created",
        target=plan,
        data={"name": plan.name, "valid_from": start, "valid_to": end, "active": plan.active},
    )
    return plan


class PlanChanges(TypedDict, total=False):
    name: object
    valid_from: object
    valid_to: object
    active: bool
    notes: object


PLAN_FIELDS = frozenset(PlanChanges.__annotations__)


@transaction.atomic
def plan_update(*, actor: User, plan: CommissionPlan, **changes: Unpack[PlanChanges]) -> CommissionPlan:
    """Change a plan (administrators); statements already made keep their lines."""
    _require_admin(actor)
    refuse_unknown_fields(changes, PLAN_FIELDS, _("The plan could not be saved."))
    plan = CommissionPlan.objects.select_for_update().get(pk=plan.pk)
    new: dict[str, Any] = {}
    if "name" in changes:
        new["name"] = _text(changes["name"], "name", max_length=NAME_LENGTH, required=True)
    if "valid_from" in changes:
        new["valid_from"] = _date(changes["valid_from"], "valid_from")
    if "valid_to" in changes:
        new["valid_to"] = _date(changes["valid_to"], "valid_to")
    if "active" in changes:
        if not isinstance(changes["active"], bool):
            raise _invalid("active", _("Enter true or false."))
        new["active"] = changes["active"]
    if "notes" in changes:
        new["notes"] = _text(changes["notes"], "notes", max_length=NOTES_LENGTH, multiline=True)
    _check_plan_range(
        new.get("valid_from", plan.valid_from),
        new.get("valid_to", plan.valid_to),
        new.get("active", plan.active),
        plan.pk,
    )
    diff = {k: [getattr(plan, k), v] for k, v in new.items() if getattr(plan, k) != v}
    if not diff:
        return plan
    for key, (_old, value) in diff.items():
        setattr(plan, key, value)
    plan.save()
    record_event(actor=actor, verb="commissions.plan.updated", target=plan, data={"changes": diff})
    return plan


@transaction.atomic
def plan_delete(*, actor: User, plan: CommissionPlan) -> None:
    """Delete a plan that no statement used (409 ``plan_used`` otherwise: deactivate it)."""
    _require_admin(actor)
    if CommissionStatement.objects.filter(plan=plan).exists():
        raise Conflict(_("Statements were made under this plan: deactivate it instead."), code="plan_used")
    record_event(actor=actor, verb="commissions.plan.deleted", target=plan, data={"name": plan.name})
    plan.delete()


# --- rules ----------------------------------------------------------------------------------


def _clean_rule(
    *, basis: object, role: object, product_line_id: object, rate: object
) -> tuple[str, str, ProductCategory | None, Decimal]:
    if basis not in Basis.values:
        raise _invalid("basis", _("Choose won or collected."))
    if role is None:
        role = ""
    if role != "" and role not in Role.values:
        raise _invalid("role", _("Choose a role."))
    line = None
    if product_line_id not in (None, "", 0):
        if isinstance(product_line_id, bool) or not isinstance(product_line_id, int) or not 0 < product_line_id < 2**63:
            raise _invalid("product_line_id", _("Choose a product line."))
        line = ProductCategory.objects.filter(pk=product_line_id).first()
        if line is None:
            raise _invalid("product_line_id", _("Choose a product line."))
        if basis != Basis.WON:
            raise _invalid("product_line_id", _("Only rules on the won amount can name a product line."))
    try:
        clean_rate = parse_percent(rate)
    except Exception as exc:
        raise _invalid("rate", str(getattr(exc, "message", exc))) from None
    return str(basis), str(role), line, clean_rate


def _save_rule(rule: CommissionRule) -> None:
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise _invalid("role", _("This plan already has a rule for this basis, role and product line.")) from None


@transaction.atomic
def rule_create(
    *,
    actor: User,
    plan: CommissionPlan,
    name: object,
    basis: object,
    rate: object,
    role: object = "",
    product_line_id: object = None,
    tiers: Sequence[TierInput] = (),
) -> CommissionRule:
    """Add a rule to ``plan`` (administrators). 400 on any field, on ``tiers.N.*`` and on
    ``role`` when the plan already has a rule for that (basis, role, product line)."""
    _require_admin(actor)
    clean_name = _text(name, "name", max_length=NAME_LENGTH, required=True)
    clean_basis, clean_role, line, clean_rate = _clean_rule(
        basis=basis, role=role, product_line_id=product_line_id, rate=rate
    )
    clean_tiers = _clean_tiers(tiers)
    rule = CommissionRule(
        plan=plan, name=clean_name, basis=clean_basis, role=clean_role, product_line=line, rate=clean_rate
    )
    _save_rule(rule)
    CommissionTier.objects.bulk_create(
        [CommissionTier(rule=rule, threshold_bp=t, multiplier_milli=m) for t, m in clean_tiers]
    )
    record_event(
        actor=actor,
        verb="commissions.rule.created",
        target=rule,
        data={
            "plan_id": plan.pk,
            "name": rule.name,
            "basis": rule.basis,
            "role": rule.role,
            "product_line_id": line.pk if line else None,
            "rate": clean_rate,
            "tiers": [{"threshold_bp": t, "multiplier_milli": m} for t, m in clean_tiers],
        },
    )
    return rule


class RuleChanges(TypedDict, total=False):
    name: object
    role: object
    product_line_id: object
    rate: object
    tiers: Sequence[TierInput]


RULE_FIELDS = frozenset(RuleChanges.__annotations__)


@transaction.atomic
def rule_update(*, actor: User, rule: CommissionRule, **changes: Unpack[RuleChanges]) -> CommissionRule:
    """Change a rule (administrators); ``tiers`` replaces every tier. Statements already
    made keep their lines (they carry the rule's name and rates)."""
    _require_admin(actor)
    refuse_unknown_fields(changes, RULE_FIELDS, _("The rule could not be saved."))
    rule = CommissionRule.objects.select_for_update().get(pk=rule.pk)
    name = _text(changes["name"], "name", max_length=NAME_LENGTH, required=True) if "name" in changes else rule.name
    _basis, role, line, rate = _clean_rule(
        basis=rule.basis,
        role=changes.get("role", rule.role),
        product_line_id=changes.get("product_line_id", rule.product_line_id),
        rate=changes.get("rate", rule.rate),
    )
    old_tiers = _tiers_repr(rule)
    new_tiers = (
        [{"threshold_bp": t, "multiplier_milli": m} for t, m in _clean_tiers(changes["tiers"])]
        if "tiers" in changes
        else old_tiers
    )
    diff: dict[str, list[Any]] = {}
    for key, old, value in (
        ("name", rule.name, name),
        ("role", rule.role, role),
        ("product_line_id", rule.product_line_id, line.pk if line else None),
        ("rate", rule.rate, rate),
        ("tiers", old_tiers, new_tiers),
    ):
        if old != value:
            diff[key] = [old, value]
    if not diff:
        return rule
    rule.name, rule.role, rule.product_line, rule.rate = name, role, line, rate
    _save_rule(rule)
    if "tiers" in diff:
        rule.tiers.all().delete()
        CommissionTier.objects.bulk_create(
            [
                CommissionTier(rule=rule, threshold_bp=t["threshold_bp"], multiplier_milli=t["multiplier_milli"])
                for t in new_tiers
            ]
        )
    record_event(
        actor=actor, verb="commissions.rule.updated", target=rule, data={"plan_id": rule.plan_id, "changes": diff}
    )
    return rule


@transaction.atomic
def rule_delete(*, actor: User, rule: CommissionRule) -> None:
    """Delete a rule (administrators); statement lines keep its name and rates."""
    _require_admin(actor)
    record_event(
        actor=actor,
        verb="commissions.rule.deleted",
        target=rule.plan,
        data={"plan_id": rule.plan_id, "name": rule.name},
    )
    rule.delete()


# --- statements -----------------------------------------------------------------------------


def statement_period(value: object, field: str = "period") -> Period:
    """A month or quarter key (``2026-11``, ``2026-Q4``); 400 naming ``field`` otherwise."""
    if not isinstance(value, str) or len(value) > 12:
        raise _invalid(field, _("Choose a month or a quarter."))
    try:
        period = parse_period(value)
    except ValueError:
        raise _invalid(field, _("Choose a month or a quarter.")) from None
    if period.kind not in STATEMENT_PERIOD_KINDS:
        raise _invalid(field, _("Choose a month or a quarter."))
    return period


def _write_lines(statement: CommissionStatement, rep: User, period: Period, plan: CommissionPlan) -> int:
    computation = compute_statement(rep, period, plan)
    kept = list(statement.lines.filter(kind=LineKind.REVERSAL).order_by("position", "id"))
    statement.lines.exclude(kind=LineKind.REVERSAL).delete()
    rows = [
        StatementLine(
            statement=statement,
            position=len(kept) + i,
            kind=d.kind,
            opportunity_id=d.opportunity_id,
            payment_id=d.payment_id,
            reference=d.reference[:200],
            day=d.day,
            rule=d.rule,
            rule_name=d.rule.name,
            product_line_id=d.product_line_id,
            source_amount=d.source_amount,
            source_currency=d.source_currency,
            basis=d.basis,
            rate=d.rate,
            multiplier_milli=d.multiplier_milli,
            threshold_bp=d.threshold_bp,
            commission=d.commission,
        )
        for i, d in enumerate(computation.lines)
    ]
    StatementLine.objects.bulk_create(rows)
    statement.basis_total = computation.basis_total + sum((k.basis for k in kept), Decimal(0))
    statement.commission_total = computation.commission_total + sum((k.commission for k in kept), Decimal(0))
    statement.attainment = computation.attainment
    statement.missing_rates = sorted(computation.missing_rates)
    statement.computed_at = timezone.now()
    statement.save()
    return len(rows) + len(kept)


def _lock_statement(statement: CommissionStatement) -> CommissionStatement:
    return CommissionStatement.objects.select_for_update().select_related("rep").get(pk=statement.pk)


def _data(statement: CommissionStatement) -> dict[str, Any]:
    return {"rep": statement.rep_id, "period": statement.period_key}


@transaction.atomic
def statement_generate(*, actor: User, rep: User, period_key: object) -> CommissionStatement:
    """Create ``rep``'s draft statement for a month or quarter, or recompute the open draft.

    403 unless the actor is an administrator or manages the rep's team; 400 on ``period``
    (not a month or quarter, or no active plan covers it); 409 ``statement_not_draft`` when
    the period's statement is submitted or approved, ``statement_locked`` when it is locked
    (start a correction)."""
    if not can_generate(actor, rep):
        raise Forbidden(_("Only the rep's manager or an administrator makes statements."))
    period = statement_period(period_key)
    latest = open_statement(rep.pk, period.key)
    if latest is not None:
        latest = _lock_statement(latest)
        if latest.status == StatementStatus.LOCKED:
            raise Conflict(
                _("This period's statement is locked: start a correction to change it."), code="statement_locked"
            )
        if latest.status != StatementStatus.DRAFT:
            raise Conflict(_("Only a draft statement can be recomputed."), code="statement_not_draft")
        plan = latest.plan if latest.corrects_id else (covering_plan(period) or latest.plan)
        latest.plan = plan
        count = _write_lines(latest, rep, period, plan)
        statement, recomputed = latest, True
    else:
        found = covering_plan(period)
        if found is None:
            raise _invalid("period", _("No active commission plan covers this whole period."))
        statement = CommissionStatement(
            rep=rep,
            period_key=period.key,
            period_start=period.start,
            period_end=period.end,
            plan=found,
            currency=company_currency(),
        )
        try:
            with transaction.atomic():
                statement.save()
        except IntegrityError:
            raise Conflict(_("The statement was made at the same time; reload."), code="statement_exists") from None
        count = _write_lines(statement, rep, period, found)
        recomputed = False
    record_event(
        actor=actor,
        verb="commissions.statement.generated",
        target=statement,
        data={
            **_data(statement),
            "lines": count,
            "basis_total": statement.basis_total,
            "commission_total": statement.commission_total,
            "recomputed": recomputed,
        },
        related=[rep],
    )
    return statement


def _transition(statement: CommissionStatement, expected: str, message: str) -> CommissionStatement:
    locked = _lock_statement(statement)
    if locked.status != expected:
        raise Conflict(message, code="wrong_status")
    return locked


@transaction.atomic
def statement_submit(*, actor: User, statement: CommissionStatement) -> CommissionStatement:
    """Draft → submitted (the rep, their manager or an administrator)."""
    if not can_submit(actor, statement.rep):
        raise Forbidden(_("You may not submit this statement."))
    statement = _transition(statement, StatementStatus.DRAFT, _("Only a draft statement can be submitted."))
    statement.status = StatementStatus.SUBMITTED
    statement.submitted_by, statement.submitted_at = actor, timezone.now()
    statement.save(update_fields=["status", "submitted_by", "submitted_at", "updated_at"])
    record_event(
        actor=actor,
        verb="commissions.statement.submitted",
        target=statement,
        data={**_data(statement), "commission_total": statement.commission_total},
    )
    return statement


@transaction.atomic
def statement_return(*, actor: User, statement: CommissionStatement, reason: object = "") -> CommissionStatement:
    """Submitted or approved → draft, with a reason (the rep's manager or an administrator)."""
    if not manages_rep(actor, statement.rep):
        raise Forbidden(_("Only the rep's manager or an administrator sends a statement back."))
    clean = _text(reason, "reason", max_length=REASON_LENGTH, multiline=True)
    locked = _lock_statement(statement)
    if locked.status not in (StatementStatus.SUBMITTED, StatementStatus.APPROVED):
        raise Conflict(_("Only a submitted or approved statement can be sent back."), code="wrong_status")
    locked.status = StatementStatus.DRAFT
    locked.approved_by = locked.approved_at = None
    locked.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    record_event(
        actor=actor, verb="commissions.statement.returned", target=locked, data={**_data(locked), "reason": clean}
    )
    return locked


@transaction.atomic
def statement_approve(*, actor: User, statement: CommissionStatement) -> CommissionStatement:
    """Submitted → approved, by the rep's manager or an administrator, never by the rep."""
    if not can_approve(actor, statement.rep):
        raise Forbidden(_("Only the rep's manager or an administrator approves a statement."))
    statement = _transition(statement, StatementStatus.SUBMITTED, _("Only a submitted statement can be approved."))
    statement.status = StatementStatus.APPROVED
    statement.approved_by, statement.approved_at = actor, timezone.now()
    statement.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    record_event(
        actor=actor,
        verb="commissions.statement.approved",
        target=statement,
        data={**_data(statement), "commission_total": statement.commission_total},
        related=[statement.rep],
    )
    return statement


@transaction.atomic
def statement_lock(*, actor: User, statement: CommissionStatement) -> CommissionStatement:
    """Approved → locked (administrators): from now on the statement never changes."""
    if not can_manage_rules(actor):
        raise Forbidden(_("Only administrators lock statements."))
    statement = _transition(statement, StatementStatus.APPROVED, _("Only an approved statement can be locked."))
    statement.status = StatementStatus.LOCKED
    statement.locked_by, statement.locked_at = actor, timezone.now()
    statement.save(update_fields=["status", "locked_by", "locked_at", "updated_at"])
    record_event(
        actor=actor,
        verb="commissions.statement.locked",
        target=statement,
        data={**_data(statement), "commission_total": statement.commission_total},
    )
    return statement


@transaction.atomic
def statement_correct(*, actor: User, statement: CommissionStatement) -> CommissionStatement:
    """Start a correction of the latest locked statement of its (rep, period): a new draft
    (``sequence`` + 1) with a reversal of each computed line of the locked one, then the
    lines computed now. Its total is the difference to pay (or claw back)."""
    if not can_generate(actor, statement.rep):
        raise Forbidden(_("Only the rep's manager or an administrator corrects a statement."))
    locked = _lock_statement(statement)
    latest = open_statement(locked.rep_id, locked.period_key)
    if locked.status != StatementStatus.LOCKED or latest is None or latest.pk != locked.pk:
        raise Conflict(_("Only the latest locked statement of a period can be corrected."), code="wrong_status")
    period = parse_period(locked.period_key)
    correction = CommissionStatement.objects.create(
        rep=locked.rep,
        period_key=locked.period_key,
        period_start=locked.period_start,
        period_end=locked.period_end,
        sequence=locked.sequence + 1,
        corrects=locked,
        plan=locked.plan,
        currency=locked.currency,
    )
    originals = locked.lines.exclude(kind=LineKind.REVERSAL).order_by("position", "id")
    StatementLine.objects.bulk_create(
        [
            StatementLine(
                statement=correction,
                position=i,
                kind=LineKind.REVERSAL,
                opportunity_id=line.opportunity_id,
                payment_id=line.payment_id,
                reference=line.reference,
                day=line.day,
                rule_id=line.rule_id,
                rule_name=line.rule_name,
                product_line_id=line.product_line_id,
                source_amount=line.source_amount,
                source_currency=line.source_currency,
                basis=-line.basis,
                rate=line.rate,
                multiplier_milli=line.multiplier_milli,
                threshold_bp=line.threshold_bp,
                commission=-line.commission,
            )
            for i, line in enumerate(originals)
        ]
    )
    _write_lines(correction, locked.rep, period, locked.plan)
    record_event(
        actor=actor,
        verb="commissions.statement.corrected",
        target=correction,
        data={**_data(correction), "corrects": locked.pk, "sequence": correction.sequence},
        related=[locked],
    )
    return correction


EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def statement_export(*, actor: User, statement: CommissionStatement, fmt: object) -> tuple[bytes, str, str]:
    """The statement as CSV or XLSX (``core.exports`` writers: formula-safe text): bytes,
    file name and content type. The caller has resolved the statement for the actor."""
    from salesflow.core.exports import cell_value, write_csv, write_xlsx

    if fmt not in EXPORT_TYPES:
        raise _invalid("format", _("Choose csv or xlsx."))
    headers, rows = export_rows(statement)
    cells = [[cell_value(v) for v in row] for row in rows]
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / f"statement.{fmt}"
        if fmt == "xlsx":
            write_xlsx(path, headers, cells, title=statement.period_key)
        else:
            write_csv(path, headers, cells)
        content = path.read_bytes()
    with transaction.atomic():
        record_event(
            actor=actor,
            verb="commissions.statement.exported",
            target=statement,
            data={"format": str(fmt), "lines": len(rows) - 1},
        )
    name = f"commission-{statement.rep_id}-{statement.period_key}-{statement.sequence}.{fmt}"
    return content, name, EXPORT_TYPES[str(fmt)]


def rep_for_statement(actor: User, rep_id: object) -> User:
    """The rep ``rep_id`` when the actor may see their statements (404 otherwise)."""
    from salesflow.analytics.selectors import visible_rep_ids

    if isinstance(rep_id, bool) or not isinstance(rep_id, int) or not 0 < rep_id < 2**63:
        raise Http404
    reps = visible_rep_ids(actor)
    if reps is not None and rep_id not in reps:
        raise Http404
    rep = User.objects.filter(pk=rep_id, is_active=True).first()
    if rep is None:
        raise Http404
    return rep


# --- many statements at once: in the background, and the monthly drafts ------------------------

#: at most this many people per computation (one period)
BULK_LIMIT = 500
#: the failures a run keeps to show ("name: reason")
FAILURES_KEPT = 5


def paid_people(people: QuerySet[User], period: Period) -> QuerySet[User]:
    """Of ``people``, those some rule of the period's plan applies to (no empty statements
    for assistants and support when no rule names them)."""
    plan = covering_plan(period)
    if plan is None:
        return people
    roles = set(plan.rules.values_list("role", flat=True))
    return people if "" in roles else people.filter(role__in=sorted(roles))


def statements_compute_start(*, actor: User, period_key: object) -> ComputeRun:
    """Queue "compute for everyone I manage" for a month or quarter: a :class:`ComputeRun`
    the task ``commissions.tasks.compute_statements`` works through after the commit (the
    page shows its progress). 403 unless the actor manages someone (or is an administrator);
    400 on ``period`` (not a month or quarter, or no active plan covers it). Nothing is
    computed in the request."""
    if not (actor.is_authenticated and actor.is_active) or not (actor.is_admin or reps_managed_by(actor).exists()):
        raise Forbidden(_("Only a manager or an administrator makes statements."))
    period = statement_period(period_key)
    if covering_plan(period) is None:
        raise _invalid("period", _("No active commission plan covers this whole period."))
    from salesflow.commissions.tasks import compute_statements

    run = ComputeRun.objects.create(period_key=period.key, requested_by=actor)
    enqueue_on_commit(compute_statements, run.pk)
    return run


def statements_compute_run(run_id: int) -> ComputeRun | None:
    """Work through run ``run_id``: the draft statement of every paid person the requester
    manages (at most :data:`BULK_LIMIT`), each in its own transaction, saving progress.
    A run already done does nothing, so a task that runs twice is harmless; a run cut short
    and started again recomputes the drafts it made (recomputing a draft is idempotent)."""
    run = ComputeRun.objects.filter(pk=run_id).select_related("requested_by").first()
    if run is None or run.status == RunStatus.DONE:
        return run
    actor = run.requested_by
    if actor is None or not actor.is_active:
        ComputeRun.objects.filter(pk=run.pk).update(status=RunStatus.DONE, finished_at=timezone.now())
        run.refresh_from_db()
        return run
    period = statement_period(run.period_key)
    people = list(paid_people(reps_managed_by(actor), period)[:BULK_LIMIT])
    ComputeRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, total=len(people), done=0, made=0)
    made, failures = 0, list[str]()
    for n, person in enumerate(people, start=1):
        try:
            statement_generate(actor=actor, rep=person, period_key=period.key)
            made += 1
        except ServiceError as exc:
            if len(failures) < FAILURES_KEPT:
                failures.append(f"{person}: {exc.message!s}")
        ComputeRun.objects.filter(pk=run.pk).update(done=n, made=made, failures=failures)
    ComputeRun.objects.filter(pk=run.pk).update(status=RunStatus.DONE, finished_at=timezone.now())
    run.refresh_from_db()
    return run


def latest_compute_run(user: User) -> ComputeRun | None:
    """The newest computation ``user`` started (the statements page shows its progress)."""
    return ComputeRun.objects.filter(requested_by=user).order_by("-created_at", "-id").first()


def draft_missing_statements(period_key: str) -> int:
    """The monthly job's work: a draft statement, made by the system actor, for every active
    paid person with a team who has no statement for ``period_key`` yet. People who already
    have one (in any state) are left alone, so running it again makes nothing new. Returns
    the number of statements made (0 when no active plan covers the period)."""
    from salesflow.users.services import system_actor

    period = statement_period(period_key)
    if covering_plan(period) is None:
        return 0
    actor = system_actor()
    have = CommissionStatement.objects.filter(period_key=period.key).values("rep_id")
    people = paid_people(User.objects.filter(is_active=True, team__isnull=False), period).exclude(pk__in=have)
    made = 0
    for person in people.order_by("pk"):
        try:
            statement_generate(actor=actor, rep=person, period_key=period.key)
            made += 1
        except ServiceError:
            continue  # made at the same time by someone else: theirs stands
    return made
