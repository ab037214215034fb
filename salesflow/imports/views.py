"""The import pages: the list of one's imports with the upload form, and one job's page —
column mapping, preview, mode and run while mapping; then a progress bar (htmx polling),
cancel, resume, rollback and the error report. Thin callers of ``imports.services``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from salesflow.attachments.uploads import upload_was_too_large
from salesflow.core.columns import FIELD_SYNONYMS
from salesflow.core.errors import ServiceError
from salesflow.core.web import wants_fragment
from salesflow.imports.choices import FIELD_LABELS, ImportKind, ImportMode, ImportStatus
from salesflow.imports.permissions import can_change_template, can_import
from salesflow.imports.report import error_report
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

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _error_text(exc: ServiceError) -> str:
    details = [m for msgs in exc.field_errors.values() for m in msgs]
    return " ".join([str(exc.message), *details])


def _samples() -> list[str]:
    return sorted(p.name for p in SAMPLES_DIR.glob("*.*") if p.suffix in (".csv", ".xlsx"))


@require_GET
def job_list_view(request: HttpRequest) -> HttpResponse:
    """One's imports (administrators: everyone's) and the form to start a new one."""
    user = _user(request)
    kind = request.GET.get("kind", "")
    context: dict[str, Any] = {
        "jobs": list(jobs_for(user)[:50]),
        "kinds": ImportKind.choices,
        "kind": kind if kind in ImportKind.values else ImportKind.LEAD,
        "templates": list(templates_for(user).order_by("kind", "name")),
        "can_import": can_import(user),
        "samples": _samples(),
        "section": "imports",
    }
    return render(request, "imports/list.html", context)


@require_POST
def upload_view(request: HttpRequest) -> HttpResponseBase:
    user = _user(request)
    if upload_was_too_large(request):
        messages.error(request, _("The file is too large."))
        return redirect("imports:list")
    template = None
    if template_id := request.POST.get("template", "").strip():
        template = templates_for(user).filter(pk=int(template_id) if template_id.isdigit() else 0).first()
    try:
        job = import_upload(
            actor=user, kind=request.POST.get("kind", ""), upload=request.FILES.get("file"), template=template
        )
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
        return redirect("imports:list")
    return redirect("imports:detail", pk=job.pk)


@require_GET
def sample_view(request: HttpRequest, name: str) -> HttpResponseBase:
    if name not in _samples():
        raise Http404
    content_type = XLSX if name.endswith(".xlsx") else "text/csv; charset=utf-8"
    return FileResponse((SAMPLES_DIR / name).open("rb"), as_attachment=True, filename=name, content_type=content_type)


@require_GET
def job_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """While mapping: the mapping form, the preview and the run form. Then the progress
    (polled by htmx while queued or running) and the results."""
    user = _user(request)
    job = get_job_for_user(user, pk)
    polling = job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
    context: dict[str, Any] = {"job": job, "polling": polling, "section": "imports", "modes": ImportMode.choices}
    if wants_fragment(request, target="import-progress"):
        return render(request, "imports/partials/progress.html", context)
    if job.status == ImportStatus.MAPPING:
        fields = [(f, FIELD_LABELS.get(f, f)) for f in FIELD_SYNONYMS[job.kind]]
        context.update(
            fields=fields,
            columns=[(h, job.mapping.get(h, "")) for h in job.headers],
            preview=preview(job),
            can_share=user.is_admin or user.role == "manager",
        )
    return render(request, "imports/detail.html", context)


@require_POST
def mapping_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Save the mapping (``map-<index>`` selects) and, with a name, as a template."""
    user = _user(request)
    job = get_job_for_user(user, pk)
    mapping = {h: request.POST.get(f"map-{i}", "") for i, h in enumerate(job.headers)}
    try:
        import_set_mapping(actor=user, job=job, mapping=mapping)
        if name := request.POST.get("template_name", "").strip():
            template_save(
                actor=user,
                kind=job.kind,
                name=name,
                mapping=mapping,
                shared=request.POST.get("template_shared") == "on",
            )
            messages.success(request, _("The mapping template was saved."))
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    return redirect("imports:detail", pk=job.pk)


def _act(request: HttpRequest, pk: int, action: str) -> HttpResponseBase:
    user = _user(request)
    job = get_job_for_user(user, pk)
    try:
        if action == "run":
            import_start(actor=user, job=job, mode=request.POST.get("mode", ""))
        elif action == "cancel":
            import_cancel(actor=user, job=job)
        elif action == "resume":
            import_resume(actor=user, job=job)
        else:
            result = import_rollback(actor=user, job=job)
            messages.success(
                request,
                _("%(n)d records created by this import were deleted.") % {"n": result["deleted"]},
            )
            for kept in result["kept"]:
                messages.warning(request, _("Row %(row)d was kept: %(reason)s") % kept)
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    return redirect("imports:detail", pk=job.pk)


@require_POST
def run_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _act(request, pk, "run")


@require_POST
def cancel_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _act(request, pk, "cancel")


@require_POST
def resume_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _act(request, pk, "resume")


@require_POST
def rollback_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _act(request, pk, "rollback")


@require_GET
def error_report_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(_user(request), pk)
    response = HttpResponse(error_report(job), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.xlsx"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def template_delete_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _user(request)
    template = templates_for(user).filter(pk=pk).first()
    if template is None or not can_change_template(user, template):
        raise Http404
    template_delete(actor=user, template=template)
    messages.success(request, _("The mapping template was deleted."))
    return redirect("imports:list")
