"""Export pages: start an export of a list, follow a background one, download the file.

Only the requester sees a job or downloads its file (anyone else gets a 404)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from salesflow.core.errors import ServiceError
from salesflow.core.export_services import export_request
from salesflow.core.exports import CountTooSlow, capped_count, clean_query, export_dir, list_spec, query_dict
from salesflow.core.models import ExportJob, ExportStatus
from salesflow.core.web import wants_fragment

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _job(request: HttpRequest, pk: int) -> ExportJob:
    job = ExportJob.objects.filter(pk=pk, requester_id=request.user.pk).first()
    if job is None:
        raise Http404
    return job


def download_name(job: ExportJob) -> str:
    spec = list_spec(job.list_key)
    label = str(spec.label) if spec is not None else job.list_key
    stamp = (job.finished_at or job.created_at).strftime("%Y%m%d-%H%M")
    return f"{label}-{stamp}.{job.format}"


def _list_url(list_key: str, query: str) -> str:
    spec = list_spec(list_key)
    try:
        base = reverse(spec.url_name) if spec is not None else "/"
    except NoReverseMatch:
        base = "/"
    return f"{base}?{query}" if query else base


def file_response(job: ExportJob) -> FileResponse:
    path = export_dir() / job.file_name if job.file_name else None
    if job.status != ExportStatus.DONE or path is None or not Path(path).is_file():
        raise Http404
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=download_name(job), content_type=CONTENT_TYPES[job.format]
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def export_start_view(request: HttpRequest) -> HttpResponseBase:
    """Small exports answer with the file at once; large ones redirect to the job page."""
    from django.contrib import messages

    list_key = request.POST.get("list", "")
    query = request.POST.get("query", "")
    try:
        job = export_request(actor=request.user, list_key=list_key, query=query, fmt=request.POST.get("format", ""))
    except ServiceError as exc:
        details = [m for msgs in exc.field_errors.values() for m in msgs]
        messages.error(request, " ".join([str(exc.message), *details]))
        return redirect(_list_url(list_key if list_spec(list_key) else "", ""))
    if job.status == ExportStatus.DONE:
        return file_response(job)
    return redirect("exports:detail", pk=job.pk)


@require_GET
def export_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The job page; htmx polls its progress fragment until the file is ready."""
    job = _job(request, pk)
    spec = list_spec(job.list_key)
    context: dict[str, Any] = {
        "job": job,
        "list_label": spec.label if spec is not None else job.list_key,
        "list_url": _list_url(job.list_key, job.query),
        "polling": job.status in (ExportStatus.PENDING, ExportStatus.RUNNING),
    }
    if wants_fragment(request, target="export-progress"):
        return render(request, "core/partials/export_progress.html", context)
    return render(request, "core/export_job.html", context)


@require_GET
def export_download_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    return file_response(_job(request, pk))


@require_GET
def list_count_view(request: HttpRequest) -> HttpResponse:
    """The total of a list for its query string (loaded by htmx after the page, so the page
    never waits for a count): capped at ``COUNT_CAP`` ("10,000+")."""
    spec = list_spec(request.GET.get("list", ""))
    if spec is None:
        raise Http404
    try:
        query = clean_query(spec, request.GET.get("query", ""))
    except ServiceError:
        return render(request, "core/partials/list_count.html", {"invalid": True}, status=400)
    qs = spec.build(request.user, query_dict(query))
    if spec.summary is not None:  # exact sums (and count) from one aggregate, e.g. the deal list
        return render(request, "core/partials/list_count.html", spec.summary(qs))
    try:
        n, capped = capped_count(qs)
    except CountTooSlow:
        return render(request, "core/partials/list_count.html", {"slow": True})
    return render(request, "core/partials/list_count.html", {"n": n, "capped": capped, "shown": f"{n:,}"})
