"""Demo revenue forecasts (issue 11 item 2): runs the nightly forecast job's work once, so the
revenue-forecast page shows the demo company's and each team's won revenue and collections,
per month and per week, with their backtests, right after ``salesflow demo``.

Wiring (``demo/generate.py``): ``write_projections(users, clock.today)`` after the issue 10
writers (it reads the deals and payments they and the earlier writers made);
``delete_projections()`` beside ``delete_targets()``. Run twice, it overwrites the same rows."""

from __future__ import annotations

import datetime as dt

from salesflow.projections.models import ForecastRun
from salesflow.projections.services import compute_all
from salesflow.users.models import User


def write_projections(users: dict[str, User], today: dt.date) -> int:
    """Compute and store every forecast as of ``today``; returns the runs written."""
    return compute_all(today)


def delete_projections() -> int:
    """Remove the stored forecasts (they are derived from the demo's deals and payments)."""
    deleted, _ = ForecastRun.objects.all().delete()
    return deleted
