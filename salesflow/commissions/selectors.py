"""Reads of commissions, and the statement computation (``compute_statement``).

The computation, precisely (documented in the app's docs section and tested against a plain
loop in ``tests/test_compute.py``):

1. **Rules.** The statement's plan is the active plan whose validity covers the whole
   period. Of its rules, those for the rep's role or for every role ('') apply; for each
   (basis, product line) the rule of the rep's role wins over the every-role rule.
2. **Won basis.** The rep's deals won with ``closed_on`` in the period (the deal's current
   owner; ``analytics.metrics.won_deals_qs``), in order of (``closed_on``, id). A reopened
   deal has no close date and drops out. A product-line rule pays on the sum of the deal's
   lines (``OpportunityLine.total``) of that product line; the general won rule (no product
   line) pays on the rest: the deal amount less the lines paid by product-line rules (never
   below zero). Amounts are converted to the company currency at the rate valid on the
   close date (``RateBook``, rounded half-up to minor units); a currency without a rate
   leaves the deal out and is named in ``missing_rates``.
3. **Collected basis.** The rep's payments (not void) received in the period (by
   ``received_on``, ``analytics.metrics.payments_qs``), converted at the rate of that day.
4. **Tiers are marginal (like tax brackets).** A rule's tiers read the rep's target for the
   period of the basis's metric (``won_revenue`` / ``collections``, from
   ``targets.selectors.attainment``). Tier *k* starts at ``target × threshold_k`` of
   cumulative actual. Each deal (payment) occupies ``[p, p + a)`` of the rep's cumulative
   actual, where ``a`` is its converted amount and ``p`` the sum of the earlier ones; the
   part of it inside each bracket is paid at ``rate × multiplier`` of that bracket. A basis
   smaller than the deal (a product line, the rest) is split over the brackets in the same
   proportions (each part rounded half-up to minor units, the last part takes the
   remainder). So reaching exactly 100 % pays nothing at the 100 % multiplier; only money
   beyond a threshold is accelerated. Without a positive target every line is at the base
   rate.
5. **One line per deal (payment), rule and bracket**; commission = basis × rate ×
   multiplier, rounded half-up once, to the company currency's minor units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, cast

from django.db.models import Prefetch, Q, QuerySet

from salesflow.analytics.metrics import payments_qs, won_deals_qs
from salesflow.analytics.selectors import Node
from salesflow.catalogue.models import OpportunityLine
from salesflow.commissions.choices import BASIS_METRIC, Basis, LineKind
from salesflow.commissions.models import (
    CommissionPlan,
    CommissionRule,
    CommissionStatement,
    CommissionTier,
    StatementLine,
)
from salesflow.commissions.permissions import statements_visible_to
from salesflow.core.metrics import FactQuery, OwnerWindow
from salesflow.core.money import company_currency, minor_units, money_sum_annotations, money_sum_value
from salesflow.core.periods import Period
from salesflow.core.selectors import RateBook
from salesflow.targets.selectors import attainment
from salesflow.users.models import User

PRECISION = 60


def minor_step() -> Decimal:
    return Decimal(1).scaleb(-minor_units(company_currency()))


def round_money(value: Decimal) -> Decimal:
    """Half-up to the company currency's minor units (the one rounding of each figure)."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return value.quantize(minor_step(), rounding=ROUND_HALF_UP)


# --- plans and rules ------------------------------------------------------------------------


def plan_list() -> QuerySet[CommissionPlan]:
    tiers = Prefetch("tiers", queryset=CommissionTier.objects.order_by("threshold_bp"))
    rules = Prefetch(
        "rules",
        queryset=CommissionRule.objects.select_related("product_line").prefetch_related(tiers),
    )
    return CommissionPlan.objects.prefetch_related(rules).order_by("-valid_from", "id")


def covering_plan(period: Period) -> CommissionPlan | None:
    """The active plan whose validity covers every day of ``period``."""
    return (
        CommissionPlan.objects.filter(active=True, valid_from__lte=period.start, valid_to__gte=period.end)
        .order_by("valid_from", "id")
        .first()
    )


def overlapping_plans(valid_from: date, valid_to: date, *, exclude_id: int | None = None) -> QuerySet[CommissionPlan]:
    qs = CommissionPlan.objects.filter(active=True, valid_from__lte=valid_to, valid_to__gte=valid_from)
    return qs.exclude(pk=exclude_id) if exclude_id else qs


def rules_for(plan: CommissionPlan, role: str) -> list[CommissionRule]:
    """The plan's rules that apply to ``role``: per (basis, product line) the role's own rule,
    else the every-role rule. Tiers prefetched, ordered by threshold."""
    rules = (
        CommissionRule.objects.filter(plan=plan)
        .filter(Q(role=role) | Q(role=""))
        .select_related("product_line")
        .prefetch_related(Prefetch("tiers", queryset=CommissionTier.objects.order_by("threshold_bp")))
        .order_by("id")
    )
    chosen: dict[tuple[str, int | None], CommissionRule] = {}
    for rule in rules:
        key = (rule.basis, rule.product_line_id)
        if key not in chosen or (rule.role and not chosen[key].role):
            chosen[key] = rule
    return sorted(chosen.values(), key=lambda r: (r.basis, r.product_line_id or 0, r.pk))


# --- targets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetInfo:
    target: Decimal | None
    actual: Decimal | None
    ratio: Decimal | None


def rep_target(rep: User, metric_key: str, period: Period) -> TargetInfo:
    """The rep's target, actual and ratio of ``metric_key`` in ``period`` (targets app)."""
    found = attainment(node=Node("rep", rep.pk, str(rep)), metric_key=metric_key, period=period, today=period.end)
    target = found.target if found.target is not None and found.target > 0 else None
    return TargetInfo(target, found.actual, found.ratio)


# --- the computation ------------------------------------------------------------------------


@dataclass
class LineDraft:
    kind: str
    reference: str
    day: date
    rule: CommissionRule
    source_amount: Decimal
    source_currency: str
    basis: Decimal
    rate: Decimal
    multiplier_milli: int
    threshold_bp: int
    commission: Decimal
    opportunity_id: int | None = None
    payment_id: int | None = None
    product_line_id: int | None = None


@dataclass
class Computation:
    lines: list[LineDraft] = field(default_factory=list)
    attainment: dict[str, dict[str, str | None]] = field(default_factory=dict)
    missing_rates: set[str] = field(default_factory=set)

    @property
    def basis_total(self) -> Decimal:
        return sum((line.basis for line in self.lines), Decimal(0))

    @property
    def commission_total(self) -> Decimal:
        return sum((line.commission for line in self.lines), Decimal(0))


@dataclass(frozen=True)
class Bracket:
    start: Decimal  # cumulative actual where the bracket starts (company currency)
    threshold_bp: int
    multiplier_milli: int


def brackets_of(tiers: Iterable[CommissionTier], target: Decimal | None) -> list[Bracket]:
    """The base bracket and one per tier (when there is a positive target), by start."""
    result = [Bracket(Decimal(0), 0, 1000)]
    if target is None or target <= 0:
        return result
    with localcontext() as ctx:
        ctx.prec = PRECISION
        for tier in sorted(tiers, key=lambda t: t.threshold_bp):
            result.append(
                Bracket(target * tier.threshold_bp / Decimal(10000), tier.threshold_bp, tier.multiplier_milli)
            )
    return result


def portions(position: Decimal, amount: Decimal, brackets: list[Bracket]) -> list[tuple[Bracket, Decimal]]:
    """How much of ``[position, position + amount)`` lies in each bracket (non-empty parts);
    a zero amount lies wholly in the bracket containing ``position``."""
    result: list[tuple[Bracket, Decimal]] = []
    end = position + amount
    for i, bracket in enumerate(brackets):
        upper = brackets[i + 1].start if i + 1 < len(brackets) else None
        lo = max(position, bracket.start)
        hi = end if upper is None else min(end, upper)
        if hi > lo:
            result.append((bracket, hi - lo))
    if not result:
        inside = [b for b in brackets if b.start <= position]
        result.append((inside[-1] if inside else brackets[0], Decimal(0)))
    return result


def split_basis(basis: Decimal, amount: Decimal, parts: list[tuple[Bracket, Decimal]]) -> list[tuple[Bracket, Decimal]]:
    """``basis`` split over ``parts`` in proportion (rounded; the last part takes the rest)."""
    if len(parts) == 1 or amount == 0:
        return [(parts[0][0], basis)]
    result: list[tuple[Bracket, Decimal]] = []
    given = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        for i, (bracket, part) in enumerate(parts):
            if i == len(parts) - 1:
                share = basis - given
            else:
                share = round_money(basis * part / amount)
                given += share
            result.append((bracket, share))
    return result


def commission_of(basis: Decimal, rate: Decimal, multiplier_milli: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return round_money(basis * rate * multiplier_milli / Decimal(100_000))


def _lines_for(
    *,
    kind: str,
    reference: str,
    day: date,
    rule: CommissionRule,
    basis: Decimal,
    amount: Decimal,
    parts: list[tuple[Bracket, Decimal]],
    source_amount: Decimal,
    source_currency: str,
    opportunity_id: int | None = None,
    payment_id: int | None = None,
) -> list[LineDraft]:
    lines = []
    for bracket, share in split_basis(basis, amount, parts):
        lines.append(
            LineDraft(
                kind=kind,
                reference=reference,
                day=day,
                rule=rule,
                source_amount=source_amount,
                source_currency=source_currency,
                basis=share,
                rate=rule.rate,
                multiplier_milli=bracket.multiplier_milli,
                threshold_bp=bracket.threshold_bp,
                commission=commission_of(share, rule.rate, bracket.multiplier_milli),
                opportunity_id=opportunity_id,
                payment_id=payment_id,
                product_line_id=rule.product_line_id,
            )
        )
    return lines


def _rep_query(rep: User, period: Period) -> FactQuery:
    return FactQuery(period.start, period.end, windows=(OwnerWindow(rep.pk, period.start, period.end),))


def compute_statement(rep: User, period: Period, plan: CommissionPlan) -> Computation:
    """Every line of ``rep``'s statement for ``period`` under ``plan`` (module doc: the rules).

    Queries: the rules (3), the rep's targets (through the targets app, once per basis
    used), the won deals, their product-line sums, the payments and the exchange rates —
    constant in the number of deals."""
    result = Computation()
    rules = rules_for(plan, rep.role)
    by_basis: dict[str, list[CommissionRule]] = defaultdict(list)
    for rule in rules:
        by_basis[rule.basis].append(rule)
    query = _rep_query(rep, period)

    targets: dict[str, TargetInfo] = {}
    for basis in by_basis:
        metric = BASIS_METRIC[basis]
        info = rep_target(rep, metric, period) if any(r.tiers.all() for r in by_basis[basis]) else None
        targets[basis] = info or TargetInfo(None, None, None)

    if by_basis.get(Basis.WON):
        _won_lines(result, by_basis[Basis.WON], query, period, targets[Basis.WON])
    if by_basis.get(Basis.COLLECTED):
        _collected_lines(result, by_basis[Basis.COLLECTED], query, period, targets[Basis.COLLECTED])
    for basis, info in targets.items():
        result.attainment[BASIS_METRIC[basis]] = {
            "target": None if info.target is None else f"{info.target:f}",
            "actual": None if info.actual is None else f"{info.actual:f}",
            "ratio": None if info.ratio is None else f"{info.ratio:f}",
        }
    return result


def _won_lines(
    result: Computation, rules: list[CommissionRule], query: FactQuery, period: Period, info: TargetInfo
) -> None:
    deals = list(
        won_deals_qs(query).order_by("closed_on", "pk").values("pk", "name", "amount", "currency", "closed_on")
    )
    line_rules = {r.product_line_id: r for r in rules if r.product_line_id is not None}
    general = next((r for r in rules if r.product_line_id is None), None)
    line_sums: dict[tuple[int, int], Decimal] = {}
    if line_rules and deals:
        rows = (
            OpportunityLine.objects.filter(
                opportunity__in=won_deals_qs(query).values("pk"), product__category_id__in=sorted(line_rules)
            )
            .values("opportunity_id", "product__category_id")
            .annotate(**money_sum_annotations("t", "total"))
            .order_by()
        )
        for row in rows:
            line_sums[(row["opportunity_id"], row["product__category_id"])] = money_sum_value(row, "t")
    book = RateBook({d["currency"] for d in deals}, period.end)
    brackets = {r.pk: brackets_of(r.tiers.all(), info.target) for r in rules}
    position = Decimal(0)
    for deal in deals:
        day = cast(date, deal["closed_on"])  # never null: won_deals_qs asks for a close date
        amount = book.convert(deal["amount"], deal["currency"], day)
        if amount is None:
            result.missing_rates.add(deal["currency"])
            continue
        covered = Decimal(0)
        for line_id, rule in sorted(line_rules.items()):
            raw = line_sums.get((deal["pk"], line_id))
            if raw is None:
                continue
            covered += raw
            basis = book.convert(raw, deal["currency"], day)
            assert basis is not None
            result.lines += _lines_for(
                kind=LineKind.DEAL,
                reference=deal["name"],
                day=day,
                rule=rule,
                basis=basis,
                amount=amount,
                parts=portions(position, amount, brackets[rule.pk]),
                source_amount=deal["amount"],
                source_currency=deal["currency"],
                opportunity_id=deal["pk"],
            )
        if general is not None and (covered == 0 or deal["amount"] > covered):
            rest = max(deal["amount"] - covered, Decimal(0))
            basis = book.convert(rest, deal["currency"], day)
            assert basis is not None
            result.lines += _lines_for(
                kind=LineKind.DEAL,
                reference=deal["name"],
                day=day,
                rule=general,
                basis=basis,
                amount=amount,
                parts=portions(position, amount, brackets[general.pk]),
                source_amount=deal["amount"],
                source_currency=deal["currency"],
                opportunity_id=deal["pk"],
            )
        position += amount


def _collected_lines(
    result: Computation, rules: list[CommissionRule], query: FactQuery, period: Period, info: TargetInfo
) -> None:
    rule = next((r for r in rules if r.product_line_id is None), None)
    if rule is None:
        return
    payments = list(
        payments_qs(query).order_by("received_on", "pk").values("pk", "number", "amount", "currency", "received_on")
    )
    book = RateBook({p["currency"] for p in payments}, period.end)
    brackets = brackets_of(rule.tiers.all(), info.target)
    position = Decimal(0)
    for payment in payments:
        amount = book.convert(payment["amount"], payment["currency"], payment["received_on"])
        if amount is None:
            result.missing_rates.add(payment["currency"])
            continue
        result.lines += _lines_for(
            kind=LineKind.PAYMENT,
            reference=payment["number"],
            day=payment["received_on"],
            rule=rule,
            basis=amount,
            amount=amount,
            parts=portions(position, amount, brackets),
            source_amount=payment["amount"],
            source_currency=payment["currency"],
            payment_id=payment["pk"],
        )
        position += amount


# --- statements -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementFilters:
    period_key: str = ""
    rep_id: int | None = None
    status: str = ""


def statement_list(user: User, filters: StatementFilters | None = None) -> QuerySet[CommissionStatement]:
    """Statements ``user`` may see, newest period first (``comm_stmt_rep_period``)."""
    f = filters or StatementFilters()
    qs = statements_visible_to(user)
    if f.period_key:
        qs = qs.filter(period_key=f.period_key)
    if f.rep_id:
        qs = qs.filter(rep_id=f.rep_id)
    if f.status:
        qs = qs.filter(status=f.status)
    return qs.select_related("rep", "approved_by").order_by("-period_start", "rep_id", "-sequence", "-id")


def statement_lines(statement: CommissionStatement) -> QuerySet[StatementLine]:
    return statement.lines.select_related("product_line").order_by("position", "id")


def open_statement(rep_id: int, period_key: str) -> CommissionStatement | None:
    """The latest statement of (rep, period), if any."""
    return CommissionStatement.objects.filter(rep_id=rep_id, period_key=period_key).order_by("-sequence").first()


def export_rows(statement: CommissionStatement) -> tuple[list[str], list[list[Any]]]:
    """Headers and cells of a statement export (the lines, then the totals row)."""
    from django.utils.translation import gettext as _

    headers = [
        str(_("Type")),
        str(_("Deal or payment")),
        str(_("Deal ID")),
        str(_("Payment ID")),
        str(_("Date")),
        str(_("Rule")),
        str(_("Amount")),
        str(_("Currency")),
        str(_("Basis")),
        str(_("Base rate (%)")),
        str(_("Multiplier")),
        str(_("Commission")),
        str(_("Company currency")),
    ]
    labels = dict(LineKind.choices)
    rows: list[list[Any]] = []
    for line in statement_lines(statement):
        rows.append(
            [
                str(labels.get(line.kind, line.kind)),
                line.reference,
                line.opportunity_id,
                line.payment_id,
                line.day,
                line.rule_name,
                line.source_amount,
                line.source_currency,
                line.basis,
                line.rate,
                line.multiplier,
                line.commission,
                statement.currency,
            ]
        )
    rows.append(
        [
            str(_("Total")),
            "",
            None,
            None,
            None,
            "",
            None,
            "",
            statement.basis_total,
            None,
            None,
            statement.commission_total,
            statement.currency,
        ]
    )
    return headers, rows


def reps_visible_to(user: User) -> QuerySet[User]:
    """Active people whose statements ``user`` may see (pickers), by name."""
    from salesflow.analytics.selectors import visible_rep_ids

    ids = visible_rep_ids(user)
    qs = User.objects.filter(is_active=True).exclude(username="system")
    if ids is not None:
        qs = qs.filter(pk__in=sorted(ids))
    return qs.order_by("display_name", "username")


def reps_managed_by(user: User) -> QuerySet[User]:
    """Active people ``user`` may make statements for (administrators: everyone with a team)."""
    from salesflow.users.permissions import managed_team_ids

    if user.is_admin:
        return User.objects.filter(is_active=True, team__isnull=False).order_by("display_name", "username")
    teams = managed_team_ids(user)
    return User.objects.filter(is_active=True, team_id__in=sorted(teams)).order_by("display_name", "username")
