"""Writes of imports: upload, column mapping, mapping templates, run, cancel, resume and
rollback. The rows themselves are written by the record services (``imports.rows``).

Guarantees:

- An upload is checked before it is parsed (size, extension, content matching the
  extension, XLSX zip bombs, control bytes: ``imports.parsing``); a refused file raises
  ``ValidationFailed`` on ``file`` and nothing is stored.
- A run happens in the background (``imports.tasks.run_import``), batch by batch
  (``BATCH_SIZE`` rows), with the cancel flag checked between batches.
- ``all_or_nothing``: every row is checked first; if any is rejected nothing is written.
  Then all rows are written in ONE transaction: a crash, a cancel or a row a service
  refuses leaves nothing at all.
- ``valid_rows``: each batch is one transaction holding its records AND their
  ``ImportRow`` states (each row in its own savepoint, so a refused row leaves nothing of
  itself); a crash loses at most the batch in flight, entirely, and the rows recorded say
  exactly which records landed. :func:`import_resume` continues with the first row not
  recorded; :func:`import_rollback` deletes exactly the records the job created, through
  the record services (audited), newest first.
- Leads, accounts and contacts are written a batch at a time through their services'
  ``*_create_many`` forms (``leads.services.lead_create_many``,
  ``parties.services.account_create_many`` / ``contact_create_many``: the checks of the
  one-row service per row, inserts, search rows, audit events and intake follow-ons in
  bulk); opportunities row by row through ``opportunity_create`` (and ``opportunity_close``).
  The guarantees above hold for both.
- Rows that already exist (strong keys, or the same file row / external id imported
  before) are skipped and reported "already exists"; they are never updated.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.audit import record_event
from salesflow.core.columns import FIELD_SYNONYMS, suggest_mapping
from salesflow.core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from salesflow.imports import rows as rowlib
from salesflow.imports.choices import ImportKind, ImportMode, ImportStatus, RowState
from salesflow.imports.files import import_dir, job_table
from salesflow.imports.models import ImportJob, ImportRow, MappingTemplate
from salesflow.imports.parsing import FileRefused, Table, check_file, max_bytes, read_table
from salesflow.imports.permissions import can_change_template, can_import
from salesflow.users.models import User

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
# A running job whose worker has not reported for this long is taken as killed (resumable).
STALE_AFTER = timedelta(minutes=5)
# Tests set this to a callable run after each written row (e.g. raising to simulate a kill).
test_hook: rowlib.Hook | None = None


def _kind(kind: str) -> str:
    if kind not in ImportKind.values:
        raise ValidationFailed(
            _("The input is not valid."),
            field_errors={"kind": [_("Choose leads, accounts, contacts or opportunities.")]},
        )
    return kind


def _refuse_file(message: str) -> ValidationFailed:
    return ValidationFailed(_("The file cannot be imported."), field_errors={"file": [message]})


def clean_mapping(kind: str, headers: list[str], mapping: Mapping[str, Any]) -> dict[str, str]:
    """``mapping`` (header → field, blank to ignore a column) checked against the file's
    headers and the kind's fields; ``ValidationFailed`` on ``mapping`` naming the problem."""
    fields = FIELD_SYNONYMS[kind]
    out: dict[str, str] = {}
    errors: list[str] = []
    if not isinstance(mapping, Mapping):
        raise ValidationFailed(
            _("The input is not valid."), field_errors={"mapping": [_("Send header → field pairs.")]}
        )
    for header, field_name in mapping.items():
        if not isinstance(header, str) or not isinstance(field_name, str | None):
            errors.append(_("Send header → field pairs."))
            continue
        if header not in headers:
            errors.append(_("The file has no column “%(column)s”.") % {"column": header[:50]})
            continue
        if not field_name:
            continue
        if field_name not in fields:
            errors.append(_("“%(field)s” is not a field of this record kind.") % {"field": field_name[:50]})
        elif field_name in out.values():
            errors.append(_("Two columns are mapped to “%(field)s”.") % {"field": field_name})
        else:
            out[header] = field_name
    if errors:
        raise ValidationFailed(_("The column mapping is not valid."), field_errors={"mapping": errors})
    return out


@transaction.atomic
def import_upload(
    *, actor: User, kind: str, upload: UploadedFile | None, template: MappingTemplate | None = None
) -> ImportJob:
    """Store an uploaded file for import as a new job with a suggested column mapping
    (``core.columns.suggest_mapping``, or ``template``'s mapping for the headers it names).

    Refuses (``ValidationFailed`` on ``file``, nothing stored) before parsing: no file, over
    the size limit, not CSV/XLSX, content not matching the extension, a zip bomb, control
    bytes; then while reading: no header row, too many rows or columns, oversized cells.
    ``Forbidden`` when ``actor`` may not import. Audited ``imports.job.created``.
    """
    if not can_import(actor):
        raise Forbidden(_("You may not import records."))
    kind = _kind(kind)
    if upload is None:
        raise _refuse_file(_("Choose a file."))
    if (upload.size or 0) > max_bytes():
        raise _refuse_file(_("The file is larger than %(size)d MB.") % {"size": max(1, max_bytes() // (1024 * 1024))})
    file_name = Path(upload.name or "upload").name[:200]
    ext = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    stored = f"{secrets.token_hex(12)}.{ext or 'bin'}"
    path = import_dir() / stored
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        for chunk in upload.chunks():
            digest.update(chunk)
            fh.write(chunk)
    try:
        ext = check_file(path, file_name)
        table = read_table(path, ext)
    except FileRefused as exc:
        path.unlink(missing_ok=True)
        raise _refuse_file(str(exc)) from None
    if not table.rows:
        path.unlink(missing_ok=True)
        raise _refuse_file(_("The file has no data rows."))
    mapping = suggest_mapping(table.headers, kind)
    if template is not None and template.kind == kind:
        named = {h: f for h, f in template.mapping.items() if h in table.headers}
        mapping = {h: f for h, f in mapping.items() if h not in named and f not in named.values()}
        mapping.update({h: f for h, f in named.items() if f})
    job = ImportJob.objects.create(
        owner=actor,
        kind=kind,
        file_name=file_name,
        stored_name=stored,
        file_hash=digest.hexdigest(),
        file_size=path.stat().st_size,
        headers=table.headers,
        mapping=mapping,
        total_rows=len(table.rows),
    )
    record_event(
        actor=actor,
        verb="imports.job.created",
        target=job,
        data={"kind": kind, "file_name": file_name, "rows": job.total_rows},
    )
    return job


def _require_owner(actor: User, job: ImportJob) -> None:
    if not (actor.is_active and (job.owner_id == actor.pk or actor.is_admin)):
        raise Forbidden(_("You may not change this import."))


@transaction.atomic
def import_set_mapping(*, actor: User, job: ImportJob, mapping: Mapping[str, Any]) -> ImportJob:
    """Replace the job's column mapping (only before it runs). ``ValidationFailed`` on
    ``mapping`` for unknown columns or fields or a field mapped twice; ``Conflict`` once
    the job has started."""
    _require_owner(actor, job)
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    if locked.status != ImportStatus.MAPPING:
        raise Conflict(_("The import has already started."), code="import_started")
    job.mapping = clean_mapping(job.kind, list(job.headers), mapping)
    job.save(update_fields=["mapping"])
    return job


@transaction.atomic
def template_save(
    *, actor: User, kind: str, name: str, mapping: Mapping[str, Any], shared: bool = False
) -> MappingTemplate:
    """Save (or overwrite, by name) ``actor``'s mapping template for ``kind``. Only
    administrators and managers may share one. Audited ``imports.template.saved``."""
    if not can_import(actor):
        raise Forbidden(_("You may not import records."))
    kind = _kind(kind)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 100:
        errors["name"] = [_("Use at most %(max)d characters.") % {"max": 100}]
    if shared and not (actor.is_admin or actor.role == "manager"):
        errors["shared"] = [_("Only managers and administrators share templates.")]
    fields = FIELD_SYNONYMS[kind]
    clean: dict[str, str] = {}
    for header, field_name in (mapping or {}).items():
        if not isinstance(header, str) or not isinstance(field_name, str) or len(header) > 200:
            errors["mapping"] = [_("Send header → field pairs.")]
        elif field_name and field_name not in fields:
            errors["mapping"] = [_("“%(field)s” is not a field of this record kind.") % {"field": field_name[:50]}]
        else:
            clean[header] = field_name  # "" = the template ignores this column
    if errors:
        raise ValidationFailed(_("The template could not be saved."), field_errors=errors)
    template, _created = MappingTemplate.objects.update_or_create(
        owner=actor, kind=kind, name=name, defaults={"mapping": clean, "shared": shared}
    )
    record_event(
        actor=actor, verb="imports.template.saved", target=template, data={"kind": kind, "name": name, "shared": shared}
    )
    return template


@transaction.atomic
def template_delete(*, actor: User, template: MappingTemplate) -> None:
    """Delete a mapping template (its owner or an administrator). Audited."""
    if not can_change_template(actor, template):
        raise Forbidden(_("You may not delete this template."))
    record_event(
        actor=actor,
        verb="imports.template.deleted",
        target=template,
        data={"kind": template.kind, "name": template.name},
    )
    template.delete()


@transaction.atomic
def import_start(*, actor: User, job: ImportJob, mode: str) -> ImportJob:
    """Queue the job in ``mode`` (``all_or_nothing`` / ``valid_rows``) for the background
    worker. Allowed while mapping, or again after a run that wrote nothing (e.g. an
    all-or-nothing run refused for invalid rows). ``ValidationFailed`` for an unknown mode
    or a mapping without the required columns; ``Conflict`` otherwise. Audited."""
    from salesflow.core.tasks import enqueue_on_commit
    from salesflow.imports.tasks import run_import

    _require_owner(actor, job)
    if mode not in ImportMode.values:
        raise ValidationFailed(
            _("The input is not valid."), field_errors={"mode": [_("Choose all-or-nothing or import valid rows.")]}
        )
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    restart = locked.status in (ImportStatus.FAILED, ImportStatus.CANCELLED) and locked.created_count == 0
    if locked.status != ImportStatus.MAPPING and not restart:
        raise Conflict(_("The import has already run; resume or roll it back instead."), code="import_started")
    required = {"lead": "name", "account": "name", "contact": "name", "opportunity": "name"}[job.kind]
    if required not in locked.mapping.values():
        raise ValidationFailed(
            _("The column mapping is not valid."),
            field_errors={"mapping": [_("Map a column to “%(field)s”.") % {"field": required}]},
        )
    if restart:
        ImportRow.objects.filter(job=locked).delete()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.QUEUED,
        mode=mode,
        progress=0,
        created_count=0,
        skipped_count=0,
        rejected_count=0,
        cancel_requested=False,
        error="",
        finished_at=None,
    )
    job.refresh_from_db()
    record_event(
        actor=actor,
        verb="imports.job.started",
        target=job,
        data={"kind": job.kind, "mode": mode, "rows": job.total_rows, "resumed": False},
    )
    enqueue_on_commit(run_import, job.pk)
    return job


@transaction.atomic
def import_cancel(*, actor: User, job: ImportJob) -> ImportJob:
    """Ask a queued or running import to stop: the worker stops before its next batch
    (valid rows: the batches done stay; all-or-nothing: nothing stays). A queued job is
    cancelled at once. ``Conflict`` when it is not queued or running. Audited."""
    _require_owner(actor, job)
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    if locked.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        raise Conflict(_("The import is not running."), code="import_not_running")
    fields: dict[str, Any] = {"cancel_requested": True}
    if locked.status == ImportStatus.QUEUED:
        fields.update(status=ImportStatus.CANCELLED, finished_at=timezone.now())
    ImportJob.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    record_event(actor=actor, verb="imports.job.cancel_requested", target=job, data={})
    return job


def _stale(job: ImportJob) -> bool:
    beat = job.heartbeat_at or job.started_at
    return job.status == ImportStatus.RUNNING and (beat is None or beat < timezone.now() - STALE_AFTER)


@transaction.atomic
def import_resume(*, actor: User, job: ImportJob) -> ImportJob:
    """Continue a failed, cancelled or killed (running without a heartbeat for
    ``STALE_AFTER``) import with the first row not yet recorded. All-or-nothing jobs wrote
    nothing, so they start over. ``Conflict`` otherwise. Audited ``imports.job.started``."""
    from salesflow.core.tasks import enqueue_on_commit
    from salesflow.imports.tasks import run_import

    _require_owner(actor, job)
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    if not (locked.status in (ImportStatus.FAILED, ImportStatus.CANCELLED) or _stale(locked)):
        raise Conflict(_("Only a failed, cancelled or interrupted import can be resumed."), code="import_not_resumable")
    if locked.mode == ImportMode.ALL_OR_NOTHING:
        ImportRow.objects.filter(job=locked).delete()
    else:
        ImportRow.objects.filter(job=locked, state=RowState.REJECTED).delete()
    _recount(locked.pk)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.QUEUED, cancel_requested=False, error="", finished_at=None
    )
    job.refresh_from_db()
    record_event(
        actor=actor,
        verb="imports.job.started",
        target=job,
        data={"kind": job.kind, "mode": job.mode, "rows": job.total_rows, "resumed": True},
    )
    enqueue_on_commit(run_import, job.pk)
    return job


def _recount(job_id: int) -> None:
    rows = ImportRow.objects.filter(job_id=job_id)
    counts = {state: rows.filter(state=state).count() for state in RowState.values}
    ImportJob.objects.filter(pk=job_id).update(
        created_count=counts[RowState.CREATED],
        skipped_count=counts[RowState.SKIPPED],
        rejected_count=counts[RowState.REJECTED],
        progress=sum(counts.values()),
    )


def _row(job: ImportJob, ctx: rowlib.Context, result: rowlib.RowResult, **fields: Any) -> ImportRow:
    return ImportRow(
        job=job,
        row_number=result.number,
        fingerprint=rowlib.fingerprint(job.kind, job.file_hash, result.number),
        external_key=rowlib.external_key(job.kind, result.external_id),
        **fields,
    )


def _write(job: ImportJob, ctx: rowlib.Context, result: rowlib.RowResult, *, savepoint: bool) -> ImportRow:
    """Write one prepared row (a savepoint in valid-rows mode); its ImportRow, unsaved."""
    if result.errors:
        return _row(job, ctx, result, state=RowState.REJECTED, errors=[list(e) for e in result.errors])
    if result.exists:
        return _row(job, ctx, result, state=RowState.SKIPPED, reason=result.exists[:500])
    try:
        if savepoint:
            with transaction.atomic():
                _kind_name, pk = rowlib.write_row(ctx, result)
        else:
            _kind_name, pk = rowlib.write_row(ctx, result)
    except ServiceError as exc:
        if not savepoint:
            raise
        errors = rowlib.service_errors(ctx, exc)
        return _row(job, ctx, result, state=RowState.REJECTED, errors=[list(e) for e in errors])
    if test_hook is not None:
        test_hook(result.number)
    return _row(job, ctx, result, state=RowState.CREATED, record_id=pk)


def _write_many(job: ImportJob, ctx: rowlib.Context, results: list[rowlib.RowResult]) -> list[ImportRow]:
    """Valid-rows mode, leads, accounts and contacts: the batch's rows written together
    through the kind's ``*_create_many`` service (:func:`rowlib.write_rows`, in a
    savepoint); a row the service refuses is rejected with its reasons. If the service
    raises for the whole batch, the savepoint is rolled back and the rows are written one by
    one (:func:`_write`), so a refusal still costs only its own row."""
    todo = [r for r in results if not r.errors and not r.exists]
    try:
        with transaction.atomic():
            outcomes = rowlib.write_rows(ctx, todo) if todo else []
    except ServiceError:
        return [_write(job, ctx, result, savepoint=True) for result in results]
    written = {id(r): outcome for r, outcome in zip(todo, outcomes, strict=True)}
    recorded: list[ImportRow] = []
    for result in results:
        outcome = written.get(id(result))
        if outcome is None:
            recorded.append(_write(job, ctx, result, savepoint=True))  # rejected or skipped: no write
            continue
        pk, error = outcome
        if error is not None:
            errors = rowlib.service_errors(ctx, error)
            recorded.append(_row(job, ctx, result, state=RowState.REJECTED, errors=[list(e) for e in errors]))
            continue
        if test_hook is not None:
            test_hook(result.number)
        recorded.append(_row(job, ctx, result, state=RowState.CREATED, record_id=pk))
    return recorded


def _count(rows: list[ImportRow]) -> dict[str, int]:
    return {
        "created_count": sum(r.state == RowState.CREATED for r in rows),
        "skipped_count": sum(r.state == RowState.SKIPPED for r in rows),
        "rejected_count": sum(r.state == RowState.REJECTED for r in rows),
    }


class _Cancelled(Exception):
    pass


def _cancel_requested(job_id: int) -> bool:
    return ImportJob.objects.filter(pk=job_id, cancel_requested=True).exists()


def _finish(job: ImportJob, status: str, error: str = "") -> None:
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(status=status, error=error[:500], finished_at=timezone.now())
        job.refresh_from_db()
        record_event(
            actor=job.owner,
            verb="imports.job.finished",
            target=job,
            data={
                "status": status,
                "created": job.created_count,
                "skipped": job.skipped_count,
                "rejected": job.rejected_count,
            },
        )


def import_execute(*, job_id: int, batch_size: int = BATCH_SIZE) -> ImportJob | None:
    """Run queued job ``job_id`` (the background half of ``import_start``/``import_resume``).

    Idempotent: only a queued job is claimed (queued → running, one winner). Rows already
    recorded for the job are not processed again. Any unexpected error marks the job failed
    (what landed stays recorded; resume continues) and is re-raised.
    """
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return None
    job = ImportJob.objects.select_related("owner").get(pk=job_id)
    if not can_import(job.owner):
        _finish(job, ImportStatus.FAILED, "the importing user may no longer import")
        return job
    try:
        table = job_table(job)
        done = set(ImportRow.objects.filter(job=job).values_list("row_number", flat=True))
        todo = [r for r in table.rows if r[0] not in done]
        ctx = rowlib.Context(
            actor=job.owner, kind=job.kind, mapping=job.mapping, file_hash=job.file_hash, job_id=job.pk
        )
        if job.mode == ImportMode.ALL_OR_NOTHING:
            _run_all_or_nothing(job, ctx, table, todo, batch_size)
        else:
            _run_valid_rows(job, ctx, table, todo, batch_size)
    except Exception as exc:
        logger.exception("import %s failed", job_id)
        _finish(job, ImportStatus.FAILED, str(exc) or exc.__class__.__name__)
        raise
    job.refresh_from_db()
    return job


def _run_valid_rows(
    job: ImportJob, ctx: rowlib.Context, table: Table, todo: list[tuple[int, list[str]]], batch_size: int
) -> None:
    for batch in rowlib.iter_batches(todo, batch_size):
        if _cancel_requested(job.pk):
            _finish(job, ImportStatus.CANCELLED)
            return
        results = rowlib.prepare_batch(ctx, batch, table.headers)
        with transaction.atomic():
            if ctx.kind in rowlib.BATCHED_KINDS:
                recorded = _write_many(job, ctx, results)
            else:
                recorded = [_write(job, ctx, result, savepoint=True) for result in results]
            ImportRow.objects.bulk_create(recorded)
            counts = _count(recorded)
            ImportJob.objects.filter(pk=job.pk).update(
                progress=F("progress") + len(recorded),
                created_count=F("created_count") + counts["created_count"],
                skipped_count=F("skipped_count") + counts["skipped_count"],
                rejected_count=F("rejected_count") + counts["rejected_count"],
                heartbeat_at=timezone.now(),
            )
    _finish(job, ImportStatus.DONE)


def _run_all_or_nothing(
    job: ImportJob, ctx: rowlib.Context, table: Table, todo: list[tuple[int, list[str]]], batch_size: int
) -> None:
    prepared: list[rowlib.RowResult] = []
    for batch in rowlib.iter_batches(todo, batch_size):
        if _cancel_requested(job.pk):
            _finish(job, ImportStatus.CANCELLED)
            return
        prepared.extend(rowlib.prepare_batch(ctx, batch, table.headers))
        ImportJob.objects.filter(pk=job.pk).update(progress=len(prepared) // 2, heartbeat_at=timezone.now())
    rejected = [r for r in prepared if r.errors]
    if rejected:
        _record_rejections(job, ctx, rejected)
        _finish(job, ImportStatus.FAILED, _("%(n)d rows are not valid; nothing was imported.") % {"n": len(rejected)})
        return
    current: rowlib.RowResult | None = None
    try:
        with transaction.atomic():
            recorded: list[ImportRow] = []
            if ctx.kind in rowlib.BATCHED_KINDS:
                for start in range(0, len(prepared), batch_size):
                    if start and _cancel_requested(job.pk):
                        raise _Cancelled
                    chunk = prepared[start : start + batch_size]
                    pending = [r for r in chunk if not r.exists]
                    current = chunk[0]  # a refusal of the whole batch is reported on its first row
                    outcomes = rowlib.write_rows(ctx, pending) if pending else []
                    written = {id(r): outcome for r, outcome in zip(pending, outcomes, strict=True)}
                    for result in chunk:
                        current = result
                        outcome = written.get(id(result))
                        if outcome is None:
                            recorded.append(_write(job, ctx, result, savepoint=False))  # skipped
                            continue
                        pk, error = outcome
                        if error is not None:
                            raise error
                        if test_hook is not None:
                            test_hook(result.number)
                        recorded.append(_row(job, ctx, result, state=RowState.CREATED, record_id=pk))
            for index, result in enumerate(prepared if ctx.kind not in rowlib.BATCHED_KINDS else []):
                if index and index % batch_size == 0 and _cancel_requested(job.pk):
                    raise _Cancelled
                current = result
                recorded.append(_write(job, ctx, result, savepoint=False))
            ImportRow.objects.bulk_create(recorded, batch_size=500)
            counts = _count(recorded)
            ImportJob.objects.filter(pk=job.pk).update(progress=len(recorded), **counts)
    except _Cancelled:
        _finish(job, ImportStatus.CANCELLED)
        return
    except ServiceError as exc:
        assert current is not None
        current.errors = rowlib.service_errors(ctx, exc)
        _record_rejections(job, ctx, [current])
        _finish(job, ImportStatus.FAILED, _("Row %(row)d was refused; nothing was imported.") % {"row": current.number})
        return
    _finish(job, ImportStatus.DONE)


def _record_rejections(job: ImportJob, ctx: rowlib.Context, rejected: list[rowlib.RowResult]) -> None:
    with transaction.atomic():
        ImportRow.objects.bulk_create(
            [_row(job, ctx, r, state=RowState.REJECTED, errors=[list(e) for e in r.errors]) for r in rejected],
            batch_size=500,
        )
        ImportJob.objects.filter(pk=job.pk).update(rejected_count=len(rejected), progress=job.total_rows)


def _delete_record(actor: User, kind: str, pk: int) -> bool:
    """Delete one imported record through its service; False when it is gone already."""
    if kind == ImportKind.LEAD:
        from salesflow.leads.models import Lead
        from salesflow.leads.services import lead_delete

        lead = Lead.objects.filter(pk=pk).first()
        if lead is None:
            return False
        lead_delete(actor=actor, lead=lead)
    elif kind == ImportKind.ACCOUNT:
        from salesflow.parties.models import Account
        from salesflow.parties.services import account_delete

        account = Account.objects.filter(pk=pk).first()
        if account is None:
            return False
        account_delete(actor=actor, account=account)
    elif kind == ImportKind.CONTACT:
        from salesflow.parties.models import Contact
        from salesflow.parties.services import contact_delete

        contact = Contact.objects.filter(pk=pk).select_related("account").first()
        if contact is None:
            return False
        contact_delete(actor=actor, contact=contact)
    else:
        from salesflow.sales.models import Opportunity
        from salesflow.sales.services import opportunity_delete

        opp = Opportunity.objects.filter(pk=pk).first()
        if opp is None:
            return False
        opportunity_delete(actor=actor, opportunity=opp)
    return True


def import_rollback(*, actor: User, job: ImportJob) -> dict[str, Any]:
    """Delete exactly the records ``job`` created, newest row first, each through its
    record service as ``actor`` (so each deletion is checked and audited) in its own
    transaction together with its row's state (``rolled_back``).

    A record a service refuses to delete (e.g. an account that has gained contacts) is
    kept, its row stays ``created`` and the reason is returned under ``kept``. The job
    becomes ``rolled_back`` when nothing is kept. ``Conflict`` while the job is queued or
    running. Audited ``imports.job.rolled_back``. Returns ``{"deleted": n, "kept": [...]}``.
    """
    _require_owner(actor, job)
    job.refresh_from_db()
    if job.is_active and not _stale(job):
        raise Conflict(_("Cancel the import before rolling it back."), code="import_running")
    deleted = 0
    kept: list[dict[str, Any]] = []
    rows = list(ImportRow.objects.filter(job=job, state=RowState.CREATED).order_by("-row_number"))
    for row in rows:
        try:
            with transaction.atomic():
                if row.record_id is not None:
                    _delete_record(actor, job.kind, int(row.record_id))
                ImportRow.objects.filter(pk=row.pk).update(state=RowState.ROLLED_BACK)
                deleted += 1
        except ServiceError as exc:
            kept.append({"row": row.row_number, "reason": str(exc.message)})
    with transaction.atomic():
        status = ImportStatus.ROLLED_BACK if not kept else job.status
        if job.status == ImportStatus.RUNNING:
            status = ImportStatus.FAILED if kept else ImportStatus.ROLLED_BACK
        ImportJob.objects.filter(pk=job.pk).update(
            status=status, created_count=len(rows) - deleted, finished_at=job.finished_at or timezone.now()
        )
        job.refresh_from_db()
        record_event(
            actor=actor, verb="imports.job.rolled_back", target=job, data={"deleted": deleted, "kept": len(kept)}
        )
    return {"deleted": deleted, "kept": kept}


__all__ = [
    "BATCH_SIZE",
    "clean_mapping",
    "import_cancel",
    "import_execute",
    "import_resume",
    "import_rollback",
    "import_set_mapping",
    "import_start",
    "import_upload",
    "job_table",
    "template_delete",
    "template_save",
]
