"""The intake hook of scoring (``core.intake``, code ``scoring``, order 90, after)."""

from __future__ import annotations

from typing import Any

from salesflow.core.intake import Intake
from salesflow.scoring.services import queue_lead_recompute


def queue_score_after_intake(intake: Intake, record: Any) -> None:
    """Queue a recompute of the saved lead for after the commit (nothing on rollback)."""
    if getattr(record, "pk", None) is not None:
        queue_lead_recompute([record.pk])
