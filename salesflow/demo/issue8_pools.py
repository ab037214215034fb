"""Demo public pools (公海, issue 8): a pool per sales team and a company-wide lead pool,
ownership caps, recycle rules, and unowned accounts and leads waiting in the pools —
released by their reps with a reason, through the pools services."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef

from salesflow.leads.models import Lead
from salesflow.parties.models import Account
from salesflow.pools.models import CapRule, Pool, PoolLead, RecycleRule
from salesflow.pools.services import pool_release
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.users.choices import Role
from salesflow.users.models import Team, User

RELEASE_REASONS = ["客户暂无采购计划", "多次联系未果", "客户已选择其他供应商，明年再跟", "区域调整，交回公海"]


def seed_pools(users: dict[str, User], *, east: str, north: str) -> dict[str, int]:
    """Create the pools, caps and recycle rules and put some records in the pools.

    Returns how many accounts and leads wait in pools. Idempotent per database (pools are
    found by name)."""
    team_east, team_north = Team.objects.get(name=east), Team.objects.get(name=north)
    east_pool, _ = Pool.objects.get_or_create(
        name="华东公海", defaults={"description": "华东一组的客户与线索公海。", "protection_days": 30, "position": 1}
    )
    east_pool.teams.add(team_east)
    north_pool, _ = Pool.objects.get_or_create(
        name="华北公海", defaults={"description": "华北一组的客户与线索公海。", "protection_days": 30, "position": 2}
    )
    north_pool.teams.add(team_north)
    web_pool, _ = Pool.objects.get_or_create(
        name="全国线索池",
        defaults={
            "description": "市场部收集、尚未分配的线索，各组均可领取。",
            "holds_accounts": False,
            "protection_days": 14,
            "position": 3,
        },
    )
    web_pool.teams.add(team_east, team_north)

    # ownership caps (保有量上限): per role and customer grade, one rep with a personal cap
    for grade, cap in (("", 120), ("A", 15), ("B", 30)):
        CapRule.objects.get_or_create(
            role=Role.REP, kind="account", grade=grade, user=None, defaults={"max_count": cap}
        )
    CapRule.objects.get_or_create(role=Role.REP, kind="lead", grade="", user=None, defaults={"max_count": 200})
    reps = [u for u in users.values() if u.role == Role.REP and u.team_id is not None]
    held_a = (
        Account.objects.filter(owner__in=reps, grade="A")
        .values("owner")
        .annotate(n=Count("pk"))
        .order_by("-n", "owner")
        .first()
    )
    if held_a is not None:  # the rep holding most A accounts is exactly at a personal cap
        CapRule.objects.get_or_create(
            user_id=held_a["owner"], role="", kind="account", grade="A", defaults={"max_count": held_a["n"]}
        )

    RecycleRule.objects.get_or_create(
        name="A/B 类客户 60 天未跟进且 90 天无商机",
        defaults={
            "kind": "account",
            "no_follow_up_days": 60,
            "no_opportunity_days": 90,
            "warn_days_before": 7,
            "target_pool": east_pool,
        },
    )
    RecycleRule.objects.get_or_create(
        name="线索 30 天无跟进",
        defaults={"kind": "lead", "no_follow_up_days": 30, "warn_days_before": 5, "target_pool": web_pool},
    )

    # a few accounts without open deals, released by their reps with a reason
    open_deal = Opportunity.objects.filter(account=OuterRef("pk"), outcome=Outcome.OPEN)
    released = 0
    for rep in reps:
        candidates = list(
            Account.objects.filter(owner=rep).exclude(Exists(open_deal)).exclude(grade="A").order_by("pk")[:3]
        )
        for i, account in enumerate(candidates):
            pool_release(
                actor=rep,
                kind="account",
                record_id=account.pk,
                reason=RELEASE_REASONS[(account.pk + i) % len(RELEASE_REASONS)],
            )
            released += 1
    # unassigned web leads: some wait in the company-wide lead pool, the rest stay in triage
    pooled = 0
    for lead in Lead.objects.filter(owner__isnull=True, status="new").order_by("pk")[:12]:
        PoolLead.objects.get_or_create(lead=lead, defaults={"pool": web_pool, "reason": "市场活动收集"})
        pooled += 1
    # and a few open leads released by east reps
    for rep in reps[:2]:
        for lead in Lead.objects.filter(owner=rep, status="new").order_by("pk")[:2]:
            pool_release(actor=rep, kind="lead", record_id=lead.pk, reason="联系不上，退回公海")
            pooled += 1
    return {"pooled_accounts": released, "pooled_leads": pooled}
