"""JSON API of imports (``/api/v1/imports``): upload, mapping, preview, run, progress,
cancel, resume, rollback, the error report and mapping templates — the same services as
the import pages."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router
from ninja.files import UploadedFile

from salesflow.attachments.uploads import upload_was_too_large
from salesflow.core.columns import FIELD_SYNONYMS
from salesflow.core.errors import ValidationFailed
from salesflow.imports.models import ImportJob, MappingTemplate
from salesflow.imports.report import error_report
from salesflow.imports.schemas import (
    JobOut,
    MappingIn,
    PreviewOut,
    PreviewQuery,
    RollbackOut,
    RunIn,
    TemplateIn,
    TemplateOut,
    UploadIn,
)
from salesflow.imports.selectors import get_job_for_user, jobs_for, preview, templates_for
from salesflow.imports.services import (
    import_cancel,
    import_resume,
    import_rollback,
    import_set_mapping,
    import_start,
    import_upload,
    template_delete,
    template_save,
)
from salesflow.users.models import User

router = Router(tags=["imports"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def job_out(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "file_name": job.file_name,
        "status": job.status,
        "mode": job.mode,
        "headers": job.headers,
        "mapping": job.mapping,
        "fields": list(FIELD_SYNONYMS[job.kind]),
        "total_rows": job.total_rows,
        "progress": job.progress,
        "percent": job.percent,
        "created": job.created_count,
        "skipped": job.skipped_count,
        "rejected": job.rejected_count,
        "cancel_requested": job.cancel_requested,
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def _template_out(t: MappingTemplate) -> dict[str, Any]:
    return {
        "id": t.pk,
        "kind": t.kind,
        "name": t.name,
        "mapping": t.mapping,
        "shared": t.shared,
        "owner_id": t.owner_id,
    }


@router.post("", response={201: JobOut}, summary="Upload a file to import")
def upload_file(request: HttpRequest, data: Form[UploadIn], file: File[UploadedFile | None] = None) -> tuple[int, Any]:
    """``multipart/form-data`` with ``kind``, optional ``template_id`` and the ``file`` (CSV
    in UTF-8 or GBK, or XLSX). Oversized files, zip bombs, NUL bytes and content that does
    not match the extension → 400 on ``file``, nothing stored. Returns the job with the
    suggested column mapping."""
    unknown = (set(request.POST) - set(UploadIn.model_fields)) | (set(request.FILES) - {"file"})
    if unknown:
        raise ValidationFailed(
            _("The input is not valid."), field_errors={n: [_("Unknown or read-only field.")] for n in sorted(unknown)}
        )
    if upload_was_too_large(request):
        raise ValidationFailed(_("The file cannot be imported."), field_errors={"file": [_("The file is too large.")]})
    template = None
    if data.template_id is not None:
        template = templates_for(_user(request)).filter(pk=data.template_id).first()
        if template is None:
            raise ValidationFailed(
                _("The input is not valid."), field_errors={"template_id": [_("No such mapping template.")]}
            )
    job = import_upload(actor=_user(request), kind=data.kind, upload=file, template=template)
    return 201, job_out(job)


@router.get("", response=list[JobOut], summary="Your imports, newest first")
def list_jobs(request: HttpRequest) -> list[dict[str, Any]]:
    return [job_out(j) for j in jobs_for(_user(request))[:100]]


@router.get("/templates", response=list[TemplateOut], summary="Mapping templates you may use")
def list_templates(request: HttpRequest, kind: str = "") -> list[dict[str, Any]]:
    return [_template_out(t) for t in templates_for(_user(request), kind[:20] or None)]


@router.post("/templates", response={201: TemplateOut}, summary="Save a mapping template")
def create_template(request: HttpRequest, data: TemplateIn) -> tuple[int, dict[str, Any]]:
    t = template_save(actor=_user(request), kind=data.kind, name=data.name, mapping=data.mapping, shared=data.shared)
    return 201, _template_out(t)


@router.delete("/templates/{int:template_id}", response={204: None}, summary="Delete a mapping template")
def delete_template(request: HttpRequest, template_id: int) -> tuple[int, None]:
    template = templates_for(_user(request)).filter(pk=template_id).first()
    if template is None:
        raise Http404
    template_delete(actor=_user(request), template=template)
    return 204, None


@router.get("/{int:job_id}", response=JobOut, summary="An import's status and progress")
def get_job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return job_out(get_job_for_user(_user(request), job_id))


@router.put("/{int:job_id}/mapping", response=JobOut, summary="Set the column mapping")
def put_mapping(request: HttpRequest, job_id: int, data: MappingIn) -> dict[str, Any]:
    job = get_job_for_user(_user(request), job_id)
    return job_out(import_set_mapping(actor=_user(request), job=job, mapping=data.mapping))


@router.get("/{int:job_id}/preview", response=PreviewOut, summary="Preview: validation and duplicates per row")
def get_preview(request: HttpRequest, job_id: int, q: Query[PreviewQuery]) -> dict[str, Any]:
    job = get_job_for_user(_user(request), job_id)
    p = preview(job, offset=q.offset, limit=q.limit)
    return {
        "total": p.total,
        "offset": p.offset,
        "valid": p.valid,
        "rejected": p.rejected,
        "skipped": p.skipped,
        "rows": [
            {
                "row": r.number,
                "state": r.state,
                "cells": r.cells,
                "errors": [{"column": c, "reason": m} for c, m in r.errors],
                "exists": r.exists,
                "duplicates": r.duplicates,
            }
            for r in p.rows
        ],
    }


@router.post("/{int:job_id}/run", response={202: JobOut}, summary="Run the import in the background")
def run_job(request: HttpRequest, job_id: int, data: RunIn) -> tuple[int, dict[str, Any]]:
    job = get_job_for_user(_user(request), job_id)
    return 202, job_out(import_start(actor=_user(request), job=job, mode=data.mode))


@router.post("/{int:job_id}/cancel", response=JobOut, summary="Cancel a queued or running import")
def cancel_job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    job = get_job_for_user(_user(request), job_id)
    return job_out(import_cancel(actor=_user(request), job=job))


@router.post("/{int:job_id}/resume", response={202: JobOut}, summary="Resume a failed, cancelled or killed import")
def resume_job(request: HttpRequest, job_id: int) -> tuple[int, dict[str, Any]]:
    job = get_job_for_user(_user(request), job_id)
    return 202, job_out(import_resume(actor=_user(request), job=job))


@router.post("/{int:job_id}/rollback", response=RollbackOut, summary="Delete the records the import created")
def rollback_job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    job = get_job_for_user(_user(request), job_id)
    return import_rollback(actor=_user(request), job=job)


@router.get("/{int:job_id}/errors.xlsx", summary="The error report (XLSX)")
def get_error_report(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job_for_user(_user(request), job_id)
    response = HttpResponse(
        error_report(job), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.xlsx"'
    return response
