"""Demo catalogue (issue 9): what the demo company sells — sales, MES, warehouse, finance and
data software, cloud subscriptions, hardware, implementation, support and training — in six
product lines with Chinese and English names, units (台, 套, 年, 人天 …), 13 % / 6 % tax
rates and costs; three price lists (经销商价 for the distributor channel, a VIP customer
group, a USD list) with volume tiers; three discount rules; and product lines on a few
hundred open and won demo deals, each deal's amount being its lines' total.

The catalogue is written through the catalogue services as the system actor. Deal lines are
bulk-written (priced by ``resolve_prices``, figures by ``core.doctotals``) and the deal's
amount is set in the same way the generator wrote it — on the deal, its creation's amount
history row and its stage-change snapshots — so the history reads as if the deal had always
been quoted from these lines (a service call would record an amount change dated today on a
deal won months ago). Idempotent: nothing happens when the catalogue exists.
"""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from salesflow.catalogue.models import (
    CustomerGroup,
    CustomerGroupMember,
    OpportunityLine,
    Product,
    ProductCategory,
)
from salesflow.catalogue.selectors import NoPrice, ResolvedPrice, resolve_prices
from salesflow.catalogue.services import (
    category_save,
    customer_group_save,
    discount_rule_save,
    price_item_save,
    price_list_save,
    product_create,
    tier_save,
)
from salesflow.core.doctotals import LineInput, line_totals
from salesflow.parties.models import Account
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity, OpportunityFieldChange, StageChange
from salesflow.users.services import system_actor

SEED = 9009
MAX_DEALS = 320

LINES = [
    ("software", "软件产品", "Software"),
    ("cloud", "云与订阅", "Cloud and subscriptions"),
    ("hardware", "硬件设备", "Hardware"),
    ("implementation", "实施服务", "Implementation services"),
    ("support", "运维与支持", "Support and maintenance"),
    ("training", "培训与咨询", "Training and consulting"),
]

P, S = "product", "service"

# code, 中文名, English name, kind, unit, line, list price, cost, tax rate
CATALOGUE = [
    ("SW-CRM-STD", "销售管理系统 标准版", "Sales management system, Standard", P, "套", "software", 98000, 18000, 13),
    ("SW-CRM-ENT", "销售管理系统 企业版", "Sales management system, Enterprise", P, "套", "software", 268000, 42000, 13),  # noqa: E501
    ("SW-CRM-USR", "销售管理系统 用户许可", "Sales management system, user licence", P, "用户", "software", 1800, 200, 13),  # noqa: E501
    ("SW-MES", "生产执行系统（MES）", "Manufacturing execution system (MES)", P, "套", "software", 480000, 120000, 13),
    ("SW-WMS", "智能仓储管理软件", "Smart warehouse management software", P, "套", "software", 220000, 55000, 13),
    ("SW-FIN", "财务共享平台", "Shared financial services platform", P, "套", "software", 360000, 90000, 13),
    ("SW-BI", "经营分析报表平台", "Business analytics and reporting platform", P, "套", "software", 150000, 30000, 13),
    ("SW-DMP", "数据中台", "Data middle platform", P, "套", "software", 580000, 160000, 13),
    ("SW-CHN", "渠道管理平台", "Channel management platform", P, "套", "software", 180000, 40000, 13),
    ("SW-MOB", "移动办公集成套件", "Mobile office integration suite", P, "套", "software", 60000, 12000, 13),
    ("CL-MKT", "营销自动化云服务", "Marketing automation cloud", S, "年", "cloud", 36000, 9000, 6),
    ("CL-CC", "云呼叫中心坐席", "Cloud contact centre seat", S, "坐席·年", "cloud", 2400, 900, 6),
    ("CL-PVT", "私有云部署平台", "Private cloud platform", P, "套", "cloud", 420000, 180000, 13),
    ("CL-HOST", "云主机（8核32G）", "Cloud server (8 vCPU, 32 GB)", S, "台·年", "cloud", 9600, 5200, 6),
    ("CL-STO", "对象存储 10TB", "Object storage, 10 TB", S, "年", "cloud", 12000, 6500, 6),
    ("HW-SRV", "机架式服务器 2U", "2U rack server", P, "台", "hardware", 68000, 52000, 13),
    ("HW-GW", "工业物联网网关", "Industrial IoT gateway", P, "台", "hardware", 4800, 2900, 13),
    ("HW-PDA", "手持终端 PDA", "Handheld terminal (PDA)", P, "台", "hardware", 3200, 2100, 13),
    ("HW-SCN", "工业扫码枪", "Industrial barcode scanner", P, "台", "hardware", 1280, 760, 13),
    ("HW-AGV", "仓储 AGV 小车", "Warehouse AGV", P, "台", "hardware", 158000, 118000, 13),
    ("HW-RFID", "RFID 读写器", "RFID reader", P, "台", "hardware", 6800, 4300, 13),
    ("HW-PHN", "IP 话机", "IP phone", P, "台", "hardware", 860, 520, 13),
    ("SV-IMP", "实施顾问服务", "Implementation consultant", S, "人天", "implementation", 2800, 1400, 6),
    ("SV-DEV", "定制开发", "Custom development", S, "人天", "implementation", 3200, 1700, 6),
    ("SV-MIG", "数据迁移服务", "Data migration", S, "项", "implementation", 45000, 18000, 6),
    ("SV-INT", "系统集成接口", "System integration interface", S, "个", "implementation", 25000, 10000, 6),
    ("SV-PM", "项目管理服务", "Project management", S, "人天", "implementation", 3000, 1500, 6),
    ("SP-STD", "年度运维服务（标准）", "Annual maintenance, Standard", S, "年", "support", 48000, 20000, 6),
    ("SP-PRM", "年度运维服务（尊享）", "Annual maintenance, Premium", S, "年", "support", 96000, 42000, 6),
    ("SP-ONS", "驻场运维工程师", "On-site support engineer", S, "人月", "support", 22000, 14000, 6),
    ("SP-HW", "硬件延保 3 年", "Hardware extended warranty, 3 years", S, "台", "support", 6800, 2500, 6),
    ("TR-USR", "用户培训", "End-user training", S, "人天", "training", 2000, 800, 6),
    ("TR-ADM", "管理员认证培训", "Administrator certification", S, "人", "training", 4800, 1500, 6),
    ("CS-BP", "销售流程咨询", "Sales process consulting", S, "人天", "training", 6000, 2600, 6),
]  # fmt: skip

# What a deal named after one of data.PRODUCTS is made of: fixed items (code, quantity)
# and the item whose quantity brings the total near the deal's planned amount.
BUNDLES: dict[str, tuple[list[tuple[str, int]], str]] = {
    "销售管理系统": ([("SW-CRM-STD", 1), ("SV-IMP", 10), ("TR-USR", 2), ("SP-STD", 1)], "SW-CRM-USR"),
    "客户管理系统升级": ([("SW-CRM-ENT", 1), ("SV-MIG", 1), ("SV-IMP", 15)], "SW-CRM-USR"),
    "数据中台建设": ([("SW-DMP", 1), ("SV-INT", 2), ("HW-SRV", 2)], "SV-DEV"),
    "生产执行系统（MES）": ([("SW-MES", 1), ("HW-PDA", 10), ("SV-IMP", 20)], "HW-GW"),
    "年度运维服务": ([("SP-PRM", 1)], "SP-ONS"),
    "私有云部署": ([("CL-PVT", 1), ("SV-IMP", 10)], "HW-SRV"),
    "智能仓储方案": ([("SW-WMS", 1), ("HW-PDA", 12), ("HW-SCN", 12), ("SV-IMP", 15)], "HW-AGV"),
    "财务共享平台": ([("SW-FIN", 1), ("SV-INT", 2)], "SV-IMP"),
    "营销自动化": ([("SV-IMP", 5), ("TR-USR", 2)], "CL-MKT"),
    "客服呼叫中心": ([("HW-PHN", 20), ("SV-IMP", 5)], "CL-CC"),
    "渠道管理平台": ([("SW-CHN", 1), ("TR-ADM", 2)], "SV-DEV"),
    "移动办公集成": ([("SW-MOB", 1), ("HW-PDA", 5)], "SV-INT"),
    "经营分析报表平台": ([("SW-BI", 1), ("CS-BP", 5)], "SV-DEV"),
}
DEFAULT_BUNDLE: tuple[list[tuple[str, int]], str] = ([("SV-IMP", 5), ("SP-STD", 1)], "SW-CRM-USR")

DISTRIBUTOR_SHARE = Decimal("0.82")
VIP_SHARE = Decimal("0.92")
USD_RATE = Decimal("7.18")


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def _fill_vip(group_id: int) -> None:
    """The VIP group holds the demo's first 60 A-grade accounts (again after a reset, whose
    new accounts the kept group would otherwise miss, pricing them differently)."""
    key_accounts = list(Account.objects.filter(grade="A").order_by("id").values_list("pk", flat=True)[:60])
    CustomerGroupMember.objects.bulk_create(
        [CustomerGroupMember(group_id=group_id, account_id=pk) for pk in key_accounts], ignore_conflicts=True
    )


def _seed_price_settings(products: dict[str, Product]) -> None:
    actor = system_actor()
    year = timezone.localdate().year
    vip = customer_group_save(
        actor=actor,
        code="vip",
        name_zh="VIP 客户",
        name_en="VIP customers",
        description="A 级重点客户，享受 VIP 价目表。",
    )
    _fill_vip(vip.pk)
    distributors = customer_group_save(
        actor=actor, code="distributors", name_zh="经销商", name_en="Distributors", description="签约经销商与代理商。"
    )

    dealer = price_list_save(
        actor=actor,
        code=f"distributor-{year}",
        name_zh=f"经销商价 {year}",
        name_en=f"Distributor prices {year}",
        channel="distributor",
        valid_from=timezone.localdate().replace(month=1, day=1),
        valid_to=timezone.localdate().replace(month=12, day=31),
        priority=10,
    )
    vip_list = price_list_save(
        actor=actor,
        code=f"vip-{year}",
        name_zh=f"VIP 客户价 {year}",
        name_en=f"VIP customer prices {year}",
        customer_group_id=vip.pk,
        valid_from=timezone.localdate().replace(month=1, day=1),
    )
    usd = price_list_save(
        actor=actor, code="usd-export", name_zh="美元价目表", name_en="USD price list", currency="USD"
    )
    for code, product in products.items():
        if code.startswith(("SW-", "HW-", "CL-")):
            item = price_item_save(
                actor=actor,
                price_list=dealer,
                product_id=product.pk,
                unit_price=_money(product.list_price * DISTRIBUTOR_SHARE),
            )
            if code.startswith("HW-"):
                tier_save(
                    actor=actor, item=item, min_quantity="10", unit_price=_money(product.list_price * Decimal("0.78"))
                )
                tier_save(actor=actor, item=item, min_quantity="50", discount_percent="5")
        if code.startswith(("SW-", "SP-", "SV-")):
            price_item_save(
                actor=actor,
                price_list=vip_list,
                product_id=product.pk,
                unit_price=_money(product.list_price * VIP_SHARE),
            )
        if code.startswith(("SW-", "HW-", "CL-")):
            price_item_save(
                actor=actor, price_list=usd, product_id=product.pk, unit_price=_money(product.list_price / USD_RATE)
            )
    software = products["SW-CRM-STD"].category_id
    discount_rule_save(actor=actor, name="A 级客户软件优惠", percent="3", grade="A", category_id=software, priority=20)
    discount_rule_save(
        actor=actor,
        name="经销商批量 100+",
        percent="2",
        customer_group_id=distributors.pk,
        min_quantity="100",
        priority=10,
    )
    discount_rule_save(
        actor=actor,
        name="线上渠道首单优惠",
        percent="5",
        channel="online",
        valid_to=timezone.localdate().replace(month=12, day=31),
    )


def _seed_deal_lines(products: dict[str, Product], rng: random.Random) -> int:
    deals = list(
        Opportunity.objects.filter(outcome__in=[Outcome.OPEN, Outcome.WON], currency="CNY", lines__isnull=True)
        .select_related("account")
        .order_by("id")
    )
    rng.shuffle(deals)
    deals = sorted(deals[:MAX_DEALS], key=lambda d: d.pk)
    if not deals:
        return 0
    history_rows = {
        opp_id: n
        for opp_id, n in OpportunityFieldChange.objects.filter(opportunity__in=deals, field="amount")
        .values_list("opportunity_id")
        .annotate(n=Count("id"))
    }
    today = timezone.localdate()
    # A product's price (quantity 1, direct channel) depends on the account only through its
    # active customer groups and its grade, and not on the other products looked up with it:
    # so every product is priced once per (currency, groups, grade) instead of once per deal
    # (the per-deal lookups were a fifth of the demo build).
    groups_of: dict[int, set[int]] = {}
    for account_id, group_id in CustomerGroupMember.objects.filter(
        account_id__in={d.account_id for d in deals}, group__active=True
    ).values_list("account_id", "group_id"):
        groups_of.setdefault(account_id, set()).add(group_id)
    price_book: dict[tuple[str, frozenset[int], str], dict[int, ResolvedPrice | NoPrice]] = {}
    lines: list[OpportunityLine] = []
    amounts: dict[int, Decimal] = {}
    for deal in deals:
        if history_rows.get(deal.pk, 0) > 1:
            continue  # an amount changed by hand later: leave that deal's history alone
        bundle_key = next((key for key in BUNDLES if key in deal.name), None)
        fixed, scaled = BUNDLES[bundle_key] if bundle_key else DEFAULT_BUNDLE
        codes = [code for code, _qty in fixed] + [scaled]
        book_key = (deal.currency, frozenset(groups_of.get(deal.account_id, ())), deal.account.grade)
        prices = price_book.get(book_key)
        if prices is None:
            prices = price_book[book_key] = resolve_prices(
                products=list(products.values()), account=deal.account, currency=deal.currency, on=today
            )
        deal_lines: list[OpportunityLine] = []
        total = Decimal("0")
        for position, code in enumerate(codes, start=1):
            product = products[code]
            resolved = prices[product.pk]
            if not isinstance(resolved, ResolvedPrice):
                continue
            if code == scaled:
                per_unit = resolved.unit_price * (1 - resolved.discount_percent / 100) * (1 + product.tax_rate / 100)
                remaining = deal.amount - total
                quantity = Decimal(max(1, min(5000, int(remaining / per_unit)) if per_unit else 1))
            else:
                quantity = Decimal(dict(fixed)[code])
            figures = line_totals(
                LineInput(quantity, resolved.unit_price, resolved.discount_percent, product.tax_rate), deal.currency
            )
            total += figures.total
            deal_lines.append(
                OpportunityLine(
                    opportunity=deal,
                    position=position,
                    product=product,
                    code=product.code,
                    name_zh=product.name_zh,
                    name_en=product.name_en,
                    unit=product.unit,
                    quantity=quantity.quantize(Decimal("0.001")),
                    unit_price=resolved.unit_price,
                    discount_percent=resolved.discount_percent,
                    tax_rate=product.tax_rate,
                    gross=figures.gross,
                    discount=figures.discount,
                    net=figures.net,
                    tax=figures.tax,
                    total=figures.total,
                    price_list_id=resolved.price_list_id,
                    price_source=resolved.source,
                )
            )
        if deal_lines:
            lines.extend(deal_lines)
            amounts[deal.pk] = total
    OpportunityLine.objects.bulk_create(lines, batch_size=500)
    for pk, amount in amounts.items():
        Opportunity.objects.filter(pk=pk).update(amount=amount)
        OpportunityFieldChange.objects.filter(opportunity_id=pk, field="amount").update(new_amount=amount)
        StageChange.objects.filter(opportunity_id=pk).update(amount=amount)
    return len(amounts)


@transaction.atomic
def seed_catalogue() -> None:
    """Create the demo catalogue, price lists, tiers and discount rules unless a product line
    exists, then put lines on demo deals unless some deal already has lines (a ``--reset``
    keeps the catalogue, as configuration, and gives the new deals their lines)."""
    actor = system_actor()
    if not ProductCategory.objects.exists():
        categories = {code: category_save(actor=actor, code=code, name_zh=zh, name_en=en).pk for code, zh, en in LINES}
        created: dict[str, Product] = {}
        for code, zh, en, kind, unit, line, price, cost, tax in CATALOGUE:
            created[code] = product_create(
                actor=actor,
                code=code,
                name_zh=zh,
                name_en=en,
                kind=kind,
                unit=unit,
                category_id=categories[line],
                list_price=Decimal(price),
                cost=Decimal(cost),
                tax_rate=Decimal(tax),
            )
        _seed_price_settings(created)
    else:
        vip_id = CustomerGroup.objects.filter(code="vip").values_list("pk", flat=True).first()
        if vip_id is not None and not CustomerGroupMember.objects.filter(group_id=vip_id).exists():
            _fill_vip(vip_id)  # a reset: the kept group gets the new demo accounts
    products = {p.code: p for p in Product.objects.filter(code__in=[row[0] for row in CATALOGUE], active=True)}
    if len(products) == len(CATALOGUE) and not OpportunityLine.objects.exists():
        _seed_deal_lines(products, random.Random(SEED))  # noqa: S311 - reproducible demo data
