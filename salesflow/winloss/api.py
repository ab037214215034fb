"""API of ``salesflow.winloss`` under ``/api/v1/winloss``."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["winloss"])
