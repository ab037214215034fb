"""Pages and API of billing, driven as the personas; money protection per persona."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from salesflow.billing.models import Invoice, Payment, PaymentPlan
from salesflow.billing.services import invoice_create, invoice_issue, payment_record, plan_create
from salesflow.billing.tests.factories import make_contract, make_order
from salesflow.users.testing import PERSONA_NAMES, REP_RECORD_ACCESS

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = timezone.localdate()


@pytest.fixture
def world(personas):
    contract = make_contract(personas.rep, total=D("100000.00"), signed_on=TODAY - dt.timedelta(days=45))
    plan = plan_create(actor=personas.rep, kind="contract", document_id=contract.pk, terms="30/60/10")
    payment = payment_record(
        actor=personas.rep, kind="contract", document_id=contract.pk, amount="40000", received_on=TODAY
    )
    invoice = invoice_create(actor=personas.rep, kind="contract", document_id=contract.pk, amount="11300")
    invoice_issue(actor=personas.rep, invoice=invoice)
    return {"contract": contract, "plan": plan, "payment": payment, "invoice": invoice}


MONEY_READERS = {"rep", "manager", "assistant", "admin"}


@pytest.mark.parametrize("who", PERSONA_NAMES)
def test_api_visibility_and_money_per_persona(personas, api_for, world, who):
    api = api_for(getattr(personas, who))
    read, _write = REP_RECORD_ACCESS[who]
    res = api.get(f"/billing/payments/{world['payment'].pk}")
    if not read:
        assert res.status_code == 404
        assert api.get(f"/billing/invoices/{world['invoice'].pk}").status_code == 404
        assert api.get(f"/billing/plans/{world['plan'].pk}").status_code == 404
        assert api.get("/billing/payments").json()["items"] == []
        return
    body = res.json()
    assert set(body) >= {"amount", "allocated", "unallocated", "overpaid"}
    if who in MONEY_READERS:
        assert (body["amount"], body["allocated"], body["unallocated"]) == ("40000.00", "40000.00", "0.00")
    else:
        assert body["amount"] is None and body["allocated"] is None and body["overpaid"] is None
    plan = api.get(f"/billing/plans/{world['plan'].pk}").json()
    assert [i["status"] for i in plan["instalments"]] == ["paid", "overdue", "pending"]
    inv = api.get(f"/billing/invoices/{world['invoice'].pk}").json()
    assert inv["number"].startswith("FP-")
    if who in MONEY_READERS:
        assert inv["total"] == "11300.00" and plan["instalments"][0]["amount"] == "30000.00"
    else:
        assert inv["total"] is None and inv["tax"] is None and plan["instalments"][0]["amount"] is None
    ageing = api.get("/billing/ageing")
    if who == "support":
        assert ageing.status_code == 403
    else:
        assert ageing.status_code == 200 and ageing.json()["totals"]["total"] == "60000.00"


def test_outsider_sees_an_empty_ageing_report(personas, api_for, world):
    body = api_for(personas.outsider).get("/billing/ageing").json()
    assert body["rows"] == [] and body["totals"]["total"] == "0.00"


@pytest.mark.parametrize("who", PERSONA_NAMES)
def test_recording_a_payment_per_persona(personas, api_for, world, who):
    api = api_for(getattr(personas, who))
    before = Payment.objects.count()
    res = api.post(
        "/billing/payments",
        {"kind": "contract", "document_id": world["contract"].pk, "amount": "100.00", "received_on": str(TODAY)},
    )
    read, write = REP_RECORD_ACCESS[who]
    expected = 201 if write else (403 if read else 404)
    assert res.status_code == expected, res.content
    assert Payment.objects.count() == before + (1 if write else 0)


def test_api_full_flow(personas, api_for):
    api = api_for(personas.assistant)
    order = make_order(personas.rep, total=D("3000.00"), currency="USD")
    res = api.post(
        "/billing/plans", {"kind": "order", "document_id": order.pk, "terms": "3 monthly", "start": "2026-01-15"}
    )
    assert res.status_code == 201, res.content
    plan = res.json()
    assert [i["amount"] for i in plan["instalments"]] == ["1000.00", "1000.00", "1000.00"]
    assert api.post("/billing/plans", {"kind": "order", "document_id": order.pk}).status_code == 409
    over = api.post(f"/billing/plans/{plan['id']}/instalments", {"amount": "0.01", "due_date": "2026-06-01"})
    assert over.status_code == 400 and "amount" in over.json()["errors"]
    first = plan["instalments"][0]["id"]
    res = api.post(
        "/billing/payments",
        {
            "kind": "order",
            "document_id": order.pk,
            "amount": "1500",
            "received_on": str(TODAY),
            "allocate": "manual",
            "allocations": [{"instalment_id": first, "amount": "1000"}],
        },
    )
    assert res.status_code == 201, res.content
    pay = res.json()
    assert pay["unallocated"] == "500.00" and pay["overpaid"] is True
    listed = api.get("/billing/payments", unallocated="true").json()["items"]
    assert [p["id"] for p in listed] == [pay["id"]]
    res = api.post(f"/billing/payments/{pay['id']}/auto-allocate")
    assert res.json()["unallocated"] == "0.00"
    assert api.delete(f"/billing/payments/{pay['id']}/allocations/{first}").json()["allocated"] == "500.00"
    patched = api.patch(f"/billing/instalments/{first}", {"label": "首付"})
    assert patched.status_code == 200 and patched.json()["label"] == "首付"
    inv = api.post(
        "/billing/invoices",
        {"kind": "order", "document_id": order.pk, "amount": "1060", "tax_rate": "6", "payment_ids": [pay["id"]]},
    ).json()
    assert (inv["net"], inv["tax"], inv["status"]) == ("1000.00", "60.00", "draft")
    assert api.patch(f"/billing/invoices/{inv['id']}", {"amount": "2120"}).json()["tax"] == "120.00"
    issued = api.post(f"/billing/invoices/{inv['id']}/issue", {}).json()
    assert issued["status"] == "issued" and issued["number"].startswith("FP-")
    refused = api.patch(f"/billing/invoices/{inv['id']}", {"amount": "1"})
    assert refused.status_code == 409 and refused.json()["code"] == "invoice_immutable"
    red = api.post(f"/billing/invoices/{inv['id']}/red-reverse", {"reason": "抬头错误"})
    assert red.status_code == 201 and red.json()["total"] == "-2120.00"
    assert api.post(f"/billing/payments/{pay['id']}/void", {"reason": "重复"}).json()["status"] == "void"
    void = api.post(f"/billing/instalments/{first}/void", {"reason": "取消"})
    assert void.status_code == 200 and void.json()["status"] == "void"


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("/billing/payments", {"amount": "NaN", "received_on": "2026-01-01", "account_id": 1}, "amount"),
        ("/billing/payments", {"amount": "1e20", "received_on": "2026-01-01", "account_id": 1}, "amount"),
        ("/billing/payments", {"amount": True, "received_on": "2026-01-01", "account_id": 1}, "amount"),
        ("/billing/payments", {"amount": "1", "received_on": "2026-01-01", "account_id": 1, "evil": 1}, "evil"),
        (
            "/billing/payments",
            {"amount": "1", "received_on": "2026-01-01", "payer": "a\x00b", "account_id": 1},
            "payer",
        ),
        ("/billing/payments", {"amount": "1", "received_on": "2026-01-01", "payer": "x" * 50_000}, "payer"),
        ("/billing/plans", {"kind": "contract", "document_id": "abc"}, "document_id"),
        ("/billing/plans", {"kind": "quote", "document_id": 1}, "kind"),
        ("/billing/invoices", {"amount": "-5", "account_id": 1}, "amount"),
        ("/billing/invoices", {"amount": "5", "tax_rate": "101", "account_id": 1}, "tax_rate"),
    ],
)
def test_hostile_api_input_is_400_naming_the_field(personas, api_for, world, path, body, field):
    account = world["contract"].account_id
    if body.get("account_id") == 1:
        body = {**body, "account_id": account}
    counts = (Payment.objects.count(), Invoice.objects.count(), PaymentPlan.objects.count())
    res = api_for(personas.rep).post(path, body)
    assert res.status_code == 400, res.content
    assert any(key.split(".")[0] == field for key in res.json()["errors"]), res.json()
    assert (Payment.objects.count(), Invoice.objects.count(), PaymentPlan.objects.count()) == counts


def test_malformed_json_and_unseen_ids(personas, api_for, world):
    api = api_for(personas.rep)
    res = api.client.post("/api/v1/billing/payments", "{not json", content_type="application/json")
    assert res.status_code == 400
    outsider_contract = make_contract(personas.outsider)
    res = api.post("/billing/plans", {"kind": "contract", "document_id": outsider_contract.pk})
    assert res.status_code == 404
    res = api.post(
        f"/billing/payments/{world['payment'].pk}/allocations",
        {"allocations": [{"instalment_id": 2**62, "amount": "1"}]},
    )
    assert res.status_code == 404
    assert api.get(f"/billing/payments/{2**70}").status_code in (404, 400)


# --- pages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rep", "support", "manager", "assistant", "admin"])
def test_pages_render_and_hide_money_from_support(personas, client_for, world, who):
    client = client_for(getattr(personas, who))
    plan = world["plan"]
    pages = [
        f"/billing/panel/contract/{world['contract'].pk}/",
        f"/billing/plans/{plan.pk}/",
        "/billing/payments/",
        f"/billing/payments/{world['payment'].pk}/",
        "/billing/invoices/",
        f"/billing/invoices/{world['invoice'].pk}/",
        f"/billing/account/{world['contract'].account_id}/panel/",
    ]
    for url in pages:
        res = client.get(url)
        assert res.status_code == 200, url
        html = res.content.decode()
        if who == "support":
            assert "40,000.00" not in html and "30,000.00" not in html and "11,300.00" not in html, url
    ageing = client.get("/billing/ageing/")
    if who == "support":
        assert ageing.status_code == 403
    else:
        assert ageing.status_code == 200 and "¥60,000.00" in ageing.content.decode()
        assert client.get("/billing/ageing/instalments/?bucket=61_90").status_code == 200
        export = client.get("/billing/ageing/export/?group=rep")
        assert export.status_code == 200 and "60000.00" in export.content.decode("utf-8-sig")


def test_record_payment_through_the_form(personas, client_for, world):
    client = client_for(personas.assistant)
    contract = world["contract"]
    res = client.get(f"/billing/payments/new/?kind=contract&id={contract.pk}")
    assert res.status_code == 200
    res = client.post(
        "/billing/payments/new/",
        {
            "document": f"contract:{contract.pk}",
            "amount": "25000",
            "received_on": str(TODAY),
            "method": "bank_transfer",
            "allocate": "auto",
        },
    )
    assert res.status_code == 302
    assert Payment.objects.count() == 2
    bad = client.post(
        "/billing/payments/new/",
        {
            "document": f"contract:{contract.pk}",
            "amount": "NaN",
            "received_on": "x",
            "method": "bank_transfer",
            "allocate": "auto",
        },
    )
    assert bad.status_code == 400 and Payment.objects.count() == 2


def test_issued_invoice_edit_through_the_page_is_409(personas, client_for, world):
    res = client_for(personas.rep).post(f"/billing/invoices/{world['invoice'].pk}/", {"amount": "1"})
    assert res.status_code == 409
    assert Invoice.objects.get(pk=world["invoice"].pk).total == D("11300.00")


def test_list_query_counts_are_constant(personas, client_for, world, django_assert_max_num_queries):
    for _i in range(5):
        payment_record(
            actor=personas.rep, kind="contract", document_id=world["contract"].pk, amount="10", received_on=TODAY
        )
    client = client_for(personas.manager)
    client.get("/billing/payments/")
    with django_assert_max_num_queries(14):
        client.get("/billing/payments/")
    with django_assert_max_num_queries(14):
        client.get("/billing/invoices/")
    with django_assert_max_num_queries(14):
        client.get("/billing/ageing/")
    with django_assert_max_num_queries(14):
        client.get(f"/billing/plans/{world['plan'].pk}/")


def _count(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_rows(personas, client_for, api_for, world):
    client = client_for(personas.manager)
    account = world["contract"].account
    urls = [
        "/billing/payments/",
        "/billing/invoices/",
        "/billing/ageing/",
        "/billing/ageing/?group=rep",
        "/billing/ageing/?group=team",
        "/billing/ageing/instalments/",
        f"/billing/plans/{world['plan'].pk}/",
        f"/billing/account/{account.pk}/panel/",
    ]
    for url in urls:
        client.get(url)
    before = {url: _count(client, url) for url in urls}
    for _i in range(6):
        contract = make_contract(personas.rep if _i % 2 else personas.teammate, account, total=D("9000.00"))
        plan_create(actor=personas.admin, kind="contract", document_id=contract.pk, terms="30/60/10")
        payment_record(actor=personas.admin, kind="contract", document_id=contract.pk, amount="100", received_on=TODAY)
        invoice_create(actor=personas.admin, kind="contract", document_id=contract.pk, amount="100")
    after = {url: _count(client, url) for url in urls}
    assert after == before
