"""Event types of sales plans and targets (labels: ``TargetsConfig.ready``). The target of
every event is the plan version (``targets.PlanVersion``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType(
        "targets.plan.created",
        {"year": "int", "version": "int"},
        description="A sales plan for a fiscal year was created with its first draft version.",
    ),
    EventType(
        "targets.version.notes_updated",
        {"version": "int", "fields": "list"},
        description="The strategy notes (product, price, channel, promotion) of a draft version changed.",
    ),
    EventType(
        "targets.targets.set",
        {"version": "int", "metric": "str", "cells": "int", "removed": "int"},
        description="Target cells of a draft version were set by hand (or removed).",
    ),
    EventType(
        "targets.targets.allocated",
        {
            "version": "int",
            "metric": "str",
            "node": "str",
            "period": "str",
            "along": "str",
            "basis": "str",
            "cells": "int",
        },
        description="A target was allocated top-down to child periods or child teams and reps.",
    ),
    EventType(
        "targets.seasonality.set",
        {"version": "int", "node": "str", "source": "str", "weights": "list"},
        description="The monthly seasonality weights of a node were set (by hand or from last year's actuals).",
    ),
    EventType(
        "targets.version.submitted",
        {"version": "int", "status": "str", "request_id": "int"},
        description="A draft version was submitted for approval (request_id 0 when a manager approves here).",
    ),
    EventType(
        "targets.version.approved",
        {"version": "int"},
        description="A version was approved and locked.",
    ),
    EventType(
        "targets.version.returned",
        {"version": "int", "comment": "str"},
        description="A submitted version was returned (or rejected, or withdrawn) to draft.",
    ),
    EventType(
        "targets.version.revised",
        {"version": "int", "from_version": "int"},
        description="A new draft version was created from the latest locked version.",
    ),
)
