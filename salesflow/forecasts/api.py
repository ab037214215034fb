"""API of ``salesflow.forecasts`` under ``/api/v1/forecasts``."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["forecasts"])
