"""Fixtures of the contracts tests: a rep's account and deal, products, an accepted quote
(written as the quotes app stores one), and a fake approval engine."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.db import models
from django.utils import translation

from salesflow.catalogue.models import Product, ProductCategory
from salesflow.contracts.services import register_approvables
from salesflow.core import approvals
from salesflow.core.doctotals import LineInput, document_totals
from salesflow.parties.models import Account
from salesflow.quotes.models import Quote, QuoteLine, QuoteStatus, QuoteVersion
from salesflow.sales.models import Opportunity
from salesflow.sales.tests.factories import make_account, make_opportunity
from salesflow.users.testing import Personas


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@dataclass
class World:
    personas: Personas
    account: Account
    opportunity: Opportunity
    software: Product
    service: Product


@pytest.fixture
def world(personas: Personas) -> World:
    rep = personas.rep
    account = make_account(rep, name="华东精密制造有限公司")
    opportunity = make_opportunity(rep, account=account, name="MES 一期")
    line = ProductCategory.objects.create(code="software", name_zh="软件", name_en="Software")
    software = Product.objects.create(
        code="MES-STD",
        name_zh="制造执行系统 标准版",
        name_en="MES Standard",
        unit="套",
        category=line,
        tax_rate=Decimal("13.00"),
        list_price=Decimal("120000.00"),
        cost=Decimal("40000.00"),
    )
    service = Product.objects.create(
        code="IMPL-DAY",
        name_zh="实施服务",
        name_en="Implementation",
        unit="人天",
        tax_rate=Decimal("6.00"),
        list_price=Decimal("2500.00"),
    )
    return World(personas, account, opportunity, software, service)


def make_accepted_quote(world: World, *, status: str = QuoteStatus.ACCEPTED) -> Quote:
    """An accepted quote as the quotes app leaves it: accepted version, frozen lines, totals."""
    rep = world.personas.rep
    quote = Quote.objects.create(
        number=f"QT-TEST-{Quote.objects.count() + 1:05d}",  # never a number the real sequence hands out
        opportunity=world.opportunity,
        account=world.account,
        owner=rep,
        title="MES 一期报价",
        currency="CNY",
        status=status,
    )
    rows = [
        (world.software, Decimal("1.000"), Decimal("120000.00"), Decimal("5.00"), Decimal("13.00")),
        (world.service, Decimal("12.500"), Decimal("2500.00"), Decimal("0.00"), Decimal("6.00")),
    ]
    totals = document_totals([LineInput(q, p, d, t) for _prod, q, p, d, t in rows], "CNY")
    version = QuoteVersion.objects.create(
        quote=quote,
        version=1,
        status=status,
        terms="预付 30%，验收后 70%",
        subtotal=totals.subtotal,
        discount=totals.discount,
        net=totals.net,
        tax=totals.tax,
        total=totals.total,
    )
    for index, ((product, qty, price, disc, tax), figures) in enumerate(zip(rows, totals.lines, strict=True)):
        QuoteLine.objects.create(
            version=version,
            position=index,
            product=product,
            code=product.code,
            name_zh=product.name_zh,
            name_en=product.name_en,
            unit=product.unit,
            quantity=qty,
            unit_price=price,
            discount_percent=disc,
            tax_rate=tax,
            gross=figures.gross,
            discount=figures.discount,
            net=figures.net,
            tax=figures.tax,
            total=figures.total,
        )
    quote.current_version = version
    quote.accepted_version = version if status == QuoteStatus.ACCEPTED else None
    quote.total = totals.total
    quote.save()
    return quote


@pytest.fixture
def accepted_quote(world: World) -> Quote:
    return make_accepted_quote(world)


@dataclass
class FakeEngine:
    """Answers ``pending`` and remembers what it was asked (the real engine is elsewhere)."""

    submissions: list[dict[str, Any]] = field(default_factory=list)
    pending: dict[tuple[str, int], int] = field(default_factory=dict)

    def submit(
        self,
        *,
        actor: Any,
        approvable: approvals.Approvable,
        target: models.Model,
        facts: Mapping[str, Any],
        summary: str,
    ) -> approvals.Submission:
        request_id = len(self.submissions) + 100
        self.submissions.append({"kind": approvable.kind, "target": target, "facts": dict(facts), "summary": summary})
        assert target.pk is not None
        self.pending[(approvable.kind, target.pk)] = request_id
        return approvals.Submission(status="pending", request_id=request_id, steps=("manager",))

    def pending_request_id(self, approvable: approvals.Approvable, target: models.Model) -> int | None:
        assert target.pk is not None
        return self.pending.get((approvable.kind, target.pk))

    def decide(self, kind: str, target: Any, outcome: str, actor: Any, comment: str = "") -> None:
        """Call the document's callback as the engine does (inside a transaction)."""
        from django.db import transaction

        item = approvals.approvable(kind)
        assert item is not None
        self.pending.pop((kind, target.pk), None)
        with transaction.atomic():
            if outcome == "approved":
                item.on_approved(target, actor)
            elif outcome == "rejected":
                item.on_rejected(target, actor, comment)
            else:
                item.on_withdrawn(target, actor)


@pytest.fixture
def fake_engine() -> Iterator[FakeEngine]:
    saved = list(approvals._engine)
    engine = FakeEngine()
    register_approvables()
    approvals.register_engine(engine)
    try:
        yield engine
    finally:
        approvals._engine[:] = saved


@pytest.fixture
def no_engine() -> Iterator[None]:
    """Whatever engine another app installed, these tests run without one ("approved")."""
    saved = list(approvals._engine)
    approvals._engine[:] = []
    try:
        yield
    finally:
        approvals._engine[:] = saved


LINES: list[dict[str, Any]] = [
    {
        "product_id": None,
        "name_zh": "数据采集网关",
        "unit": "台",
        "quantity": "3",
        "unit_price": "8000.00",
        "tax_rate": "13",
    },
    {
        "name_zh": "现场培训",
        "unit": "天",
        "quantity": "2.5",
        "unit_price": "1999.99",
        "discount_percent": "10",
        "tax_rate": "6",
    },
]


def direct_lines() -> list[dict[str, Any]]:
    return [{k: v for k, v in line.items() if v is not None} for line in LINES]
