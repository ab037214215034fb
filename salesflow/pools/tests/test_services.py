"""Claim, caps, release, recycle: the pools services on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from salesflow.activities.services import activity_create
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.intake import IntakeCheck, register_intake_check, unregister_intake_check
from salesflow.core.models import AuditEvent
from salesflow.leads.models import Lead
from salesflow.leads.tests.factories import make_lead
from salesflow.parties.models import Account
from salesflow.parties.tests.factories import make_account
from salesflow.pools.models import CapRule, PoolAccount, PoolLead, RecycleRule, RecycleWarning
from salesflow.pools.services import cap_save, pool_claim, pool_release, pool_save, recycle_run
from salesflow.pools.tests.factories import make_pool, pooled_account, pooled_lead
from salesflow.sales.tests.factories import make_opportunity

pytestmark = pytest.mark.django_db


def test_claim_sets_owner_protection_and_leaves_the_pool(personas):
    pool = make_pool(personas.team_a, protection_days=15)
    lead = pooled_lead(pool)
    before = timezone.now()
    claimed = pool_claim(actor=personas.rep, kind="lead", record_id=lead.pk)
    lead.refresh_from_db()
    assert claimed.owner_id == lead.owner_id == personas.rep.pk
    assert lead.protected_until is not None
    assert before + timedelta(days=15) <= lead.protected_until <= timezone.now() + timedelta(days=15)
    assert not PoolLead.objects.filter(lead=lead).exists()
    event = AuditEvent.objects.get(verb="pools.record.claimed")
    assert event.actor_id == personas.rep.pk and event.data["pool_id"] == pool.pk
    # claimed once: the second claim finds it gone
    with pytest.raises(Conflict) as exc:
        pool_claim(actor=personas.teammate, kind="lead", record_id=lead.pk)
    assert exc.value.code == "not_in_pool"


def test_claim_outside_the_pools_teams_is_forbidden(personas):
    pool = make_pool(personas.team_a)
    lead = pooled_lead(pool)
    with pytest.raises(Forbidden):
        pool_claim(actor=personas.outsider, kind="lead", record_id=lead.pk)
    with pytest.raises(Forbidden):
        pool_claim(actor=personas.support, kind="lead", record_id=lead.pk)
    assert Lead.objects.get(pk=lead.pk).owner_id is None


def test_cap_per_grade_names_the_cap(personas):
    pool = make_pool(personas.team_a)
    CapRule.objects.create(role="rep", kind="account", grade="A", max_count=2)
    make_account(personas.rep, grade="A")
    make_account(personas.rep, grade="B")  # other grades do not count
    first = pooled_account(pool, personas.admin, grade="A")
    second = pooled_account(pool, personas.admin, grade="A")
    b_grade = pooled_account(pool, personas.admin, grade="B")
    pool_claim(actor=personas.rep, kind="account", record_id=first.pk)
    with pytest.raises(Conflict) as exc:
        pool_claim(actor=personas.rep, kind="account", record_id=second.pk)
    assert exc.value.code == "cap_reached"
    assert str(exc.value.message) == "You hold 2 of 2 A-grade accounts: the ownership cap is reached."
    assert Account.objects.get(pk=second.pk).owner_id is None
    assert PoolAccount.objects.filter(account=second).exists()
    pool_claim(actor=personas.rep, kind="account", record_id=b_grade.pk)  # B has no cap
    # a user's own rule replaces their role's
    CapRule.objects.create(user=personas.rep, kind="account", grade="A", max_count=5)
    pool_claim(actor=personas.rep, kind="account", record_id=second.pk)


def test_lead_cap_counts_open_leads_only(personas):
    pool = make_pool(personas.team_a)
    CapRule.objects.create(role="rep", kind="lead", max_count=1)
    make_lead(owner=personas.rep, status="converted")
    lead = pooled_lead(pool)
    other = pooled_lead(pool)
    pool_claim(actor=personas.rep, kind="lead", record_id=lead.pk)
    with pytest.raises(Conflict, match="You hold 1 of 1 leads"):
        pool_claim(actor=personas.rep, kind="lead", record_id=other.pk)


def test_claim_runs_the_intake_checks(personas):
    pool = make_pool(personas.team_a)
    lead = pooled_lead(pool)
    seen: list[tuple[str, str, object, object]] = []

    def refuse(intake):  # type: ignore[no-untyped-def]
        seen.append((intake.kind, intake.action, intake.values["owner"], intake.options.get("via")))
        raise Conflict("known customer")

    register_intake_check(IntakeCheck(code="test_refuse", order=10, kinds=frozenset({"lead"}), before=refuse))
    try:
        with pytest.raises(Conflict, match="known customer"):
            pool_claim(actor=personas.rep, kind="lead", record_id=lead.pk)
    finally:
        unregister_intake_check("test_refuse")
    assert seen == [("lead", "claim", personas.rep, "claim")]
    assert Lead.objects.get(pk=lead.pk).owner_id is None
    assert PoolLead.objects.filter(lead=lead).exists()


def test_release_needs_a_reason_and_keeps_who_and_why(personas):
    pool = make_pool(personas.team_a, name="一组公海")
    make_pool(personas.team_b, name="华南公海")
    account = make_account(personas.rep)
    Account.objects.filter(pk=account.pk).update(protected_until=timezone.now() + timedelta(days=3))
    with pytest.raises(ValidationFailed) as exc:
        pool_release(actor=personas.rep, kind="account", record_id=account.pk, reason="  ")
    assert "reason" in exc.value.field_errors
    with pytest.raises(Forbidden):
        pool_release(actor=personas.teammate, kind="account", record_id=account.pk, reason="no")
    with pytest.raises(Forbidden):
        pool_release(actor=personas.other_manager, kind="account", record_id=account.pk, reason="no")
    pool_release(actor=personas.manager, kind="account", record_id=account.pk, reason="客户暂无需求")
    account.refresh_from_db()
    assert account.owner_id is None and account.protected_until is None
    entry = PoolAccount.objects.get(account=account)
    assert (entry.pool, entry.released_by, entry.reason) == (pool, personas.manager, "客户暂无需求")
    event = AuditEvent.objects.get(verb="pools.record.released")
    assert event.data["previous_owner"] == personas.rep.pk and event.data["reason"] == "客户暂无需求"


def test_release_into_a_pool_not_taking_the_kind_is_refused(personas):
    leads_only = make_pool(personas.team_a, holds_accounts=False)
    account = make_account(personas.rep)
    with pytest.raises(ValidationFailed) as exc:
        pool_release(actor=personas.rep, kind="account", record_id=account.pk, reason="x", pool_id=leads_only.pk)
    assert "pool" in exc.value.field_errors
    assert Account.objects.get(pk=account.pk).owner_id == personas.rep.pk


def _old(model, pk, days):  # type: ignore[no-untyped-def]
    model.objects.filter(pk=pk).update(created_at=timezone.now() - timedelta(days=days))


def test_recycle_warns_then_recycles_and_is_idempotent(personas):
    pool = make_pool(personas.team_a)
    rule = RecycleRule.objects.create(
        name="30 天未跟进", kind="account", no_follow_up_days=30, warn_days_before=5, target_pool=pool
    )
    soon = make_account(personas.rep, name="将回收")
    due = make_account(personas.rep, name="已到期")
    fresh = make_account(personas.rep, name="刚跟进")
    protected = make_account(personas.rep, name="保护期内")
    _old(Account, soon.pk, 27)
    _old(Account, due.pk, 31)
    _old(Account, protected.pk, 40)
    Account.objects.filter(pk=protected.pk).update(protected_until=timezone.now() + timedelta(days=1))
    Account.objects.filter(pk=fresh.pk).update(last_follow_up_at=timezone.now() - timedelta(days=2))
    _old(Account, fresh.pk, 100)

    result = recycle_run()
    assert (result.warned, result.recycled) == (1, 1)
    assert Account.objects.get(pk=due.pk).owner_id is None
    entry = PoolAccount.objects.get(account=due)
    assert entry.rule == rule and entry.pool == pool
    assert Account.objects.get(pk=soon.pk).owner_id == personas.rep.pk
    assert RecycleWarning.objects.filter(record_id=soon.pk, owner=personas.rep).count() == 1
    assert Account.objects.get(pk=protected.pk).owner_id == personas.rep.pk
    assert Account.objects.get(pk=fresh.pk).owner_id == personas.rep.pk
    warned = AuditEvent.objects.get(verb="pools.record.recycle_warning")
    assert warned.target_id == soon.pk and warned.data["owner"] == personas.rep.pk
    recycled = AuditEvent.objects.get(verb="pools.record.recycled")
    assert recycled.data["rule_id"] == rule.pk and recycled.data["previous_owner"] == personas.rep.pk

    again = recycle_run()  # idempotent
    assert (again.warned, again.recycled) == (0, 0)
    assert AuditEvent.objects.filter(verb__startswith="pools.record.").count() == 2


def test_recycle_spares_accounts_with_recent_or_open_deals(personas):
    pool = make_pool(personas.team_a)
    RecycleRule.objects.create(
        name="无商机",
        kind="account",
        no_follow_up_days=10,
        no_opportunity_days=60,
        warn_days_before=0,
        target_pool=pool,
    )
    with_deal = make_account(personas.rep)
    make_opportunity(personas.rep, account=with_deal)
    bare = make_account(personas.rep)
    _old(Account, with_deal.pk, 30)
    _old(Account, bare.pk, 30)
    assert recycle_run().recycled == 1
    assert Account.objects.get(pk=with_deal.pk).owner_id == personas.rep.pk
    assert Account.objects.get(pk=bare.pk).owner_id is None


def test_recycle_of_leads_uses_the_last_activity(personas, no_completion_rules):
    pool = make_pool(personas.team_a)
    RecycleRule.objects.create(name="线索", kind="lead", no_follow_up_days=7, warn_days_before=0, target_pool=pool)
    worked = make_lead(owner=personas.rep)
    idle = make_lead(owner=personas.rep)
    _old(Lead, worked.pk, 20)
    _old(Lead, idle.pk, 20)
    activity_create(actor=personas.rep, kind="call", subject="回访", lead=worked)
    assert recycle_run().recycled == 1
    assert Lead.objects.get(pk=idle.pk).owner_id is None
    assert PoolLead.objects.filter(lead=idle, pool=pool).exists()
    assert Lead.objects.get(pk=worked.pk).owner_id == personas.rep.pk


def test_settings_are_for_administrators(personas):
    with pytest.raises(Forbidden):
        pool_save(actor=personas.manager, name="x")
    pool = pool_save(actor=personas.admin, name="公海", team_ids=[personas.team_a.pk], protection_days="20")
    assert pool.protection_days == 20 and list(pool.teams.all()) == [personas.team_a]
    with pytest.raises(ValidationFailed) as exc:
        pool_save(actor=personas.admin, name="公海")
    assert "name" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        cap_save(actor=personas.admin, kind="lead", grade="A", role="rep", max_count=3)
    assert "grade" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        cap_save(actor=personas.admin, kind="account", role="rep", user_id=personas.rep.pk, max_count=3)
    assert "role" in exc.value.field_errors
    cap_save(actor=personas.admin, kind="account", grade="A", role="rep", max_count=3)
    with pytest.raises(ValidationFailed):
        cap_save(actor=personas.admin, kind="account", grade="A", role="rep", max_count=4)


def test_a_product_line_rule_recycles_only_accounts_dealing_in_that_line(personas):
    from decimal import Decimal

    from salesflow.catalogue.models import OpportunityLine
    from salesflow.catalogue.tests.factories import make_category, make_product

    pool = make_pool(personas.team_a)
    line = make_category(name_zh="工业软件", name_en="Industrial software")
    other_line = make_category()
    RecycleRule.objects.create(
        name="工业软件 60 天无商机",
        kind="account",
        no_follow_up_days=10,
        no_opportunity_days=60,
        warn_days_before=0,
        target_pool=pool,
        product_line=line,
    )

    def account_with_deal(category, *, days_ago: int):  # type: ignore[no-untyped-def]
        account = make_account(personas.rep)
        deal = make_opportunity(personas.rep, account=account)
        OpportunityLine.objects.create(
            opportunity=deal, product=make_product(category=category), name_zh="产品", total=Decimal("100.00")
        )
        type(deal).objects.filter(pk=deal.pk).update(
            outcome="lost", created_at=timezone.now() - timedelta(days=days_ago)
        )
        _old(Account, account.pk, 90)
        return account

    stale_in_line = account_with_deal(line, days_ago=120)
    recent_in_line = account_with_deal(line, days_ago=5)  # a deal of this line within 60 days
    other = account_with_deal(other_line, days_ago=120)  # not in the rule's product line
    no_deal = make_account(personas.rep)
    _old(Account, no_deal.pk, 90)
    # an old deal in the line plus a recent deal in another line: only the line's deals count
    mixed = account_with_deal(line, days_ago=120)
    recent_other = make_opportunity(personas.rep, account=mixed)
    OpportunityLine.objects.create(opportunity=recent_other, product=make_product(category=other_line), name_zh="产品")
    type(recent_other).objects.filter(pk=recent_other.pk).update(outcome="lost")

    assert recycle_run().recycled == 2
    owners = dict(
        Account.objects.filter(
            pk__in=[stale_in_line.pk, recent_in_line.pk, other.pk, no_deal.pk, mixed.pk]
        ).values_list("pk", "owner_id")
    )
    assert owners == {
        stale_in_line.pk: None,
        recent_in_line.pk: personas.rep.pk,
        other.pk: personas.rep.pk,
        no_deal.pk: personas.rep.pk,
        mixed.pk: None,
    }


def test_a_product_line_is_for_account_rules_and_must_be_active(personas):
    from salesflow.catalogue.tests.factories import make_category
    from salesflow.pools.services import recycle_rule_save

    pool = make_pool(personas.team_a)
    line = make_category()
    retired = make_category(active=False)
    rule = recycle_rule_save(
        actor=personas.admin,
        name="按产品线",
        kind="account",
        target_pool_id=pool.pk,
        no_follow_up_days=30,
        product_line_id=line.pk,
    )
    assert RecycleRule.objects.get(pk=rule.pk).product_line == line
    for kind, line_id in (("lead", line.pk), ("account", retired.pk), ("account", 2**70), ("account", 0)):
        with pytest.raises(ValidationFailed) as exc:
            recycle_rule_save(
                actor=personas.admin,
                name="x",
                kind=kind,
                target_pool_id=pool.pk,
                no_follow_up_days=30,
                product_line_id=line_id,
            )
        assert list(exc.value.field_errors) == ["product_line_id"]
    assert RecycleRule.objects.count() == 1
