"""API of ``salesflow.improvement`` under ``/api/v1/improvement``."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["improvement"])
