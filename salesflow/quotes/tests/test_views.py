from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from salesflow.core.models import AuditEvent
from salesflow.quotes.links import make_token, read_token
from salesflow.quotes.models import Quote, QuoteVersion
from salesflow.quotes.services import quote_issue, quote_revise
from salesflow.quotes.tests.helpers import cv, make_quote

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_deal_panel_lists_quotes_and_offers_a_new_one(personas, deal, products, client_for):
    quote = make_quote(personas.rep, deal, products)
    page = client_for(personas.rep).get(f"/quotes/deal/{deal.pk}/panel/")
    text = page.content.decode()
    assert (
        page.status_code == 200 and quote.number in text and "¥35,008.00" in text and 'data-testid="quote-new"' in text
    )
    page = client_for(personas.support).get(f"/quotes/deal/{deal.pk}/panel/")
    assert page.status_code == 200 and 'data-testid="quote-new"' not in page.content.decode()
    assert client_for(personas.outsider).get(f"/quotes/deal/{deal.pk}/panel/").status_code == 404
    detail = client_for(personas.rep).get(f"/opportunities/{deal.pk}/").content.decode()
    assert 'data-testid="quote-panel-slot"' in detail


def test_create_through_the_form(personas, deal, products, client_for):
    client = client_for(personas.rep)
    assert client.get(f"/quotes/new/?opportunity={deal.pk}").status_code == 200
    data = {
        "title": "表单报价",
        "valid_until": (timezone.localdate() + timedelta(days=10)).isoformat(),
        "language": "zh-hans",
        "line-product_id": [str(products["crm"].pk), "", ""],
        "line-code": ["", "", ""],
        "line-name_zh": ["", "上门培训", ""],
        "line-name_en": ["", "", ""],
        "line-unit": ["", "次", ""],
        "line-quantity": ["1", "2", "1"],
        "line-unit_price": ["", "500", ""],
        "line-discount_percent": ["", "", ""],
        "line-tax_rate": ["", "6", ""],
    }
    response = client.post(f"/quotes/new/?opportunity={deal.pk}", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    quote = Quote.objects.get()
    assert quote.title == "表单报价" and quote.total == Decimal("14620.00")  # 13560 + 1060
    bad = dict(data, **{"line-unit_price": ["", "NaN", ""]})
    response = client.post(f"/quotes/new/?opportunity={deal.pk}", bad)
    assert response.status_code == 400 and "lines.1.unit_price" in response.content.decode()
    assert Quote.objects.count() == 1
    assert client_for(personas.support).get(f"/quotes/new/?opportunity={deal.pk}").status_code == 403
    assert client_for(personas.outsider).get(f"/quotes/new/?opportunity={deal.pk}").status_code == 404


def test_edit_issue_revise_pages_and_409_after_issue(personas, deal, products, client_for):
    quote = make_quote(personas.rep, deal, products)
    client = client_for(personas.rep)
    page = client.get(f"/quotes/{quote.pk}/edit/")
    assert page.status_code == 200 and f'value="{products["crm"].pk}" selected' in page.content.decode()
    assert client.post(f"/quotes/{quote.pk}/issue/").status_code == 302
    response = client.get(f"/quotes/{quote.pk}/edit/")
    assert response.status_code == 409 and 'data-testid="quote-error"' in response.content.decode()
    assert client.post(f"/quotes/{quote.pk}/issue/").status_code == 409
    assert client.post(f"/quotes/{quote.pk}/revise/").status_code == 302
    page = client.get(f"/quotes/{quote.pk}/?v=1").content.decode()
    assert 'data-testid="version-switcher"' in page and 'data-testid="old-version-note"' in page
    assert client.get(f"/quotes/{quote.pk}/?v=7").status_code == 404
    assert client_for(personas.support).post(f"/quotes/{quote.pk}/revise/").status_code == 403
    assert client_for(personas.outsider).get(f"/quotes/{quote.pk}/").status_code == 404


def test_list_page_with_filters_and_bounded_queries(
    personas, deal, products, client_for, django_assert_max_num_queries
):
    for _ in range(3):
        make_quote(personas.rep, deal, products)
    client = client_for(personas.manager, "zh-hans")
    with django_assert_max_num_queries(25):
        page = client.get("/quotes/?status=draft&sort=-total")
    assert page.status_code == 200 and page.content.decode().count('data-testid="quote-row"') == 3
    for _ in range(5):
        make_quote(personas.rep, deal, products)
    with django_assert_max_num_queries(25):
        page = client.get("/quotes/")
    assert page.content.decode().count('data-testid="quote-row"') == 8
    assert client.get("/quotes/?cursor=bad&created_from=nonsense&owner=abc").status_code == 200
    assert client_for(personas.outsider).get("/quotes/").content.decode().count('data-testid="quote-row"') == 0


def test_company_profile_page(personas, client_for):
    assert client_for(personas.rep).get("/settings/company/").status_code == 403
    client = client_for(personas.admin)
    assert client.get("/settings/company/").status_code == 200
    response = client.post("/settings/company/", {"name_zh": "杭州云帆", "name_en": "Yunfan", "phone": "0571"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(verb="quotes.company_profile.saved").count() == 1
    response = client.post("/settings/company/", {"name_zh": "x\x00"})
    assert response.status_code == 400


def _issued(personas, deal, products):
    return quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))


def test_public_link_shows_the_frozen_version_and_accepts_once(personas, deal, products, client):
    quote = _issued(personas, deal, products)
    version = QuoteVersion.objects.get(quote=quote)
    url = f"/q/{make_token(version)}/"
    page = client.get(url + "?lang=zh-hans")
    text = page.content.decode()
    assert page.status_code == 200 and "销售管理软件标准版" in text and "¥35,008.00" in text and "接受报价" in text
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert "CRM Standard" in client.get(url + "?lang=en").content.decode()
    response = client.post(
        url, {"name": "陈静", "decision": "accept"}, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.2.3.4"
    )
    assert response.status_code == 200 and 'data-testid="public-done"' in response.content.decode()
    version.refresh_from_db()
    assert (version.status, version.decided_by_name, version.decided_ip) == ("accepted", "陈静", "198.51.100.7")
    deal.refresh_from_db()
    assert deal.amount == Decimal("35008.00")
    replay = client.post(url, {"name": "别人", "decision": "decline"}, REMOTE_ADDR="198.51.100.7")
    assert replay.status_code == 409
    version.refresh_from_db()
    assert version.status == "accepted" and version.decided_by_name == "陈静"


def test_public_decision_behind_a_trusted_proxy_records_the_client(personas, deal, products, client, settings):
    """Behind a proxy listed in SALESFLOW_TRUSTED_PROXIES the decision records the client the
    proxy reports (the rightmost untrusted X-Forwarded-For address), not the proxy."""
    settings.SALESFLOW_TRUSTED_PROXIES = ["127.0.0.1"]
    quote = _issued(personas, deal, products)
    version = QuoteVersion.objects.get(quote=quote)
    response = client.post(
        f"/q/{make_token(version)}/",
        {"name": "陈静", "decision": "accept"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.20",
    )
    assert response.status_code == 200
    version.refresh_from_db()
    assert version.decided_ip == "198.51.100.20"


def test_public_link_refuses_forged_superseded_expired_and_floods(personas, deal, products, client, settings):
    quote = _issued(personas, deal, products)
    version = QuoteVersion.objects.get(quote=quote)
    token = make_token(version)
    assert client.get(f"/q/{token[:-2]}xx/").status_code == 404
    assert client.get("/q/" + "a" * 600 + "/").status_code == 404
    link = read_token(token)
    assert link is not None and link.version_id == version.pk
    assert client.post(f"/q/{token}/", {"name": "", "decision": "accept"}).status_code == 400
    assert client.post(f"/q/{token}/", {"name": "x", "decision": "maybe"}).status_code == 400
    quote_revise(actor=personas.rep, quote=quote)
    assert client.post(f"/q/{token}/", {"name": "陈静", "decision": "accept"}).status_code == 409
    # an expired link
    quote2 = _issued(personas, deal, products)
    v2 = cv(quote2)
    QuoteVersion.objects.filter(pk=v2.pk).update(valid_until=timezone.localdate() - timedelta(days=1))
    v2.refresh_from_db()
    assert client.get(f"/q/{make_token(v2)}/").status_code == 410
    # the rate limit
    settings.QUOTES_DECISION_RATE_PER_IP = 2
    quote3 = _issued(personas, deal, products)
    url = f"/q/{make_token(cv(quote3))}/"
    statuses = [
        client.post(url, {"name": "", "decision": "accept"}, REMOTE_ADDR="192.0.2.1").status_code for _ in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_the_form_renders_dates_for_date_inputs(personas, deal, client_for):
    page = client_for(personas.rep, "zh-hans").get(f"/quotes/new/?opportunity={deal.pk}").content.decode()
    expected = (timezone.localdate() + timedelta(days=30)).isoformat()
    assert f'value="{expected}"' in page


def test_public_decision_works_with_csrf_checks(personas, deal, products):
    from django.test import Client

    quote = _issued(personas, deal, products)
    url = f"/q/{make_token(QuoteVersion.objects.get(quote=quote))}/"
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(url)
    token = page.cookies["csrftoken"].value
    response = browser.post(url, {"name": "陈静", "decision": "accept", "csrfmiddlewaretoken": token})
    assert response.status_code == 200 and 'data-testid="public-done"' in response.content.decode()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_money_has_thousands_separators_in_both_languages(personas, deal, products, client_for, language):
    """Review 2b: the quote page, list and deal panel show grouped amounts in zh and en."""
    quote = make_quote(personas.rep, deal, products)
    version = cv(quote)
    # independent figures: 2 × 12000 −10 % +13 % = 24408.00; 5 × 2000 +6 % = 10600.00
    assert version.total == Decimal("24408.00") + Decimal("10600.00")
    client = client_for(personas.rep, language)
    detail = client.get(f"/quotes/{quote.pk}/").content.decode()
    for figure in ("¥35,008.00", "¥24,408.00", "¥10,600.00", "¥34,000.00"):
        assert figure in detail, figure
    assert "35008.00" not in detail
    assert "¥35,008.00" in client.get("/quotes/").content.decode()
    assert "¥35,008.00" in client.get(f"/quotes/deal/{deal.pk}/panel/").content.decode()
