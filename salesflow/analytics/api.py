"""API of ``salesflow.analytics`` under ``/api/v1/``: thin endpoints over its selectors and services."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["analytics"])
