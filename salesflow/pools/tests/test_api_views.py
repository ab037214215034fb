"""The pools API and pages: claim, release, caps, settings; hostile input; query counts."""

from __future__ import annotations

import pytest

from salesflow.leads.models import Lead
from salesflow.parties.models import Account
from salesflow.parties.tests.factories import make_account
from salesflow.pools.models import CapRule, Pool, PoolAccount, PoolLead, RecycleRule
from salesflow.pools.tests.factories import make_pool, pooled_account, pooled_lead

pytestmark = pytest.mark.django_db


def test_api_lists_pools_and_records_and_claims(personas, api_for):
    pool = make_pool(personas.team_a)
    make_pool(personas.team_b, name="华南公海")
    lead = pooled_lead(pool)
    api = api_for(personas.rep)
    pools = api.get("/pools").json()
    assert [p["name"] for p in pools] == ["华东公海"] and pools[0]["lead_count"] == 1
    page = api.get(f"/pools/{pool.pk}/records", kind="lead").json()
    assert [r["id"] for r in page["items"]] == [lead.pk]
    response = api.post("/pools/claim", {"kind": "lead", "record_id": lead.pk})
    assert response.status_code == 200, response.content
    assert response.json()["owner_id"] == personas.rep.pk and response.json()["protected_until"]
    assert api.post("/pools/claim", {"kind": "lead", "record_id": lead.pk}).status_code == 409
    # another team's pool is not there for the rep
    other = Pool.objects.get(name="华南公海")
    assert api.get(f"/pools/{other.pk}/records").status_code == 404


def test_api_cap_reached_is_409_naming_the_cap(personas, api_for):
    pool = make_pool(personas.team_a)
    CapRule.objects.create(role="rep", kind="account", grade="A", max_count=1)
    make_account(personas.rep, grade="A")
    account = pooled_account(pool, personas.admin, grade="A")
    response = api_for(personas.rep).post("/pools/claim", {"kind": "account", "record_id": account.pk})
    assert response.status_code == 409
    assert response.json()["detail"] == "You hold 1 of 1 A-grade accounts: the ownership cap is reached."
    assert response.json()["code"] == "cap_reached"
    assert api_for(personas.rep).get("/pools/holdings").json() == [
        {"kind": "account", "grade": "A", "held": 1, "cap": 1}
    ]


def test_api_release_and_settings(personas, api_for):
    pool = make_pool(personas.team_a)
    account = make_account(personas.rep)
    api = api_for(personas.rep)
    assert api.post("/pools/release", {"kind": "account", "record_id": account.pk}).status_code == 400
    response = api.post("/pools/release", {"kind": "account", "record_id": account.pk, "reason": "不再跟进"})
    assert response.status_code == 200, response.content
    assert PoolAccount.objects.get(account=account).pool == pool
    # owner_id is null in the account API while it waits in the pool
    assert api_for(personas.manager).get(f"/accounts/{account.pk}").json()["owner_id"] is None
    assert api.post("/pools/settings/caps", {"kind": "lead", "role": "rep", "max_count": 3}).status_code == 403
    admin = api_for(personas.admin)
    cap = admin.post("/pools/settings/caps", {"kind": "lead", "role": "rep", "max_count": 3})
    assert cap.status_code == 201
    rule = admin.post(
        "/pools/settings/recycle-rules",
        {"name": "30 天", "kind": "account", "no_follow_up_days": 30, "target_pool_id": pool.pk},
    )
    assert rule.status_code == 201, rule.content
    assert rule.json()["product_line_id"] is None
    from salesflow.catalogue.tests.factories import make_category

    line = make_category()
    by_line = admin.post(
        "/pools/settings/recycle-rules",
        {
            "name": "产品线",
            "kind": "account",
            "no_follow_up_days": 30,
            "target_pool_id": pool.pk,
            "product_line_id": line.pk,
        },
    )
    assert by_line.status_code == 201 and by_line.json()["product_line_id"] == line.pk
    for bad_line in (line.pk + 1000, 2**70, "x"):
        refused = admin.post(
            "/pools/settings/recycle-rules",
            {
                "name": "x",
                "kind": "account",
                "no_follow_up_days": 30,
                "target_pool_id": pool.pk,
                "product_line_id": bad_line,
            },
        )
        assert refused.status_code in (400, 422) and "product_line_id" in refused.content.decode()
    assert admin.delete(f"/pools/settings/pools/{pool.pk}").status_code == 409  # holds records
    created = admin.post("/pools/settings/pools", {"name": "新公海", "team_ids": [personas.team_b.pk]})
    assert created.status_code == 201 and created.json()["team_ids"] == [personas.team_b.pk]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "lead", "record_id": 2**70},
        {"kind": "lead", "record_id": "NaN"},
        {"kind": "opportunity", "record_id": 1},
        {"kind": "lead", "record_id": 1, "owner_id": 1},
        {"kind": "lead\x00", "record_id": 1},
    ],
)
def test_hostile_claims_are_400(personas, api_for, body):
    response = api_for(personas.rep).post("/pools/claim", body)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x" * 50_000},
        {"name": "a\x00b"},
        {"name": "ok", "protection_days": 1e308},
        {"name": "ok", "team_ids": [2**70]},
        {"name": "ok", "unknown": 1},
    ],
)
def test_hostile_pool_settings_are_400(personas, api_for, body):
    response = api_for(personas.admin).post("/pools/settings/pools", body)
    assert response.status_code == 400
    assert not Pool.objects.exists()


def test_malformed_json_is_400(personas):
    from django.test import Client

    from salesflow.users.services import api_token_create

    _token, raw = api_token_create(user=personas.rep, name="t")
    client = Client(headers={"authorization": f"Bearer {raw}"})
    response = client.post("/api/v1/pools/claim", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_release_reason_is_required_and_bounded(personas, api_for):
    make_pool(personas.team_a)
    account = make_account(personas.rep)
    api = api_for(personas.rep)
    for reason in ("", "x" * 50_000, "a\x00b"):
        response = api.post("/pools/release", {"kind": "account", "record_id": account.pk, "reason": reason})
        assert response.status_code == 400, reason
    assert Account.objects.get(pk=account.pk).owner_id == personas.rep.pk


def test_hostile_page_input_is_never_a_500(personas, client_for):
    pool = make_pool(personas.team_a)
    client = client_for(personas.rep)
    huge = 2**70
    assert client.post(f"/pools/claim/lead/{huge}/").status_code == 302
    assert client.post("/pools/claim/bogus/1/").status_code == 404
    assert client.get(f"/pools/{huge}/").status_code == 404
    assert client.get(f"/pools/panel/lead/{huge}/").status_code == 404
    # a malformed cursor and an unknown grade are ignored (the first page) ...
    response = client.get(f"/pools/{pool.pk}/", {"cursor": "x" * 5000, "q": "a" * 10, "grade": "ZZ"})
    assert response.status_code == 200
    # ... a NUL byte in the query string is refused, as on every page (QueryStringGuardMiddleware)
    response = client.get(f"/pools/{pool.pk}/", {"q": "a\x00" * 10})
    assert response.status_code == 400
    assert "text/html" in response["Content-Type"]


def test_pool_page_claims_and_shows_the_refusal(personas, client_for):
    pool = make_pool(personas.team_a)
    CapRule.objects.create(role="rep", kind="lead", max_count=1)
    first = pooled_lead(pool, name="第一条")
    second = pooled_lead(pool, name="第二条")
    client = client_for(personas.rep)
    page = client.get(f"/pools/{pool.pk}/").content.decode()
    assert "第一条" in page and "第二条" in page and 'data-testid="pool-holdings"' in page
    response = client.post(f"/pools/claim/lead/{first.pk}/", {"next": f"/pools/{pool.pk}/"})
    assert response.status_code == 302 and Lead.objects.get(pk=first.pk).owner_id == personas.rep.pk
    response = client.post(f"/pools/claim/lead/{second.pk}/", {"next": f"/pools/{pool.pk}/"}, follow=True)
    assert "You hold 1 of 1 leads" in response.content.decode()
    assert PoolLead.objects.filter(lead=second).exists()
    assert client_for(personas.outsider).get(f"/pools/{pool.pk}/").status_code == 404


def test_release_from_the_lead_page(personas, client_for):
    from salesflow.leads.tests.factories import make_lead

    pool = make_pool(personas.team_a)
    lead = make_lead(owner=personas.rep)
    client = client_for(personas.rep)
    panel = client.get(f"/pools/panel/lead/{lead.pk}/").content.decode()
    assert 'data-testid="pool-release-form"' in panel
    response = client.post(f"/pools/release/lead/{lead.pk}/", {"pool": pool.pk, "reason": "联系不上"})
    assert response.status_code == 302
    assert PoolLead.objects.get(lead=lead).reason == "联系不上"
    panel = client.get(f"/pools/panel/lead/{lead.pk}/").content.decode()
    assert 'data-testid="pool-panel-claim"' in panel


def test_pool_page_query_count_is_constant(personas, client_for, django_assert_max_num_queries):
    pool = make_pool(personas.team_a)
    for i in range(30):
        pooled_account(pool, personas.admin, name=f"客户{i}", grade="A")
    CapRule.objects.create(role="rep", kind="account", max_count=50)
    client = client_for(personas.rep)
    client.get(f"/pools/{pool.pk}/?kind=account")
    with django_assert_max_num_queries(14):
        response = client.get(f"/pools/{pool.pk}/?kind=account")
    assert response.content.decode().count('data-testid="pool-record"') == 25


def test_settings_pages_are_for_administrators(personas, client_for):
    assert client_for(personas.manager).get("/settings/pools/").status_code == 403
    admin = client_for(personas.admin)
    assert admin.get("/settings/pools/").status_code == 200
    response = admin.post(
        "/settings/pools/",
        {
            "form": "pool",
            "pool-name": "华东公海",
            "pool-teams": [personas.team_a.pk],
            "pool-holds_leads": "on",
            "pool-holds_accounts": "on",
            "pool-protection_days": "30",
            "pool-position": "0",
            "pool-active": "on",
        },
    )
    assert response.status_code == 302
    pool = Pool.objects.get(name="华东公海")
    response = admin.post(
        "/settings/pools/",
        {
            "form": "rule",
            "rule-name": "A 类 30 天",
            "rule-kind": "account",
            "rule-grade": "A",
            "rule-no_follow_up_days": "30",
            "rule-target_pool": pool.pk,
            "rule-warn_days_before": "3",
            "rule-active": "on",
        },
    )
    assert response.status_code == 302 and RecycleRule.objects.get().grade == "A"
    response = admin.post(
        "/settings/pools/",
        {"form": "cap", "cap-kind": "account", "cap-grade": "A", "cap-max_count": "50"},
    )
    assert response.status_code == 400  # neither a role nor a user
    assert not CapRule.objects.exists()


def test_caps_and_recycle_rules_are_edited_in_place(personas, client_for):
    """An administrator changes a cap and a recycle rule on their own pages (through the
    same services, audited); invalid values re-show the form with the field named; others
    are refused and unknown ids are 404."""
    from salesflow.core.models import AuditEvent
    from salesflow.pools.services import cap_save, recycle_rule_save

    pool = make_pool(name="华东公海")
    cap = cap_save(actor=personas.admin, kind="account", grade="A", role="rep", max_count=50)
    rule = recycle_rule_save(
        actor=personas.admin, name="A 类 30 天", kind="account", grade="A", target_pool_id=pool.pk, no_follow_up_days=30
    )
    admin = client_for(personas.admin, "zh-hans")
    assert 'data-testid="cap-edit"' in admin.get("/settings/pools/").content.decode()
    page = admin.get(f"/settings/pools/caps/{cap.pk}/")
    assert page.status_code == 200 and 'value="50"' in page.content.decode()
    response = admin.post(
        f"/settings/pools/caps/{cap.pk}/", {"role": "rep", "kind": "account", "grade": "A", "max_count": "80"}
    )
    assert response.status_code == 302
    cap.refresh_from_db()
    assert cap.max_count == 80 and CapRule.objects.count() == 1
    bad = admin.post(f"/settings/pools/caps/{cap.pk}/", {"kind": "account", "grade": "A", "max_count": "80"})
    assert bad.status_code == 400  # neither a role nor a user
    assert CapRule.objects.get(pk=cap.pk).role == "rep"

    response = admin.post(
        f"/settings/pools/rules/{rule.pk}/",
        {
            "name": "A 类 45 天",
            "kind": "account",
            "grade": "A",
            "no_follow_up_days": "45",
            "target_pool": pool.pk,
            "warn_days_before": "5",
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.no_follow_up_days, rule.warn_days_before, rule.active) == ("A 类 45 天", 45, 5, False)
    assert AuditEvent.objects.filter(verb="pools.recycle_rule.saved", target_id=rule.pk).count() == 2
    from salesflow.catalogue.tests.factories import make_category

    line = make_category(name_zh="工业软件")
    page = admin.get("/settings/pools/")
    assert 'name="rule-product_line"' in page.content.decode() and "工业软件" in page.content.decode()
    scoped = admin.post(
        f"/settings/pools/rules/{rule.pk}/",
        {
            "name": "A 类 45 天",
            "kind": "account",
            "grade": "A",
            "no_follow_up_days": "45",
            "target_pool": pool.pk,
            "warn_days_before": "5",
            "product_line": line.pk,
        },
    )
    assert scoped.status_code == 302 and RecycleRule.objects.get(pk=rule.pk).product_line == line
    assert 'data-testid="rule-product-line"' in admin.get("/settings/pools/").content.decode()
    as_lead = admin.post(
        f"/settings/pools/rules/{rule.pk}/",
        {
            "name": "x",
            "kind": "lead",
            "no_follow_up_days": "45",
            "target_pool": pool.pk,
            "warn_days_before": "5",
            "product_line": line.pk,
        },
    )
    assert as_lead.status_code == 400 and "只有客户" in as_lead.content.decode()
    bad = admin.post(f"/settings/pools/rules/{rule.pk}/", {"name": "x", "kind": "lead", "no_follow_up_days": "0"})
    assert bad.status_code == 400 and RecycleRule.objects.get(pk=rule.pk).no_follow_up_days == 45

    assert client_for(personas.manager).get(f"/settings/pools/caps/{cap.pk}/").status_code == 403
    assert client_for(personas.rep).post(f"/settings/pools/rules/{rule.pk}/", {"name": "x"}).status_code == 403
    assert admin.get("/settings/pools/caps/99999999999/").status_code == 404
    assert admin.get("/settings/pools/rules/424242/").status_code == 404
