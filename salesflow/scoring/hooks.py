"""The intake hook of scoring (``core.intake``, code ``scoring``, order 90, after)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from salesflow.core.intake import Intake
from salesflow.scoring.services import queue_lead_recompute


def queue_score_after_intake(intake: Intake, record: Any) -> None:
    """Queue a recompute of the saved lead for after the commit (nothing on rollback)."""
    if getattr(record, "pk", None) is not None:
        queue_lead_recompute([record.pk])


def queue_scores_after_intake(intakes: Sequence[Intake], records: Sequence[Any]) -> None:
    """Batch form (imports): one queued recompute for all the saved leads."""
    queue_lead_recompute([r.pk for r in records if getattr(r, "pk", None) is not None])
