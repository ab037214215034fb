"""The account page lists its deals and leads through htmx panels served by sales and leads."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesflow.core.normalize import company_name_key
from salesflow.leads.tests.factories import credit_code, make_lead
from salesflow.parties.services import account_create
from salesflow.sales.services import opportunity_create

pytestmark = pytest.mark.django_db


def make_account(owner, name):
    return account_create(actor=owner, owner=owner, name=name)


def make_opportunity(account, **fields):
    return opportunity_create(actor=account.owner, account=account, owner=account.owner, **fields)


def _lead(owner, company, **fields):
    return make_lead(owner=owner, company_name=company, company_key=company_name_key(company), **fields)


@pytest.fixture
def world(personas):
    code = credit_code()
    account = make_account(personas.rep, "星云（上海）股份有限公司")
    account.credit_code = code
    account.save(update_fields=["credit_code"])
    return {
        "account": account,
        "deal": make_opportunity(account, name="星云产线改造", amount="120000.00"),
        "by_key": _lead(personas.rep, "星云 (上海) 有限公司", name="王总"),
        "by_code": _lead(personas.rep, "别名公司", name="李工", credit_code=code),
        "other": _lead(personas.rep, "无关公司", name="赵六"),
        "hidden": _lead(personas.outsider, "星云上海", name="外组线索"),
    }


def test_account_page_has_the_panel_slots(personas, client_for, world):
    html = client_for(personas.rep).get(f"/accounts/{world['account'].pk}/").content.decode()
    assert f'hx-get="/opportunities/for-account/{world["account"].pk}/panel/"' in html
    assert f'hx-get="/leads/for-account/{world["account"].pk}/panel/"' in html


def test_deals_panel_lists_the_deals_with_stage_amount_and_close_date(personas, client_for, world):
    response = client_for(personas.rep).get(f"/opportunities/for-account/{world['account'].pk}/panel/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "星云产线改造" in html and "120,000.00" in html
    assert f'href="/opportunities/{world["deal"].pk}/"' in html
    assert f'href="/opportunities/?account={world["account"].pk}"' in html


def test_leads_panel_lists_converted_and_same_company_leads_the_reader_may_see(personas, client_for, world):
    html = client_for(personas.rep).get(f"/leads/for-account/{world['account'].pk}/panel/").content.decode()
    assert "王总" in html and "李工" in html
    assert "赵六" not in html and "外组线索" not in html


@pytest.mark.parametrize("who", ["teammate", "outsider", "other_manager"])
def test_panels_are_404_for_readers_of_other_accounts(personas, client_for, world, who):
    client = client_for(getattr(personas, who))
    for url in ("/opportunities/for-account/{}/panel/", "/leads/for-account/{}/panel/"):
        assert client.get(url.format(world["account"].pk)).status_code == 404


def test_deals_panel_shows_only_visible_deals(personas, client_for, world):
    # a deal of the rep's account owned by the teammate (set up by the system): the rep does not see it
    from salesflow.users.services import system_actor

    opportunity_create(actor=system_actor(), account=world["account"], owner=personas.teammate, name="同事的机会")
    html = client_for(personas.rep).get(f"/opportunities/for-account/{world['account'].pk}/panel/").content.decode()
    assert "同事的机会" not in html
    assert (
        "同事的机会"
        in client_for(personas.manager).get(f"/opportunities/for-account/{world['account'].pk}/panel/").content.decode()
    )


def test_panel_query_counts_do_not_grow(personas, client_for, world):
    client = client_for(personas.manager)
    account = world["account"]

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    urls = [f"/opportunities/for-account/{account.pk}/panel/", f"/leads/for-account/{account.pk}/panel/"]
    small = [count(u) for u in urls]
    for i in range(25):
        make_opportunity(account, name=f"商机{i}")
        _lead(personas.rep, "星云上海有限公司", name=f"线索{i}")
    large = [count(u) for u in urls]
    assert small == large and max(large) <= 10
    assert "See all" in client.get(urls[0]).content.decode()
