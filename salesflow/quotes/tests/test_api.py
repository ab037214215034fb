from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from salesflow.quotes.models import Quote, QuoteVersion
from salesflow.quotes.services import quote_issue
from salesflow.quotes.tests.helpers import make_quote
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import PERSONA_NAMES, expected_denial

pytestmark = pytest.mark.django_db


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    return body


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert {"detail", "code"} <= set(body)
    return body


def test_create_read_edit_issue_revise_through_the_api(personas, deal, products, api_for):
    api = api_for(personas.rep)
    body = _ok(
        api.post(
            "/quotes",
            {
                "opportunity_id": deal.pk,
                "title": "启明报价",
                "lines": [
                    {"product_id": products["crm"].pk, "quantity": 2, "discount_percent": "10"},
                    {"name_zh": "培训", "name_en": "Training", "unit_price": "1500.00", "tax_rate": 6},
                ],
            },
        ),
        201,
    )
    assert body["number"].startswith("QT-") and body["status"] == "draft" and body["total"] == "25998.00"
    assert [line["name_zh"] for line in body["versions"][0]["lines"]] == ["销售管理软件标准版", "培训"]
    qid = body["id"]
    body = _ok(api.patch(f"/quotes/{qid}", {"title": "启明报价 B", "prices_include_tax": True}))
    assert body["title"] == "启明报价 B" and body["versions"][0]["prices_include_tax"] is True
    body = _ok(api.post(f"/quotes/{qid}/issue"))
    assert body["status"] == "approved" and body["public_url"].startswith("http")
    assert body["versions"][0]["customer"]["name"] == "上海启明科技有限公司"
    err = _error(api.patch(f"/quotes/{qid}", {"title": "x"}), 409)
    assert err["code"] == "quote_not_editable"
    body = _ok(api.post(f"/quotes/{qid}/revise"))
    assert [v["status"] for v in body["versions"]] == ["superseded", "draft"] and body["version"] == 2
    one = _ok(api.get(f"/quotes/{qid}/versions/1"))
    assert [v["version"] for v in one["versions"]] == [1]
    _error(api.get(f"/quotes/{qid}/versions/9"), 404)


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_persona_matrix(personas, deal, products, api_for, persona):
    quote = make_quote(personas.rep, deal, products)
    api = api_for(getattr(personas, persona))
    read = expected_denial(persona, write=False)
    write = expected_denial(persona, write=True)
    response = api.get(f"/quotes/{quote.pk}")
    assert response.status_code == (read or 200)
    listed = [q["id"] for q in _ok(api.get("/quotes"))["items"]]
    assert listed == ([] if read else [quote.pk])
    response = api.patch(f"/quotes/{quote.pk}", {"title": "改"})
    assert response.status_code == (write or 200)
    assert Quote.objects.get().title == ("改" if write is None else "启明 CRM 项目")


def test_hostile_input_is_refused_with_the_field_named(personas, deal, products, api_for):
    api = api_for(personas.rep)
    client = api.client
    cases = [
        ({"opportunity_id": deal.pk, "bogus": 1}, "bogus"),
        ({"opportunity_id": deal.pk, "title": "a\x00b"}, "title"),
        ({"opportunity_id": deal.pk, "title": "x" * 50_000}, "title"),
        ({"opportunity_id": deal.pk, "lines": [{"name_zh": "x", "unit_price": "NaN"}]}, "unit_price"),
        ({"opportunity_id": deal.pk, "lines": [{"name_zh": "x", "unit_price": "1e300"}]}, "unit_price"),
        ({"opportunity_id": deal.pk, "lines": [{"name_zh": "x", "unit_price": "12.345"}]}, "lines.0.unit_price"),
        ({"opportunity_id": deal.pk, "lines": [{"name_zh": "x", "unit_price": True}]}, "unit_price"),
        (
            {"opportunity_id": deal.pk, "lines": [{"name_zh": "x", "unit_price": "1", "quantity": "-1"}]},
            "lines.0.quantity",
        ),
        ({"opportunity_id": deal.pk, "lines": [{"product_id": 2**62, "quantity": "1"}]}, "lines.0.product_id"),
        ({"opportunity_id": deal.pk, "lines": "not a list"}, "lines"),
        ({"opportunity_id": deal.pk, "valid_until": "2001-01-01"}, "valid_until"),
        ({"opportunity_id": deal.pk, "language": "fr"}, "language"),
        ({"opportunity_id": "abc"}, "opportunity_id"),
        ({"opportunity_id": deal.pk, "contact_id": 2**62}, "contact_id"),
    ]
    for body, field in cases:
        response = api.post("/quotes", body)
        assert response.status_code == 400, (body, response.content)
        errors = response.json().get("errors") or {}
        assert any(field in key for key in errors), (field, errors)
    response = client.post("/api/v1/quotes", "{bad", content_type="application/json")
    assert response.status_code == 400
    assert api.post("/quotes", {"opportunity_id": 2**62}).status_code == 404
    hidden = make_opportunity(personas.outsider)
    assert api.post("/quotes", {"opportunity_id": hidden.pk}).status_code == 404
    assert Quote.objects.count() == 0
    response = api.post(
        "/quotes",
        {"opportunity_id": deal.pk, "lines": [{"name_zh": "x", "quantity": "999999999", "unit_price": "999999999999"}]},
    )
    assert response.status_code == 400 and "lines" in response.json()["errors"]
    assert Quote.objects.count() == 0


def test_send_validation_and_state(personas, deal, products, api_for):
    api = api_for(personas.rep)
    quote = make_quote(personas.rep, deal, products)
    assert _error(api.post(f"/quotes/{quote.pk}/send", {"to": ["a@example.com"]}), 409)["code"] == "quote_not_sendable"
    quote_issue(actor=personas.rep, quote=quote)
    body = _error(api.post(f"/quotes/{quote.pk}/send", {"to": ["not-an-email"]}), 400)
    assert "to" in body["errors"]
    _error(api.post(f"/quotes/{quote.pk}/send", {"to": []}), 400)
    body = _ok(api.post(f"/quotes/{quote.pk}/send", {"to": ["chen@example.com"], "language": "en"}))
    assert body["status"] == "sent"


def test_list_filters_sort_and_cursor(personas, deal, products, api_for, django_assert_max_num_queries):
    quotes = [make_quote(personas.rep, deal, products) for _ in range(5)]
    quote_issue(actor=personas.rep, quote=quotes[0])
    api = api_for(personas.manager)
    page = _ok(api.get("/quotes", limit=2))
    assert page["count"] == 5 and len(page["items"]) == 2 and page["next_cursor"]
    assert [q["id"] for q in page["items"]] == [quotes[4].pk, quotes[3].pk]
    rest = _ok(api.get("/quotes", limit=2, cursor=page["next_cursor"]))
    assert [q["id"] for q in rest["items"]] == [quotes[2].pk, quotes[1].pk] and rest["count"] is None
    assert [q["id"] for q in _ok(api.get("/quotes", status="approved"))["items"]] == [quotes[0].pk]
    assert _ok(api.get("/quotes", owner_id=personas.outsider.pk))["items"] == []
    assert len(_ok(api.get("/quotes", account_id=deal.account_id))["items"]) == 5
    assert [q["number"] for q in _ok(api.get("/quotes", sort="number"))["items"]] == sorted(q.number for q in quotes)
    _error(api.get("/quotes", cursor="garbage"), 400)
    _error(api.get("/quotes", status="nope"), 400)
    with django_assert_max_num_queries(12):
        _ok(api.get("/quotes", limit=100))


def test_company_profile_api(personas, api_for):
    _error(api_for(personas.rep).put("/quotes/company-profile", {"name_zh": "x"}), 403)
    body = _ok(api_for(personas.admin).put("/quotes/company-profile", {"name_zh": "云帆", "phone": "0571-1234"}))
    assert body["name_zh"] == "云帆" and body["phone"] == "0571-1234"
    _error(api_for(personas.admin).put("/quotes/company-profile", {"logo": "x"}), 400)
    assert _ok(api_for(personas.rep).get("/quotes/company-profile"))["name_zh"] == "云帆"


def test_versions_are_immutable_snapshots(personas, deal, products, api_for):
    quote = quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))
    products["crm"].list_price = Decimal("99999.00")
    products["crm"].save()
    v1 = QuoteVersion.objects.get(quote=quote)
    assert v1.lines.get(code="CRM-STD").unit_price == Decimal("12000.00")


def test_accepted_version_is_reported(personas, deal, products, api_for):
    from salesflow.quotes.services import quote_decide
    from salesflow.quotes.tests.helpers import cv

    quote = quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))
    quote_decide(version_id=cv(quote).pk, decision="accept", name="陈静", ip="198.51.100.1")
    api = api_for(personas.rep)
    body = _ok(api.get(f"/quotes/{quote.pk}"))
    assert body["accepted_version"] == 1 and body["status"] == "accepted" and body["public_url"] is None
    assert body["versions"][0]["decided_ip"] == "198.51.100.1"
    assert [q["accepted_version"] for q in _ok(api.get("/quotes"))["items"]] == [1]
