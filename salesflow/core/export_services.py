"""Writes of exports: asking for one, running it, and deleting expired files (all audited or
idempotent). The rows come from the list's registered builder (``core.exports``) as the
requester sees them, so the visibility policy applies exactly as on the list page."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.audit import record_event
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.exports import (
    EXPORT_KEEP_DAYS,
    EXPORT_SYNC_LIMIT,
    clean_query,
    export_dir,
    list_spec,
    query_dict,
    write_export,
)
from salesflow.core.models import ExportFormat, ExportJob, ExportStatus

logger = logging.getLogger(__name__)


def _payload(job: ExportJob, *, background: bool) -> dict[str, Any]:
    return {"list": job.list_key, "query": job.query, "format": job.format, "rows": job.total, "background": background}


def _file_name(job: ExportJob) -> str:
    # Unguessable, so a file name leaking (a log line) gives nothing; downloads go through
    # the view that checks the requester anyway.
    return f"{job.pk}-{secrets.token_hex(8)}.{job.format}"


def _finish(job: ExportJob, rows: int) -> None:
    now = timezone.now()
    job.total = rows
    job.progress = rows
    job.status = ExportStatus.DONE
    job.finished_at = now
    job.expires_at = now + timedelta(days=EXPORT_KEEP_DAYS)
    job.save(update_fields=["total", "progress", "status", "finished_at", "expires_at"])


@transaction.atomic
def export_request(*, actor: Any, list_key: str, query: str, fmt: str, sync_limit: int | None = None) -> ExportJob:
    """Export the rows of list ``list_key`` filtered and sorted by ``query`` that ``actor``
    may see, as ``fmt`` (``csv`` / ``xlsx``).

    At most ``EXPORT_SYNC_LIMIT`` rows are written at once (the job is returned done);
    more are written by the ``run_export`` task after the commit (the job is returned
    pending and the requester is notified when it is ready). Audited
    ``core.export.completed`` (and ``core.export.requested`` for background ones) with the
    list, the filter and the number of rows. Raises ``ValidationFailed`` for an unknown list
    or format or a query string with foreign parameters, ``Forbidden`` for an inactive actor.
    """
    from salesflow.core.tasks import enqueue_on_commit

    if actor is None or not getattr(actor, "is_active", False) or not getattr(actor, "pk", None):
        raise Forbidden(_("You may not export."))
    spec = list_spec(list_key)
    errors: dict[str, list[str]] = {}
    if spec is None:
        errors["list"] = [_("Unknown list.")]
    if fmt not in ExportFormat.values:
        errors["format"] = [_("Choose CSV or XLSX.")]
    if errors:
        raise ValidationFailed(_("The export could not be started."), field_errors=errors)
    assert spec is not None
    query = clean_query(spec, query)
    qs = spec.build(actor, query_dict(query))
    total = qs.count()
    job = ExportJob.objects.create(requester=actor, list_key=spec.key, query=query, format=fmt, total=total)
    job.file_name = _file_name(job)
    job.save(update_fields=["file_name"])
    limit = EXPORT_SYNC_LIMIT if sync_limit is None else sync_limit
    if total <= limit:
        rows = write_export(spec, qs, fmt, export_dir() / job.file_name)
        _finish(job, rows)
        record_event(actor=actor, verb="core.export.completed", target=job, data=_payload(job, background=False))
        return job
    record_event(actor=actor, verb="core.export.requested", target=job, data=_payload(job, background=True))
    from salesflow.core.export_tasks import run_export

    enqueue_on_commit(run_export, job.pk)
    return job


def export_run(*, job_id: int) -> ExportJob | None:
    """Write the file of pending job ``job_id`` (the background half of ``export_request``).

    Idempotent: only a pending job is claimed (pending → running, one winner); progress is
    saved every 500 rows outside any transaction so the job page can show it. The rows are
    rebuilt with the requester's current visibility. Audited ``core.export.completed``.
    """
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.PENDING).update(status=ExportStatus.RUNNING)
    if not claimed:
        return None
    job = ExportJob.objects.select_related("requester").get(pk=job_id)
    spec = list_spec(job.list_key)
    requester = job.requester
    if spec is None or not requester.is_active:
        ExportJob.objects.filter(pk=job_id).update(status=ExportStatus.FAILED, error="list or requester unavailable")
        return job
    path = export_dir() / job.file_name

    def progress(n: int) -> None:
        ExportJob.objects.filter(pk=job_id).update(progress=n)

    try:
        rows = write_export(spec, spec.build(requester, query_dict(job.query)), job.format, path, progress=progress)
    except Exception as exc:  # the job says it failed instead of staying "running" forever
        logger.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(status=ExportStatus.FAILED, error=str(exc)[:500])
        path.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        _finish(job, rows)
        record_event(actor=requester, verb="core.export.completed", target=job, data=_payload(job, background=True))
    return job


def export_purge_expired(*, now: Any = None) -> int:
    """Delete the files of exports past ``expires_at`` (and of failed ones after as long) and
    mark them expired; returns how many. Idempotent."""
    now = now or timezone.now()
    stale = ExportJob.objects.filter(expires_at__lt=now).exclude(status=ExportStatus.EXPIRED)
    failed = ExportJob.objects.filter(
        status=ExportStatus.FAILED, created_at__lt=now - timedelta(days=EXPORT_KEEP_DAYS)
    ).exclude(file_name="")
    n = 0
    directory = export_dir()
    for job in [*stale, *failed]:
        if job.file_name:
            (directory / job.file_name).unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.EXPIRED, file_name="")
        n += 1
    return n
