"""Chart figures computed once and kept (issue 10 item 5, speed at bench scale).

``chart_data`` answers from a :class:`ChartSnapshot` younger than ``SNAPSHOT_MAX_AGE`` (or
computes the chart live and stores it); ``refresh_snapshots`` recomputes the widest views
(the company's and each top team's default dashboard in both languages) and is run by the
scheduled task ``dashboards.tasks.refresh_dashboards`` and the page's "Refresh" button.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from salesflow.analytics.forms import AnalysisFilters
from salesflow.billing.permissions import sees_no_money
from salesflow.dashboards.charts import CHARTS, Chart
from salesflow.dashboards.models import ChartSnapshot
from salesflow.users.models import User

#: a snapshot older than this is recomputed when read
SNAPSHOT_MAX_AGE = timedelta(minutes=15)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def chart_dict(chart: Chart) -> dict[str, Any]:
    """The chart as JSON-ready data (Decimals and dates as strings)."""
    result: dict[str, Any] = _plain(asdict(chart))
    return result


def snapshot_key(chart: str, a: AnalysisFilters, today: date) -> str:
    raw = json.dumps([chart, sorted(a.params.items()), translation.get_language() or "", today.isoformat()])
    return hashlib.sha256(raw.encode()).hexdigest()


def compute(chart: str, a: AnalysisFilters, today: date) -> dict[str, Any]:
    data = chart_dict(CHARTS[chart](a, today))
    data["computed_at"] = timezone.now().isoformat()
    return data


def _store(chart: str, key: str, data: dict[str, Any]) -> None:
    now = timezone.now()
    try:
        with transaction.atomic():
            ChartSnapshot.objects.update_or_create(chart=chart, key=key, defaults={"data": data, "computed_at": now})
    except IntegrityError:  # a concurrent request stored it first: theirs is as fresh
        pass


def without_money(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of the chart ``data`` for a reader who sees no money (support; the billing
    money policy, ``billing.permissions.sees_no_money``): every amount is ``None`` — the cells
    of "money" columns (unless the row says it holds counts), every figure of a "money" row
    but its label, the headline figure when it is an amount — and the series of amounts are
    dropped. Counts, rates and percentages stay."""
    money_cols = [i for i, c in enumerate(data["columns"]) if c["kind"] == "money"]
    units: list[str] = list(data.get("row_units") or [])
    rows = []
    for n, row in enumerate(data["rows"]):
        unit = units[n] if n < len(units) else ""
        hidden = range(1, len(row)) if unit == "money" else ([] if unit == "count" else money_cols)
        rows.append([None if i in hidden else cell for i, cell in enumerate(row)])
    result = {**data, "rows": rows, "series": [s for s in data["series"] if not s.get("money")]}
    if data.get("figure_money"):
        result["figure"] = ""
    return result


def chart_data(
    chart: str, a: AnalysisFilters, today: date, *, reader: User | None, fresh: bool = False
) -> dict[str, Any]:
    """The chart's data for the filters ``a`` (already checked for the reader), from a recent
    snapshot when there is one (one query), else computed and stored. With a ``reader`` who
    sees no money, the amounts are taken out (:func:`without_money`); the snapshot is the
    same for every reader. ``reader`` is required so no caller forgets it: ``None`` only for
    work done for nobody (the refresh job, which discards the result)."""
    data = _chart_data(chart, a, today, fresh=fresh)
    return without_money(data) if reader is not None and sees_no_money(reader) else data


def _chart_data(chart: str, a: AnalysisFilters, today: date, *, fresh: bool) -> dict[str, Any]:
    key = snapshot_key(chart, a, today)
    if not fresh:
        snap = ChartSnapshot.objects.filter(
            chart=chart, key=key, computed_at__gte=timezone.now() - SNAPSHOT_MAX_AGE
        ).first()
        if snap is not None:
            cached: dict[str, Any] = snap.data
            return cached
    data = compute(chart, a, today)
    _store(chart, key, data)
    return data


def prune_snapshots(older_than: timedelta = timedelta(days=2)) -> int:
    deleted, _rows = ChartSnapshot.objects.filter(computed_at__lt=timezone.now() - older_than).delete()
    return deleted


def refresh_widest(today: date | None = None) -> int:
    """Recompute the default views that cost most: the company's dashboard and each top
    team's (no other filter, this month), in every language; prune old snapshots. Returns
    the number of charts computed."""
    from django.conf import settings

    from salesflow.analytics.selectors import Node
    from salesflow.core.metrics import MetricFilters
    from salesflow.core.periods import period_containing
    from salesflow.users.models import Team

    today = today or timezone.localdate()
    period = period_containing("month", today)
    nodes = [Node("company")] + [Node("team", t.pk, t.name) for t in Team.objects.filter(parent__isnull=True)]
    n = 0
    for node in nodes:
        params = {
            "period": period.key,
            "node": node.key,
            "pipeline": "",
            "product_line": "",
            "region": "",
            "source": "",
        }
        a = AnalysisFilters(period=period, node=node, filters=MetricFilters(), params=params)
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                for chart in CHARTS:
                    if node.kind == "rep" and chart == "activity":
                        continue
                    chart_data(chart, a, today, reader=None, fresh=True)
                    n += 1
    prune_snapshots()
    return n
