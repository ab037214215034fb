"""The demo catalogue: a believable catalogue, price lists, rules and deal lines whose totals
are the deals' amounts; idempotent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from salesflow.catalogue.models import DiscountRule, OpportunityLine, PriceList, Product, ProductCategory, VolumeTier
from salesflow.demo.issue9_catalogue import seed_catalogue
from salesflow.sales.models import Opportunity
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


def test_seed_catalogue(personas: Personas) -> None:
    deals = [
        make_opportunity(personas.rep, name=f"示例{name}项目", amount=amount)
        for name, amount in [("销售管理系统", "380000"), ("智能仓储方案", "1200000"), ("其他", "90000")]
    ]
    seed_catalogue()
    assert 25 <= Product.objects.count() <= 40 and 4 <= ProductCategory.objects.count() <= 6
    assert set(Product.objects.values_list("tax_rate", flat=True)) == {Decimal("13.00"), Decimal("6.00")}
    assert {"台", "套", "年", "人天"} <= set(Product.objects.values_list("unit", flat=True))
    assert PriceList.objects.count() == 3 and VolumeTier.objects.exists() and DiscountRule.objects.count() >= 2
    for deal in deals:
        deal.refresh_from_db()
        total = OpportunityLine.objects.filter(opportunity=deal).aggregate(s=Sum("total"))["s"]
        assert total is not None and deal.amount == total, deal.name
    first = deals[1]
    assert OpportunityLine.objects.filter(opportunity=first, code="HW-AGV").exists()
    count = OpportunityLine.objects.count()
    seed_catalogue()
    assert OpportunityLine.objects.count() == count and Product.objects.count() == len(
        set(Product.objects.values_list("code", flat=True))
    )
    assert Opportunity.objects.count() == 3
