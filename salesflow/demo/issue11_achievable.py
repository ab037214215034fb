"""Demo figures of "most likely achievable revenue" (issue 11 item 3): after the demo's deals
and their history exist, compute the calibration tables and every node's simulation, so the
first reader of ``/likely-revenue/`` gets stored figures. Derived data only; a second run
recomputes the same figures."""

from __future__ import annotations

import datetime as dt

from salesflow.achievable.models import Calibration, RevenueSnapshot
from salesflow.achievable.services import calibration_compute, refresh_snapshots
from salesflow.users.models import User


def write_achievable(users: dict[str, User], today: dt.date) -> dict[str, int]:
    """The calibration from the demo's closed deals and every node's simulation for this
    month and quarter; returns the counts written."""
    calibration_compute(today)
    return {"likely revenue snapshots": refresh_snapshots(today)}


def delete_achievable() -> dict[str, int]:
    """Remove the derived tables (they are recomputed from the deals)."""
    snapshots, _ = RevenueSnapshot.objects.all().delete()
    calibrations, _ = Calibration.objects.all().delete()
    return {"likely revenue snapshots": snapshots, "win-rate calibrations": calibrations}
