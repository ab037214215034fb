"""API of ``salesflow.achievable`` under ``/api/v1/likely-revenue``."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["achievable"])
