"""Every statement figure against the independent loop of ``util``: dated rates in several
currencies, reopened deals, marginal tiers (exactly at a threshold too), product lines,
collections, roles, and a rep who changed teams."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from salesflow.catalogue.tests.factories import make_category, make_product
from salesflow.commissions import selectors
from salesflow.commissions.choices import Basis
from salesflow.commissions.models import StatementLine
from salesflow.commissions.selectors import TargetInfo, compute_statement
from salesflow.commissions.services import statement_generate
from salesflow.commissions.tests.util import loop_commission, pay, plan, rule, to_cny, won, won_items
from salesflow.core.periods import month_period, quarter_period
from salesflow.core.services import exchange_rate_create
from salesflow.sales.choices import Outcome
from salesflow.sales.services import opportunity_close, opportunity_reopen
from salesflow.users.models import TeamMembership
from salesflow.users.services import user_change_team
from salesflow.users.testing import make_personas

pytestmark = pytest.mark.django_db
YEAR = timezone.localdate().year - 1


def _targets(monkeypatch: pytest.MonkeyPatch, values: dict[str, Decimal | None]) -> None:
    """The rep's target per metric (the targets app is tested on its own)."""
    monkeypatch.setattr(selectors, "rep_target", lambda rep, metric, period: TargetInfo(values.get(metric), None, None))


def _figures(statement_lines: list[StatementLine]) -> list[tuple[Decimal, Decimal, Decimal]]:
    return [(ln.basis, ln.multiplier, ln.commission) for ln in statement_lines]


def test_base_rate_dated_rates_reopened_and_other_reps(monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_personas()
    _targets(monkeypatch, {})
    exchange_rate_create(actor=p.admin, currency="USD", rate="7.10", valid_from=date(YEAR, 1, 1))
    exchange_rate_create(actor=p.admin, currency="USD", rate="7.2345", valid_from=date(YEAR, 3, 15))
    exchange_rate_create(actor=p.admin, currency="EUR", rate="7.8", valid_from=date(YEAR, 1, 1))
    rates = {
        "USD": [(date(YEAR, 1, 1), Decimal("7.10")), (date(YEAR, 3, 15), Decimal("7.2345"))],
        "EUR": [(date(YEAR, 1, 1), Decimal("7.8"))],
    }
    pl = plan(YEAR)
    rule(pl, Basis.WON, "3.00")
    won(p.rep, "100000.00", date(YEAR, 3, 1))
    won(p.rep, "1234.57", date(YEAR, 3, 14), "USD")
    won(p.rep, "1234.57", date(YEAR, 3, 15), "USD")
    won(p.rep, "999.99", date(YEAR, 3, 31), "EUR")
    won(p.rep, "5.00", date(YEAR, 3, 31), "HKD")  # no rate: left out, named
    won(p.rep, "50000.00", date(YEAR, 4, 1))  # next month
    won(p.teammate, "70000.00", date(YEAR, 3, 10))  # not the rep's
    reopened = won(p.rep, "80000.00", date(YEAR, 3, 20))
    opportunity_reopen(actor=p.rep, opportunity=reopened)

    period = month_period(YEAR, 3)
    statement = statement_generate(actor=p.manager, rep=p.rep, period_key=period.key)
    expected = loop_commission(won_items(p.rep, period.start, period.end, rates), Decimal("3.00"), [], None)
    lines = list(statement.lines.order_by("position"))
    assert _figures(lines) == expected
    assert len(lines) == 4
    assert statement.commission_total == sum(c for _b, _m, c in expected)
    assert statement.basis_total == sum(b for b, _m, _c in expected)
    assert statement.missing_rates == ["HKD"]
    assert reopened.pk not in {ln.opportunity_id for ln in lines}
    # every line links its deal
    assert all(ln.opportunity_id for ln in lines)
    # the USD deal of 15 March used the rate valid from that day
    march15 = next(ln for ln in lines if ln.day == date(YEAR, 3, 15))
    assert march15.basis == to_cny(Decimal("1234.57"), "USD", date(YEAR, 3, 15), rates) == Decimal("8931.50")


def test_marginal_accelerators(monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_personas()
    _targets(monkeypatch, {"won_revenue": Decimal("100000.00")})
    pl = plan(YEAR)
    tiers = ((10000, 1500), (12000, 2000))
    rule(pl, Basis.WON, "3.00", tiers)
    won(p.rep, "60000.00", date(YEAR, 5, 2))
    won(p.rep, "50000.00", date(YEAR, 5, 9))  # 40k base + 10k × 1.5
    won(p.rep, "30000.00", date(YEAR, 5, 20))  # 10k × 1.5 + 20k × 2
    period = month_period(YEAR, 5)
    statement = statement_generate(actor=p.admin, rep=p.rep, period_key=period.key)
    expected = loop_commission(
        won_items(p.rep, period.start, period.end, {}),
        Decimal("3"),
        [(Decimal(100), Decimal("1.5")), (Decimal(120), Decimal(2))],
        Decimal("100000.00"),
    )
    assert _figures(list(statement.lines.order_by("position"))) == expected
    # by hand: 100k × 3% + 20k × 4.5% + 20k × 6% = 3000 + 900 + 1200
    assert statement.commission_total == Decimal("5100.00")
    # marginal, not retroactive: the whole 140k at 6% would be 8400
    assert statement.lines.count() == 5


def test_exactly_at_the_threshold_pays_no_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_personas()
    _targets(monkeypatch, {"won_revenue": Decimal("100000.00")})
    pl = plan(YEAR)
    rule(pl, Basis.WON, "3.00", ((10000, 1500),))
    won(p.rep, "40000.00", date(YEAR, 6, 1))
    won(p.rep, "60000.00", date(YEAR, 6, 2))  # reaches exactly 100 %
    statement = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-06")
    assert [ln.multiplier_milli for ln in statement.lines.all()] == [1000, 1000]
    assert statement.commission_total == Decimal("3000.00")
    won(p.rep, "10000.00", date(YEAR, 6, 3))  # wholly above the threshold
    statement = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-06")
    expected = loop_commission(
        won_items(p.rep, date(YEAR, 6, 1), date(YEAR, 6, 30), {}),
        Decimal(3),
        [(Decimal(100), Decimal("1.5"))],
        Decimal("100000.00"),
    )
    assert _figures(list(statement.lines.order_by("position"))) == expected
    assert statement.commission_total == Decimal("3450.00")


def test_no_target_means_base_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_personas()
    _targets(monkeypatch, {"won_revenue": None})
    pl = plan(YEAR)
    rule(pl, Basis.WON, "2.50", ((5000, 3000),))
    won(p.rep, "1000.01", date(YEAR, 7, 1))
    statement = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-07")
    assert statement.commission_total == Decimal("25.00")  # 25.00025 rounded half-up once


def test_product_line_rules_and_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_personas()
    _targets(monkeypatch, {"won_revenue": Decimal("100000.00")})
    software, hardware = make_category(), make_category()
    sw, hw = make_product(category=software), make_product(category=hardware)
    pl = plan(YEAR)
    rule(pl, Basis.WON, "3.00", ((10000, 2000),))
    rule(pl, Basis.WON, "5.00", product_line=software)
    deal = won(p.rep, "120000.00", date(YEAR, 8, 10))
    from salesflow.commissions.tests.util import line

    line(deal, sw, "30000.00")
    line(deal, sw, "6000.00")
    line(deal, hw, "84000.00")
    statement = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-Q3")
    lines = list(statement.lines.order_by("position"))
    # software: 36k at 5 % (no tiers on that rule); the rest 84k split 100k/20k of 120k
    sw_lines = [ln for ln in lines if ln.product_line_id == software.pk]
    rest = [ln for ln in lines if ln.product_line_id is None]
    assert _figures(sw_lines) == loop_commission([(Decimal(120000), Decimal(36000))], Decimal(5), [], None)
    assert _figures(rest) == loop_commission(
        [(Decimal(120000), Decimal(84000))], Decimal(3), [(Decimal(100), Decimal(2))], Decimal(100000)
    )
    assert statement.commission_total == Decimal("1800.00") + Decimal("2100.00") + Decimal("840.00")
    assert {ln.opportunity_id for ln in lines} == {deal.pk}


def test_collections_basis_and_void_payments(monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_personas()
    _targets(monkeypatch, {"collections": Decimal("10000.00")})
    exchange_rate_create(actor=p.admin, currency="USD", rate="7.00", valid_from=date(YEAR, 1, 1))
    pl = plan(YEAR)
    rule(pl, Basis.COLLECTED, "1.00", ((10000, 1200),))
    a = pay(p.rep, "8000.00", date(YEAR, 2, 3))
    b = pay(p.rep, "500.00", date(YEAR, 2, 4), "USD")  # 3500: 2000 base, 1500 × 1.2
    pay(p.rep, "9999.00", date(YEAR, 2, 5), status="void")
    pay(p.teammate, "100.00", date(YEAR, 2, 5))
    statement = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-02")
    items = [(Decimal("8000.00"), Decimal("8000.00")), (Decimal("3500.00"), Decimal("3500.00"))]
    expected = loop_commission(items, Decimal(1), [(Decimal(100), Decimal("1.2"))], Decimal(10000))
    lines = list(statement.lines.order_by("position"))
    assert _figures(lines) == expected
    assert [ln.payment_id for ln in lines] == [a.pk, b.pk, b.pk]
    assert statement.commission_total == Decimal("80.00") + Decimal("20.00") + Decimal("18.00")


def test_role_rule_wins_over_every_role_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_personas()
    _targets(monkeypatch, {})
    pl = plan(YEAR)
    rule(pl, Basis.WON, "3.00")
    rule(pl, Basis.WON, "1.00", role="manager")
    won(p.rep, "1000.00", date(YEAR, 9, 1))
    won(p.manager, "1000.00", date(YEAR, 9, 1))
    rep_stmt = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-09")
    mgr_stmt = statement_generate(actor=p.admin, rep=p.manager, period_key=f"{YEAR}-09")
    assert (rep_stmt.commission_total, mgr_stmt.commission_total) == (Decimal("30.00"), Decimal("10.00"))


def test_rep_who_changed_teams_keeps_every_deal(monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_personas()
    _targets(monkeypatch, {})
    today = timezone.localdate()
    period = quarter_period(today.year, (today.month - 1) // 3 + 1)
    first = period.start
    pl = plan(today.year)
    rule(pl, Basis.WON, "3.00")
    TeamMembership.objects.create(user=p.rep, team=p.team_a, start=date(2000, 1, 1))
    won(p.rep, "1000.00", first)
    user_change_team(actor=p.admin, user=p.rep, team=p.team_b, effective=min(first + timedelta(days=1), today))
    won(p.rep, "2000.00", min(first + timedelta(days=1), today))
    p.rep.refresh_from_db()
    # the new team's manager makes it (the old one no longer manages the rep)
    from salesflow.core.errors import Forbidden

    with pytest.raises(Forbidden):
        statement_generate(actor=p.manager, rep=p.rep, period_key=period.key)
    statement = statement_generate(actor=p.other_manager, rep=p.rep, period_key=period.key)
    assert statement.commission_total == Decimal("90.00")
    assert compute_statement(p.rep, period, pl).commission_total == Decimal("90.00")


def test_reopened_deal_drops_out_on_recompute(monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_personas()
    _targets(monkeypatch, {})
    pl = plan(YEAR)
    rule(pl, Basis.WON, "3.00")
    deal = won(p.rep, "1000.00", date(YEAR, 10, 5))
    statement = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-10")
    assert statement.commission_total == Decimal("30.00")
    opportunity_reopen(actor=p.rep, opportunity=deal)
    statement = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-10")
    assert statement.commission_total == 0 and statement.lines.count() == 0
    opportunity_close(actor=p.rep, opportunity=deal, outcome=Outcome.WON, closed_on=date(YEAR, 11, 1))
    statement = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-10")
    assert statement.lines.count() == 0


def test_tiers_read_the_approved_target_of_the_targets_app() -> None:
    """Through the real ``targets.selectors.attainment`` (no stand-in)."""
    from salesflow.analytics.selectors import Node
    from salesflow.targets.models import PlanVersion, SalesPlan, Target, VersionStatus

    p = make_personas()
    sales_plan = SalesPlan.objects.create(year=YEAR)
    version = PlanVersion.objects.create(plan=sales_plan, number=1, status=VersionStatus.LOCKED)
    node = Node("rep", p.rep.pk, str(p.rep))
    Target.objects.create(
        version=version, metric_key="won_revenue", node_key=node.key, period_key=f"{YEAR}-04", value=Decimal("50000")
    )
    pl = plan(YEAR)
    rule(pl, Basis.WON, "3.00", ((10000, 1200), (12000, 1500)))
    won(p.rep, "45000.00", date(YEAR, 4, 3))
    won(p.rep, "20000.00", date(YEAR, 4, 28))  # 5k base, 10k × 1.2, 5k × 1.5
    statement = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-04")
    expected = loop_commission(
        won_items(p.rep, date(YEAR, 4, 1), date(YEAR, 4, 30), {}),
        Decimal(3),
        [(Decimal(100), Decimal("1.2")), (Decimal(120), Decimal("1.5"))],
        Decimal(50000),
    )
    assert _figures(list(statement.lines.order_by("position"))) == expected
    assert statement.commission_total == Decimal("1350.00") + Decimal("150.00") + Decimal("360.00") + Decimal("225.00")
    assert statement.attainment["won_revenue"]["target"] == "50000.00"
    assert Decimal(statement.attainment["won_revenue"]["ratio"]) == Decimal("1.3")
