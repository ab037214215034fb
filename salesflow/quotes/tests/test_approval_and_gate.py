from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from salesflow.core import approvals
from salesflow.core.approvals import Approvable, Submission
from salesflow.core.errors import Conflict
from salesflow.core.models import AuditEvent
from salesflow.quotes.models import QuoteVersion
from salesflow.quotes.services import quote_decide, quote_issue, quote_update
from salesflow.quotes.tests.helpers import cv, make_quote
from salesflow.sales.gates import criterion_type, evaluate
from salesflow.sales.models import StageCriterion
from salesflow.sales.services import default_pipeline

pytestmark = pytest.mark.django_db


class FakeEngine:
    """Answers ``pending`` and remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def submit(
        self, *, actor: Any, approvable: Approvable, target: Any, facts: Mapping[str, Any], summary: str
    ) -> Submission:
        self.calls.append({"kind": approvable.kind, "target": target.pk, "facts": dict(facts), "summary": summary})
        return Submission(status="pending", request_id=77, steps=("manager",))

    def pending_request_id(self, approvable: Approvable, target: Any) -> int | None:
        return 77


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    saved = list(approvals._engine)
    fake = FakeEngine()
    approvals.register_engine(fake)
    try:
        yield fake
    finally:
        approvals._engine[:] = saved


def test_the_quote_kind_is_registered():
    item = approvals.approvable("quotes.quote")
    assert item is not None and item.model.__name__ == "Quote"


def test_pending_locks_the_version_until_the_engine_approves(personas, deal, products, engine):
    quote = quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))
    assert quote.status == "pending_approval"
    assert engine.calls[0]["kind"] == "quotes.quote" and engine.calls[0]["target"] == quote.pk
    assert set(engine.calls[0]["facts"]) == set(approvals.FACT_KEYS)
    assert AuditEvent.objects.get(verb="quotes.quote.submitted").data["request_id"] == 77
    with pytest.raises(Conflict):
        quote_update(actor=personas.rep, quote=quote, title="x")
    with pytest.raises(Conflict):  # the customer cannot accept before approval
        quote_decide(version_id=cv(quote).pk, decision="accept", name="x", ip=None)
    item = approvals.approvable("quotes.quote")
    assert item is not None and item.can_read(personas.manager, quote) and not item.can_read(personas.outsider, quote)
    assert item.url(quote) == f"/quotes/{quote.pk}/"
    item.on_approved(quote, personas.manager)
    item.on_approved(quote, personas.manager)  # idempotent
    quote.refresh_from_db()
    assert quote.status == "approved"
    assert AuditEvent.objects.filter(verb="quotes.quote.approved").count() == 1


def test_rejection_and_withdrawal_return_to_draft(personas, deal, products, engine):
    quote = quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))
    item = approvals.approvable("quotes.quote")
    assert item is not None
    item.on_rejected(quote, personas.manager, "折扣太大")
    version = QuoteVersion.objects.get(quote=quote)
    assert (version.status, version.customer, version.issued_at) == ("draft", {}, None)
    assert AuditEvent.objects.get(verb="quotes.quote.rejected").data["comment"] == "折扣太大"
    quote_update(actor=personas.rep, quote=quote, title="改了折扣")
    quote = quote_issue(actor=personas.rep, quote=quote)
    item.on_withdrawn(quote, personas.rep)
    quote.refresh_from_db()
    assert quote.status == "draft"


def test_accepted_quote_stage_gate(personas, deal, products):
    kind = criterion_type("quote_accepted")
    assert kind is not None
    stage = default_pipeline().stages.filter(kind="open").order_by("position").last()
    assert stage is not None
    criterion = StageCriterion.objects.create(stage=stage, kind="quote_accepted", params={})
    results = evaluate([deal], [criterion])
    assert results[deal.pk][0].met is False
    quote = quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))
    quote_decide(version_id=cv(quote).pk, decision="accept", name="陈静", ip=None)
    assert evaluate([deal], [criterion])[deal.pk][0].met is True
