"""Demo sales plan (销售计划, issue 10): this fiscal year's plan, approved and locked, with goals
for every plannable metric (and units of the two largest product lines) set from last
year's actuals plus growth, decomposed company → teams → reps by last year's shares and
year → quarters → months by last year's seasonality, with a sales director's strategy notes.
Mid-year one rep moves to the other team (``users.services.user_change_team``), so the
attainment pages show people who change teams keep their history.

Everything goes through ``salesflow.targets.services``; run twice, it writes nothing new."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from salesflow.analytics.selectors import Node, actual
from salesflow.catalogue.models import OpportunityLine, ProductCategory
from salesflow.core.periods import fiscal_year_of, year_period
from salesflow.sales.choices import Outcome
from salesflow.targets import services
from salesflow.targets.models import SalesPlan
from salesflow.targets.selectors import OrgTree
from salesflow.users.choices import Role
from salesflow.users.models import TeamMembership, User
from salesflow.users.services import user_change_team

#: growth on last year's actuals, per metric (money rounded to ten thousand yuan)
GROWTH = {
    "won_revenue": Decimal("1.25"),
    "collections": Decimal("1.20"),
    "new_customers": Decimal("1.30"),
    "won_deals": Decimal("1.20"),
    "visits": Decimal("1.15"),
    "activities": Decimal("1.10"),
}
FALLBACK = {
    "won_revenue": Decimal("12000000"),
    "collections": Decimal("10000000"),
    "new_customers": Decimal("40"),
    "won_deals": Decimal("80"),
    "visits": Decimal("600"),
    "activities": Decimal("3000"),
}
MONEY = {"won_revenue", "collections"}

NOTES = {
    "product_strategy": (
        "主推新一代智能终端与SaaS年费套餐，老客户以升级换代为主线；"
        "上半年完成行业版（制造、零售）标准化，下半年把实施+运维打包成年度服务合同，提升复购与客单价。"
    ),
    "price_strategy": (
        "坚持价值定价，标准折扣不超过九折，八五折以下一律走审批；"
        "年框客户给阶梯返点，季度末冲量不做无底线让价，毛利率守住35%红线。"
    ),
    "channel_strategy": (
        "华东以直销为主、重点攻KA；华北发展3家核心代理商，按区域划分保护；"
        "线上获客线索48小时内必须首次跟进，公海线索每周清洗一次。"
    ),
    "promotion_strategy": (
        "3月、9月两场行业峰会加各城市巡展，Q2推“老带新”转介绍奖励，双十一前做年度采购节；"
        "每场活动会后两周内完成线索分配与回访，活动ROI按季度复盘。"
    ),
}


def _round(value: Decimal, money: bool) -> Decimal:
    if money:
        return (value / 10000).quantize(Decimal(1), ROUND_HALF_UP) * 10000
    return value.quantize(Decimal(1), ROUND_HALF_UP)


def _units_last_year(code: str, year: int) -> Decimal:
    last = year_period(year - 1)
    total = Decimal(0)
    for qty in OpportunityLine.objects.filter(
        product__category__code=code,
        opportunity__outcome=Outcome.WON,
        opportunity__closed_on__gte=last.start,
        opportunity__closed_on__lte=last.end,
    ).values_list("quantity", flat=True):
        total += qty
    return total


def _admin(users: dict[str, User]) -> User:
    found = next((u for u in users.values() if u.is_admin), None)
    return found or User.objects.filter(role=Role.ADMIN).order_by("pk").first()  # type: ignore[return-value]


def write_targets(users: dict[str, User], today: dt.date) -> dict[str, int]:
    """This fiscal year's locked plan and one mid-year team change; counts of what was written."""
    year = fiscal_year_of(today)
    if SalesPlan.objects.filter(year=year).exists():
        return {"plans": 0, "targets": 0, "moves": 0}
    admin = _admin(users)
    plan = services.plan_create(actor=admin, year=year)
    version = plan.versions.get()
    services.plan_version_update_notes(actor=admin, version=version, notes=dict(NOTES))
    org = OrgTree()
    company = Node("company")
    services.seasonality_set(actor=admin, version=version, node_key="company", metric_key="won_revenue")
    last = year_period(year - 1)
    goals: list[tuple[object, object, object]] = []
    metrics = list(GROWTH)
    for key in metrics:
        past = actual(key, company, last).value
        goal = _round(past * GROWTH[key], key in MONEY) if past > 0 else FALLBACK[key]
        goals.append(("company", str(year), str(goal)))
        services.targets_set(actor=admin, version=version, metric_key=key, cells=[goals[-1]])
    lines = sorted(
        ((_units_last_year(c.code, year), c.code) for c in ProductCategory.objects.filter(active=True)), reverse=True
    )[:2]
    for units, code in lines:
        if units > 0:
            key = f"units:{code}"
            metrics.append(key)
            goal = (units * Decimal("1.15")).quantize(Decimal(1), ROUND_HALF_UP)
            services.targets_set(
                actor=admin, version=version, metric_key=key, cells=[("company", str(year), str(goal))]
            )
    nodes: list[Node] = []
    todo = [company]
    while todo:
        node = todo.pop(0)
        nodes.append(node)
        todo.extend(org.children(node))
    written = len(metrics)
    for key in metrics:
        written += services.targets_allocate(
            actor=admin,
            version=version,
            metric_key=key,
            node_key="company",
            period_key=str(year),
            along="org",
            basis="last_year",
            cascade=True,
        )
        for node in nodes:
            written += services.targets_allocate(
                actor=admin,
                version=version,
                metric_key=key,
                node_key=node.key,
                period_key=str(year),
                along="periods",
                cascade=True,
            )
    services.plan_version_submit(actor=admin, version=version)
    return {"plans": 1, "targets": written, "moves": _move_a_rep(admin, org, today, year)}


def _move_a_rep(admin: User, org: OrgTree, today: dt.date, year: int) -> int:
    """The last rep of the largest leaf team moves to the smallest one on the first day of
    the current month (or of the fiscal year's seventh month when that is earlier)."""
    leaves = [t for t in org.teams if not org.kids.get(t) and org.reps.get(t)]
    if len(leaves) < 2:
        return 0
    leaves.sort(key=lambda t: (-len(org.reps[t]), t))
    source, target = leaves[0], leaves[-1]
    rep = org.reps[source][-1]
    if TeamMembership.objects.filter(user=rep).count() > 1:
        return 0
    first = year_period(year).start
    index = first.year * 12 + first.month - 1 + 6
    seventh = dt.date(index // 12, index % 12 + 1, 1)
    this_month = today.replace(day=1)
    effective = min(seventh, this_month) if this_month > first else today
    user_change_team(actor=admin, user=rep, team=org.teams[target], effective=effective)
    return 1


def delete_targets() -> None:
    """Plans hold no protected references to demo users (``SET_NULL``); nothing to do first."""
