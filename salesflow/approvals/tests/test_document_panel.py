"""The approval state on a document's own page (quotes, contracts): a request returned to an
earlier step keeps the document locked while it is pending; the requester can withdraw it
from the document's page and edit the document again (the engine calls ``on_withdrawn``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from salesflow.approvals.models import ApprovalRequest
from salesflow.approvals.services import request_approve, request_return
from salesflow.approvals.tests.factories import make_rule, manager_step, users_step
from salesflow.contracts.models import Contract
from salesflow.contracts.services import contract_create, contract_submit, contract_update
from salesflow.core.errors import Conflict
from salesflow.quotes.models import Quote
from salesflow.quotes.services import quote_create, quote_issue, quote_update
from salesflow.sales.tests.factories import make_account, make_opportunity

pytestmark = pytest.mark.django_db

LINE = {"name_zh": "视觉检测工作站", "quantity": "2", "unit_price": "150000.00", "tax_rate": "13"}


def _quote_under_approval(personas: Any) -> tuple[Quote, ApprovalRequest]:
    make_rule(
        personas.admin,
        [manager_step(), users_step([personas.admin], name="财务审批")],
        kind="quotes.quote",
        name="报价审批",
    )
    deal = make_opportunity(personas.rep, amount=Decimal("10000"), name="恒润 质检产线")
    quote = quote_create(actor=personas.rep, opportunity=deal, lines=[LINE])
    quote = quote_issue(actor=personas.rep, quote=quote)
    assert quote.status == "pending_approval"
    return quote, ApprovalRequest.objects.get(kind="quotes.quote", object_id=quote.pk, status="pending")


def _panel(client: Any, kind: str, pk: int) -> Any:
    return client.get(f"/approvals/documents/{kind}/{pk}/panel/")


def test_returned_quote_stays_locked_until_the_requester_withdraws_it_from_the_quote_page(personas, client_for):
    quote, request = _quote_under_approval(personas)
    assert request.summary.endswith("339,000.00 CNY")  # 2 × 150,000 + 13 %, grouped (review 2b)
    request_approve(actor=personas.manager, request_id=request.pk, comment="")
    request_return(actor=personas.admin, request_id=request.pk, to_step=1, comment="请补充折扣依据")
    quote.refresh_from_db()
    assert quote.status == "pending_approval"  # returned to an earlier step: still pending, still locked
    with pytest.raises(Conflict):
        quote_update(actor=personas.rep, quote=quote, title="改标题")

    rep = client_for(personas.rep)
    page = rep.get(f"/quotes/{quote.pk}/")
    assert 'data-testid="quote-approval-pending"' in page.content.decode()
    panel = _panel(rep, "quotes.quote", quote.pk).content.decode()
    assert "请补充折扣依据" in panel and 'data-testid="document-approval-withdraw"' in panel
    assert 'data-testid="document-approval-resubmit"' not in panel  # not returned to the requester
    # the approver sees the state but may not withdraw
    manager_panel = _panel(client_for(personas.manager), "quotes.quote", quote.pk).content.decode()
    assert 'data-testid="document-approval"' in manager_panel
    assert 'data-testid="document-approval-withdraw"' not in manager_panel
    # somebody else may not withdraw it either (403, nothing changes)
    denied = client_for(personas.manager).post(f"/approvals/{request.pk}/withdraw/", {"next": f"/quotes/{quote.pk}/"})
    assert denied.status_code == 403
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"

    response = rep.post(f"/approvals/{request.pk}/withdraw/", {"next": f"/quotes/{quote.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/quotes/{quote.pk}/"
    assert ApprovalRequest.objects.get(pk=request.pk).status == "withdrawn"
    quote.refresh_from_db()
    assert quote.status == "draft"
    quote_update(actor=personas.rep, quote=quote, title="改标题")  # editable again
    assert _panel(rep, "quotes.quote", quote.pk).content == b""
    assert 'data-testid="quote-edit"' in rep.get(f"/quotes/{quote.pk}/").content.decode()


def test_returned_to_the_requester_offers_send_on_again_and_withdraw(personas, client_for):
    quote, request = _quote_under_approval(personas)
    request_return(actor=personas.manager, request_id=request.pk, to_step=0, comment="请重新核价")
    panel = _panel(client_for(personas.rep), "quotes.quote", quote.pk).content.decode()
    assert 'data-testid="document-approval-resubmit"' in panel and 'data-testid="document-approval-withdraw"' in panel
    response = client_for(personas.rep).post(f"/approvals/{request.pk}/resubmit/", {"next": f"/quotes/{quote.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/quotes/{quote.pk}/"
    assert ApprovalRequest.objects.get(pk=request.pk).current_step == 1


def test_the_next_address_must_be_local(personas, client_for):
    _quote, request = _quote_under_approval(personas)
    response = client_for(personas.rep).post(f"/approvals/{request.pk}/withdraw/", {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == f"/approvals/{request.pk}/"


def test_panel_of_unseen_or_unknown_documents_is_404(personas, client_for):
    quote, _request = _quote_under_approval(personas)
    assert _panel(client_for(personas.outsider), "quotes.quote", quote.pk).status_code == 404
    assert _panel(client_for(personas.rep), "nope.kind", quote.pk).status_code == 404
    assert _panel(client_for(personas.rep), "quotes.quote", 987654).status_code == 404


def test_contract_under_approval_can_be_withdrawn_from_its_page(personas, client_for):
    make_rule(personas.admin, [manager_step()], kind="contracts.contract", name="合同审批")
    account = make_account(personas.rep, name="苏州恒润精工科技有限公司")
    contract = contract_create(actor=personas.rep, account=account, title="质检产线合同", lines=[LINE])
    contract = contract_submit(actor=personas.rep, contract=contract)
    assert contract.status == "pending_approval"
    request = ApprovalRequest.objects.get(kind="contracts.contract", object_id=contract.pk, status="pending")
    assert request.summary.endswith("339,000.00 CNY")
    rep = client_for(personas.rep)
    page = rep.get(f"/contracts/{contract.pk}/").content.decode()
    assert f"/approvals/documents/contracts.contract/{contract.pk}/panel/" in page
    assert 'data-testid="document-approval-withdraw"' in _panel(rep, "contracts.contract", contract.pk).content.decode()
    response = rep.post(f"/approvals/{request.pk}/withdraw/", {"next": f"/contracts/{contract.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/contracts/{contract.pk}/"
    contract = Contract.objects.get(pk=contract.pk)
    assert contract.status == "draft"
    contract_update(actor=personas.rep, contract=contract, changes={"title": "质检产线合同（修订）"})
