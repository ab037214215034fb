"""Reads of imports: a user's jobs, one job, the preview of a job's rows, rejected rows."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.http import Http404

from salesflow.imports import rows as rowlib
from salesflow.imports.choices import RowState
from salesflow.imports.files import job_table
from salesflow.imports.models import ImportJob, ImportRow, MappingTemplate
from salesflow.imports.permissions import jobs_visible_to, templates_visible_to
from salesflow.users.models import User

PREVIEW_LIMIT = 200


def jobs_for(user: User) -> QuerySet[ImportJob]:
    """``user``'s import jobs (administrators: everyone's), newest first."""
    return jobs_visible_to(user).select_related("owner").order_by("-id")


def get_job_for_user(user: User, job_id: int) -> ImportJob:
    """The job if ``user`` sees it, else ``Http404`` (never telling whether it exists)."""
    job = jobs_visible_to(user).select_related("owner").filter(pk=job_id).first()
    if job is None:
        raise Http404
    return job


def templates_for(user: User, kind: str | None = None) -> QuerySet[MappingTemplate]:
    qs = templates_visible_to(user).select_related("owner")
    return qs.filter(kind=kind) if kind else qs


@dataclass
class PreviewRow:
    number: int
    state: str
    cells: list[str]
    errors: list[tuple[str, str]]
    exists: str
    duplicates: list[dict[str, object]] = field(default_factory=list)


@dataclass
class Preview:
    total: int
    offset: int
    rows: list[PreviewRow]
    valid: int
    rejected: int
    skipped: int


def preview(job: ImportJob, *, offset: int = 0, limit: int = PREVIEW_LIMIT) -> Preview:
    """Rows ``offset``…``offset+limit`` of the job's file checked as the run would check
    them (as the job's owner), with the duplicate candidates of each valid row. Counts
    cover the shown rows. Writes nothing; a fixed number of queries per call."""
    table = job_table(job)
    batch = table.rows[offset : offset + limit]
    ctx = rowlib.Context(actor=job.owner, kind=job.kind, mapping=job.mapping, file_hash=job.file_hash, job_id=job.pk)
    if offset:  # rows before the window count for "same key as an earlier row"
        for earlier in rowlib.iter_batches(table.rows[:offset], 1000):
            rowlib.prepare_batch(ctx, earlier, table.headers)
    results = rowlib.prepare_batch(ctx, batch, table.headers, duplicates=True)
    out: list[PreviewRow] = []
    for (_number, cells), result in zip(batch, results, strict=True):
        out.append(
            PreviewRow(
                number=result.number,
                state=result.state,
                cells=cells,
                errors=result.errors,
                exists=result.exists,
                duplicates=[
                    {
                        "kind": c.kind,
                        "score": round(c.score, 2),
                        "reasons": list(c.reasons),
                        "label": rowlib.candidate_label(ctx, c),
                    }
                    for c in result.duplicates
                ],
            )
        )
    return Preview(
        total=len(table.rows),
        offset=offset,
        rows=out,
        valid=sum(r.state == RowState.CREATED for r in out),
        rejected=sum(r.state == RowState.REJECTED for r in out),
        skipped=sum(r.state == RowState.SKIPPED for r in out),
    )


def rejected_rows(job: ImportJob) -> QuerySet[ImportRow]:
    """The job's rejected rows in file order (the error report)."""
    return ImportRow.objects.filter(job=job, state=RowState.REJECTED).order_by("row_number")
