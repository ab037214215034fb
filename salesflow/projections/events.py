"""Event types of the revenue forecast (imported by ``ProjectionsConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "projections.forecast.recompute_requested",
        {"job": "str"},
        description="An administrator asked for the revenue forecasts to be recomputed now "
        "(the target is the administrator; the job id is the queued task).",
    ),
)
