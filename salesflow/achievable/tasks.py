"""Background work of ``salesflow.achievable``: the daily calibration tables and the hourly
simulations of every node (listed in ``salesflow/schedule.py``), and ``refresh_node``, one
node's simulation that a reader found stale or missing (``services.read_likely_revenue``)."""

from __future__ import annotations

from datetime import date
from typing import cast

from django_tasks import task

from salesflow.achievable.services import Span, calibration_compute, refresh_snapshots, snapshot_compute


@task()
def compute_calibration(slot: str = "") -> int:
    """Daily: the win-rate calibration and slip distributions from the closed history
    (replaces the previous tables; idempotent), then every node's simulation with them.
    Returns the number of snapshots written."""
    calibration_compute()
    return refresh_snapshots()


@task()
def refresh_likely_revenue(slot: str = "") -> int:
    """Hourly: every node's simulation for this month and quarter (overwrites the
    snapshots; idempotent). Returns the number written."""
    return refresh_snapshots()


@task()
def refresh_node(node_key: str, span: str, today: str) -> bool:
    """Simulate one node's month or quarter (``company``, ``team:<id>``, ``rep:<id>``, checked
    for the reader who asked) and store it. A node gone since, or a bad argument, is skipped
    (``False``). Idempotent (it overwrites the snapshot)."""
    from salesflow.analytics.selectors import Node, parse_node_key
    from salesflow.users.models import Team, User

    try:
        kind, pk = parse_node_key(node_key)
        day = date.fromisoformat(today)
    except ValueError:
        return False
    if span not in ("month", "quarter"):
        return False
    if kind == "team" and not Team.objects.filter(pk=pk or 0).exists():
        return False
    if kind == "rep" and not User.objects.filter(pk=pk or 0).exists():
        return False
    snapshot_compute(Node(kind, pk), cast(Span, span), day)
    return True
