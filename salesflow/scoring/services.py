"""Writes of lead scoring and data quality: score rules, recomputes, verification, training.

Every function checks its actor itself, validates before writing (``ValidationFailed``
names the field, nothing written) and audits in the same transaction. Recomputing is
idempotent: running it twice for the same inputs writes the same scores.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.activities.models import Activity
from salesflow.core.audit import changed_fields, record_event
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.tasks import enqueue_on_commit
from salesflow.leads.models import Lead
from salesflow.leads.permissions import can_write_lead
from salesflow.parties.choices import CompanySize, Industry, SourceChannel, SubChannel
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import can_write_account, can_write_contact
from salesflow.scoring.choices import RuleAttribute, RuleCategory, RuleOperator, RunStatus
from salesflow.scoring.engine import NUMERIC_ATTRIBUTES, features_for, score, split_values
from salesflow.scoring.models import LeadScore, RecomputeRun, ScoreRule
from salesflow.scoring.permissions import can_manage_rules
from salesflow.users.models import User

#: Leads per recompute batch (a task's transaction; a run's progress step).
BATCH = 500
RULE_FIELDS = frozenset(
    {"label", "category", "attribute", "operator", "value", "window_days", "points", "is_active", "position"}
)
_CODES: dict[str, set[str]] = {
    RuleAttribute.INDUSTRY: set(Industry.values),
    RuleAttribute.SIZE: set(CompanySize.values),
    RuleAttribute.SOURCE_CHANNEL: set(SourceChannel.values),
    RuleAttribute.SUB_CHANNEL: set(SubChannel.values),
}
_NUMERIC_OPS = {RuleOperator.EQ, RuleOperator.GTE, RuleOperator.LTE}
_CODE_OPS = {RuleOperator.EQ, RuleOperator.IN}
POINTS_LIMIT = 1000
WINDOW_LIMIT = 3650
POSITION_LIMIT = 100_000


# --- rules -----------------------------------------------------------------------------------


def _int(value: object, field: str, low: int, high: int, errors: dict[str, list[str]]) -> int:
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        errors.setdefault(field, []).append(_("Enter a whole number."))
        return 0
    if not low <= number <= high:
        errors.setdefault(field, []).append(_("Enter a number from %(low)d to %(high)d.") % {"low": low, "high": high})
    return number


def _clean_rule(values: dict[str, Any]) -> dict[str, Any]:
    """Checked and normalised rule fields (raises ``ValidationFailed`` naming each field)."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in ("label", "category", "attribute", "operator", "value"):
        text = str(values.get(key) if values.get(key) is not None else "").strip()
        if "\x00" in text:
            errors.setdefault(key, []).append(_("Remove the NUL characters."))
        out[key] = text
    for key, limit in (("label", 100), ("value", 300)):
        if not out[key]:
            errors.setdefault(key, []).append(_("This field is required."))
        elif len(out[key]) > limit:
            errors.setdefault(key, []).append(_("Use at most %(max)d characters.") % {"max": limit})
    if out["category"] not in RuleCategory.values:
        errors.setdefault("category", []).append(_("Choose fit, engagement or BANT."))
    attribute, operator = out["attribute"], out["operator"]
    if attribute not in RuleAttribute.values:
        errors.setdefault("attribute", []).append(_("Choose a valid attribute."))
    elif operator not in RuleOperator.values:
        errors.setdefault("operator", []).append(_("Choose a valid operator."))
    elif attribute in NUMERIC_ATTRIBUTES:
        if operator not in _NUMERIC_OPS:
            errors.setdefault("operator", []).append(_("Counts are compared with “is”, “at least” or “at most”."))
        if out["value"]:
            out["value"] = str(_int(out["value"], "value", 0, 100_000, errors))
    elif attribute == RuleAttribute.TITLE:
        if operator != RuleOperator.CONTAINS:
            errors.setdefault("operator", []).append(_("A position is matched with “contains one of”."))
    elif attribute == RuleAttribute.REGION:
        if operator not in _CODE_OPS:
            errors.setdefault("operator", []).append(_("Choose “is” or “is one of”."))
    else:
        if operator not in _CODE_OPS:
            errors.setdefault("operator", []).append(_("Choose “is” or “is one of”."))
        elif out["value"]:
            codes = split_values(out["value"]) if operator == RuleOperator.IN else [out["value"].lower()]
            unknown = [code for code in codes if code not in _CODES[attribute]]
            if unknown or not codes:
                errors.setdefault("value", []).append(
                    _("Unknown codes: %(codes)s. Use: %(valid)s.")
                    % {"codes": ", ".join(unknown) or "—", "valid": ", ".join(sorted(_CODES[attribute]))}
                )
            out["value"] = ",".join(codes)
    out["points"] = _int(values.get("points", 0), "points", -POINTS_LIMIT, POINTS_LIMIT, errors)
    out["window_days"] = _int(values.get("window_days", 30), "window_days", 1, WINDOW_LIMIT, errors)
    out["position"] = _int(values.get("position", 0), "position", 0, POSITION_LIMIT, errors)
    active = values.get("is_active", True)
    if not isinstance(active, bool):
        errors.setdefault("is_active", []).append(_("Enter true or false."))
    out["is_active"] = bool(active)
    if errors:
        raise ValidationFailed(_("The score rule could not be saved."), field_errors=errors)
    return out


def _require_admin(actor: User) -> None:
    if not can_manage_rules(actor):
        raise Forbidden(_("Only administrators may change score rules."))


@transaction.atomic
def rule_create(*, actor: User, **values: Any) -> ScoreRule:
    """Add a score rule (administrators only) and queue a recompute of every lead.

    Raises ``Forbidden``, or ``ValidationFailed`` naming each bad field (nothing written).
    Audits ``scoring.rule.created``.
    """
    _require_admin(actor)
    refuse_unknown_fields(values, RULE_FIELDS, _("The score rule could not be saved."))
    clean = _clean_rule(values)
    rule = ScoreRule.objects.create(**clean)
    record_event(
        actor=actor,
        verb="scoring.rule.created",
        target=rule,
        data={key: clean[key] for key in ("label", "category", "attribute", "operator", "value", "points")},
    )
    recompute_start(actor=actor)
    return rule


@transaction.atomic
def rule_update(*, actor: User, rule: ScoreRule, **changes: Any) -> ScoreRule:
    """Change some fields of ``rule`` (administrators only); a real change queues a
    recompute of every lead. Audits ``scoring.rule.updated`` with the changed fields."""
    _require_admin(actor)
    refuse_unknown_fields(changes, RULE_FIELDS, _("The score rule could not be saved."))
    current = ScoreRule.objects.select_for_update().get(pk=rule.pk)
    before = {key: getattr(current, key) for key in RULE_FIELDS}
    clean = _clean_rule({**before, **changes})
    diff = changed_fields(before, clean)
    if diff:
        for key, value in clean.items():
            setattr(current, key, value)
        current.save()
        record_event(actor=actor, verb="scoring.rule.updated", target=current, data={"changes": diff})
        recompute_start(actor=actor)
    for key in RULE_FIELDS:
        setattr(rule, key, getattr(current, key))
    return rule


@transaction.atomic
def rule_delete(*, actor: User, rule: ScoreRule) -> None:
    """Delete ``rule`` (administrators only) and queue a recompute. Audits ``scoring.rule.deleted``."""
    _require_admin(actor)
    record_event(actor=actor, verb="scoring.rule.deleted", target=rule, data={"label": rule.label})
    ScoreRule.objects.filter(pk=rule.pk).delete()
    recompute_start(actor=actor)


# --- recomputing -----------------------------------------------------------------------------


def active_rules() -> list[ScoreRule]:
    return list(ScoreRule.objects.filter(is_active=True).order_by("position", "id"))


def recompute_leads(lead_ids: Iterable[int], *, rules: Sequence[ScoreRule] | None = None) -> int:
    """Recompute the scores of ``lead_ids`` (missing ids are skipped) and mirror each total
    on ``Lead.score``. A fixed number of queries per batch of ``BATCH`` leads; returns the
    number of leads scored. Safe to run twice or concurrently (last writer wins with the
    same result)."""
    ids = sorted({int(pk) for pk in lead_ids})
    rules = list(rules) if rules is not None else active_rules()
    windows = {rule.window_days for rule in rules if rule.attribute == RuleAttribute.ACTIVITIES}
    done = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        with transaction.atomic():
            leads = list(Lead.objects.filter(pk__in=chunk).select_related("region"))
            now = timezone.now()
            feats = features_for(leads, windows=windows, now=now)
            existing = {row.lead_id: row for row in LeadScore.objects.filter(lead_id__in=chunk)}
            new_rows, changed_rows, changed_leads = [], [], []
            for lead in leads:
                total, contributions, digest = score(feats[lead.pk], rules)
                row = existing.get(lead.pk)
                if row is None:
                    new_rows.append(
                        LeadScore(
                            lead=lead, total=total, contributions=contributions, computed_at=now, inputs_hash=digest
                        )
                    )
                else:
                    row.total, row.contributions, row.computed_at, row.inputs_hash = total, contributions, now, digest
                    changed_rows.append(row)
                if lead.score != total:
                    lead.score = total
                    changed_leads.append(lead)
            try:
                with transaction.atomic():
                    LeadScore.objects.bulk_create(new_rows)
            except IntegrityError:  # a concurrent recompute inserted first: update instead
                for row in new_rows:
                    LeadScore.objects.update_or_create(
                        lead_id=row.lead_id,
                        defaults={
                            "total": row.total,
                            "contributions": row.contributions,
                            "computed_at": row.computed_at,
                            "inputs_hash": row.inputs_hash,
                        },
                    )
            if changed_rows:
                LeadScore.objects.bulk_update(changed_rows, ["total", "contributions", "computed_at", "inputs_hash"])
            if changed_leads:
                # score only: no updated_at bump (scoring is not an edit of the lead)
                Lead.objects.bulk_update(changed_leads, ["score"])
            done += len(leads)
    return done


def queue_lead_recompute(lead_ids: Iterable[int]) -> None:
    """Recompute these leads' scores in the background once the transaction commits."""
    from salesflow.scoring.tasks import recompute_lead_scores

    ids = sorted({int(pk) for pk in lead_ids})
    if ids:
        enqueue_on_commit(recompute_lead_scores, ids)


def recompute_start(*, actor: User | None) -> RecomputeRun:
    """Queue a recompute of every lead (after a rule change), with progress on a run row."""
    from salesflow.scoring.tasks import run_full_recompute

    run = RecomputeRun.objects.create(requested_by=actor if actor is not None and actor.pk else None)
    enqueue_on_commit(run_full_recompute, run.pk)
    return run


def recompute_run(run_id: int) -> RecomputeRun | None:
    """Work through run ``run_id``: every lead in id order, in batches, saving progress.

    A run that is already done (or superseded by a newer queued run) does nothing, so a
    task that runs twice is harmless.
    """
    run = RecomputeRun.objects.filter(pk=run_id).first()
    if run is None or run.status == RunStatus.DONE:
        return run
    if RecomputeRun.objects.filter(pk__gt=run.pk, status=RunStatus.QUEUED).exists():
        RecomputeRun.objects.filter(pk=run.pk).update(status=RunStatus.DONE, finished_at=timezone.now())
        run.status = RunStatus.DONE
        return run  # a newer run covers it
    rules = active_rules()
    total = Lead.objects.count()
    RecomputeRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, total=total, done=0)
    done = 0
    last = 0
    while True:
        chunk = list(Lead.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not chunk:
            break
        done += recompute_leads(chunk, rules=rules)
        last = chunk[-1]
        RecomputeRun.objects.filter(pk=run.pk).update(done=min(done, total))
    RecomputeRun.objects.filter(pk=run.pk).update(
        status=RunStatus.DONE, done=done, total=max(total, done), finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def stale_score_lead_ids(limit: int = BATCH) -> list[int]:
    """Up to ``limit`` leads whose score is missing or older than a change of the lead or
    of one of its activities (the periodic safety net behind the event-driven recompute)."""
    newer_activity = Activity.objects.filter(lead_id=OuterRef("pk"), updated_at__gt=OuterRef("score_row__computed_at"))
    qs = Lead.objects.filter(
        Q(score_row__isnull=True) | Q(updated_at__gt=F("score_row__computed_at")) | Exists(newer_activity)
    )
    return list(qs.order_by("pk").values_list("pk", flat=True)[:limit])


# --- data quality: verify --------------------------------------------------------------------

VERIFY_KINDS = ("lead", "account", "contact")


@transaction.atomic
def record_verify(*, actor: User, kind: str, record: Lead | Account | Contact) -> Lead | Account | Contact:
    """Mark ``record`` (a lead, account or contact) as verified now by ``actor`` (核实).

    ``actor`` must be allowed to change the record (else ``Forbidden``). Sets
    ``last_verified_at``/``last_verified_by`` without touching ``updated_at`` (verifying is
    not an edit). Audits ``scoring.record.verified``.
    """
    if kind == "lead" and isinstance(record, Lead):
        allowed = can_write_lead(actor, record)
        rows: Any = Lead.objects.filter(pk=record.pk)
    elif kind == "account" and isinstance(record, Account):
        allowed = can_write_account(actor, record)
        rows = Account.objects.filter(pk=record.pk)
    elif kind == "contact" and isinstance(record, Contact):
        allowed = can_write_contact(actor, record)
        rows = Contact.objects.filter(pk=record.pk)
    else:
        raise ValidationFailed(
            _("Unknown record kind."), field_errors={"kind": [_("Choose lead, account or contact.")]}
        )
    if not allowed:
        raise Forbidden(_("You may not change this record."))
    previous = rows.select_for_update().values_list("last_verified_at", flat=True).get()
    now = timezone.now()
    rows.update(last_verified_at=now, last_verified_by=actor)
    record.last_verified_at = now
    record.last_verified_by = actor
    record_event(
        actor=actor,
        verb="scoring.record.verified",
        target=record,
        data={"kind": kind, "previous": previous.isoformat() if previous else None},
    )
    return record
