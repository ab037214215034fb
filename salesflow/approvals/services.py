"""Writes of the approval engine (审批): submission and routing, the decisions, the
reminder/escalation job, rules and delegations, and the large-deal approvable.

Guarantees:

- :class:`ApprovalEngine` is the engine of ``core.approvals`` (installed in
  ``ApprovalsConfig.ready``). ``submit`` runs in the document service's transaction: the
  first active rule of the kind (by ``priority``, then id) whose conditions all hold routes
  the request; a rule without steps is skipped. No rule → ``approved`` without a request and
  an ``approvals.request.auto_approved`` event on the document. At most one pending request
  per document (409 otherwise, races included).
- Every decision locks the request row, re-reads it, and bumps ``version``; only an
  approver of the *current* step who has not yet decided, or someone standing in for them
  today (an active delegation, recorded "on behalf of"), may act. Someone who was involved
  but is too late (the step moved on, the request ended, they already decided) gets 409;
  anyone else 403; an unseen request 404 (resolved by the callers with
  ``get_request_for_user``).
- Approve / reject / withdraw call the approvable's ``on_approved`` / ``on_rejected`` /
  ``on_withdrawn`` inside the same transaction; return and resubmit call nothing.
  (Paired operations: ``request_return`` ↔ ``request_resubmit``.)
- Every action writes one :class:`ApprovalAction` row and one audited event.
- :func:`reminders_run` is idempotent: each step entry is reminded once and escalated once
  (conditional updates claim it), however often the job runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.approvals.choices import ActionKind, ApproverType, RequestStatus, StepMode, StepStatus
from salesflow.approvals.conditions import clean_condition, condition_matches, facts_for_storage
from salesflow.approvals.models import (
    COMMENT_LENGTH,
    MAX_HOURS,
    MAX_LEVELS,
    NAME_LENGTH,
    SUMMARY_LENGTH,
    ApprovalAction,
    ApprovalRequest,
    ApprovalRule,
    Delegation,
    RequestStep,
    RuleCondition,
    RuleStep,
    StepApprover,
)
from salesflow.approvals.permissions import delegator_ids, today
from salesflow.approvals.selectors import (
    delegates_of,
    managers_above,
    matching_rules,
    pending_request_id,
    resolve_approvers,
)
from salesflow.core.approvals import Approvable, Submission, approvable, submit_for_approval
from salesflow.core.audit import record_event
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.sales.permissions import get_opportunity_for_user
from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.services import system_actor

KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,28}\.[a-z][a-z0-9_]{0,28}$")
MAX_STEPS = 10
MAX_CONDITIONS = 20
MAX_NAMED_USERS = 20
MAX_DELEGATION_DAYS = 366
DEAL_KIND = "sales.opportunity"


def _clean_text(value: object, field: str, *, limit: int, required: bool, message: str = "") -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(_("The input is not valid."), field_errors={field: [_("Enter text.")]})
    text = value.strip()
    if any((ord(c) < 32 and c not in "\n\r\t") or ord(c) == 127 for c in text):
        raise ValidationFailed(_("The input is not valid."), field_errors={field: [_("Remove control characters.")]})
    if len(text) > limit:
        raise ValidationFailed(
            _("The input is not valid."),
            field_errors={field: [_("At most %(n)s characters.") % {"n": limit}]},
        )
    if required and not text:
        raise ValidationFailed(message or _("The input is not valid."), field_errors={field: [_("This is required.")]})
    return text


def _summary(value: str) -> str:
    return " ".join("".join(c for c in value if ord(c) >= 32 and ord(c) != 127).split())[:SUMMARY_LENGTH]


# --- the engine -----------------------------------------------------------------------------------


def _rule_matches(rule: ApprovalRule, facts: Mapping[str, Any]) -> bool:
    return all(condition_matches(c.fact, c.operator, c.value, facts) for c in rule.conditions.all())


def first_matching_rule(kind: str, facts: Mapping[str, Any]) -> ApprovalRule | None:
    """The rule that routes ``facts`` of ``kind``: the first active one (priority, id) with
    steps whose conditions all hold; ``None`` when none does."""
    for rule in matching_rules(kind):
        if rule.steps.all() and _rule_matches(rule, facts):
            return rule
    return None


def _with_delegates(user_ids: Sequence[int]) -> list[int]:
    found = delegates_of(user_ids)
    ids = list(user_ids)
    for uid in user_ids:
        ids.extend(found.get(uid, []))
    return list(dict.fromkeys(ids))


def _activate(request: ApprovalRequest, step: RequestStep, now: datetime) -> list[int]:
    """Make ``step`` the current one: resolve its approvers afresh, clear their decisions.
    Returns who must act now (approvers and those standing in for them)."""
    resolved = resolve_approvers(
        approver_type=step.approver_type,
        user_ids=[int(i) for i in step.user_ids],
        levels=step.levels,
        role=step.role,
        requester=request.requester,
    )
    StepApprover.objects.filter(step=step).delete()
    StepApprover.objects.bulk_create([StepApprover(step=step, user=user) for user in resolved.users])
    step.status = StepStatus.PENDING
    step.fallback = resolved.fallback
    step.entered_at = now
    step.reminded_at = step.escalated_at = step.decided_at = None
    step.save(update_fields=["status", "fallback", "entered_at", "reminded_at", "escalated_at", "decided_at"])
    request.current_step = step.position
    return _with_delegates([u.pk for u in resolved.users])


def _document(request: ApprovalRequest) -> tuple[Approvable, models.Model]:
    item = approvable(request.kind)
    if item is None:
        raise Conflict(_("This kind of document is no longer known; the request cannot be decided."))
    target = item.model._default_manager.filter(pk=request.object_id).first()
    if target is None:
        raise Conflict(_("The document of this request no longer exists."))
    return item, target


def _event(
    verb: str,
    *,
    actor: User | None,
    request: ApprovalRequest,
    step: int,
    on_behalf_of: User | None = None,
    pending_for: Sequence[int] = (),
    inform: Sequence[int] = (),
    document: models.Model | None = None,
    **extra: Any,
) -> None:
    data: dict[str, Any] = {
        "kind": request.kind,
        "step": step,
        "on_behalf_of": on_behalf_of.pk if on_behalf_of else None,
        "pending_for": [i for i in dict.fromkeys(pending_for) if actor is None or i != actor.pk],
        "inform": [i for i in dict.fromkeys(inform) if actor is None or i != actor.pk],
        **extra,
    }
    related: list[models.Model] = []
    if document is None:
        item = approvable(request.kind)
        if item is not None:
            document = item.model._default_manager.filter(pk=request.object_id).first()
    if document is not None:
        related.append(document)
    record_event(actor=actor, verb=verb, target=request, data=data, related=related)


def _action(
    request: ApprovalRequest,
    kind: str,
    actor: User | None,
    *,
    on_behalf_of: User | None = None,
    comment: str = "",
    to_step: int | None = None,
    now: datetime | None = None,
) -> None:
    ApprovalAction.objects.create(
        request=request,
        step_position=request.current_step,
        action=kind,
        actor=actor if actor is not None and actor.pk else None,
        on_behalf_of=on_behalf_of,
        comment=comment,
        to_step=to_step,
        created_at=now or timezone.now(),
    )


class ApprovalEngine:
    """The engine behind ``core.approvals.submit_for_approval`` / ``pending_request_id``."""

    def submit(
        self, *, actor: Any, approvable: Approvable, target: models.Model, facts: Mapping[str, Any], summary: str
    ) -> Submission:
        return request_submit(actor=actor, approvable=approvable, target=target, facts=facts, summary=summary)

    def pending_request_id(self, approvable: Approvable, target: models.Model) -> int | None:
        return pending_request_id(approvable.kind, int(target.pk))


def request_submit(
    *, actor: User, approvable: Approvable, target: models.Model, facts: Mapping[str, Any], summary: str
) -> Submission:
    """Route ``target`` by the rules (see the module docstring). Runs inside the caller's
    transaction; raises ``Conflict`` when the document already has a pending request."""
    with transaction.atomic():
        stored = facts_for_storage(facts)
        rule = first_matching_rule(approvable.kind, facts)
        if rule is None:
            record_event(
                actor=actor,
                verb="approvals.request.auto_approved",
                target=target,
                data={"kind": approvable.kind, "facts": stored},
            )
            return Submission(status="approved")
        if pending_request_id(approvable.kind, int(target.pk)) is not None:
            raise Conflict(_("This document is already waiting for approval."))
        now = timezone.now()
        try:
            with transaction.atomic():
                request = ApprovalRequest.objects.create(
                    kind=approvable.kind,
                    target_type=ContentType.objects.get_for_model(target),
                    object_id=target.pk,
                    summary=_summary(summary) or str(target)[:SUMMARY_LENGTH],
                    facts=stored,
                    requester=actor,
                    rule=rule,
                    rule_name=rule.name,
                    remind_after_hours=rule.remind_after_hours,
                    escalate_after_hours=rule.escalate_after_hours,
                    submitted_at=now,
                )
        except IntegrityError:
            raise Conflict(_("This document is already waiting for approval.")) from None
        steps = [
            RequestStep(
                request=request,
                position=index,
                name=rule_step.name,
                approver_type=rule_step.approver_type,
                user_ids=sorted(u.pk for u in rule_step.users.all()),
                levels=rule_step.levels,
                role=rule_step.role,
                mode=rule_step.mode,
            )
            for index, rule_step in enumerate(rule.steps.all(), start=1)
        ]
        RequestStep.objects.bulk_create(steps)
        first = RequestStep.objects.get(request=request, position=1)
        pending = _activate(request, first, now)
        request.save(update_fields=["current_step"])
        _action(request, ActionKind.SUBMITTED, actor, now=now)
        _event(
            "approvals.request.submitted",
            actor=actor,
            request=request,
            step=1,
            pending_for=pending,
            document=target,
            rule=rule.name,
            steps=[s.name for s in steps],
        )
        return Submission(status="pending", request_id=request.pk, steps=tuple(s.name for s in steps))


# --- decisions ------------------------------------------------------------------------------------


@dataclass
class _Acting:
    request: ApprovalRequest
    step: RequestStep
    row: StepApprover
    on_behalf_of: User | None


def _locked(request_id: int) -> ApprovalRequest:
    request = ApprovalRequest.objects.select_for_update().select_related("requester").filter(pk=request_id).first()
    if request is None:
        raise Conflict(_("This approval request no longer exists."))
    return request


def _involved(request: ApprovalRequest, user: User) -> bool:
    ids = [user.pk, *delegator_ids(user)]
    return (
        StepApprover.objects.filter(step__request=request, user_id__in=ids).exists()
        or ApprovalAction.objects.filter(request=request, actor=user).exists()
    )


def _too_late() -> Conflict:
    return Conflict(_("This approval was already decided or has moved on; reload the request."))


def _acting(request_id: int, actor: User, *, expected_step: int | None) -> _Acting:
    """Lock the request and find the row ``actor`` decides (their own, else one of the
    people they stand in for today). 409 for someone involved but too late, else 403."""
    request = _locked(request_id)
    if request.status != RequestStatus.PENDING or request.current_step == 0:
        if request.requester_id == actor.pk or _involved(request, actor) or actor.is_admin:
            raise _too_late()
        raise Forbidden(_("Only the approvers of the current step may decide."))
    if expected_step is not None and expected_step != request.current_step:
        raise _too_late()
    step = RequestStep.objects.get(request=request, position=request.current_step)
    rows = list(StepApprover.objects.filter(step=step).select_related("user"))
    own = next((r for r in rows if r.user_id == actor.pk), None)
    if own is not None and own.decision == "":
        return _Acting(request, step, own, None)
    stand_in_for = set(delegator_ids(actor))
    for row in rows:
        if row.user_id in stand_in_for and row.decision == "":
            return _Acting(request, step, row, row.user)
    if own is not None or any(r.user_id in stand_in_for for r in rows) or _involved(request, actor):
        raise _too_late()
    raise Forbidden(_("Only the approvers of the current step, or whoever stands in for them, may decide."))


def _finish(request: ApprovalRequest, status: str, now: datetime) -> None:
    request.status = status
    request.decided_at = now
    request.version = F("version") + 1
    request.save(update_fields=["status", "decided_at", "version", "updated_at"])
    request.refresh_from_db(fields=["version"])


def _bump(request: ApprovalRequest) -> None:
    request.version = F("version") + 1
    request.save(update_fields=["current_step", "version", "updated_at"])
    request.refresh_from_db(fields=["version"])


def _comment(value: object, *, required: bool) -> str:
    return _clean_text(value, "comment", limit=COMMENT_LENGTH, required=required, message=_("Please give a comment."))


@transaction.atomic
def request_approve(*, actor: User, request_id: int, comment: str = "", step: int | None = None) -> ApprovalRequest:
    """Approve the current step (for oneself or, with a delegation, on behalf of an approver).
    Any-of: the step is done; all-of: once every approver (or their stand-in) approved. The
    next step then becomes current, or the request is approved and ``on_approved`` runs."""
    text = _comment(comment, required=False)
    acting = _acting(request_id, actor, expected_step=step)
    request, current, row = acting.request, acting.step, acting.row
    now = timezone.now()
    row.decision, row.decided_at = "approved", now
    row.save(update_fields=["decision", "decided_at"])
    # an escalated manager stands in for the approver they were added for, and vice versa
    if row.escalated_from_id:
        StepApprover.objects.filter(pk=row.escalated_from_id, decision="").update(decision="covered", decided_at=now)
    StepApprover.objects.filter(escalated_from=row, decision="").update(decision="covered", decided_at=now)
    originals = StepApprover.objects.filter(step=current, escalated_from__isnull=True)
    done = current.mode == StepMode.ANY or not originals.filter(decision="").exists()
    _action(request, ActionKind.APPROVED, actor, on_behalf_of=acting.on_behalf_of, comment=text, now=now)
    position = current.position
    if not done:
        _bump(request)
        _event(
            "approvals.request.step_approved",
            actor=actor,
            request=request,
            step=position,
            on_behalf_of=acting.on_behalf_of,
            comment=text,
        )
        return request
    current.status, current.decided_at = StepStatus.APPROVED, now
    current.save(update_fields=["status", "decided_at"])
    StepApprover.objects.filter(step=current, decision="").update(decision="covered", decided_at=now)
    following = RequestStep.objects.filter(request=request, position__gt=position).order_by("position").first()
    if following is not None:
        pending = _activate(request, following, now)
        _bump(request)
        _event(
            "approvals.request.step_approved",
            actor=actor,
            request=request,
            step=position,
            on_behalf_of=acting.on_behalf_of,
            pending_for=pending,
            comment=text,
        )
        return request
    item, target = _document(request)
    _finish(request, RequestStatus.APPROVED, now)
    item.on_approved(target, actor)
    _event(
        "approvals.request.approved",
        actor=actor,
        request=request,
        step=position,
        on_behalf_of=acting.on_behalf_of,
        inform=[request.requester_id],
        document=target,
        comment=text,
    )
    return request


@transaction.atomic
def request_reject(*, actor: User, request_id: int, comment: str, step: int | None = None) -> ApprovalRequest:
    """Reject the request at the current step (a comment is required); ``on_rejected`` runs."""
    text = _comment(comment, required=True)
    acting = _acting(request_id, actor, expected_step=step)
    request, current = acting.request, acting.step
    now = timezone.now()
    acting.row.decision, acting.row.decided_at = "rejected", now
    acting.row.save(update_fields=["decision", "decided_at"])
    current.status, current.decided_at = StepStatus.REJECTED, now
    current.save(update_fields=["status", "decided_at"])
    _action(request, ActionKind.REJECTED, actor, on_behalf_of=acting.on_behalf_of, comment=text, now=now)
    item, target = _document(request)
    _finish(request, RequestStatus.REJECTED, now)
    item.on_rejected(target, actor, text)
    _event(
        "approvals.request.rejected",
        actor=actor,
        request=request,
        step=current.position,
        on_behalf_of=acting.on_behalf_of,
        inform=[request.requester_id],
        document=target,
        comment=text,
    )
    return request


@transaction.atomic
def request_return(
    *, actor: User, request_id: int, to_step: object, comment: str, step: int | None = None
) -> ApprovalRequest:
    """Return the request to an earlier step (``0``: the requester) with a comment. The
    request stays pending; the steps from ``to_step`` on start again. Paired with
    :func:`request_resubmit` (from the requester's step)."""
    text = _comment(comment, required=True)
    if isinstance(to_step, bool) or not isinstance(to_step, int):
        raise ValidationFailed(_("Choose an earlier step."), field_errors={"to_step": [_("Choose an earlier step.")]})
    acting = _acting(request_id, actor, expected_step=step)
    request, current = acting.request, acting.step
    if not 0 <= to_step < current.position:
        raise ValidationFailed(_("Choose an earlier step."), field_errors={"to_step": [_("Choose an earlier step.")]})
    now = timezone.now()
    from_position = current.position
    _action(
        request, ActionKind.RETURNED, actor, on_behalf_of=acting.on_behalf_of, comment=text, to_step=to_step, now=now
    )
    later = RequestStep.objects.filter(request=request, position__gt=to_step)
    StepApprover.objects.filter(step__in=later).delete()
    later.update(status=StepStatus.WAITING, entered_at=None, reminded_at=None, escalated_at=None, decided_at=None)
    pending: list[int] = []
    if to_step == 0:
        request.current_step = 0
    else:
        target_step = RequestStep.objects.get(request=request, position=to_step)
        pending = _activate(request, target_step, now)
    _bump(request)
    _event(
        "approvals.request.returned",
        actor=actor,
        request=request,
        step=from_position,
        on_behalf_of=acting.on_behalf_of,
        pending_for=pending,
        inform=[request.requester_id],
        comment=text,
        to_step=to_step,
    )
    return request


@transaction.atomic
def request_resubmit(*, actor: User, request_id: int, comment: str = "") -> ApprovalRequest:
    """The requester sends a request returned to them (step 0) on to the first step again."""
    text = _comment(comment, required=False)
    request = _locked(request_id)
    if request.requester_id != actor.pk:
        raise Forbidden(_("Only the requester may send the request on again."))
    if request.status != RequestStatus.PENDING or request.current_step != 0:
        raise Conflict(_("Only a request returned to you can be sent on again."))
    now = timezone.now()
    _action(request, ActionKind.RESUBMITTED, actor, comment=text, now=now)
    pending = _activate(request, RequestStep.objects.get(request=request, position=1), now)
    _bump(request)
    _event("approvals.request.resubmitted", actor=actor, request=request, step=1, pending_for=pending, comment=text)
    return request


@transaction.atomic
def request_withdraw(*, actor: User, request_id: int) -> ApprovalRequest:
    """The requester withdraws a pending request; ``on_withdrawn`` runs and the approvers
    waiting on it are told."""
    request = _locked(request_id)
    if request.requester_id != actor.pk:
        raise Forbidden(_("Only the requester may withdraw the request."))
    if request.status != RequestStatus.PENDING:
        raise Conflict(_("This request is no longer pending."))
    now = timezone.now()
    waiting = list(
        StepApprover.objects.filter(
            step__request=request, step__position=request.current_step, decision=""
        ).values_list("user_id", flat=True)
    )
    RequestStep.objects.filter(request=request, status=StepStatus.PENDING).update(status=StepStatus.WAITING)
    _action(request, ActionKind.WITHDRAWN, actor, now=now)
    item, target = _document(request)
    _finish(request, RequestStatus.WITHDRAWN, now)
    item.on_withdrawn(target, actor)
    _event(
        "approvals.request.withdrawn",
        actor=actor,
        request=request,
        step=request.current_step,
        inform=waiting,
        document=target,
    )
    return request


def allowed_actions(request: ApprovalRequest, user: User) -> dict[str, Any]:
    """What ``user`` may do on ``request`` now (for the buttons; the services check again):
    ``decide`` (approve/reject/return), ``on_behalf_of`` (the approver they stand in for),
    ``return_to`` (earlier positions), ``withdraw``, ``resubmit``."""
    result: dict[str, Any] = {"decide": False, "on_behalf_of": None, "return_to": [], "withdraw": False}
    result["resubmit"] = request.status == RequestStatus.PENDING and request.current_step == 0
    result["resubmit"] = result["resubmit"] and request.requester_id == user.pk
    result["withdraw"] = request.status == RequestStatus.PENDING and request.requester_id == user.pk
    if request.status != RequestStatus.PENDING or request.current_step == 0:
        return result
    steps = list(request.steps.all())
    current = next((s for s in steps if s.position == request.current_step), None)
    if current is None:
        return result
    undecided = [a for a in current.approvers.all() if a.decision == ""]
    stand_in = set(delegator_ids(user))
    mine = next((a for a in undecided if a.user_id == user.pk), None)
    other = next((a for a in undecided if a.user_id in stand_in), None)
    if mine is not None or other is not None:
        result["decide"] = True
        result["on_behalf_of"] = None if mine is not None else other.user if other else None
        result["return_to"] = [(0, _("The requester"))] + [
            (s.position, s.name) for s in steps if s.position < current.position
        ]
    return result


# --- reminders and escalation ---------------------------------------------------------------------


class ReminderResult(NamedTuple):
    reminded: int
    escalated: int


def reminders_run(*, now: datetime | None = None) -> ReminderResult:
    """Remind the approvers of each current step pending longer than its request's
    ``remind_after_hours``, and add each undecided approver's manager (the nearest active
    manager above them) to steps pending longer than ``escalate_after_hours`` — a step with
    no such manager is escalated to the administrators. Once per step entry each."""
    now = now or timezone.now()
    actor = system_actor()
    reminded = escalated = 0
    steps = RequestStep.objects.filter(
        status=StepStatus.PENDING,
        request__status=RequestStatus.PENDING,
        request__current_step=F("position"),
        entered_at__isnull=False,
    ).select_related("request")
    candidates = [
        s
        for s in steps.filter(models.Q(reminded_at__isnull=True) | models.Q(escalated_at__isnull=True)).order_by("id")[
            :1000
        ]
    ]
    for step in candidates:
        request = step.request
        assert step.entered_at is not None
        age = now - step.entered_at
        if (
            request.remind_after_hours
            and step.reminded_at is None
            and age >= timedelta(hours=request.remind_after_hours)
        ):
            reminded += _remind(step, actor, now)
        if (
            request.escalate_after_hours
            and step.escalated_at is None
            and age >= timedelta(hours=request.escalate_after_hours)
        ):
            escalated += _escalate(step, actor, now)
    return ReminderResult(reminded, escalated)


@transaction.atomic
def _remind(step: RequestStep, actor: User, now: datetime) -> int:
    if not RequestStep.objects.filter(pk=step.pk, reminded_at__isnull=True, status=StepStatus.PENDING).update(
        reminded_at=now
    ):
        return 0
    request = step.request
    waiting = list(StepApprover.objects.filter(step=step, decision="").values_list("user_id", flat=True))
    ApprovalAction.objects.create(
        request=request, step_position=step.position, action=ActionKind.REMINDED, actor=actor, created_at=now
    )
    _event(
        "approvals.request.reminded",
        actor=actor,
        request=request,
        step=step.position,
        pending_for=_with_delegates(waiting),
        hours=request.remind_after_hours,
    )
    return 1


@transaction.atomic
def _escalate(step: RequestStep, actor: User, now: datetime) -> int:
    if not RequestStep.objects.filter(pk=step.pk, escalated_at__isnull=True, status=StepStatus.PENDING).update(
        escalated_at=now
    ):
        return 0
    request = step.request
    rows = list(StepApprover.objects.filter(step=step).select_related("user"))
    present = {r.user_id for r in rows}
    added: list[StepApprover] = []
    from salesflow.approvals.selectors import administrators

    for row in rows:
        if row.decision or row.escalated_from_id:
            continue
        managers = [m for m in managers_above(row.user, 1) if m.pk != request.requester_id]
        candidates = managers or [a for a in administrators() if a.pk != request.requester_id]
        for manager in candidates[:1]:
            if manager.pk not in present:
                added.append(StepApprover(step=step, user=manager, escalated_from=row))
                present.add(manager.pk)
    StepApprover.objects.bulk_create(added)
    ApprovalAction.objects.create(
        request=request, step_position=step.position, action=ActionKind.ESCALATED, actor=actor, created_at=now
    )
    _event(
        "approvals.request.escalated",
        actor=actor,
        request=request,
        step=step.position,
        pending_for=_with_delegates([a.user_id for a in added]),
        hours=request.escalate_after_hours,
    )
    return 1


# --- rules (administrators) -----------------------------------------------------------------------


def _require_admin(actor: User, message: str) -> None:
    if not actor.is_admin:
        raise Forbidden(message)


def _int_in(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(
            _("The input is not valid."),
            field_errors={field: [_("Enter a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}]},
        )
    return value


@dataclass(frozen=True)
class StepSpec:
    name: str
    approver_type: str
    user_ids: list[int]
    levels: int
    role: str
    mode: str


def _clean_steps(raw: object) -> list[StepSpec]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STEPS:
        raise ValidationFailed(
            _("A rule needs between 1 and %(n)s steps.") % {"n": MAX_STEPS},
            field_errors={"steps": [_("Give between 1 and %(n)s steps.") % {"n": MAX_STEPS}]},
        )
    specs: list[StepSpec] = []
    for index, item in enumerate(raw):
        field = f"steps.{index}"
        if not isinstance(item, Mapping):
            raise ValidationFailed(_("The input is not valid."), field_errors={field: [_("Give a step.")]})
        name = _clean_text(item.get("name"), f"{field}.name", limit=NAME_LENGTH, required=True)
        approver_type = item.get("approver_type")
        if approver_type not in ApproverType.values:
            raise ValidationFailed(
                _("The input is not valid."), field_errors={f"{field}.approver_type": [_("Choose who approves.")]}
            )
        mode = item.get("mode", StepMode.ANY)
        if mode not in StepMode.values:
            raise ValidationFailed(
                _("The input is not valid."), field_errors={f"{field}.mode": [_("Choose any or all.")]}
            )
        levels = _int_in(item.get("levels", 1), f"{field}.levels", 1, MAX_LEVELS)
        role = item.get("role") or ""
        user_ids: list[int] = []
        if approver_type in (ApproverType.ROLE, ApproverType.TEAM_ROLE) and role not in Role.values:
            raise ValidationFailed(_("The input is not valid."), field_errors={f"{field}.role": [_("Choose a role.")]})
        if approver_type == ApproverType.USERS:
            raw_ids = item.get("user_ids")
            if not isinstance(raw_ids, list) or not 1 <= len(raw_ids) <= MAX_NAMED_USERS:
                raise ValidationFailed(
                    _("The input is not valid."),
                    field_errors={
                        f"{field}.user_ids": [_("Choose between 1 and %(n)s users.") % {"n": MAX_NAMED_USERS}]
                    },
                )
            user_ids = sorted({_int_in(v, f"{field}.user_ids", 1, 2**63 - 1) for v in raw_ids})
            found = set(User.objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True))
            if found != set(user_ids):
                raise ValidationFailed(
                    _("The input is not valid."), field_errors={f"{field}.user_ids": [_("Unknown or inactive user.")]}
                )
        if approver_type not in (ApproverType.ROLE, ApproverType.TEAM_ROLE):
            role = ""
        specs.append(StepSpec(name, str(approver_type), user_ids, levels, str(role), str(mode)))
    return specs


def _clean_conditions(raw: object) -> list[tuple[str, str, Any]]:
    if raw is None:
        raw = []
    if not isinstance(raw, list) or len(raw) > MAX_CONDITIONS:
        raise ValidationFailed(
            _("The input is not valid."),
            field_errors={"conditions": [_("Give at most %(n)s conditions.") % {"n": MAX_CONDITIONS}]},
        )
    cleaned: list[tuple[str, str, Any]] = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise ValidationFailed(
                _("The input is not valid."), field_errors={f"conditions.{index}": [_("Give a condition.")]}
            )
        try:
            cleaned.append(clean_condition(item.get("fact"), item.get("operator"), item.get("value")))
        except ValueError as exc:
            raise ValidationFailed(
                _("The condition is not valid."), field_errors={f"conditions.{index}": [str(exc)]}
            ) from None
    return cleaned


@transaction.atomic
def rule_save(
    *,
    actor: User,
    rule: ApprovalRule | None = None,
    kind: object,
    name: object,
    priority: object = 100,
    active: object = True,
    remind_after_hours: object = 24,
    escalate_after_hours: object = 72,
    conditions: object = None,
    steps: object,
) -> ApprovalRule:
    """Create or replace a rule (administrators): its conditions and steps are replaced
    as a whole. Running requests keep the route they were given. Audited
    ``approvals.rule.saved``."""
    _require_admin(actor, _("Only administrators may change approval rules."))
    if not isinstance(kind, str) or not KIND_RE.match(kind):
        raise ValidationFailed(
            _("The input is not valid."), field_errors={"kind": [_("Give a document type such as quotes.quote.")]}
        )
    clean_name = _clean_text(name, "name", limit=NAME_LENGTH, required=True)
    clean_priority = _int_in(priority, "priority", 0, 10_000)
    if not isinstance(active, bool):
        raise ValidationFailed(_("The input is not valid."), field_errors={"active": [_("Give true or false.")]})
    remind = _int_in(remind_after_hours, "remind_after_hours", 0, MAX_HOURS)
    escalate = _int_in(escalate_after_hours, "escalate_after_hours", 0, MAX_HOURS)
    clean_conditions = _clean_conditions(conditions)
    specs = _clean_steps(steps)
    created = rule is None
    if rule is None:
        rule = ApprovalRule(kind=kind)
    else:
        rule = ApprovalRule.objects.select_for_update().get(pk=rule.pk)
        rule.kind = kind
    rule.name, rule.priority, rule.active = clean_name, clean_priority, active
    rule.remind_after_hours, rule.escalate_after_hours = remind, escalate
    rule.save()
    rule.conditions.all().delete()
    rule.steps.all().delete()
    RuleCondition.objects.bulk_create(
        [RuleCondition(rule=rule, fact=f, operator=o, value=v) for f, o, v in clean_conditions]
    )
    for position, spec in enumerate(specs, start=1):
        step = RuleStep.objects.create(
            rule=rule,
            position=position,
            name=spec.name,
            approver_type=spec.approver_type,
            levels=spec.levels,
            role=spec.role,
            mode=spec.mode,
        )
        if spec.user_ids:
            step.users.set(spec.user_ids)
    record_event(
        actor=actor,
        verb="approvals.rule.saved",
        target=rule,
        data={"kind": kind, "name": clean_name, "created": created},
    )
    return rule


@transaction.atomic
def rule_delete(*, actor: User, rule: ApprovalRule) -> None:
    """Delete a rule (administrators). Requests it routed keep their route and its name."""
    _require_admin(actor, _("Only administrators may change approval rules."))
    record_event(actor=actor, verb="approvals.rule.deleted", target=rule, data={"kind": rule.kind, "name": rule.name})
    rule.delete()


# --- delegations ----------------------------------------------------------------------------------


def _date(value: object, field: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationFailed(_("The input is not valid."), field_errors={field: [_("Enter a date.")]})
    return value


def _active_user(value: object, field: str) -> User:
    pk = _int_in(value, field, 1, 2**63 - 1)
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise ValidationFailed(_("The input is not valid."), field_errors={field: [_("Unknown or inactive user.")]})
    return user


@transaction.atomic
def delegation_save(
    *,
    actor: User,
    delegation: Delegation | None = None,
    user_id: object,
    delegate_id: object,
    starts_on: object,
    ends_on: object,
    note: object = "",
) -> Delegation:
    """Create or change a delegation. Users set their own; administrators anyone's. The
    delegate is another active user; the range is at most a year and must not lie wholly in
    the past. Audited ``approvals.delegation.saved`` (on the delegation)."""
    user = _active_user(user_id, "user_id")
    if not actor.is_admin and user.pk != actor.pk:
        raise Forbidden(_("You may only set your own delegation."))
    if delegation is not None and not actor.is_admin and delegation.user_id != actor.pk:
        raise Forbidden(_("You may only change your own delegation."))
    delegate = _active_user(delegate_id, "delegate_id")
    if delegate.pk == user.pk or delegate.username == "system":
        raise ValidationFailed(_("The input is not valid."), field_errors={"delegate_id": [_("Choose someone else.")]})
    start, end = _date(starts_on, "starts_on"), _date(ends_on, "ends_on")
    if end < start:
        raise ValidationFailed(
            _("The input is not valid."), field_errors={"ends_on": [_("The end is before the start.")]}
        )
    if (end - start).days >= MAX_DELEGATION_DAYS:
        raise ValidationFailed(
            _("The input is not valid."), field_errors={"ends_on": [_("A delegation lasts at most a year.")]}
        )
    if end < today():
        raise ValidationFailed(_("The input is not valid."), field_errors={"ends_on": [_("The end is in the past.")]})
    clean_note = _clean_text(note, "note", limit=200, required=False)
    created = delegation is None
    if delegation is None:
        delegation = Delegation()
    delegation.user, delegation.delegate = user, delegate
    delegation.starts_on, delegation.ends_on, delegation.note = start, end, clean_note
    delegation.save()
    record_event(
        actor=actor,
        verb="approvals.delegation.saved",
        target=delegation,
        data={"user": user.pk, "delegate": delegate.pk, "starts_on": start, "ends_on": end, "created": created},
    )
    return delegation


@transaction.atomic
def delegation_delete(*, actor: User, delegation: Delegation) -> None:
    """Delete a delegation (its approver or an administrator)."""
    if not actor.is_admin and delegation.user_id != actor.pk:
        raise Forbidden(_("You may only change your own delegation."))
    record_event(
        actor=actor,
        verb="approvals.delegation.deleted",
        target=delegation,
        data={"user": delegation.user_id, "delegate": delegation.delegate_id},
    )
    delegation.delete()


# --- large deals (kind "sales.opportunity") -------------------------------------------------------


def deal_facts(opportunity: Opportunity) -> dict[str, Any]:
    """The facts of a deal: amount in the company currency (dated rate of today; a missing
    rate is a 400 on ``amount``), its currency, the account's region code and grade, the
    owner and the owner's team."""
    from salesflow.core.selectors import RateMissing, convert

    try:
        amount, _rate = convert(opportunity.amount, opportunity.currency, timezone.localdate())
    except RateMissing:
        raise ValidationFailed(
            _("No exchange rate for this currency today; an administrator must enter one."),
            field_errors={"amount": [_("No exchange rate for this currency today.")]},
        ) from None
    account = opportunity.account
    owner = opportunity.owner
    return {
        "amount": Decimal(amount),
        "currency": opportunity.currency,
        "region": account.region.code if account is not None and account.region is not None else None,
        "customer_grade": (account.grade or None) if account is not None else None,
        "owner_id": opportunity.owner_id,
        "team_id": owner.team_id if owner is not None else None,
    }


@transaction.atomic
def deal_request_approval(*, actor: User, opportunity_id: object) -> Submission:
    """Ask for large-deal approval of a deal the actor may write (unseen 404, read-only 403;
    an open deal only, 409 otherwise; 409 while a request is pending). No rule → approved at
    once (audited ``approvals.request.auto_approved`` on the deal)."""
    opportunity = get_opportunity_for_user(actor, opportunity_id, write=True)
    opportunity = Opportunity.objects.select_related("account__region", "owner").get(pk=opportunity.pk)
    if opportunity.outcome != Outcome.OPEN:
        raise Conflict(_("Only an open deal can ask for approval."))
    facts = deal_facts(opportunity)
    summary = _("Large deal: %(name)s, %(amount)s %(currency)s") % {
        "name": opportunity.name,
        "amount": f"{opportunity.amount:,.2f}",
        "currency": opportunity.currency,
    }
    return submit_for_approval(actor=actor, kind=DEAL_KIND, target=opportunity, facts=facts, summary=summary)


def deal_on_decision(target: Any, actor: Any, *args: Any) -> None:
    """The deal keeps no approval state of its own: its approval is the request (the gate
    criterion and the deal panel read it), and the engine's event is on the deal's timeline."""
