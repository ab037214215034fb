"""Scheduled work of ``salesflow.achievable`` (to be listed in ``salesflow/schedule.py``):
the daily calibration tables and the hourly simulations of every node."""

from __future__ import annotations

from django_tasks import task

from salesflow.achievable.services import calibration_compute, refresh_snapshots


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
