"""API of ``salesflow.process`` under ``/api/v1/process``."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["process"])
