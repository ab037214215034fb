"""JSON API of the public pools (``/api/v1/pools``): the caller's pools and their records,
claim and release, the caller's holdings, and the settings (administrators) — through the
same services as the pages."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.core.errors import Forbidden
from salesflow.core.keyset import api_page
from salesflow.pools.models import CapRule, Pool, PoolAccount, PoolLead, RecycleRule
from salesflow.pools.schemas import (
    CapIn,
    CapOut,
    ClaimedOut,
    ClaimIn,
    HoldingOut,
    PoolIn,
    PoolOut,
    PoolRecordFilters,
    PoolRecordPage,
    RecycleRuleIn,
    RecycleRuleOut,
    ReleaseIn,
)
from salesflow.pools.selectors import cap_rules, get_pool_for_user, holdings, pool_entries, pools_visible_to
from salesflow.pools.services import (
    cap_delete,
    cap_save,
    pool_claim,
    pool_delete,
    pool_release,
    pool_save,
    recycle_rule_delete,
    recycle_rule_save,
)
from salesflow.users.models import User

router = Router(tags=["pools"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _admin(request: HttpRequest) -> User:
    user = _user(request)
    if not user.is_admin:
        raise Forbidden(_("Only administrators may change public pool settings."))
    return user


def _pool_out(pool: Pool) -> dict[str, Any]:
    return {
        "id": pool.pk,
        "name": pool.name,
        "description": pool.description,
        "active": pool.active,
        "holds_leads": pool.holds_leads,
        "holds_accounts": pool.holds_accounts,
        "protection_days": pool.protection_days,
        "position": pool.position,
        "team_ids": sorted(t.pk for t in pool.teams.all()),
        "lead_count": getattr(pool, "lead_count", None) or 0,
        "account_count": getattr(pool, "account_count", None) or 0,
    }


def _entry_out(entry: PoolLead | PoolAccount) -> dict[str, Any]:
    record = entry.lead if isinstance(entry, PoolLead) else entry.account
    return {
        "kind": "lead" if isinstance(entry, PoolLead) else "account",
        "id": record.pk,
        "name": record.name,
        "company_name": getattr(record, "company_name", ""),
        "grade": getattr(record, "grade", ""),
        "industry": record.industry,
        "entered_at": entry.entered_at,
        "released_by_id": entry.released_by_id,
        "reason": entry.reason,
    }


@router.get("", response=list[PoolOut], summary="The public pools the caller belongs to")
@router.get("/", response=list[PoolOut], include_in_schema=False)
def list_pools(request: HttpRequest) -> list[dict[str, Any]]:
    user = _user(request)
    pools = pools_visible_to(user, include_inactive=user.is_admin).prefetch_related("teams")
    return [_pool_out(p) for p in pools]


@router.get("/holdings", response=list[HoldingOut], summary="The caller's holdings against their ownership caps")
def my_holdings(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"kind": h.kind, "grade": h.grade, "held": h.held, "cap": h.cap} for h in holdings(_user(request))]


@router.get("/{int:pool_id}/records", response=PoolRecordPage, summary="Unowned records waiting in a pool")
def pool_records(request: HttpRequest, pool_id: int, filters: Query[PoolRecordFilters]) -> dict[str, Any]:
    pool = get_pool_for_user(_user(request), pool_id)
    if not pool.holds(filters.kind):
        return {"count": 0, "items": [], "next_cursor": None}
    qs = pool_entries(pool, filters.kind, grade=filters.grade, industry=filters.industry, q=filters.q)
    page = api_page(qs, cursor=filters.cursor, limit=filters.limit, offset=filters.offset)
    page["items"] = [_entry_out(e) for e in page["items"]]
    return page


@router.post("/claim", response=ClaimedOut, summary="Claim (领取) a lead or account; 409 names a reached cap")
def claim(request: HttpRequest, payload: ClaimIn) -> dict[str, Any]:
    record = pool_claim(actor=_user(request), kind=payload.kind, record_id=payload.record_id)
    return {
        "kind": payload.kind,
        "id": record.pk,
        "owner_id": record.owner_id,
        "protected_until": record.protected_until,
    }


@router.post("/release", response=ClaimedOut, summary="Release (退回公海) a lead or account with a reason")
def release(request: HttpRequest, payload: ReleaseIn) -> dict[str, Any]:
    record = pool_release(
        actor=_user(request),
        kind=payload.kind,
        record_id=payload.record_id,
        reason=payload.reason,
        pool_id=payload.pool_id,
    )
    return {"kind": payload.kind, "id": record.pk, "owner_id": record.owner_id, "protected_until": None}


# --- settings (administrators) -------------------------------------------------------------------


def _get(model: type[Any], pk: int) -> Any:
    obj = model.objects.filter(pk=pk).first() if 0 < pk < 2**63 else None
    if obj is None:
        raise Http404("not found")
    return obj


@router.post("/settings/pools", response={201: PoolOut}, summary="Create a pool (administrators)")
def create_pool(request: HttpRequest, payload: PoolIn) -> tuple[int, dict[str, Any]]:
    pool = pool_save(actor=_admin(request), **payload.model_dump())
    return 201, _pool_out(pool)


@router.patch("/settings/pools/{int:pool_id}", response=PoolOut, summary="Change a pool (administrators)")
def update_pool(request: HttpRequest, pool_id: int, payload: PoolIn) -> dict[str, Any]:
    pool = _get(Pool, pool_id)  # an unknown id is a 404 whoever asks
    return _pool_out(pool_save(actor=_admin(request), pool=pool, **payload.model_dump()))


@router.delete("/settings/pools/{int:pool_id}", response={204: None}, summary="Delete an empty pool")
def delete_pool(request: HttpRequest, pool_id: int) -> tuple[int, None]:
    pool = _get(Pool, pool_id)
    pool_delete(actor=_admin(request), pool=pool)
    return 204, None


def _cap_out(cap: CapRule) -> dict[str, Any]:
    return {
        "id": cap.pk,
        "role": cap.role,
        "user_id": cap.user_id,
        "kind": cap.kind,
        "grade": cap.grade,
        "max_count": cap.max_count,
    }


@router.get("/settings/caps", response=list[CapOut], summary="Ownership caps (administrators)")
def list_caps(request: HttpRequest) -> list[dict[str, Any]]:
    _admin(request)
    return [_cap_out(c) for c in cap_rules()]


@router.post("/settings/caps", response={201: CapOut}, summary="Add an ownership cap (administrators)")
def create_cap(request: HttpRequest, payload: CapIn) -> tuple[int, dict[str, Any]]:
    return 201, _cap_out(cap_save(actor=_admin(request), **payload.model_dump()))


@router.patch("/settings/caps/{int:cap_id}", response=CapOut, summary="Change an ownership cap (administrators)")
def update_cap(request: HttpRequest, cap_id: int, payload: CapIn) -> dict[str, Any]:
    cap = _get(CapRule, cap_id)
    return _cap_out(cap_save(actor=_admin(request), cap=cap, **payload.model_dump()))


@router.delete("/settings/caps/{int:cap_id}", response={204: None}, summary="Delete an ownership cap")
def delete_cap(request: HttpRequest, cap_id: int) -> tuple[int, None]:
    cap = _get(CapRule, cap_id)
    cap_delete(actor=_admin(request), cap=cap)
    return 204, None


def _rule_out(rule: RecycleRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "name": rule.name,
        "kind": rule.kind,
        "grade": rule.grade,
        "no_follow_up_days": rule.no_follow_up_days,
        "no_opportunity_days": rule.no_opportunity_days,
        "target_pool_id": rule.target_pool_id,
        "warn_days_before": rule.warn_days_before,
        "active": rule.active,
        "product_line_id": rule.product_line_id,
    }


@router.get("/settings/recycle-rules", response=list[RecycleRuleOut], summary="Recycle rules (administrators)")
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    _admin(request)
    return [_rule_out(r) for r in RecycleRule.objects.order_by("kind", "grade", "id")]


@router.post("/settings/recycle-rules", response={201: RecycleRuleOut}, summary="Add a recycle rule")
def create_rule(request: HttpRequest, payload: RecycleRuleIn) -> tuple[int, dict[str, Any]]:
    return 201, _rule_out(recycle_rule_save(actor=_admin(request), **payload.model_dump()))


@router.patch("/settings/recycle-rules/{int:rule_id}", response=RecycleRuleOut, summary="Change a recycle rule")
def update_rule(request: HttpRequest, rule_id: int, payload: RecycleRuleIn) -> dict[str, Any]:
    rule = _get(RecycleRule, rule_id)
    return _rule_out(recycle_rule_save(actor=_admin(request), rule=rule, **payload.model_dump()))


@router.delete("/settings/recycle-rules/{int:rule_id}", response={204: None}, summary="Delete a recycle rule")
def delete_rule(request: HttpRequest, rule_id: int) -> tuple[int, None]:
    rule = _get(RecycleRule, rule_id)
    recycle_rule_delete(actor=_admin(request), rule=rule)
    return 204, None
