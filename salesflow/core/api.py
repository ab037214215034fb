"""API: exports of lists (issue 6). A small export is done when created; a large one runs in
the background — poll ``GET /exports/{id}`` and download the file when it is ``done``."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from ninja import Router

from salesflow.core.export_services import export_request
from salesflow.core.exports import export_dir
from salesflow.core.models import ExportJob, ExportStatus
from salesflow.core.schemas import ExportIn, ExportOut

router = Router(tags=["exports"])

_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _out(job: ExportJob) -> ExportOut:
    done = job.status == ExportStatus.DONE
    return ExportOut(
        id=job.pk,
        list=job.list_key,
        format=job.format,
        query=job.query,
        status=job.status,
        rows=job.total,
        progress=job.progress,
        created_at=job.created_at,
        finished_at=job.finished_at,
        expires_at=job.expires_at,
        download_url=reverse("api-v1:export_download", args=[job.pk]) if done else None,
    )


def _job(request: HttpRequest, export_id: int) -> ExportJob:
    job = (
        ExportJob.objects.filter(pk=export_id, requester_id=request.user.pk).first() if 0 < export_id < 2**63 else None
    )
    if job is None:
        raise Http404
    return job


@router.post("", response={201: ExportOut}, summary="Export a list's filtered rows (CSV or XLSX)")
@router.post("/", response={201: ExportOut}, include_in_schema=False)
def create_export(request: HttpRequest, payload: ExportIn) -> tuple[int, ExportOut]:
    job = export_request(actor=request.user, list_key=payload.list, query=payload.query, fmt=payload.format)
    return 201, _out(job)


@router.get("/{int:export_id}", response=ExportOut, summary="An export's status and progress")
def get_export(request: HttpRequest, export_id: int) -> ExportOut:
    return _out(_job(request, export_id))


@router.get("/{int:export_id}/download", url_name="export_download", summary="The exported file (only its requester)")
def download_export(request: HttpRequest, export_id: int) -> FileResponse:
    job = _job(request, export_id)
    path = export_dir() / job.file_name if job.file_name else None
    if job.status != ExportStatus.DONE or path is None or not path.is_file():
        raise Http404
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"export-{job.pk}.{job.format}",
        content_type=_CONTENT_TYPES[job.format],
    )
