"""API of ``salesflow.projections`` under ``/api/v1/revenue-forecast``."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["projections"])
