"""The contract pages through the same services: list (filters, bounded queries), create
(directly and from a quote, hostile input → 400 and nothing written), detail states, sign with
a file, change order and diff, renew, the account and deal panels, both languages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from salesflow.contracts.models import Contract, ContractStatus
from salesflow.contracts.services import contract_create, contract_submit
from salesflow.contracts.tests.conftest import FakeEngine, World, direct_lines
from salesflow.quotes.models import Quote

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def form_data(world: World, **extra: Any) -> dict[str, Any]:
    data = {
        "title": "网关项目",
        "account": str(world.account.pk),
        "currency": "CNY",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "payment_terms": "货到 30 天",
        "line-0-name_zh": "数据采集网关",
        "line-0-quantity": "3",
        "line-0-unit_price": "8000",
        "line-0-tax_rate": "13",
    }
    data.update(extra)
    return data


def make(world: World) -> Contract:
    return contract_create(
        actor=world.personas.rep,
        account=world.account,
        title="网关与培训",
        opportunity=world.opportunity,
        terms={"end_date": date(2026, 12, 31)},
        lines=direct_lines(),
    )


def test_list_filters_and_bounded_queries(
    world: World, client_for: Callable[..., Client], django_assert_max_num_queries: Any
) -> None:
    for _i in range(5):
        make(world)
    client = client_for(world.personas.manager)
    with django_assert_max_num_queries(25):
        response = client.get("/contracts/", {"sort": "-total", "status": "draft"})
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="contract-row-') == 5
    few = client.get("/contracts/", {"ending_within": "10"})
    assert few.content.decode().count('data-testid="contract-row-') == 0
    bad = client.get("/contracts/", {"ending_within": "-5", "sort": "drop table", "owner": "x", "after": "zzz"})
    assert bad.status_code == 200
    assert client_for(world.personas.outsider).get("/contracts/").content.decode().count("contract-row-") == 0


def test_create_directly_and_hostile_forms(world: World, client_for: Callable[..., Client]) -> None:
    client = client_for(world.personas.rep)
    assert client.get(f"/contracts/new/?opportunity={world.opportunity.pk}").status_code == 200
    for bad in (
        {"title": "a\x00b"},
        {"payment_terms": "x" * 50_000},
        {"line-0-unit_price": "NaN"},
        {"line-0-quantity": "1e99"},
        {"line-0-product_id": "abc"},
        {"account": "999999"},
        {"end_date": "2025-01-01"},
    ):
        response = client.post("/contracts/new/", form_data(world, **bad))
        assert response.status_code in (400, 404), bad
    assert Contract.objects.count() == 0
    response = client.post("/contracts/new/", form_data(world))
    contract = Contract.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/contracts/{contract.pk}/"
    assert contract.total == 27120


def test_create_from_an_accepted_quote_page(
    world: World, client_for: Callable[..., Client], accepted_quote: Quote
) -> None:
    client = client_for(world.personas.rep)
    page = client.get("/contracts/new/")
    assert accepted_quote.number in page.content.decode()
    response = client.post("/contracts/new/", {"quote": accepted_quote.pk, "title": "", "end_date": "2027-01-31"})
    contract = Contract.objects.get()
    assert response.status_code == 302 and contract.total == 161945 and contract.title == accepted_quote.title
    assert client_for(world.personas.outsider).get(f"/contracts/new/?quote={accepted_quote.pk}").status_code == 404


def test_detail_shows_pending_approval_then_the_rejection_comment(
    world: World, client_for: Callable[..., Client], fake_engine: FakeEngine
) -> None:
    contract = make(world)
    client = client_for(world.personas.rep)
    assert client.post(f"/contracts/{contract.pk}/submit/").status_code == 302
    page = client.get(f"/contracts/{contract.pk}/").content.decode()
    # the request is linked (/approvals/100/) now that the engine app is installed, else named (#100)
    assert 'data-testid="approval-pending"' in page and ("/approvals/100/" in page or "#100" in page)
    assert client.post(f"/contracts/{contract.pk}/edit/", {"title": "x"}).status_code == 302  # refused, back
    fake_engine.decide("contracts.contract", contract, "rejected", world.personas.manager, "价格太低")
    page = client.get(f"/contracts/{contract.pk}/").content.decode()
    assert "价格太低" in page and 'data-testid="contract-edit"' in page


def test_sign_amend_diff_and_renew_through_the_pages(
    world: World, client_for: Callable[..., Client], no_engine: None
) -> None:
    contract = make(world)
    client = client_for(world.personas.rep)
    contract_submit(actor=world.personas.rep, contract=contract)
    missing = client.post(f"/contracts/{contract.pk}/sign/", {"signed_on": "2026-01-05"})
    assert missing.status_code == 400
    signed = client.post(
        f"/contracts/{contract.pk}/sign/",
        {"signed_on": "2026-01-05", "file": SimpleUploadedFile("合同.pdf", PDF, content_type="application/pdf")},
    )
    assert signed.status_code == 302
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SIGNED
    page = client.get(f"/contracts/{contract.pk}/").content.decode()
    assert 'data-testid="archived-note"' in page and 'data-testid="amend-form"' in page
    assert client.get(f"/contracts/{contract.pk}/edit/").status_code == 302  # archived: back to the page
    opened = client.post(f"/contracts/{contract.pk}/amend/", {"reason": "数量调整"})
    assert opened.status_code == 302 and opened["Location"] == f"/contracts/{contract.pk}/versions/2/edit/"
    assert client.get(opened["Location"]).status_code == 200
    saved = client.post(
        opened["Location"],
        {
            "reason": "数量调整",
            "end_date": "2027-06-30",
            "line-0-name_zh": "数据采集网关",
            "line-0-quantity": "5",
            "line-0-unit_price": "8000.00",
            "line-0-tax_rate": "13",
            "action": "submit",
        },
    )
    assert saved.status_code == 302
    contract.refresh_from_db()
    assert contract.total == 45200 and contract.end_date == date(2027, 6, 30)
    page = client.get(f"/contracts/{contract.pk}/").content.decode()
    assert 'data-testid="contract-diff"' in page and 'data-testid="diff-line-removed"' in page
    diff = client.get(f"/contracts/{contract.pk}/diff/", {"from": "1", "to": "2"}).content.decode()
    assert "2027-06-30" in diff and "现场培训" in diff
    assert client.get(f"/contracts/{contract.pk}/diff/", {"from": "1", "to": "9"}).status_code == 404
    assert client.get(f"/contracts/{contract.pk}/versions/1/").status_code == 200
    renewed = client.post(f"/contracts/{contract.pk}/renew/")
    contract.refresh_from_db()
    assert renewed.status_code == 302 and renewed["Location"] == f"/opportunities/{contract.renewal_opportunity_id}/"
    zh = client_for(world.personas.rep, "zh-hans").get(f"/contracts/{contract.pk}/").content.decode()
    assert "变更单" in zh and "合同" in zh


def test_write_pages_answer_403_and_404_by_persona(world: World, client_for: Callable[..., Client]) -> None:
    contract = make(world)
    support: Client = client_for(world.personas.support)
    assert support.get(f"/contracts/{contract.pk}/").status_code == 200
    assert support.post(f"/contracts/{contract.pk}/submit/").status_code == 403
    outsider: Client = client_for(world.personas.outsider)
    assert outsider.get(f"/contracts/{contract.pk}/").status_code == 404
    assert outsider.post(f"/contracts/{contract.pk}/renew/").status_code == 404
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFT


def test_account_and_deal_panels(world: World, client_for: Callable[..., Client], personas: Any) -> None:
    contract = make(world)
    client = client_for(world.personas.rep)
    for url in (
        f"/contracts/for-account/{world.account.pk}/panel/",
        f"/contracts/for-opportunity/{world.opportunity.pk}/panel/",
    ):
        page = client.get(url).content.decode()
        assert contract.number in page
        assert client_for(world.personas.outsider).get(url).status_code == 404
    account_page = client.get(f"/accounts/{world.account.pk}/").content.decode()
    assert 'data-testid="account-contracts-slot"' in account_page
    deal_page = client.get(f"/opportunities/{world.opportunity.pk}/").content.decode()
    assert 'data-testid="contracts-panel-slot"' in deal_page


def test_edit_a_draft_through_the_form(world: World, client_for: Callable[..., Client]) -> None:
    contract = make(world)
    client = client_for(world.personas.rep)
    page = client.get(f"/contracts/{contract.pk}/edit/")
    assert page.status_code == 200 and "现场培训" in page.content.decode()
    bad = client.post(
        f"/contracts/{contract.pk}/edit/", {"title": "改", "line-0-name_zh": "x", "line-0-unit_price": "abc"}
    )
    assert bad.status_code == 400
    contract.refresh_from_db()
    assert contract.title == "网关与培训"
    saved = client.post(
        f"/contracts/{contract.pk}/edit/",
        {
            "title": "网关",
            "end_date": "2026-10-31",
            "line-0-name_zh": "数据采集网关",
            "line-0-quantity": "1",
            "line-0-unit_price": "8000",
            "line-0-tax_rate": "13",
        },
    )
    assert saved.status_code == 302
    contract.refresh_from_db()
    assert (contract.title, contract.total, contract.end_date) == ("网关", 9040, date(2026, 10, 31))
    assert client_for(world.personas.support).get(f"/contracts/{contract.pk}/edit/").status_code == 403
