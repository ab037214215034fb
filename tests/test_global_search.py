"""The global search: the index kept current by the services, matching rules, visibility,
the page, the dropdown and the API (issue 6, capability 1)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from salesflow.leads.services import lead_convert, lead_create, lead_delete, lead_update
from salesflow.leads.tests.factories import qualified_lead
from salesflow.parties.services import account_create, account_delete, account_update, contact_create, contact_update
from salesflow.parties.tests.factories import valid_credit_code
from salesflow.sales.services import opportunity_create, opportunity_delete, opportunity_update
from salesflow.search.models import SearchEntry
from salesflow.search.selectors import parse_query, search
from salesflow.search.services import reindex
from salesflow.users.services import share_grant

pytestmark = pytest.mark.django_db


def found(user, q, kind=None):
    """{kind: [titles]} the user finds for ``q``."""
    return {g.kind: [h.title for h in g.hits] for g in search(user, q, kinds=[kind] if kind else None, limit=20)}


def titles(user, q, kind):
    return found(user, q, kind).get(kind, [])


@pytest.fixture
def world(personas):
    rep = personas.rep
    code = valid_credit_code()
    account = account_create(actor=rep, owner=rep, name="上海华达科技有限公司", credit_code=code, phone="021-6888 8888")
    contact = contact_create(
        actor=rep, account=account, name="王芳", mobile="138 0013 8000", email="Wang.Fang@HuaDa.example"
    )
    deal = opportunity_create(actor=rep, account=account, owner=rep, name="华达 ERP 二期", amount="120000")
    lead = lead_create(
        actor=rep,
        owner=rep,
        name="李雷",
        source_channel="inbound",
        mobile="+86 139-1234-5678",
        email="lilei@example.com",
        company_name="北京远景信息有限公司",
    )
    return {"account": account, "contact": contact, "deal": deal, "lead": lead, "code": code}


def test_records_created_through_the_services_are_indexed(personas, world):
    kinds = dict(SearchEntry.objects.values_list("kind", "title"))
    assert set(kinds) == {"account", "contact", "opportunity", "lead"}


@pytest.mark.parametrize(
    "q",
    ["138 0013 8000", "13800138000", "+86-138-0013-8000", "１３８００１３８０００", "0013 8000", "86 138 0013 8000"],
)
def test_mobile_in_any_format(personas, world, q):
    assert titles(personas.rep, q, "contact") == ["王芳"]


def test_by_credit_code_email_company_and_name(personas, world):
    rep = personas.rep
    assert titles(rep, world["code"].lower(), "account") == ["上海华达科技有限公司"]
    assert titles(rep, "wang.fang@huada", "contact") == ["王芳"]
    assert titles(rep, "LILEI@EXAMPLE.COM", "lead") == ["李雷"]
    # company name: the account itself, its contact and its deal (they show the company)
    result = found(rep, "华达科技")
    assert result["account"] == ["上海华达科技有限公司"]
    assert result["contact"] == ["王芳"]
    assert result["opportunity"] == ["华达 ERP 二期"]
    assert titles(rep, "远景信息", "lead") == ["李雷"]
    # two-character Chinese terms (names, fragments) match through their bigram tokens
    assert titles(rep, "王芳", "contact") == ["王芳"]
    assert titles(rep, "华达", "opportunity") == ["华达 ERP 二期"]
    assert titles(rep, "李雷", "lead") == ["李雷"]
    # one character: a prefix of the title
    assert titles(rep, "王", "contact") == ["王芳"]
    assert titles(rep, "芳", "contact") == []
    # phone of the account, typed differently
    assert titles(rep, "02168888888", "account") == ["上海华达科技有限公司"]


def test_index_follows_updates_renames_and_deletes(personas, world):
    rep = personas.rep
    contact_update(actor=rep, contact=world["contact"], mobile="13700001111")
    assert titles(rep, "138 0013 8000", "contact") == []
    assert titles(rep, "137 0000 1111", "contact") == ["王芳"]
    # renaming the account re-indexes the contacts and deals that show its name
    account_update(actor=rep, account=world["account"], name="杭州星河贸易有限公司")
    result = found(rep, "星河贸易")
    assert result == {"account": ["杭州星河贸易有限公司"], "contact": ["王芳"], "opportunity": ["华达 ERP 二期"]}
    assert "account" not in found(rep, "华达科技")
    opportunity_update(actor=rep, opportunity=world["deal"], name="星河 CRM")
    assert titles(rep, "星河 crm", "opportunity") == ["星河 CRM"]
    lead_update(actor=rep, lead=world["lead"], name="韩梅梅")
    assert titles(rep, "韩梅梅", "lead") == ["韩梅梅"]
    opportunity_delete(actor=rep, opportunity=world["deal"])
    lead_delete(actor=rep, lead=world["lead"])
    assert not SearchEntry.objects.filter(kind__in=["opportunity", "lead"]).exists()
    bare = account_create(actor=rep, owner=rep, name="空壳公司")
    account_delete(actor=rep, account=bare)
    assert titles(rep, "空壳公司", "account") == []


def test_conversion_indexes_the_new_account_contact_and_deal(personas):
    rep = personas.rep
    lead = qualified_lead(owner=rep, name="周杰", mobile="13511112222", company_name="深圳蓝海科技")
    lead_convert(actor=rep, lead=lead)
    result = found(rep, "蓝海科技")
    assert result["account"] == ["深圳蓝海科技"]
    assert result["contact"] == ["周杰"]
    assert result["lead"] == ["周杰"]
    assert "opportunity" in result
    assert titles(rep, "135 1111 2222", "contact") == ["周杰"]


def test_only_what_the_user_may_see(personas, world):
    # outsider sees nothing of rep's records; the manager and admin see them
    assert found(personas.outsider, "华达") == {}
    assert found(personas.teammate, "138 0013 8000") == {}
    assert titles(personas.manager, "138 0013 8000", "contact") == ["王芳"]
    assert titles(personas.admin, "李雷", "lead") == ["李雷"]
    assert titles(personas.other_manager, "李雷", "lead") == []
    # a shared record is visible to the share holder, and only that record
    share_grant(actor=personas.rep, target=world["lead"], grantee_user=personas.outsider, access="read")
    assert found(personas.outsider, "李雷") == {"lead": ["李雷"]}
    assert found(personas.outsider, "华达") == {}


def test_reindex_rebuilds_from_the_records(personas, world):
    SearchEntry.objects.all().delete()
    assert found(personas.rep, "王芳") == {}
    counts = reindex()
    assert counts == {"account": 1, "contact": 1, "opportunity": 1, "lead": 1}
    assert titles(personas.rep, "王芳", "contact") == ["王芳"]
    SearchEntry.objects.all().delete()
    call_command("search_reindex", "--batch", "1", stdout=None)
    assert SearchEntry.objects.count() == 4


def test_query_count_is_bounded(personas, world, django_assert_max_num_queries):
    for i in range(30):
        contact_create(actor=personas.rep, account=world["account"], name=f"华达员工{i}", mobile=f"1380000{i:04d}")
    with django_assert_max_num_queries(9):  # the scope, the term's classification, one per kind
        groups = search(personas.manager, "华达", limit=5)
    contacts = next(g for g in groups if g.kind == "contact")
    assert len(contacts.hits) == 5 and contacts.more


@pytest.mark.parametrize(
    "q",
    ['"', '""', "' OR 1=1 --", "a AND b", "NEAR(a b)", "*", "%", "_", "\\", "x" * 50_000, "a\x00b", "(", "-1", ":"],
)
def test_hostile_terms_never_fail(personas, world, q):
    search(personas.rep, q)  # no exception
    assert parse_query(q).substrings is not None


def test_list_searches_use_the_index(personas, world, client_for):
    client = client_for(personas.manager)
    page = client.get("/leads/", {"q": "139 1234 5678"}).content.decode()
    assert "李雷" in page
    page = client.get("/contacts/", {"q": "华达科技"}).content.decode()  # a contact by company name
    assert "王芳" in page
    page = client.get("/opportunities/", {"q": "华达"}).content.decode()
    assert "华达 ERP 二期" in page
    page = client.get("/accounts/", {"q": world["code"]}).content.decode()
    assert "上海华达科技有限公司" in page
    assert f"/leads/{world['lead'].pk}/" in client.get("/leads/", {"q": "李雷"}).content.decode()
    assert (
        f"/leads/{world['lead'].pk}/"
        not in client_for(personas.outsider).get("/leads/", {"q": "李雷"}).content.decode()
    )


def test_results_page_and_dropdown(personas, world, client_for):
    client = client_for(personas.rep)
    response = client.get("/search/", {"q": "138 0013 8000"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "王芳" in body and f"/contacts/{world['contact'].pk}/" in body and "<html" in body
    menu = client.get(
        "/search/", {"q": "华达"}, headers={"HX-Request": "true", "HX-Target": "global-search-menu"}
    ).content.decode()
    assert "<html" not in menu and 'data-testid="global-search-hit"' in menu
    assert f"/accounts/{world['account'].pk}/" in menu and f"/opportunities/{world['deal'].pk}/" in menu
    assert "global-search-hit" not in client_for(personas.outsider).get("/search/", {"q": "华达"}).content.decode()
    # the box is in every page's header
    assert "data-global-search" in client.get("/").content.decode()
    zh = client_for(personas.rep, "zh-hans").get("/search/", {"q": "没有这个"}).content.decode()
    assert "没有找到" in zh


def test_api(personas, world, api_for):
    api = api_for(personas.rep)
    body = api.get("/search", q="138 0013 8000").json()
    assert body["groups"] == [
        {
            "kind": "contact",
            "label": "Contacts",
            "more": False,
            "hits": [
                {
                    "kind": "contact",
                    "record_id": world["contact"].pk,
                    "title": "王芳",
                    "subtitle": "上海华达科技有限公司",
                    "url": f"/contacts/{world['contact'].pk}/",
                }
            ],
        }
    ]
    body = api.get("/search", q="华达", kind="account", limit=1).json()
    assert [g["kind"] for g in body["groups"]] == ["account"]
    refused = api.get("/search", q="华达", kind="user")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["kind"]
    for bad in ({"q": "x" * 201}, {"q": "a\x00b"}, {"limit": "0"}, {"limit": "51"}):
        assert api.get("/search", **bad).status_code == 400
    assert api_for(personas.outsider).get("/search", q="华达").json()["groups"] == []


def test_full_text_side_exists():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'search_entry_fts'")
        else:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = 'search_entry_text_trgm'")
        assert cursor.fetchone() is not None
