"""Writes of sales plans and targets (issue 10). Every service checks the actor itself,
validates everything before writing, runs in one transaction and audits (``targets/events.py``).

Who writes: administrators and sales managers. A manager writes the targets of the nodes
they may see (their teams, their reps; the company node is the administrators'); anyone
else may only read (reps read their own node). Only a **draft** version is edited.

**Approval.** ``plan_version_submit`` asks the approval engine (``core.approvals``, kind
``targets.plan``; facts: ``amount`` = the company's yearly won-revenue goal):

* ``pending`` → the version is *submitted* with the engine's request id; the engine's
  callbacks lock it (approved) or return it to draft (rejected, withdrawn);
* ``approved`` (no rule matched) → an administrator submitting locks at once; anyone else's
  version stays *submitted* without a request and waits for a **manager approval here**:
  ``plan_version_approve`` by an administrator or the manager of the company's top team
  (the only team without a parent), never by the submitter (unless an administrator), or
  ``plan_version_return`` back to draft.

``plan_version_revise`` copies the latest locked version (targets, notes, seasonality) into a
new draft; the locked one stays readable and keeps counting until the new one is locked.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.analytics.selectors import Node, actuals_by_period, node_for_user
from salesflow.core.approvals import submit_for_approval
from salesflow.core.audit import record_event
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.money import AmountError, parse_amount
from salesflow.core.periods import MAX_YEAR, MIN_YEAR, Period, children, fiscal_year_of, parse_period, year_period
from salesflow.targets.allocation import period_weights, split
from salesflow.targets.models import NOTE_LENGTH, PlanVersion, SalesPlan, Target, VersionStatus
from salesflow.targets.selectors import OrgTree, PlanMetric, TargetBook, actuals_for_nodes, plan_metric
from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.permissions import is_system_actor

KIND = "targets.plan"
MAX_CELLS = 5000
MAX_WEIGHT = 10**12
COMMENT_MAX = 1000
NOTE_FIELDS = ("product_strategy", "price_strategy", "channel_strategy", "promotion_strategy")
Along = Literal["periods", "org"]
Basis = Literal["equal", "last_year"]


# --- who ---------------------------------------------------------------------------------------


def can_plan(user: User) -> bool:
    """Administrators and sales managers write plans."""
    return bool(user.is_authenticated and user.is_active and (user.is_admin or user.role == Role.MANAGER))


def top_team_manager_id() -> int | None:
    """The manager of the company's top team: the only team without a parent (else none)."""
    tops = list(Team.objects.filter(parent__isnull=True).values_list("manager_id", flat=True)[:2])
    return tops[0] if len(tops) == 1 else None


def can_approve(user: User, version: PlanVersion) -> bool:
    """May ``user`` approve (or return) ``version`` in this app's own approval step?"""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_admin or is_system_actor(user):
        return True
    return top_team_manager_id() == user.pk and version.submitted_by_id != user.pk


def _require_planner(actor: User) -> None:
    if not can_plan(actor):
        raise Forbidden(_("Only administrators and sales managers may change sales plans."))


def _require_node(actor: User, key: str, field: str = "node") -> Node:
    """The node ``key`` for a write by ``actor``: unseen or malformed → field error."""
    try:
        return node_for_user(actor, key)
    except Http404:
        raise ValidationFailed(
            _("Choose a team or person you manage."), field_errors={field: [_("Unknown or not yours.")]}
        ) from None


def _metric(key: object, field: str = "metric") -> PlanMetric:
    found = plan_metric(key) if isinstance(key, str) and len(key) <= 40 else None
    if found is None:
        raise ValidationFailed(_("Choose a metric a plan may set."), field_errors={field: [_("Unknown metric.")]})
    return found


def _period_in(version: PlanVersion, key: object, field: str = "period") -> Period:
    try:
        period = parse_period(key if isinstance(key, str) else "")
    except ValueError:
        raise ValidationFailed(_("Enter a period key."), field_errors={field: [_("Not a period.")]}) from None
    if fiscal_year_of(period.start) != version.plan.year:
        raise ValidationFailed(
            _("The period lies outside the plan's fiscal year."), field_errors={field: [_("Outside the plan year.")]}
        )
    return period


def parse_target_value(raw: object, metric: PlanMetric, field: str = "value") -> Decimal:
    """A target value: money with at most two places, counts whole; never negative."""
    try:
        value = parse_amount(raw if not isinstance(raw, float) else str(raw))
    except AmountError as exc:
        raise ValidationFailed(str(exc), field_errors={field: [str(exc)]}) from None
    if metric.places == 0 and value != value.to_integral_value():
        raise ValidationFailed(_("Enter a whole number."), field_errors={field: [_("Enter a whole number.")]})
    return value


def _lock_version(version: PlanVersion) -> PlanVersion:
    return PlanVersion.objects.select_for_update(of=("self",)).select_related("plan").get(pk=version.pk)


def _require_draft(version: PlanVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise Conflict(_("Only a draft version can be changed."), code="version_not_draft")


# --- plans and versions ------------------------------------------------------------------------


@transaction.atomic
def plan_create(*, actor: User, year: object) -> SalesPlan:
    """A plan for fiscal ``year`` with its first (draft) version."""
    _require_planner(actor)
    if not isinstance(year, int) or isinstance(year, bool) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed(_("Enter a fiscal year."), field_errors={"year": [_("Enter a year 2000–2100.")]})
    if SalesPlan.objects.filter(year=year).exists():
        raise Conflict(_("A plan for this year exists already."), code="plan_exists")
    try:
        with transaction.atomic():
            plan = SalesPlan.objects.create(year=year, created_by=actor)
    except IntegrityError:
        raise Conflict(_("A plan for this year exists already."), code="plan_exists") from None
    version = PlanVersion.objects.create(plan=plan, number=1, created_by=actor)
    record_event(actor=actor, verb="targets.plan.created", target=version, data={"year": year, "version": 1})
    return plan


@transaction.atomic
def plan_version_update_notes(*, actor: User, version: PlanVersion, notes: dict[str, object]) -> PlanVersion:
    """Set the strategy notes (any of ``NOTE_FIELDS``) of a draft version."""
    _require_planner(actor)
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    for key, value in notes.items():
        if key not in NOTE_FIELDS:
            errors[key] = [_("Unknown field.")]
        elif not isinstance(value, str) or "\x00" in value:
            errors[key] = [_("Enter text.")]
        elif len(value) > NOTE_LENGTH:
            errors[key] = [_("At most %(n)s characters.") % {"n": NOTE_LENGTH}]
        else:
            clean[key] = value.strip()
    if errors:
        raise ValidationFailed(_("Check the strategy notes."), field_errors=errors)
    version = _lock_version(version)
    _require_draft(version)
    changed = [k for k, v in clean.items() if getattr(version, k) != v]
    for key in changed:
        setattr(version, key, clean[key])
    if changed:
        version.save(update_fields=[*changed, "updated_at"])
        record_event(
            actor=actor,
            verb="targets.version.notes_updated",
            target=version,
            data={"version": version.number, "fields": changed},
        )
    return version


# --- targets -----------------------------------------------------------------------------------


@transaction.atomic
def targets_set(
    *, actor: User, version: PlanVersion, metric_key: object, cells: Sequence[tuple[object, object, object]]
) -> int:
    """Set target cells ``(node_key, period_key, value)`` of a draft version; a value of
    ``None`` or ``""`` removes the cell. Answers how many cells were written or removed."""
    _require_planner(actor)
    metric = _metric(metric_key)
    if len(cells) > MAX_CELLS:
        raise ValidationFailed(_("Too many cells."), field_errors={"cells": [_("At most %(n)s.") % {"n": MAX_CELLS}]})
    version = _lock_version(version)
    _require_draft(version)
    writes: dict[tuple[str, str], Decimal | None] = {}
    nodes: dict[str, Node] = {}
    for i, (node_key, period_key, raw) in enumerate(cells):
        if not isinstance(node_key, str) or len(node_key) > 40:
            raise ValidationFailed(_("Unknown node."), field_errors={f"cells[{i}].node": [_("Unknown node.")]})
        if node_key not in nodes:
            nodes[node_key] = _require_node(actor, node_key, f"cells[{i}].node")
        period = _period_in(version, period_key, f"cells[{i}].period")
        value = None if raw is None or raw == "" else parse_target_value(raw, metric, f"cells[{i}].value")
        writes[(nodes[node_key].key, period.key)] = value
    removed = 0
    for (node_key, period_key), value in writes.items():
        if value is None:
            removed += Target.objects.filter(
                version=version, metric_key=metric.key, node_key=node_key, period_key=period_key
            ).delete()[0]
        else:
            Target.objects.update_or_create(
                version=version,
                metric_key=metric.key,
                node_key=node_key,
                period_key=period_key,
                defaults={"value": value},
            )
    written = sum(1 for v in writes.values() if v is not None)
    record_event(
        actor=actor,
        verb="targets.targets.set",
        target=version,
        data={"version": version.number, "metric": metric.key, "cells": written, "removed": removed},
    )
    return written + removed


def _last_year(period: Period) -> Period:
    """The same period one fiscal year earlier."""
    year = fiscal_year_of(period.start)
    return parse_period(str(year - 1) + period.key[4:]) if period.kind != "week" else year_period(year - 1)


@transaction.atomic
def targets_allocate(
    *,
    actor: User,
    version: PlanVersion,
    metric_key: object,
    node_key: object,
    period_key: object,
    along: object = "periods",
    basis: object = "last_year",
    cascade: bool = False,
) -> int:
    """Top-down: split the target of (node, period) to its child periods (``along="periods"``:
    quarters by seasonality, months by seasonality, weeks by days) or to its child nodes
    (``along="org"``: by each child's share of last fiscal year's actual in the same period,
    ``basis="last_year"``, equal shares when nobody had any; or ``basis="equal"``), exact by
    largest remainder. The children's stored values are replaced. ``cascade`` repeats down to
    months (periods) or to the reps (org). Answers the number of cells written."""
    _require_planner(actor)
    metric = _metric(metric_key)
    if along not in ("periods", "org"):
        raise ValidationFailed(_("Choose how to allocate."), field_errors={"along": [_("periods or org.")]})
    if basis not in ("equal", "last_year"):
        raise ValidationFailed(_("Choose the basis."), field_errors={"basis": [_("equal or last_year.")]})
    node = _require_node(actor, node_key if isinstance(node_key, str) else "")
    version = _lock_version(version)
    period = _period_in(version, period_key)
    _require_draft(version)
    org = OrgTree()
    book = TargetBook.load(version, metric.key, org)
    if book.stored(node.key, period) is None:
        raise ValidationFailed(
            _("Set this target before allocating it."), field_errors={"period": [_("No target to allocate.")]}
        )
    written = 0
    todo: list[tuple[Node, Period]] = [(node, period)]
    while todo:
        parent, p = todo.pop(0)
        total = book.rows[(parent.key, p.key)]
        if along == "periods":
            kids_p = children(p)
            if not kids_p or (cascade and p.kind == "month" and period.kind != "month"):
                continue
            shares = split(total, period_weights(p, book.seasonality(parent.key)), metric.places)
            for kid, share in zip(kids_p, shares, strict=True):
                _store(version, metric.key, parent.key, kid.key, share, book)
                written += 1
                if cascade:
                    todo.append((parent, kid))
        else:
            kids_n = org.children(parent)
            if not kids_n:
                continue
            weights: list[Decimal] = [Decimal(1)] * len(kids_n)
            if basis == "last_year":
                past, _missing = actuals_for_nodes(kids_n, metric.key, _last_year(p), org=org)
                weights = [max(past[k.key], Decimal(0)) for k in kids_n]
            shares = split(total, weights, metric.places)
            for kid, share in zip(kids_n, shares, strict=True):
                _store(version, metric.key, kid.key, p.key, share, book)
                written += 1
                if cascade:
                    todo.append((kid, p))
    record_event(
        actor=actor,
        verb="targets.targets.allocated",
        target=version,
        data={
            "version": version.number,
            "metric": metric.key,
            "node": node.key,
            "period": period.key,
            "along": str(along),
            "basis": str(basis),
            "cells": written,
        },
    )
    return written


def _store(
    version: PlanVersion, metric_key: str, node_key: str, period_key: str, value: Decimal, book: TargetBook
) -> None:
    Target.objects.update_or_create(
        version=version, metric_key=metric_key, node_key=node_key, period_key=period_key, defaults={"value": value}
    )
    book.rows[(node_key, period_key)] = value


@transaction.atomic
def seasonality_set(
    *,
    actor: User,
    version: PlanVersion,
    node_key: object,
    weights: object = None,
    metric_key: object = "won_revenue",
) -> list[int]:
    """The node's 12 monthly weights (fiscal month order): entered by hand (``weights``, whole
    numbers ≥ 0, not all zero) or, when ``weights`` is ``None``, from last fiscal year's
    actuals of ``metric_key`` for the node (``analytics.selectors.actuals_by_period``; money
    rounded to whole units; all equal when last year was empty)."""
    _require_planner(actor)
    node = _require_node(actor, node_key if isinstance(node_key, str) else "")
    version = _lock_version(version)
    _require_draft(version)
    if weights is None:
        metric = _metric(metric_key)
        if metric.key.startswith("units:"):
            raise ValidationFailed(_("Choose a metric of the registry."), field_errors={"metric": [_("Not here.")]})
        last = year_period(version.plan.year - 1)
        months = [m for q in children(last) for m in children(q)]
        found = actuals_by_period(metric.key, node, months)
        clean = [int(max(found[m.key].value, Decimal(0)).to_integral_value()) for m in months]
        if not any(clean):
            clean = [1] * 12
        source = "actuals"
    else:
        if not isinstance(weights, list | tuple) or len(weights) != 12:
            raise ValidationFailed(_("Enter 12 weights."), field_errors={"weights": [_("Enter 12 weights.")]})
        clean = []
        errors: dict[str, list[str]] = {}
        for i, w in enumerate(weights):
            if isinstance(w, str) and w.strip().isdigit() and len(w.strip()) <= 13:
                w = int(w.strip())
            if not isinstance(w, int) or isinstance(w, bool) or not 0 <= w <= MAX_WEIGHT:
                errors[f"weights[{i}]"] = [_("Enter a whole number ≥ 0.")]
            else:
                clean.append(w)
        if errors:
            raise ValidationFailed(_("Check the weights."), field_errors=errors)
        if not any(clean):
            raise ValidationFailed(
                _("At least one weight must be positive."), field_errors={"weights": [_("All zero.")]}
            )
        source = "manual"
    seasonality = dict(version.seasonality or {})
    seasonality[node.key] = clean
    version.seasonality = seasonality
    if node.kind == "company":
        version.seasonality_source = source
    version.save(update_fields=["seasonality", "seasonality_source", "updated_at"])
    record_event(
        actor=actor,
        verb="targets.seasonality.set",
        target=version,
        data={"version": version.number, "node": node.key, "source": source, "weights": clean},
    )
    return clean


# --- approval ----------------------------------------------------------------------------------


def approval_facts(version: PlanVersion) -> dict[str, Any]:
    goal = (
        Target.objects.filter(
            version=version, metric_key="won_revenue", node_key="company", period_key=str(version.plan.year)
        )
        .values_list("value", flat=True)
        .first()
    )
    from salesflow.core.money import company_currency

    return {"amount": goal or Decimal(0), "currency": company_currency()}


@transaction.atomic
def plan_version_submit(*, actor: User, version: PlanVersion) -> PlanVersion:
    """Draft → submitted (engine pending or manager approval here) or locked (see module doc)."""
    _require_planner(actor)
    version = _lock_version(version)
    _require_draft(version)
    if not Target.objects.filter(version=version).exists():
        raise ValidationFailed(_("Set at least one target first."), field_errors={"targets": [_("No targets.")]})
    version.status = VersionStatus.SUBMITTED
    version.submitted_by = actor
    version.submitted_at = timezone.now()
    version.save(update_fields=["status", "submitted_by", "submitted_at", "updated_at"])
    summary = str(_("Sales plan %(year)s, version %(n)s") % {"year": version.plan.year, "n": version.number})
    submission = submit_for_approval(
        actor=actor, kind=KIND, target=version, facts=approval_facts(version), summary=summary
    )
    if submission.status == "pending":
        version.approval_request_id = submission.request_id
        version.save(update_fields=["approval_request_id", "updated_at"])
    record_event(
        actor=actor,
        verb="targets.version.submitted",
        target=version,
        data={"version": version.number, "status": submission.status, "request_id": submission.request_id or 0},
    )
    if submission.status == "approved" and (actor.is_admin or is_system_actor(actor)):
        _lock_now(version, actor)
    return version


def _lock_now(version: PlanVersion, actor: User | None) -> None:
    now = timezone.now()
    version.status = VersionStatus.LOCKED
    version.approved_by = actor if actor is not None and getattr(actor, "pk", None) else None
    version.approved_at = now
    version.locked_at = now
    version.save(update_fields=["status", "approved_by", "approved_at", "locked_at", "updated_at"])
    record_event(actor=actor, verb="targets.version.approved", target=version, data={"version": version.number})


def _to_draft(version: PlanVersion, actor: User | None, comment: str) -> None:
    version.status = VersionStatus.DRAFT
    version.approval_request_id = None
    version.save(update_fields=["status", "approval_request_id", "updated_at"])
    record_event(
        actor=actor,
        verb="targets.version.returned",
        target=version,
        data={"version": version.number, "comment": comment},
    )


def _awaiting_here(version: PlanVersion) -> None:
    if version.status != VersionStatus.SUBMITTED:
        raise Conflict(_("This version is not waiting for approval."), code="version_not_submitted")
    if version.approval_request_id is not None:
        raise Conflict(
            _("This version is in the approval flow: decide it in Approvals."), code="version_in_approval_flow"
        )


@transaction.atomic
def plan_version_approve(*, actor: User, version: PlanVersion) -> PlanVersion:
    """The manager approval here (no engine request): submitted → locked."""
    if not can_approve(actor, version):
        raise Forbidden(_("Only an administrator or the manager of the top team may approve a plan."))
    version = _lock_version(version)
    if not can_approve(actor, version):
        raise Forbidden(_("Only an administrator or the manager of the top team may approve a plan."))
    _awaiting_here(version)
    _lock_now(version, actor)
    return version


@transaction.atomic
def plan_version_return(*, actor: User, version: PlanVersion, comment: object = "") -> PlanVersion:
    """The manager approval here, refused: submitted → draft (the submitter may also take it back)."""
    if not isinstance(comment, str) or "\x00" in comment or len(comment) > COMMENT_MAX:
        raise ValidationFailed(_("Check the comment."), field_errors={"comment": [_("At most 1000 characters.")]})
    version = _lock_version(version)
    if not (can_approve(actor, version) or (can_plan(actor) and version.submitted_by_id == actor.pk)):
        raise Forbidden(_("Only an approver or the submitter may return this version."))
    _awaiting_here(version)
    _to_draft(version, actor, comment.strip())
    return version


@transaction.atomic
def plan_version_revise(*, actor: User, plan: SalesPlan) -> PlanVersion:
    """A new draft copied from the latest locked version (when no version is open)."""
    _require_planner(actor)
    SalesPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.versions.exclude(status=VersionStatus.LOCKED).exists():
        raise Conflict(_("A draft or submitted version exists already."), code="version_open")
    source = plan.versions.filter(status=VersionStatus.LOCKED).order_by("-number").first()
    if source is None:
        raise Conflict(_("Nothing to revise: no version is locked yet."), code="version_none_locked")
    number = (plan.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    draft = PlanVersion.objects.create(
        plan=plan,
        number=number,
        created_by=actor,
        seasonality=source.seasonality,
        seasonality_source=source.seasonality_source,
        **{f: getattr(source, f) for f in NOTE_FIELDS},
    )
    Target.objects.bulk_create(
        [
            Target(version=draft, metric_key=t.metric_key, node_key=t.node_key, period_key=t.period_key, value=t.value)
            for t in source.targets.all()
        ]
    )
    record_event(
        actor=actor,
        verb="targets.version.revised",
        target=draft,
        data={"version": number, "from_version": source.number},
    )
    return draft


# --- engine callbacks (inside the decision's transaction) --------------------------------------


def _pending(target: PlanVersion) -> PlanVersion | None:
    version = _lock_version(target)
    return version if version.status == VersionStatus.SUBMITTED else None


def on_approved(target: PlanVersion, actor: User) -> None:
    """Engine: approved → locked at once. Idempotent."""
    version = _pending(target)
    if version is not None:
        _lock_now(version, actor)


def on_rejected(target: PlanVersion, actor: User, comment: str) -> None:
    version = _pending(target)
    if version is not None:
        _to_draft(version, actor, str(comment or "")[:COMMENT_MAX])


def on_withdrawn(target: PlanVersion, actor: User) -> None:
    version = _pending(target)
    if version is not None:
        _to_draft(version, actor, "")
