"""Background tasks of lead scoring: recompute some leads, every lead (with progress), and
the periodic safety net for scores older than their inputs. All are idempotent."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

#: How often ``scoring.recompute_stale`` runs.
STALE_EVERY = timedelta(minutes=15)
#: How many stale scores the periodic job recomputes per run (bounded work per slot).
STALE_BATCH_LIMIT = 2000


@task()
def recompute_lead_scores(lead_ids: list[int]) -> int:
    """Recompute the scores of these leads (queued by the intake hook and by events)."""
    from salesflow.scoring.services import recompute_leads

    return recompute_leads(lead_ids)


@task()
def recompute_for_event(event_id: int) -> int:
    """Recompute the leads an audit event is about (its target or linked records):
    activities logged on a lead, qualification, hand-off, conversion…"""
    from django.contrib.contenttypes.models import ContentType

    from salesflow.core.models import AuditLink
    from salesflow.leads.models import Lead
    from salesflow.scoring.services import recompute_leads

    ct = ContentType.objects.get_for_model(Lead)
    ids = list(AuditLink.objects.filter(event_id=event_id, content_type=ct).values_list("object_id", flat=True))
    return recompute_leads(ids) if ids else 0


@task()
def run_full_recompute(run_id: int) -> int:
    """Recompute every lead for run ``run_id`` (after a rule change), saving progress."""
    from salesflow.scoring.services import recompute_run

    run = recompute_run(run_id)
    return run.done if run is not None else 0


@task()
def recompute_stale(slot: str = "") -> int:
    """Periodic job ``scoring.recompute_stale``: leads without a score, or changed (or with
    an activity changed) since their score was computed, in bounded batches."""
    from salesflow.scoring.services import BATCH, recompute_leads, stale_score_lead_ids

    done = 0
    while done < STALE_BATCH_LIMIT:
        ids = stale_score_lead_ids(BATCH)
        if not ids:
            break
        done += recompute_leads(ids)
    return done


@task()
def recompute_daily(slot: str = "") -> int:
    """Periodic job ``scoring.recompute_all``: once a day every lead, since look-back windows
    ("activities in the last 30 days") move with the calendar."""
    from salesflow.scoring.models import RecomputeRun
    from salesflow.scoring.services import recompute_run

    run = RecomputeRun.objects.create()
    result = recompute_run(run.pk)
    return result.done if result is not None else 0
