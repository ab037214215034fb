"""Event types of forecast submissions (labels: ``ForecastsConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

_PAYLOAD = {
    "node": "str",
    "period": "str",
    "revision": "int",
    "commit": "str",
    "best_case": "str",
    "pipeline": "str",
    "currency": "str",
}

declare(
    EventType(
        "forecasts.submission.created",
        dict(_PAYLOAD),
        description="A rep (or their assistant) submitted their forecast for a month or a quarter.",
    ),
    EventType(
        "forecasts.adjustment.created",
        dict(_PAYLOAD),
        description="A manager adjusted a team's forecast, or an administrator the company's.",
    ),
    EventType(
        "forecasts.reminder.sent",
        {"user": "int", "period": "str", "due": "date"},
        description="A person was reminded that their forecast of a month or quarter is due (once per period).",
    ),
)
