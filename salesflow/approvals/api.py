"""JSON API of the approval engine (``/api/v1/approvals``): the inbox, a request with its
route and history, the decisions, rules (administrators), delegations, and large-deal
requests — through the same services as the pages."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.approvals.models import ApprovalRequest, ApprovalRule, Delegation
from salesflow.approvals.permissions import get_request_for_user
from salesflow.approvals.schemas import (
    ApprovalRuleIn,
    ApprovalRuleOut,
    DecisionIn,
    DelegationIn,
    DelegationOut,
    DelegationPatchIn,
    EmptyIn,
    InboxFilters,
    RejectIn,
    RequestDetailOut,
    RequestPage,
    ResubmitIn,
    ReturnIn,
    RulePatchIn,
    SubmissionOut,
)
from salesflow.approvals.selectors import (
    decided_by,
    delegations_for,
    pending_for,
    request_detail,
    requested_by,
    rules_list,
)
from salesflow.approvals.services import (
    allowed_actions,
    deal_request_approval,
    delegation_delete,
    delegation_save,
    request_approve,
    request_reject,
    request_resubmit,
    request_return,
    request_withdraw,
    rule_delete,
    rule_save,
)
from salesflow.core.approvals import approvable
from salesflow.core.errors import Forbidden
from salesflow.core.keyset import api_page
from salesflow.users.models import User

router = Router(tags=["approvals"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _admin(request: HttpRequest) -> User:
    user = _user(request)
    if not user.is_admin:
        raise Forbidden(_("Only administrators may change approval rules."))
    return user


def _request_out(item: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": item.pk,
        "kind": item.kind,
        "object_id": item.object_id,
        "summary": item.summary,
        "status": item.status,
        "current_step": item.current_step,
        "requester_id": item.requester_id,
        "rule_name": item.rule_name,
        "submitted_at": item.submitted_at,
        "decided_at": item.decided_at,
    }


def _detail_out(item: ApprovalRequest, user: User) -> dict[str, Any]:
    item = request_detail(item)
    allowed = allowed_actions(item, user)
    doc = approvable(item.kind)
    url = ""
    if doc is not None:
        target = doc.model._default_manager.filter(pk=item.object_id).first()
        url = doc.url(target) if target is not None and doc.can_read(user, target) else ""
    return {
        **_request_out(item),
        "facts": item.facts,
        "document_url": url,
        "steps": [
            {
                "position": s.position,
                "name": s.name,
                "approver_type": s.approver_type,
                "mode": s.mode,
                "status": s.status,
                "fallback": s.fallback,
                "entered_at": s.entered_at,
                "approvers": [
                    {
                        "user_id": a.user_id,
                        "name": str(a.user),
                        "decision": a.decision,
                        "decided_at": a.decided_at,
                        "escalated_from_user_id": a.escalated_from.user_id if a.escalated_from else None,
                    }
                    for a in s.approvers.all()
                ],
            }
            for s in item.steps.all()
        ],
        "actions": [
            {
                "action": a.action,
                "step": a.step_position,
                "actor_id": a.actor_id,
                "actor": str(a.actor) if a.actor else "",
                "on_behalf_of_id": a.on_behalf_of_id,
                "comment": a.comment,
                "to_step": a.to_step,
                "created_at": a.created_at,
            }
            for a in item.actions.all()
        ],
        "allowed": {
            "decide": allowed["decide"],
            "on_behalf_of_id": allowed["on_behalf_of"].pk if allowed["on_behalf_of"] else None,
            "return_to": [pos for pos, _name in allowed["return_to"]],
            "withdraw": allowed["withdraw"],
            "resubmit": allowed["resubmit"],
        },
    }


@router.get("/inbox", response=RequestPage, summary="My approvals: pending for me, decided by me, or my requests")
def inbox(request: HttpRequest, filters: Query[InboxFilters]) -> dict[str, Any]:
    user = _user(request)
    qs = {"pending": pending_for, "decided": decided_by, "mine": requested_by}[filters.box](user)
    page = api_page(qs, cursor=filters.cursor, limit=filters.limit, offset=filters.offset)
    page["items"] = [_request_out(r) for r in page["items"]]
    return page


@router.get("/requests/{int:request_id}", response=RequestDetailOut, summary="A request: facts, route, history")
def request_get(request: HttpRequest, request_id: int) -> dict[str, Any]:
    user = _user(request)
    return _detail_out(get_request_for_user(user, request_id), user)


@router.post("/requests/{int:request_id}/approve", response=RequestDetailOut, summary="Approve the current step")
def approve(request: HttpRequest, request_id: int, payload: DecisionIn) -> dict[str, Any]:
    user = _user(request)
    get_request_for_user(user, request_id)
    item = request_approve(actor=user, request_id=request_id, comment=payload.comment, step=payload.step)
    return _detail_out(item, user)


@router.post("/requests/{int:request_id}/reject", response=RequestDetailOut, summary="Reject (comment required)")
def reject(request: HttpRequest, request_id: int, payload: RejectIn) -> dict[str, Any]:
    user = _user(request)
    get_request_for_user(user, request_id)
    item = request_reject(actor=user, request_id=request_id, comment=payload.comment, step=payload.step)
    return _detail_out(item, user)


@router.post("/requests/{int:request_id}/return", response=RequestDetailOut, summary="Return to an earlier step")
def return_(request: HttpRequest, request_id: int, payload: ReturnIn) -> dict[str, Any]:
    user = _user(request)
    get_request_for_user(user, request_id)
    item = request_return(
        actor=user, request_id=request_id, to_step=payload.to_step, comment=payload.comment, step=payload.step
    )
    return _detail_out(item, user)


@router.post("/requests/{int:request_id}/resubmit", response=RequestDetailOut, summary="Send a returned request on")
def resubmit(request: HttpRequest, request_id: int, payload: ResubmitIn) -> dict[str, Any]:
    user = _user(request)
    get_request_for_user(user, request_id)
    return _detail_out(request_resubmit(actor=user, request_id=request_id, comment=payload.comment), user)


@router.post("/requests/{int:request_id}/withdraw", response=RequestDetailOut, summary="Withdraw my request")
def withdraw(request: HttpRequest, request_id: int, payload: EmptyIn) -> dict[str, Any]:
    user = _user(request)
    get_request_for_user(user, request_id)
    return _detail_out(request_withdraw(actor=user, request_id=request_id), user)


@router.post(
    "/deals/{int:opportunity_id}/request", response=SubmissionOut, summary="Ask for large-deal approval of a deal"
)
def deal_request(request: HttpRequest, opportunity_id: int, payload: EmptyIn) -> dict[str, Any]:
    submission = deal_request_approval(actor=_user(request), opportunity_id=opportunity_id)
    return {"status": submission.status, "request_id": submission.request_id, "steps": list(submission.steps)}


# --- rules (administrators) ---------------------------------------------------------------------


def _rule_out(rule: ApprovalRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "kind": rule.kind,
        "name": rule.name,
        "priority": rule.priority,
        "active": rule.active,
        "remind_after_hours": rule.remind_after_hours,
        "escalate_after_hours": rule.escalate_after_hours,
        "conditions": [{"fact": c.fact, "operator": c.operator, "value": c.value} for c in rule.conditions.all()],
        "steps": [
            {
                "position": s.position,
                "name": s.name,
                "approver_type": s.approver_type,
                "user_ids": sorted(u.pk for u in s.users.all()),
                "levels": s.levels,
                "role": s.role,
                "mode": s.mode,
            }
            for s in rule.steps.all()
        ],
    }


def _rule(pk: int) -> ApprovalRule:
    rule = rules_list().filter(pk=pk).first()
    if rule is None:
        raise Http404("no such rule")
    return rule


def _rule_args(payload: ApprovalRuleIn) -> dict[str, Any]:
    return payload.model_dump()


@router.get("/rules", response=list[ApprovalRuleOut], summary="Approval rules (administrators)")
def rules(request: HttpRequest) -> list[dict[str, Any]]:
    _admin(request)
    return [_rule_out(r) for r in rules_list()[:500]]


@router.post("/rules", response={201: ApprovalRuleOut}, summary="Create a rule (administrators)")
def rule_create(request: HttpRequest, payload: ApprovalRuleIn) -> tuple[int, dict[str, Any]]:
    rule = rule_save(actor=_admin(request), **_rule_args(payload))
    return 201, _rule_out(_rule(rule.pk))


@router.get("/rules/{int:rule_id}", response=ApprovalRuleOut, summary="One rule (administrators)")
def rule_get(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    rule = _rule(rule_id)
    _admin(request)
    return _rule_out(rule)


@router.patch("/rules/{int:rule_id}", response=ApprovalRuleOut, summary="Change a rule (administrators)")
def rule_update(request: HttpRequest, rule_id: int, payload: RulePatchIn) -> dict[str, Any]:
    rule = _rule(rule_id)
    user = _admin(request)
    current = _rule_out(rule)
    changes = payload.model_dump(exclude_unset=True)
    merged = {key: current[key] for key in ApprovalRuleIn.model_fields if key not in ("conditions", "steps")}
    merged["conditions"] = [{k: c[k] for k in ("fact", "operator", "value")} for c in current["conditions"]]
    merged["steps"] = [{k: v for k, v in st.items() if k != "position"} for st in current["steps"]]
    merged.update({key: value for key, value in changes.items() if value is not None})
    rule_save(actor=user, rule=rule, **merged)
    return _rule_out(_rule(rule_id))


@router.delete("/rules/{int:rule_id}", response={204: None}, summary="Delete a rule (administrators)")
def rule_remove(request: HttpRequest, rule_id: int) -> tuple[int, None]:
    rule = _rule(rule_id)
    rule_delete(actor=_admin(request), rule=rule)
    return 204, None


# --- delegations --------------------------------------------------------------------------------


def _delegation_out(d: Delegation) -> dict[str, Any]:
    return {
        "id": d.pk,
        "user_id": d.user_id,
        "delegate_id": d.delegate_id,
        "starts_on": d.starts_on,
        "ends_on": d.ends_on,
        "note": d.note,
    }


def _delegation(user: User, pk: int) -> Delegation:
    found = delegations_for(user).filter(pk=pk).first()
    if found is None:
        raise Http404("no such delegation")
    return found


@router.get(
    "/delegations", response=list[DelegationOut], summary="Delegations I gave or received (all: administrators)"
)
def delegations(request: HttpRequest) -> list[dict[str, Any]]:
    return [_delegation_out(d) for d in delegations_for(_user(request))[:500]]


@router.post("/delegations", response={201: DelegationOut}, summary="Delegate my approvals while I am away")
def delegation_create(request: HttpRequest, payload: DelegationIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    saved = delegation_save(
        actor=user,
        user_id=payload.user_id or user.pk,
        delegate_id=payload.delegate_id,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        note=payload.note,
    )
    return 201, _delegation_out(saved)


@router.patch("/delegations/{int:delegation_id}", response=DelegationOut, summary="Change a delegation")
def delegation_update(request: HttpRequest, delegation_id: int, payload: DelegationPatchIn) -> dict[str, Any]:
    user = _user(request)
    found = _delegation(user, delegation_id)
    saved = delegation_save(
        actor=user,
        delegation=found,
        user_id=found.user_id,
        delegate_id=payload.delegate_id if payload.delegate_id is not None else found.delegate_id,
        starts_on=payload.starts_on or found.starts_on,
        ends_on=payload.ends_on or found.ends_on,
        note=payload.note if payload.note is not None else found.note,
    )
    return _delegation_out(saved)


@router.delete("/delegations/{int:delegation_id}", response={204: None}, summary="Delete a delegation")
def delegation_remove(request: HttpRequest, delegation_id: int) -> tuple[int, None]:
    user = _user(request)
    delegation_delete(actor=user, delegation=_delegation(user, delegation_id))
    return 204, None
