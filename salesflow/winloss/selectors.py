"""Win/loss drivers (赢单因素, issue 11 item 6): which attributes go with winning.

Population: the deals closed (won or lost) on their actual close date ``closed_on`` inside the
period, owned within the node's owner windows (team at the time) and matching the filters —
exactly ``analytics.selectors.closed_deals_qs``. A reopened deal has no ``closed_on`` and is
not counted.

Attributes of each closed deal (read by a constant number of grouped queries, never one per
deal):

* **source**, **industry**, **company size** — the account's fields; blank is its own value
  ("not recorded");
* **activities** — done activities linked to the deal, in fixed bins 0 / 1–2 / 3–5 / 6–10 / 11+;
* **objections** — objections logged on the deal (``objections.DealObjection``): the count in
  bins 0 / 1 / 2 / 3+, and for each objection category the deals that raised at least one;
* **discount** — the deal lines' money-weighted discount, Σ line discount ÷ Σ line gross
  (``catalogue.OpportunityLine``; all lines of a deal share its currency, so the ratio needs
  no conversion), in bins 0 % / ≤5 % / ≤10 % / ≤20 % / >20 %; deals without lines (or with
  lines worth nothing) are their own bin. Quotes are not used: a deal may hold several
  superseded quotes, while its lines are what it was finally priced at;
* **time in each stage** — the days a deal spent in a stage, summed over its exits of that
  stage (``StageChange.duration_seconds`` of changes *from* the stage), binned by the
  quartiles of those days over the closed deals that passed through the stage. The
  comparison for a stage is among the deals that passed through it.

For every value: closed n, won n, the win rate with its Wilson interval
(``core.stats.wilson_interval``), and the difference against the rest of the same population
(``core.stats.two_proportion_test``: value − rest, its Wald interval, the p-value and both
sample sizes). A difference is **significant** only when p < 0.05 and both sides have at least
``MIN_CASES`` deals; otherwise it is labelled "not significant" or "too few cases".

A regularised (L2) logistic regression over the same attributes is added when there are
enough deals (``model.fit_model``); its odds ratios carry bootstrap intervals.

The result is **language-neutral**: attributes are keys (``source``, ``stage:<id>``…), values
are codes (a source channel's code, a bin key, an objection category's id) with the numbers a
label needs (a bin's ``lower``/``upper``), notes are codes with parameters. No text is
translated here; ``winloss.labels.localize`` names everything in the reader's language when the
figures are shown, so one stored snapshot serves every language.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from django.db.models import BigIntegerField, Count, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from salesflow.activities.models import Activity
from salesflow.analytics.selectors import AnalysisFilters, analysis_fact_query, closed_deals_qs
from salesflow.catalogue.models import OpportunityLine
from salesflow.core.stats import two_proportion_test, wilson_interval
from salesflow.objections.models import DealObjection, ObjectionCategory
from salesflow.parties.choices import CompanySize, Industry, SourceChannel
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Stage, StageChange

#: below this many closed deals on either side a difference is "too few cases"
MIN_CASES = 10
ALPHA = 0.05

Verdict = Literal["significant", "not_significant", "too_few"]

ACTIVITY_BINS: tuple[tuple[int, int | None], ...] = ((0, 0), (1, 2), (3, 5), (6, 10), (11, None))
OBJECTION_BINS: tuple[tuple[int, int | None], ...] = ((0, 0), (1, 1), (2, 2), (3, None))
#: discount bins: (key, lower exclusive bound, upper inclusive bound) as fractions
DISCOUNT_BINS: tuple[tuple[str, float, float], ...] = (
    ("0", -1.0, 0.0),
    ("5", 0.0, 0.05),
    ("10", 0.05, 0.10),
    ("20", 0.10, 0.20),
    ("more", 0.20, 10.0),
)


@dataclass
class Value:
    """One attribute value (``key``: its code; ``lower``/``upper``: the bounds of a count bin,
    or of a time-in-stage bin in days, ``None`` when open or not a range): its closed and won
    deals, win rate and the comparison with the rest."""

    key: str
    closed: int
    won: int
    win_rate: float | None
    ci_low: float | None
    ci_high: float | None
    rest_closed: int
    rest_won: int
    rest_win_rate: float | None
    difference: float | None  # this value's win rate − the rest's
    diff_low: float | None
    diff_high: float | None
    p_value: float | None
    verdict: Verdict
    lower: float | None = None
    upper: float | None = None

    @property
    def significant(self) -> bool:
        return self.verdict == "significant"


@dataclass
class Driver:
    """One attribute (``key``: source, industry, size, activities, objections,
    objection_kinds, discount, stage:<id>) and its values; its title and note follow from the
    key (``labels.driver_title``, ``labels.driver_note``)."""

    key: str
    values: list[Value]
    population: int  # closed deals the comparison runs over


@dataclass
class Term:
    """One coefficient of the logistic regression as an odds ratio with its bootstrap interval:
    ``feature`` is ``<attribute>=<value code>``, read against the ``reference`` value's code."""

    feature: str
    attribute: str
    value: str
    reference: str
    coefficient: float
    odds_ratio: float
    or_low: float | None
    or_high: float | None
    significant: bool  # the interval excludes 1


@dataclass
class Model:
    """The regularised logistic regression (or why there is none: ``terms`` empty,
    ``note_code`` set). ``note_code``: ``too_few_deals`` (params n, won, min, each),
    ``no_variation``, ``sampled`` (params n, total) or empty."""

    n: int  # deals the model was fitted on
    won: int
    population: int  # closed deals available
    bootstrap: int  # bootstrap resamples that fitted
    penalty_c: float
    terms: list[Term] = field(default_factory=list)
    note_code: str = ""
    note_params: dict[str, int] = field(default_factory=dict)


@dataclass
class WinLoss:
    """The drivers of the node's closed deals in the period."""

    closed: int
    won: int
    win_rate: float | None
    ci_low: float | None
    ci_high: float | None
    drivers: list[Driver]
    model: Model | None


# ------------------------------------------------------------------------------ comparisons


def verdict_of(p_value: float | None, n: int, rest_n: int) -> Verdict:
    """``too_few`` when either side has fewer than ``MIN_CASES`` deals (or no p-value),
    ``significant`` when p < 0.05, else ``not_significant``."""
    if p_value is None or n < MIN_CASES or rest_n < MIN_CASES:
        return "too_few"
    return "significant" if p_value < ALPHA else "not_significant"


def compare(
    key: str,
    won: int,
    closed: int,
    total_won: int,
    total_closed: int,
    bounds: tuple[float | None, float | None] = (None, None),
) -> Value:
    """The value's win rate and Wilson interval, and its difference against the rest of a
    population of ``total_closed`` deals of which ``total_won`` were won."""
    rest_won, rest_closed = total_won - won, total_closed - closed
    interval = wilson_interval(won, closed)
    test = two_proportion_test(rest_won, rest_closed, won, closed)
    return Value(
        key=key,
        closed=closed,
        won=won,
        win_rate=won / closed if closed else None,
        ci_low=interval[0] if interval else None,
        ci_high=interval[1] if interval else None,
        rest_closed=rest_closed,
        rest_won=rest_won,
        rest_win_rate=rest_won / rest_closed if rest_closed else None,
        difference=test.difference,
        diff_low=test.ci_low,
        diff_high=test.ci_high,
        p_value=test.p_value,
        verdict=verdict_of(test.p_value, closed, rest_closed),
        lower=bounds[0],
        upper=bounds[1],
    )


# ------------------------------------------------------------------------------ the deals


@dataclass
class DealFrame:
    """The closed deals as columns (one entry per deal, same order in every array)."""

    ids: np.ndarray[Any, Any]
    won: np.ndarray[Any, Any]  # bool
    source: list[str]
    industry: list[str]
    size: list[str]
    activities: np.ndarray[Any, Any]  # int
    objections: np.ndarray[Any, Any]  # int
    discount: np.ndarray[Any, Any]  # float; NaN = no priced lines
    #: stage id → (deal index array, days array): the deals that left the stage and their days
    stage_days: dict[int, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]
    #: objection category id → deal index array of the deals that raised one
    objection_kinds: dict[int, np.ndarray[Any, Any]]

    @property
    def n(self) -> int:
        return int(self.ids.size)


def load_deals(analysis: AnalysisFilters) -> DealFrame:
    """The closed deals of ``analysis`` and their attributes: three grouped queries (the deals
    with their counts and line sums as correlated aggregates; stage exits grouped by deal and
    stage; objection categories per deal) plus the stages' and categories' order."""
    base = closed_deals_qs(analysis_fact_query(analysis))
    activities = (
        Activity.objects.filter(opportunity_id=OuterRef("pk"), done=True)
        .order_by()
        .values("opportunity_id")
        .annotate(c=Count("pk"))
        .values("c")
    )
    objections = (
        DealObjection.objects.filter(opportunity_id=OuterRef("pk"))
        .order_by()
        .values("opportunity_id")
        .annotate(c=Count("pk"))
        .values("c")
    )
    lines = OpportunityLine.objects.filter(opportunity_id=OuterRef("pk")).order_by().values("opportunity_id")
    raw: BigIntegerField[int, int] = BigIntegerField()
    rows = list(
        base.order_by()
        .annotate(
            n_act=Coalesce(Subquery(activities, output_field=IntegerField()), 0),
            n_obj=Coalesce(Subquery(objections, output_field=IntegerField()), 0),
            l_gross=Subquery(lines.annotate(s=Sum("gross", output_field=raw)).values("s"), output_field=raw),
            l_disc=Subquery(lines.annotate(s=Sum("discount", output_field=raw)).values("s"), output_field=raw),
        )
        .values_list(
            "pk",
            "outcome",
            "account__source",
            "account__industry",
            "account__size",
            "n_act",
            "n_obj",
            "l_gross",
            "l_disc",
        )
    )
    rows.sort(key=lambda r: r[0])
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    index = {int(pk): i for i, pk in enumerate(ids)}
    discount = np.array(
        [(r[8] or 0) / r[7] if r[7] else np.nan for r in rows],
        dtype=float,
    )
    frame = DealFrame(
        ids=ids,
        won=np.array([r[1] == Outcome.WON for r in rows], dtype=bool),
        source=[r[2] or "" for r in rows],
        industry=[r[3] or "" for r in rows],
        size=[r[4] or "" for r in rows],
        activities=np.array([r[5] or 0 for r in rows], dtype=np.int64),
        objections=np.array([r[6] or 0 for r in rows], dtype=np.int64),
        discount=discount,
        stage_days={},
        objection_kinds={},
    )
    if not rows:
        return frame
    deal_ids = base.order_by().values("pk")
    per_stage: dict[int, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for deal_id, stage_id, seconds in (
        StageChange.objects.filter(opportunity_id__in=deal_ids, from_stage__isnull=False, duration_seconds__gte=0)
        .order_by()
        .values("opportunity_id", "from_stage_id")
        .annotate(s=Sum("duration_seconds"))
        .values_list("opportunity_id", "from_stage_id", "s")
    ):
        i = index.get(deal_id)
        if i is None:
            continue
        idx, days = per_stage[stage_id]
        idx.append(i)
        days.append(float(seconds) / 86400.0)
    frame.stage_days = {
        sid: (np.array(idx, dtype=np.int64), np.array(days, dtype=float)) for sid, (idx, days) in per_stage.items()
    }
    stages = (
        Stage.objects.filter(pk__in=list(per_stage)).order_by("pipeline_id", "position").values_list("pk", flat=True)
    )
    # keep the stages in pipeline order
    frame.stage_days = {pk: frame.stage_days[pk] for pk in stages}
    kinds: dict[int, list[int]] = defaultdict(list)
    for deal_id, category_id in (
        DealObjection.objects.filter(opportunity_id__in=deal_ids)
        .order_by()
        .values_list("opportunity_id", "objection__category_id")
        .distinct()
    ):
        i = index.get(deal_id)
        if i is not None and category_id is not None:
            kinds[category_id].append(i)
    categories = (
        ObjectionCategory.objects.filter(pk__in=list(kinds)).order_by("position", "pk").values_list("pk", flat=True)
    )
    frame.objection_kinds = {pk: np.array(sorted(kinds[pk]), dtype=np.int64) for pk in categories}
    return frame


# ------------------------------------------------------------------------------ bins


@dataclass(frozen=True)
class Bin:
    """One value of an attribute: its code, the deals that have it (a boolean mask) and, for a
    range, its bounds (``upper`` ``None``: open)."""

    key: str
    mask: Any
    lower: float | None = None
    upper: float | None = None


def count_bins(values: np.ndarray[Any, Any], bins: tuple[tuple[int, int | None], ...]) -> list[Bin]:
    """The fixed count bins; key ``"<lo>-<hi>"`` (``"<lo>-"`` when open)."""
    out = []
    for lo, hi in bins:
        mask = values >= lo if hi is None else (values >= lo) & (values <= hi)
        out.append(Bin(f"{lo}-{hi if hi is not None else ''}", mask, lo, hi))
    return out


def discount_bins(discount: np.ndarray[Any, Any]) -> list[Bin]:
    """The discount bins (keys of ``DISCOUNT_BINS``); deals without priced lines first (``none``)."""
    none = np.isnan(discount)
    filled = np.where(none, -2.0, discount)
    out: list[Bin] = [Bin("none", none)]
    for key, lo, hi in DISCOUNT_BINS:
        mask = ~none & (filled > lo) & (filled <= hi) if key != "0" else ~none & (filled <= 0.0)
        out.append(Bin(key, mask))
    return out


def quartile_edges(days: np.ndarray[Any, Any]) -> list[float]:
    """The 25th, 50th and 75th percentiles (numpy linear) of ``days``, duplicates removed."""
    edges = [float(x) for x in np.percentile(days, [25, 50, 75])]
    unique: list[float] = []
    for e in edges:
        if not unique or e > unique[-1]:
            unique.append(e)
    return unique


def stage_bins(days: np.ndarray[Any, Any]) -> list[Bin]:
    """The quartile bins over ``days``: ≤ q1, (q1, q2], (q2, q3], > q3 (fewer bins when
    quartiles coincide); bounds in days."""
    edges = quartile_edges(days)
    out: list[Bin] = []
    lo: float | None = None
    for i, hi in enumerate(edges):
        mask = days <= hi if lo is None else (days > lo) & (days <= hi)
        out.append(Bin(f"q{i + 1}", mask, lo, hi))
        lo = hi
    if lo is not None:
        out.append(Bin(f"q{len(edges) + 1}", days > lo, lo, None))
    return [b for b in out if b.mask.any()]


def _choice_bins(values: list[str], codes: list[str]) -> list[Bin]:
    """One bin per code present, in the choices' order; codes outside the choices after them
    (sorted); blank ("not recorded") last."""
    arr = np.array(values, dtype=object)
    present = set(values)
    out = [Bin(k, arr == k) for k in codes if k in present]
    known = set(codes)
    out.extend(Bin(k, arr == k) for k in sorted(v for v in present if v and v not in known))
    if "" in present:
        out.append(Bin("", arr == ""))
    return out


def _driver(key: str, won: np.ndarray[Any, Any], bins: list[Bin]) -> Driver:
    total_closed, total_won = int(won.size), int(won.sum())
    values = []
    for b in bins:
        closed = int(b.mask.sum())
        if closed == 0:
            continue
        values.append(compare(b.key, int(won[b.mask].sum()), closed, total_won, total_closed, (b.lower, b.upper)))
    return Driver(key=key, values=values, population=total_closed)


def drivers_of(frame: DealFrame) -> list[Driver]:
    """Every attribute's comparison over ``frame`` (numpy over the columns); attributes
    with a single value among these deals are left out (not the objection kinds: each kind
    is compared with all other deals, so one kind is a comparison)."""
    if frame.n == 0:
        return []
    won = frame.won
    drivers = [
        _driver("source", won, _choice_bins(frame.source, list(SourceChannel.values))),
        _driver("industry", won, _choice_bins(frame.industry, list(Industry.values))),
        _driver("size", won, _choice_bins(frame.size, list(CompanySize.values))),
        _driver("activities", won, count_bins(frame.activities, ACTIVITY_BINS)),
        _driver("objections", won, count_bins(frame.objections, OBJECTION_BINS)),
    ]
    if frame.objection_kinds:
        total_closed, total_won = frame.n, int(won.sum())
        values = [
            compare(str(cid), int(won[idx].sum()), int(idx.size), total_won, total_closed)
            for cid, idx in frame.objection_kinds.items()
        ]
        drivers.append(Driver(key="objection_kinds", values=values, population=total_closed))
    drivers.append(_driver("discount", won, discount_bins(frame.discount)))
    for sid, (idx, days) in frame.stage_days.items():
        drivers.append(_driver(f"stage:{sid}", won[idx], stage_bins(days)))
    # an attribute with one value has nothing to compare against
    return [d for d in drivers if len(d.values) >= 2 or d.key == "objection_kinds"]


def win_loss(analysis: AnalysisFilters, *, with_model: bool = True) -> WinLoss:
    """The drivers of ``analysis`` (the caller has checked the node) and, when asked, the model."""
    from salesflow.winloss.model import fit_model

    frame = load_deals(analysis)
    won_n = int(frame.won.sum())
    interval = wilson_interval(won_n, frame.n)
    return WinLoss(
        closed=frame.n,
        won=won_n,
        win_rate=won_n / frame.n if frame.n else None,
        ci_low=interval[0] if interval else None,
        ci_high=interval[1] if interval else None,
        drivers=drivers_of(frame),
        model=fit_model(frame) if with_model else None,
    )
