"""Computing and storing "most likely achievable revenue" (最可能实现的收入, issue 11 item 3).

* :func:`calibration_compute` (daily job) turns the closed history into the calibration
  tables (``Calibration``): win rates by stage × age bucket × segment with shrinkage, the
  close-date slips by team and the reliability diagram. The method is in
  :mod:`salesflow.achievable.montecarlo`.
* :func:`snapshot_compute` simulates one node's period and stores it (``RevenueSnapshot``);
  :func:`refresh_snapshots` (hourly job) does every node for this month and quarter from ONE
  load of the open deals; :func:`likely_revenue` is what the API, the export and "Recompute
  now" call: the stored figures when fresh, else computed now. :func:`read_likely_revenue` is
  what the page calls: it never computes — a stale snapshot is returned marked stale and a
  missing one as ``None`` while ONE background refresh (``tasks.refresh_node``) is enqueued
  however many readers ask (``core.scheduling.enqueue_once``).

Both tables are derived data (no audit events): nothing a user typed is changed. Callers
have checked that the reader may see the node (``analytics.selectors.node_for_user``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from salesflow.achievable import montecarlo as mc
from salesflow.achievable.models import Calibration, RevenueSnapshot
from salesflow.achievable.selectors import (
    HISTORY_DAYS,
    OpenDeals,
    close_slips,
    latest_calibration,
    open_deals,
    open_stages,
    snapshot,
    stay_counts,
)
from salesflow.analytics.selectors import Node, actual, node_owner_ids_now
from salesflow.core.periods import Period, period_containing
from salesflow.sales.choices import Outcome

Span = Literal["month", "quarter"]
SPANS: tuple[Span, ...] = ("month", "quarter")
#: a stored simulation older than this is recomputed when read (served as stale by the page)
SNAPSHOT_MAX_AGE = timedelta(hours=2)
#: a node's background refresh is enqueued at most once per this interval (a failed one is retried after it)
REFRESH_RETRY = timedelta(minutes=10)
#: a team needs this many won deals' slips to use its own distribution (else the company's)
MIN_TEAM_SLIPS = 30
#: a stored slip distribution keeps at most this many order statistics
SLIP_POINTS = 1001


def _compress(slips: list[int]) -> list[int]:
    a = np.sort(np.asarray(slips, dtype=np.float64))
    if a.size > SLIP_POINTS:
        a = np.quantile(a, np.linspace(0, 1, SLIP_POINTS))
    return [int(v) for v in np.rint(a)]


def _bins(bins: list[mc.ReliabilityBin]) -> list[dict[str, Any]]:
    return [{"lo": b.lo, "hi": b.hi, "n": b.n, "predicted": b.predicted, "actual": b.actual} for b in bins]


@transaction.atomic
def calibration_compute(today: date | None = None) -> Calibration:
    """Compute the calibration tables from the deals closed in the last ``HISTORY_DAYS``
    days and store them as the latest ``Calibration`` (older rows are deleted). Three
    queries of history (grouped stays, won deals, their expected-close history) and the
    stages. Idempotent: running it twice gives the same tables."""
    today = today or timezone.localdate()
    since = today - timedelta(days=HISTORY_DAYS)
    stages = open_stages()
    stage_ids = [s.pk for s in stages]
    configured = [s.probability / 100 for s in stages]
    rows = stay_counts(stage_ids, since)
    team_ids = sorted({r["owner_team_id"] for r in rows if r["owner_team_id"] is not None})
    s_index = {pk: i for i, pk in enumerate(stage_ids)}
    g_index = {pk: i for i, pk in enumerate(team_ids)}
    n_g = len(team_ids) + 1  # the last segment: deals of no team
    exact_n = np.zeros((len(stage_ids), n_g, len(mc.AGE_BUCKETS)), dtype=np.int64)
    exact_w = np.zeros_like(exact_n)
    for r in rows:
        s = s_index[r["from_stage_id"]]
        g = g_index.get(r["owner_team_id"], n_g - 1)
        exact_n[s, g, r["bucket"]] += r["n"]
        if r["opportunity__outcome"] == Outcome.WON:
            exact_w[s, g, r["bucket"]] += r["n"]
    cal = mc.calibrate(exact_n, exact_w, configured)
    # the reliability diagram over every (stage, bucket, segment) checkpoint with cases
    seg_n, seg_w = cal.n[:, :, :-1], cal.wins[:, :, :-1]
    has = seg_n > 0
    conf_b = np.broadcast_to(np.asarray(configured)[:, None, None], seg_n.shape)
    reliability = {
        "configured": _bins(mc.reliability(conf_b[has], seg_n[has], seg_w[has])),
        "calibrated": _bins(mc.reliability(cal.rates[:, :, :-1][has], seg_n[has], seg_w[has])),
    }
    slips = close_slips(since)
    every = [x for values in slips.values() for x in values]
    data = {
        "stage_ids": stage_ids,
        "configured": configured,
        "team_ids": team_ids,
        "age_buckets": list(mc.AGE_BUCKETS),
        "prior_strength": mc.PRIOR_STRENGTH,
        "stage_rate": cal.stage_rate.tolist(),
        "stage_n": cal.n[:, 0, -1].tolist(),
        "bucket_rate": cal.bucket_rate.tolist(),
        "bucket_n": cal.n[:, :, -1].tolist(),
        "rates": cal.rates.tolist(),
        "stays": int(exact_n.sum()),
        "slips": {
            "all": _compress(every),
            **{str(t): _compress(v) for t, v in slips.items() if t is not None and len(v) >= MIN_TEAM_SLIPS},
        },
        "slip_counts": {"all": len(every), **{str(t): len(v) for t, v in slips.items() if t is not None}},
        "reliability": reliability,
    }
    row = Calibration.objects.create(computed_at=timezone.now(), history_from=since, history_to=today, data=data)
    Calibration.objects.exclude(pk=row.pk).delete()
    return row


def current_calibration() -> Calibration:
    """The latest calibration, computed now when there is none yet."""
    return latest_calibration() or calibration_compute()


def period_of(span: Span, today: date) -> Period:
    """This month or this (fiscal) quarter."""
    return period_containing(span, today)


def simulate_deals(deals: OpenDeals, cal: dict[str, Any], period: Period, today: date, closed: float) -> dict[str, Any]:
    """The figures of one node: each deal's calibrated win rate (stage, age bucket, its
    owner's team; the configured probability for a stage without calibration) times the
    chance it closes by the period's end (its team's slips, else the company's), simulated
    ``mc.N_SIMS`` times with the fixed seed ``mc.SEED``."""
    s_index = {pk: i for i, pk in enumerate(cal["stage_ids"])}
    g_index = {pk: i for i, pk in enumerate(cal["team_ids"])}
    rates = np.asarray(cal["rates"], dtype=np.float64)
    n_any = rates.shape[2] - 1 if rates.ndim == 3 else 0
    s = np.fromiter((s_index.get(int(x), -1) for x in deals.stage_ids), dtype=np.int64, count=deals.ids.size)
    g = np.fromiter((g_index.get(int(x), n_any) for x in deals.team_ids), dtype=np.int64, count=deals.ids.size)
    b = mc.age_bucket(deals.age_days)
    known = s >= 0
    p_win = deals.configured.copy()
    if rates.ndim == 3 and known.any():
        p_win[known] = rates[s[known], b[known], g[known]]
    horizon = float((period.end - today).days)
    offset = np.where(np.isnan(deals.expected_offset), 0.0, deals.expected_offset)
    lower, upper = -offset, horizon - offset
    slips = cal["slips"]
    fallback = np.asarray(slips.get("all") or [0], dtype=np.float64)
    p_time = np.zeros(deals.ids.size, dtype=np.float64)
    for team in np.unique(deals.team_ids):
        mask = deals.team_ids == team
        own = slips.get(str(int(team)))
        dist = np.asarray(own, dtype=np.float64) if own else fallback
        p_time[mask] = mc.time_probability(dist, lower[mask], upper[mask])
    q = p_win * p_time
    totals = mc.simulate(deals.amounts, q, n_sims=mc.N_SIMS, seed=mc.SEED)
    summary = mc.summarise(closed, deals.amounts, q, totals)
    due = ~np.isnan(deals.expected_offset) & (deals.expected_offset <= horizon)
    configured_ev = closed + float(deals.amounts[due] @ deals.configured[due])
    counts, edges = np.histogram(closed + totals, bins=20)
    by_stage = []
    for stage_id in cal["stage_ids"] + sorted(set(deals.stage_ids.tolist()) - set(cal["stage_ids"])):
        m = deals.stage_ids == stage_id
        if not m.any():
            continue
        by_stage.append(
            {
                "stage_id": int(stage_id),
                "deals": int(m.sum()),
                "amount": float(deals.amounts[m].sum()),
                "configured": float(deals.configured[m].mean()),
                "calibrated": float(p_win[m].mean()),
                "in_period": float((p_time[m] > 0).sum()),
                "expected": float(deals.amounts[m] @ q[m]),
            }
        )
    return {
        "period": period.key,
        "closed": closed,
        "p10": summary.p10,
        "p50": summary.p50,
        "p90": summary.p90,
        "mean": summary.mean,
        "analytic_mean": summary.analytic_mean,
        "configured_ev": configured_ev,
        "open_deals": int(deals.ids.size),
        "simulated": int((q > 0).sum()),
        "n_sims": mc.N_SIMS,
        "seed": mc.SEED,
        "missing_rates": sorted(deals.missing_rates),
        "by_stage": by_stage,
        "histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
    }


def _closed_revenue(node: Node, period: Period) -> tuple[float, int, list[str]]:
    found = actual("won_revenue", node, period)
    return float(found.value), found.count, sorted(found.missing_rates)


def _store(node: Node, period: Period, data: dict[str, Any]) -> RevenueSnapshot:
    now = timezone.now()
    try:
        with transaction.atomic():
            row, _created = RevenueSnapshot.objects.update_or_create(
                node_key=node.key, period_key=period.key, defaults={"data": data, "computed_at": now}
            )
            return row
    except IntegrityError:  # a concurrent reader stored it first: theirs is as fresh
        found = snapshot(node.key, period.key)
        assert found is not None
        return found


def snapshot_compute(
    node: Node, span: Span, today: date | None = None, *, deals: OpenDeals | None = None
) -> RevenueSnapshot:
    """Simulate ``node``'s current month or quarter now and store it. ``deals`` may be given
    already loaded (the hourly job loads everyone's once)."""
    today = today or timezone.localdate()
    period = period_of(span, today)
    cal = current_calibration()
    if deals is None:
        deals = open_deals(node_owner_ids_now(node), today)
    closed, closed_count, closed_missing = _closed_revenue(node, period)
    data = simulate_deals(deals, cal.data, period, today, closed)
    data.update(
        {
            "node": node.key,
            "span": span,
            "closed_count": closed_count,
            "missing_rates": sorted(set(data["missing_rates"]) | set(closed_missing)),
            "calibration_computed_at": cal.computed_at.isoformat(),
        }
    )
    return _store(node, period, data)


def likely_revenue(node: Node, span: Span, today: date | None = None, *, fresh: bool = False) -> RevenueSnapshot:
    """The node's figures for this month or quarter: the stored snapshot when younger than
    ``SNAPSHOT_MAX_AGE`` (one query), else computed now and stored (``fresh`` forces it)."""
    today = today or timezone.localdate()
    period = period_of(span, today)
    if not fresh:
        found = snapshot(node.key, period.key)
        if found is not None and found.computed_at >= timezone.now() - SNAPSHOT_MAX_AGE:
            return found
    return snapshot_compute(node, span, today)


@dataclass(frozen=True)
class Reading:
    """What the page shows: the stored simulation (``None``: none yet, a refresh is on its
    way), whether it is older than ``SNAPSHOT_MAX_AGE``, and whether this read enqueued the
    refresh (``False`` when another reader's is already queued)."""

    snapshot: RevenueSnapshot | None
    stale: bool
    enqueued: bool


def read_likely_revenue(node: Node, span: Span, today: date | None = None) -> Reading:
    """The node's stored figures for this month or quarter without computing them (one
    query, plus the enqueue when they are stale or missing)."""
    from salesflow.achievable.tasks import refresh_node
    from salesflow.core.scheduling import enqueue_once, time_bucket

    today = today or timezone.localdate()
    period = period_of(span, today)
    found = snapshot(node.key, period.key)
    if found is not None and found.computed_at >= timezone.now() - SNAPSHOT_MAX_AGE:
        return Reading(found, stale=False, enqueued=False)
    digest = hashlib.sha256(f"{node.key}|{period.key}".encode()).hexdigest()[:16]
    version = int(found.computed_at.timestamp()) if found is not None else 0
    enqueued = enqueue_once(
        "achievable.refresh_node",
        f"{digest}-{version}-{time_bucket(REFRESH_RETRY)}",
        refresh_node,
        node_key=node.key,
        span=span,
        today=today.isoformat(),
    )
    return Reading(found, stale=found is not None, enqueued=enqueued)


def refresh_snapshots(today: date | None = None) -> int:
    """Every node's figures (company, each team, each person with open deals or a team) for
    this month and this quarter, from ONE load of every open deal. Returns the number of
    snapshots written; removes snapshots of past periods."""
    from salesflow.users.models import Team, User

    today = today or timezone.localdate()
    deals = open_deals(None, today)
    nodes = [Node("company")]
    nodes += [Node("team", t.pk, t.name) for t in Team.objects.order_by("pk")]
    owners = set(deals.owner_ids.tolist())
    nodes += [Node("rep", u.pk, str(u)) for u in User.objects.filter(is_active=True).order_by("pk") if u.pk in owners]
    n = 0
    keys = set()
    for node in nodes:
        owner_ids = node_owner_ids_now(node)
        subset = deals if owner_ids is None else deals.subset(np.isin(deals.owner_ids, sorted(owner_ids)))
        for span in SPANS:
            keys.add(period_of(span, today).key)
            snapshot_compute(node, span, today, deals=subset)
            n += 1
    RevenueSnapshot.objects.exclude(period_key__in=keys).delete()
    return n
