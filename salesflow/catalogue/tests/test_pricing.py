"""The price lookup: precedence, validity edges, tiers, rules, currencies, query counts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from salesflow.catalogue.selectors import NoPrice, ResolvedPrice, resolve_price, resolve_prices
from salesflow.catalogue.tests.factories import (
    TODAY,
    make_category,
    make_group,
    make_price_list,
    make_product,
    make_rule,
    make_tier,
)
from salesflow.parties.models import Account
from salesflow.parties.tests.factories import make_account
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(personas: Personas) -> Account:
    return make_account(personas.rep, grade="A")


def price(product: Any, account: Account | None, **kw: Any) -> ResolvedPrice:
    kw.setdefault("currency", "CNY")
    kw.setdefault("quantity", Decimal("1"))
    kw.setdefault("on", TODAY)
    return resolve_price(product=product, account=account, **kw)


def test_list_price_when_no_price_list(account: Account) -> None:
    product = make_product(list_price=Decimal("1234.50"), tax_rate=Decimal("6.00"))
    got = price(product, account)
    assert got == ResolvedPrice(
        unit_price=Decimal("1234.50"),
        discount_percent=Decimal("0.00"),
        tax_rate=Decimal("6.00"),
        price_list_id=None,
        tier_id=None,
        rule_ids=(),
        source="list_price",
        explanation="List price",
    )


def test_currency_mismatch_raises_no_price(account: Account) -> None:
    product = make_product(code="SRV-1")
    with pytest.raises(NoPrice) as caught:
        price(product, account, currency="USD")
    assert isinstance(caught.value, ValueError)
    assert caught.value.product_id == product.pk and caught.value.currency == "USD"
    assert "SRV-1" in str(caught.value) and "USD" in str(caught.value)
    # a USD list prices it; a lower-case currency is the same currency
    make_price_list({product: "150.00"}, currency="USD")
    assert price(product, account, currency="usd").unit_price == Decimal("150.00")


def test_general_list_beats_list_price(account: Account) -> None:
    product = make_product()
    plist = make_price_list({product: "900.00"}, name_en="Standard 2026")
    got = price(product, account)
    assert (got.unit_price, got.price_list_id, got.source) == (Decimal("900.00"), plist.pk, "price_list")
    assert got.explanation == "Price list “Standard 2026”"


def test_precedence_group_then_channel_then_priority(account: Account, personas: Personas) -> None:
    product = make_product()
    vip = make_group("vip", account)
    other = make_group("other")
    make_price_list({product: "900.00"}, priority=100)  # general, high priority
    make_price_list({product: "880.00"}, channel="direct", priority=50)  # channel
    make_price_list({product: "500.00"}, customer_group=other)  # another group: never
    group_any = make_price_list({product: "850.00"}, customer_group=vip)
    group_direct = make_price_list({product: "820.00"}, customer_group=vip, channel="direct")
    assert price(product, account).price_list_id == group_direct.pk
    # online channel: the group list for every channel
    assert price(product, account, channel="online").price_list_id == group_any.pk
    # another account (no group): the channel list beats the higher-priority general list
    stranger = make_account(personas.rep)
    assert price(product, stranger).unit_price == Decimal("880.00")
    assert price(product, None, channel="online").unit_price == Decimal("900.00")
    # equal specificity: priority, then later valid_from, then lower id
    later = make_price_list(
        {product: "810.00"}, customer_group=vip, channel="direct", valid_from=TODAY - timedelta(days=1)
    )
    assert price(product, account).price_list_id == later.pk
    top = make_price_list({product: "800.00"}, customer_group=vip, channel="direct", priority=1)
    assert price(product, account).price_list_id == top.pk


def test_inactive_group_list_and_membership(account: Account) -> None:
    product = make_product()
    vip = make_group("vip", account, active=False)
    make_price_list({product: "700.00"}, customer_group=vip)
    assert price(product, account).source == "list_price"
    inactive = make_price_list({product: "600.00"}, active=False)
    assert inactive.pk and price(product, account).source == "list_price"


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "applies"),
    [
        (TODAY, TODAY, True),  # both bounds inclusive
        (TODAY + timedelta(days=1), None, False),  # starts tomorrow
        (None, TODAY - timedelta(days=1), False),  # ended yesterday
        (None, TODAY, True),
        (TODAY, None, True),
        (None, None, True),
    ],
)
def test_validity_edges(account: Account, valid_from: date | None, valid_to: date | None, applies: bool) -> None:
    product = make_product()
    make_price_list({product: "900.00"}, valid_from=valid_from, valid_to=valid_to)
    assert (price(product, account).unit_price == Decimal("900.00")) is applies


def test_tier_boundaries(account: Account) -> None:
    product = make_product()
    plist = make_price_list({product: "100.00"}, name_en="East 2026")
    t10 = make_tier(plist, product, "10", price="90.00")
    t50 = make_tier(plist, product, "50", percent="12.50")
    for qty, unit, discount, tier in [
        ("9.999", "100.00", "0.00", None),
        ("10", "90.00", "0.00", t10.pk),
        ("49.999", "90.00", "0.00", t10.pk),
        ("50", "100.00", "12.50", t50.pk),
        ("1000", "100.00", "12.50", t50.pk),
    ]:
        got = price(product, account, quantity=Decimal(qty))
        assert (got.unit_price, got.discount_percent, got.tier_id) == (Decimal(unit), Decimal(discount), tier), qty
    got = price(product, account, quantity=Decimal("50"))
    assert got.source == "tier" and got.explanation == "Price list “East 2026”, tier 2"
    with translation.override("zh-hans"):
        plist.name_zh = "华东经销商 2026"
        plist.save()
        assert "华东经销商 2026" in price(product, account, quantity=Decimal("60")).explanation


def test_discount_rules_match_and_priority(account: Account) -> None:
    line = make_category()
    product = make_product(category=line)
    vip = make_group("vip", account)
    make_rule("50", grade="B")  # other grade
    make_rule("40", category=make_category())  # other line
    make_rule("30", min_quantity=Decimal("100"))  # quantity not reached
    make_rule("25", valid_to=TODAY - timedelta(days=1))  # expired
    make_rule("20", active=False)
    make_rule("15", channel="online")
    low = make_rule("5", category=line)
    assert price(product, account).rule_ids == (low.pk,)
    high = make_rule("3", customer_group=vip, grade="A", priority=10, name="VIP")
    got = price(product, account)
    assert got.rule_ids == (high.pk,) and got.discount_percent == Decimal("3.00")
    assert got.explanation == "List price; discount rule “VIP” 3%"
    # quantity reaches the 30 % rule, but priority still wins
    assert price(product, account, quantity=Decimal("100")).rule_ids == (high.pk,)
    # no account: neither group nor grade rules
    assert price(product, None).rule_ids == (low.pk,)


def test_tier_and_rule_discounts_add_up_capped(account: Account) -> None:
    product = make_product()
    plist = make_price_list({product: "100.00"})
    make_tier(plist, product, "10", percent="60")
    rule = make_rule("50")
    got = price(product, account, quantity=Decimal("10"))
    assert got.discount_percent == Decimal("100.00") and got.rule_ids == (rule.pk,)
    assert price(product, account).discount_percent == Decimal("50.00")


def test_resolve_prices_constant_queries(account: Account, django_assert_max_num_queries: Any) -> None:
    make_group("vip", account)
    products = [make_product() for _ in range(12)]
    plist = make_price_list({p: "10.00" for p in products[:8]})
    for p in products[:8]:
        make_tier(plist, p, "5", price="9.00")
    make_rule("2")
    usd = make_product(currency="USD")
    with django_assert_max_num_queries(4):
        got = resolve_prices(
            products=[*products, usd],
            account=account,
            currency="CNY",
            quantities={products[0].pk: Decimal("5")},
            on=TODAY,
        )
    assert isinstance(got[usd.pk], NoPrice)
    first = got[products[0].pk]
    assert isinstance(first, ResolvedPrice) and first.unit_price == Decimal("9.00")
    ninth = got[products[8].pk]
    assert isinstance(ninth, ResolvedPrice) and ninth.source == "list_price"
    assert resolve_prices(products=[], account=None, currency="CNY", on=TODAY) == {}
