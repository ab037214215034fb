"""``/api/v1``: score rules (``/scoring/rules``, administrators), a lead's score with every
rule's contribution (``/leads/{id}/score``), data quality and verification of leads,
accounts and contacts (``/{leads|accounts|contacts}/{id}/quality`` and ``…/verify``).
Thin callers of ``scoring.services``; errors come back in the API's envelope."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router

from salesflow.core.errors import Forbidden
from salesflow.leads.permissions import get_lead_for_user
from salesflow.parties.permissions import get_account_for_user, get_contact_for_user
from salesflow.scoring.learning import learned_probability
from salesflow.scoring.models import ScoreRule
from salesflow.scoring.permissions import can_manage_rules
from salesflow.scoring.quality import quality_of
from salesflow.scoring.schemas import (
    QualityOut,
    ScoreOut,
    ScoringRuleIn,
    ScoringRuleOut,
    ScoringRulePatch,
    quality_payload,
)
from salesflow.scoring.selectors import lead_score, rules_in_order
from salesflow.scoring.services import record_verify, rule_create, rule_delete, rule_update
from salesflow.users.models import User

router = Router(tags=["scoring"])


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _rule(actor: User, rule_id: int) -> ScoreRule:
    """The rule ``rule_id`` (every user reads the rules: unknown → 404, not admin → 403)."""
    rule = ScoreRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise Http404("rule not found")
    if not can_manage_rules(actor):
        raise Forbidden(_("Only administrators may change score rules."))
    return rule


@router.get("/scoring/rules", response=list[ScoringRuleOut], summary="Score rules in evaluation order")
def list_rules(request: HttpRequest) -> list[ScoreRule]:
    return list(rules_in_order())


@router.post("/scoring/rules", response={201: ScoringRuleOut}, summary="Add a score rule (administrators)")
def create_rule(request: HttpRequest, payload: ScoringRuleIn) -> tuple[int, ScoreRule]:
    return 201, rule_create(actor=_actor(request), **payload.dict())


@router.patch("/scoring/rules/{int:rule_id}", response=ScoringRuleOut, summary="Change a score rule (administrators)")
def update_rule(request: HttpRequest, rule_id: int, payload: ScoringRulePatch) -> ScoreRule:
    actor = _actor(request)
    return rule_update(actor=actor, rule=_rule(actor, rule_id), **payload.dict(exclude_unset=True))


@router.delete("/scoring/rules/{int:rule_id}", response={204: None}, summary="Delete a score rule (administrators)")
def delete_rule(request: HttpRequest, rule_id: int) -> tuple[int, None]:
    actor = _actor(request)
    rule_delete(actor=actor, rule=_rule(actor, rule_id))
    return 204, None


@router.get("/leads/{int:lead_id}/score", response=ScoreOut, summary="The lead's score and every rule's contribution")
def get_lead_score(request: HttpRequest, lead_id: int) -> dict[str, Any]:
    lead = get_lead_for_user(_actor(request), lead_id)
    row = lead_score(lead)
    learned = learned_probability(lead)
    return {
        "lead_id": lead.pk,
        "total": row.total if row is not None else None,
        "contributions": row.contributions if row is not None else [],
        "computed_at": row.computed_at if row is not None else None,
        "learned": None
        if learned is None
        else {
            "probability": learned[0],
            "roc_auc": learned[1].roc_auc,
            "brier": learned[1].brier,
            "brier_base": learned[1].brier_base,
            "trained_at": learned[1].trained_at,
        },
    }


def _get(actor: User, kind: str, pk: int, *, write: bool = False) -> Any:
    if kind == "lead":
        return get_lead_for_user(actor, pk, write=write)
    if kind == "account":
        return get_account_for_user(actor, pk, write=write)
    return get_contact_for_user(actor, pk, write=write)


def _quality(request: HttpRequest, kind: str, pk: int) -> dict[str, Any]:
    record = _get(_actor(request), kind, pk)
    return quality_payload(kind, record, quality_of(kind, record, now=timezone.now()))


def _verify(request: HttpRequest, kind: str, pk: int) -> dict[str, Any]:
    actor = _actor(request)
    record = record_verify(actor=actor, kind=kind, record=_get(actor, kind, pk, write=True))
    return quality_payload(kind, record, quality_of(kind, record, now=timezone.now()))


@router.get("/leads/{int:record_id}/quality", response=QualityOut, summary="Completeness and staleness of a lead")
def lead_quality(request: HttpRequest, record_id: int) -> dict[str, Any]:
    return _quality(request, "lead", record_id)


@router.get(
    "/accounts/{int:record_id}/quality", response=QualityOut, summary="Completeness and staleness of an account"
)
def account_quality(request: HttpRequest, record_id: int) -> dict[str, Any]:
    return _quality(request, "account", record_id)


@router.get("/contacts/{int:record_id}/quality", response=QualityOut, summary="Completeness and staleness of a contact")
def contact_quality(request: HttpRequest, record_id: int) -> dict[str, Any]:
    return _quality(request, "contact", record_id)


@router.post("/leads/{int:record_id}/verify", response=QualityOut, summary="Verify a lead's data (核实)")
def verify_lead(request: HttpRequest, record_id: int) -> dict[str, Any]:
    return _verify(request, "lead", record_id)


@router.post("/accounts/{int:record_id}/verify", response=QualityOut, summary="Verify an account's data (核实)")
def verify_account(request: HttpRequest, record_id: int) -> dict[str, Any]:
    return _verify(request, "account", record_id)


@router.post("/contacts/{int:record_id}/verify", response=QualityOut, summary="Verify a contact's data (核实)")
def verify_contact(request: HttpRequest, record_id: int) -> dict[str, Any]:
    return _verify(request, "contact", record_id)
