from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.quotes.models import Quote, QuoteStatus, QuoteVersion
from salesflow.quotes.services import (
    quote_decide,
    quote_issue,
    quote_revise,
    quote_update,
    quotes_expire_due,
)
from salesflow.quotes.tests.helpers import cv, make_quote
from salesflow.users.services import system_actor

pytestmark = pytest.mark.django_db


def test_create_prices_lines_from_the_catalogue_and_totals_through_doctotals(personas, deal, products):
    quote = make_quote(personas.rep, deal, products)
    year = timezone.localtime().year
    assert quote.number == f"QT-{year}-00001"
    assert (quote.owner, quote.account, quote.currency, quote.status) == (personas.rep, deal.account, "CNY", "draft")
    version = cv(quote)
    lines = list(version.lines.all())
    assert [(x.code, x.name_zh, x.unit, x.unit_price, x.discount_percent, x.tax_rate) for x in lines] == [
        ("CRM-STD", "销售管理软件标准版", "套", Decimal("12000.00"), Decimal("10.00"), Decimal("13.00")),
        ("IMPL", "实施服务", "人天", Decimal("2000.00"), Decimal("0.00"), Decimal("6.00")),
    ]
    # 2 × 12000 = 24000, −2400 = 21600, tax 2808 → 24408; 5 × 2000 = 10000, tax 600 → 10600
    assert [(x.gross, x.discount, x.net, x.tax, x.total) for x in lines] == [
        (Decimal("24000.00"), Decimal("2400.00"), Decimal("21600.00"), Decimal("2808.00"), Decimal("24408.00")),
        (Decimal("10000.00"), Decimal("0.00"), Decimal("10000.00"), Decimal("600.00"), Decimal("10600.00")),
    ]
    assert (version.subtotal, version.discount, version.net, version.tax, version.total) == (
        Decimal("34000.00"),
        Decimal("2400.00"),
        Decimal("31600.00"),
        Decimal("3408.00"),
        Decimal("35008.00"),
    )
    assert quote.total == Decimal("35008.00")
    event = AuditEvent.objects.get(verb="quotes.quote.created")
    assert event.data["number"] == quote.number and event.actor == personas.rep


def test_hand_entered_line_without_product(personas, deal):
    quote = make_quote(personas.rep, deal)
    line = cv(quote).lines.get()
    assert (line.product_id, line.name_zh, line.total) == (None, "定制开发", Decimal("5300.00"))


def test_line_errors_name_the_line_and_field_and_write_nothing(personas, deal, products):
    with pytest.raises(ValidationFailed) as exc:
        make_quote(
            personas.rep,
            deal,
            lines=[
                {"product_id": products["crm"].pk, "quantity": "NaN"},
                {"name_zh": "x", "unit_price": "1e20"},
                {"product_id": 999999},
                {"name_zh": "\x00", "unit_price": "1"},
                {"bogus": 1, "name_zh": "y", "unit_price": "1"},
                {"name_zh": "z", "unit_price": "1", "discount_percent": "101"},
            ],
        )
    assert set(exc.value.field_errors) == {
        "lines.0.quantity",
        "lines.1.unit_price",
        "lines.2.product_id",
        "lines.3.name_zh",
        "lines.4.bogus",
        "lines.5.discount_percent",
    }
    assert Quote.objects.count() == 0


def test_total_too_large_is_a_400_on_lines(personas, deal):
    with pytest.raises(ValidationFailed) as exc:
        make_quote(
            personas.rep, deal, lines=[{"name_zh": "大", "quantity": "999999999", "unit_price": "999999999999.99"}]
        )
    assert "lines" in exc.value.field_errors
    assert Quote.objects.count() == 0


def test_who_may_create(personas, deal):
    with pytest.raises(Http404):
        make_quote(personas.outsider, deal)
    with pytest.raises(Forbidden):
        make_quote(personas.support, deal)
    quote = make_quote(personas.manager, deal)
    assert quote.owner == personas.rep  # the deal's owner owns the quote


def test_issue_freezes_customer_and_is_approved_without_engine(personas, deal, products):
    quote = make_quote(personas.rep, deal, products, contact=deal.account.contacts.get().pk)
    quote = quote_issue(actor=personas.rep, quote=quote)
    version = QuoteVersion.objects.get(quote=quote)
    assert version.status == QuoteStatus.APPROVED and quote.status == "approved"
    assert version.customer == {
        "name": "上海启明科技有限公司",
        "address": "上海市浦东新区张江路 88 号",
        "tax_id": "91310000MA1FL0XX1X",
        "phone": "",
        "contact": {"name": "陈静", "title": "", "mobile": "13800138000", "phone": "", "email": "chen@example.com"},
    }
    # later changes to the account do not alter the issued version
    deal.account.name = "改名了"
    deal.account.save()
    version.refresh_from_db()
    assert version.customer["name"] == "上海启明科技有限公司"
    event = AuditEvent.objects.get(verb="quotes.quote.submitted")
    facts = event.data["facts"]
    assert facts["amount"] == "35008.00" and facts["discount_percent"] == "10.00"
    assert facts["margin_percent"] == "68.35"  # (31600 − 2×3000 − 5×800) / 31600
    assert facts["product_lines"] == ["software"] and facts["owner_id"] == personas.rep.pk


def test_issued_versions_refuse_edits_with_409(personas, deal, products):
    quote = quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))
    with pytest.raises(Conflict) as exc:
        quote_update(actor=personas.rep, quote=quote, title="新标题")
    assert exc.value.status_code == 409 and exc.value.code == "quote_not_editable"
    with pytest.raises(Conflict):
        quote_update(actor=personas.rep, quote=quote, lines=[])
    with pytest.raises(Conflict):
        quote_issue(actor=personas.rep, quote=quote)
    assert Quote.objects.get().title == "启明 CRM 项目"


def test_update_draft_records_changes(personas, deal, products):
    quote = make_quote(personas.rep, deal, products)
    quote_update(
        actor=personas.rep, quote=quote, title="新标题", lines=[{"product_id": products["svc"].pk, "quantity": "1"}]
    )
    quote.refresh_from_db()
    assert quote.title == "新标题" and quote.total == Decimal("2120.00")
    event = AuditEvent.objects.get(verb="quotes.quote.updated")
    assert event.data["changes"]["title"] == ["启明 CRM 项目", "新标题"]
    with pytest.raises(Forbidden):
        quote_update(actor=personas.support, quote=quote, title="x")
    with pytest.raises(Http404):
        quote_update(actor=personas.outsider, quote=quote, title="x")
    with pytest.raises(ValidationFailed) as exc:
        quote_update(actor=personas.rep, quote=quote, number="QT-1")
    assert "number" in exc.value.field_errors


def test_tax_inclusive_prices(personas, deal):
    quote = make_quote(
        personas.rep,
        deal,
        prices_include_tax=True,
        lines=[{"name_zh": "含税", "quantity": "1", "unit_price": "113.00", "tax_rate": "13"}],
    )
    v = cv(quote)
    assert (v.net, v.tax, v.total) == (Decimal("113.00"), Decimal("13.00"), Decimal("113.00"))


def test_revise_makes_a_new_draft_and_supersedes(personas, deal, products):
    quote = quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))
    quote = quote_revise(actor=personas.rep, quote=quote)
    v1, v2 = QuoteVersion.objects.filter(quote=quote).order_by("version")
    assert (v1.status, v2.status, quote.status) == ("superseded", "draft", "draft")
    assert v2.lines.count() == 2 and v1.lines.count() == 2
    assert v2.customer == {} and v1.customer["name"] == "上海启明科技有限公司"
    quote_update(actor=personas.rep, quote=quote, lines=[{"product_id": products["svc"].pk, "quantity": "1"}])
    v1.refresh_from_db()
    assert v1.lines.count() == 2 and v1.total == Decimal("35008.00")
    with pytest.raises(Conflict):
        quote_revise(actor=personas.rep, quote=quote)  # a draft: edit it instead


def test_accept_updates_the_deal_and_second_decision_is_409(personas, deal, products):
    quote = quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))
    version = cv(quote)
    quote_decide(version_id=version.pk, decision="accept", name="陈静", ip="203.0.113.9", user_agent="UA")
    version.refresh_from_db()
    quote.refresh_from_db()
    deal.refresh_from_db()
    assert (version.status, version.decided_by_name, version.decided_ip) == ("accepted", "陈静", "203.0.113.9")
    assert quote.accepted_version_id == version.pk and quote.status == "accepted"
    assert deal.amount == Decimal("35008.00")
    assert AuditEvent.objects.filter(verb="sales.opportunity.updated", target_id=deal.pk).exists()
    with pytest.raises(Conflict) as exc:
        quote_decide(version_id=version.pk, decision="decline", name="x", ip=None)
    assert exc.value.code == "already_decided"
    with pytest.raises(Conflict):
        quote_revise(actor=personas.rep, quote=quote)


def test_decline_and_superseded_versions(personas, deal, products):
    quote = quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))
    old = cv(quote)
    quote = quote_revise(actor=personas.rep, quote=quote)
    with pytest.raises(Conflict) as exc:
        quote_decide(version_id=old.pk, decision="accept", name="陈静", ip=None)
    assert exc.value.code == "quote_superseded"
    quote = quote_issue(actor=personas.rep, quote=quote)
    quote_decide(version_id=cv(quote).pk, decision="decline", name="陈静", ip=None, reason="太贵")
    quote.refresh_from_db()
    assert quote.status == "declined"
    deal.refresh_from_db()
    assert deal.amount == Decimal("10000.00")


def test_expiry_job(personas, deal, products):
    quote = quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))
    later = timezone.localdate() + timedelta(days=31)
    assert quotes_expire_due(actor=system_actor(), today=later) == 1
    assert quotes_expire_due(actor=system_actor(), today=later) == 0
    quote.refresh_from_db()
    assert quote.status == "expired"
