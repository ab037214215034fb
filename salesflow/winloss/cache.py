"""Win/loss drivers computed once and kept (speed at bench scale).

One :class:`WinLossSnapshot` per set of cleaned filters holds the latest figures with the time
they were computed. The figures are language-neutral (keys, codes and numbers, see
``selectors``): the same row serves readers of every language, who get the labels from
``winloss.labels.localize`` when the figures are shown. Readers never wait for a computation:

- :func:`read` (the page) answers from the snapshot: fresh (younger than
  ``SNAPSHOT_MAX_AGE``) as it is; stale marked ``stale`` with its computed time, while a
  background refresh is enqueued; missing as ``None`` (the page shows "computing" and polls).
  The refresh (``winloss.tasks.refresh_view``) is enqueued once per ``REFRESH_RETRY`` however
  many readers ask (``core.scheduling.enqueue_once``).
- :func:`drivers_data` (the API and "Refresh figures") computes when there is no fresh
  snapshot (``selectors.win_loss``: a constant number of grouped queries plus the model).

``refresh_defaults`` recomputes the views readers open first — the company, every team and
every rep, this month, this quarter and this fiscal year, without other filters (once each:
no language is involved) — and is run by ``winloss.tasks``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from salesflow.analytics.forms import AnalysisFilters
from salesflow.winloss.models import WinLossSnapshot
from salesflow.winloss.selectors import win_loss

#: a snapshot older than this is served as stale while a refresh is enqueued
SNAPSHOT_MAX_AGE = timedelta(hours=2)
#: a view's background refresh is enqueued at most once per this interval (a failed one is retried after it)
REFRESH_RETRY = timedelta(minutes=10)


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return str(value)


def snapshot_key(a: AnalysisFilters) -> str:
    """The digest of the cleaned filters (not the language: the figures hold no text; not the
    day: yesterday's figures for the same filters are the stale answer served while today's are
    computed)."""
    raw = json.dumps(sorted(a.params.items()))
    return hashlib.sha256(raw.encode()).hexdigest()


def compute(a: AnalysisFilters) -> dict[str, Any]:
    """The drivers of ``a`` as JSON-ready, language-neutral data with ``computed_at``."""
    result = win_loss(a)
    data: dict[str, Any] = _plain(asdict(result))
    for driver in data["drivers"]:
        for value in driver["values"]:
            value["significant"] = value["verdict"] == "significant"
    data["computed_at"] = timezone.now().isoformat()
    return data


def _store(key: str, data: dict[str, Any]) -> None:
    try:
        with transaction.atomic():
            WinLossSnapshot.objects.update_or_create(key=key, defaults={"data": data, "computed_at": timezone.now()})
    except IntegrityError:  # a concurrent request stored it first: theirs is as fresh
        pass


@dataclass(frozen=True)
class Reading:
    """What a reader gets: the figures (``None``: none computed yet, a refresh is on its
    way), whether they are older than ``SNAPSHOT_MAX_AGE``, and whether this read enqueued
    the refresh (``False`` when another reader's is already queued)."""

    data: dict[str, Any] | None
    stale: bool
    enqueued: bool


def request_refresh(a: AnalysisFilters, today: date, stale_since: datetime | None = None) -> bool:
    """Enqueue the background recomputation of ``a``, once for the same filters and the same
    stored version (``stale_since``: its computed time; ``None`` when there is none) per
    ``REFRESH_RETRY``, whatever the readers' languages; ``True`` if this call enqueued it."""
    from salesflow.core.scheduling import enqueue_once, time_bucket
    from salesflow.winloss.tasks import refresh_view

    version = int(stale_since.timestamp()) if stale_since is not None else 0
    return enqueue_once(
        "winloss.refresh_view",
        f"{snapshot_key(a)[:16]}-{version}-{time_bucket(REFRESH_RETRY)}",
        refresh_view,
        params=dict(a.params),
        today=today.isoformat(),
    )


def read(a: AnalysisFilters, today: date) -> Reading:
    """The figures for the filters ``a`` (already checked for the reader) without computing:
    one query, plus the enqueue when they are stale or missing."""
    snap = WinLossSnapshot.objects.filter(key=snapshot_key(a)).first()
    if snap is not None and snap.computed_at >= timezone.now() - SNAPSHOT_MAX_AGE:
        return Reading(snap.data, stale=False, enqueued=False)
    enqueued = request_refresh(a, today, snap.computed_at if snap is not None else None)
    return Reading(snap.data if snap is not None else None, stale=snap is not None, enqueued=enqueued)


def drivers_data(a: AnalysisFilters, today: date, *, fresh: bool = False) -> dict[str, Any]:
    """The drivers for the filters ``a`` (already checked for the reader): from a fresh
    snapshot, else computed now and stored (``fresh`` forces it)."""
    key = snapshot_key(a)
    if not fresh:
        snap = WinLossSnapshot.objects.filter(key=key, computed_at__gte=timezone.now() - SNAPSHOT_MAX_AGE).first()
        if snap is not None:
            cached: dict[str, Any] = snap.data
            return cached
    data = compute(a)
    _store(key, data)
    return data


def prune_snapshots(older_than: timedelta = timedelta(days=2)) -> int:
    deleted, _rows = WinLossSnapshot.objects.filter(computed_at__lt=timezone.now() - older_than).delete()
    return deleted


def refresh_defaults(today: date | None = None) -> int:
    """Recompute the company's, every team's and every rep's drivers for this month, quarter
    and fiscal year (no other filter), once each (the snapshot serves every language); prune
    old snapshots. Returns the number of views computed."""
    from salesflow.analytics.selectors import Node
    from salesflow.core.metrics import MetricFilters
    from salesflow.core.periods import period_containing
    from salesflow.users.choices import Role
    from salesflow.users.models import Team, User

    today = today or timezone.localdate()
    nodes = [Node("company")] + [Node("team", t.pk, t.name) for t in Team.objects.order_by("pk")]
    nodes += [
        Node("rep", u.pk, str(u)) for u in User.objects.filter(is_active=True).exclude(role=Role.ADMIN).order_by("pk")
    ]
    n = 0
    for kind in ("month", "quarter", "year"):
        period = period_containing(kind, today)  # type: ignore[arg-type]
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
            drivers_data(a, today, fresh=True)
            n += 1
    prune_snapshots()
    return n
