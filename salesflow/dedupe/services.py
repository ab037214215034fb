"""Writes of the duplicate check: starting and running the duplicate report, dismissing pairs.

Every function checks its actor (administrators only) and audits what it does.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.audit import record_event
from salesflow.core.errors import Conflict
from salesflow.core.phrases import stored_phrase
from salesflow.core.tasks import enqueue_on_commit
from salesflow.dedupe.matching import (
    DEFAULT_MIN_SCORE,
    MAX_PER_KEY,
    RECORD_KINDS,
    Existing,
    RecordKind,
    bounded_blocking_keys,
    existing_records,
    fetch_blocks,
    score_pair,
)
from salesflow.dedupe.models import DuplicatePair, DuplicateReportRun, PairStatus, ReportStatus
from salesflow.dedupe.permissions import require_report_access
from salesflow.leads.models import Lead
from salesflow.parties.models import Account, Contact
from salesflow.users.models import User

logger = logging.getLogger(__name__)

SCAN_BATCH = 1000


@transaction.atomic
def report_start(*, actor: User, min_score: float = DEFAULT_MIN_SCORE) -> DuplicateReportRun:
    """Start a duplicate report over the whole database (a background task scans it).

    Raises ``Forbidden`` for anyone but an administrator and ``Conflict`` while another run
    is waiting or running. Audits ``dedupe.report.started``.
    """
    require_report_access(actor)
    if not 0.5 <= min_score <= 1.0:
        min_score = DEFAULT_MIN_SCORE
    busy = DuplicateReportRun.objects.select_for_update().filter(
        status__in=[ReportStatus.PENDING, ReportStatus.RUNNING]
    )
    if busy.exists():
        raise Conflict(_("A duplicate report is already running."), code="running")
    run = DuplicateReportRun.objects.create(started_by=actor, min_score=min_score)
    record_event(actor=actor, verb="dedupe.report.started", target=run, data={"run": run.pk})
    from salesflow.dedupe.tasks import run_duplicate_report

    enqueue_on_commit(run_duplicate_report, run.pk)
    return run


def report_run(*, run_id: int, batch_size: int = SCAN_BATCH) -> DuplicateReportRun | None:
    """Scan the database for pending run ``run_id`` (the background half of :func:`report_start`).

    Idempotent: only a pending run is claimed (one winner). Records of each kind are read in
    primary-key batches; each batch fetches the records sharing a blocking key with it (one
    query) and keeps pairs ``pk_a < pk_b`` scoring at least the run's ``min_score``. Progress
    is saved after every batch. On success the run's pairs replace older runs' pairs, and a
    pair dismissed before stays dismissed. Audits ``dedupe.report.completed``.
    """
    claimed = DuplicateReportRun.objects.filter(pk=run_id, status=ReportStatus.PENDING).update(
        status=ReportStatus.RUNNING
    )
    if not claimed:
        return None
    run = DuplicateReportRun.objects.select_related("started_by").get(pk=run_id)
    total = Lead.objects.count() + Account.objects.count() + Contact.objects.count()
    DuplicateReportRun.objects.filter(pk=run_id).update(total=total)
    dismissed = set(
        DuplicatePair.objects.filter(status=PairStatus.DISMISSED).values_list("kind", "pk_a", "pk_b").distinct()
    )
    done = 0
    found = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        DuplicateReportRun.objects.filter(pk=run_id).update(progress=done)

    try:
        for kind in RECORD_KINDS:
            found += _scan_kind(run, kind, dismissed, progress, batch_size)
    except Exception as exc:  # the run says it failed instead of staying "running" forever
        logger.exception("duplicate report %s failed", run_id)
        DuplicateReportRun.objects.filter(pk=run_id).update(status=ReportStatus.FAILED, error=str(exc)[:500])
        raise
    with transaction.atomic():
        DuplicatePair.objects.exclude(run=run).delete()
        DuplicateReportRun.objects.filter(pk=run_id).update(
            status=ReportStatus.DONE, pairs_found=found, progress=total, finished_at=timezone.now()
        )
        run.refresh_from_db()
        record_event(
            actor=run.started_by, verb="dedupe.report.completed", target=run, data={"records": total, "pairs": found}
        )
    return run


def _scan_kind(
    run: DuplicateReportRun,
    kind: RecordKind,
    dismissed: set[tuple[str, int, int]],
    progress: Callable[[int], None],
    batch_size: int,
) -> int:
    last = 0
    found = 0
    while True:
        batch = existing_records(kind, Q(pk__gt=last), batch_size, ordered=True)
        if not batch:
            return found
        last = batch[-1].pk
        fetched = fetch_blocks([record.features for record in batch], kinds=[kind])
        index: dict[str, list[Existing]] = defaultdict(list)
        for other in fetched.records:
            for key in bounded_blocking_keys(other.features, fetched.common):
                index[key].append(other)
        pairs: list[DuplicatePair] = []
        for record in batch:
            seen: set[int] = set()
            for key in bounded_blocking_keys(record.features, fetched.common):
                block = index.get(key, ())
                if len(block) > MAX_PER_KEY:
                    continue
                for other in block:
                    if other.pk <= record.pk or other.pk in seen:
                        continue
                    seen.add(other.pk)
                    score, reasons = score_pair(kind, record.features, kind, other.features, run.min_score)
                    if score >= run.min_score:
                        status = PairStatus.DISMISSED if (kind, record.pk, other.pk) in dismissed else PairStatus.OPEN
                        pairs.append(
                            DuplicatePair(
                                run=run,
                                kind=kind,
                                pk_a=record.pk,
                                pk_b=other.pk,
                                label_a=record.label[:200],
                                label_b=other.label[:200],
                                score=Decimal(f"{score:.4f}"),
                                reasons=[stored_phrase(r) for r in reasons],
                                status=status,
                            )
                        )
        DuplicatePair.objects.bulk_create(pairs, ignore_conflicts=True)
        found += len(pairs)
        progress(len(batch))


@transaction.atomic
def pair_dismiss(*, actor: User, pair: DuplicatePair) -> DuplicatePair:
    """Mark ``pair`` as not duplicates (kept dismissed in later runs). Administrators only;
    dismissing a dismissed pair changes nothing. Audits ``dedupe.pair.dismissed``."""
    require_report_access(actor)
    locked = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
    if locked.status == PairStatus.DISMISSED:
        return locked
    locked.status = PairStatus.DISMISSED
    locked.dismissed_by = actor
    locked.dismissed_at = timezone.now()
    locked.save(update_fields=["status", "dismissed_by", "dismissed_at"])
    record_event(
        actor=actor,
        verb="dedupe.pair.dismissed",
        target=locked.run,
        data={"kind": locked.kind, "pk_a": locked.pk_a, "pk_b": locked.pk_b},
    )
    return locked


def match_keys_refresh(*, batch_size: int = 2000) -> int:
    """Recompute the stored duplicate-check keys of every lead, account and contact whose keys
    differ (for rows written past the services: the demo generator, bulk loads). System
    maintenance, no actor; idempotent; primary-key batches. Returns the rows changed."""
    from salesflow.core.normalize import party_match_keys

    changed = 0
    specs: list[tuple[Any, list[str], Callable[[Any], dict[str, str]]]] = [
        (
            Lead,
            ["company_stem", "company_pinyin", "company_norm", "company_regions", "name_pinyin", "phone_key"],
            lambda r: party_match_keys(person_name=r.name, company_name=r.company_name, phone=r.phone),
        ),
        (
            Account,
            ["company_stem", "company_pinyin", "company_norm", "company_regions", "phone_key"],
            lambda r: party_match_keys(company_name=r.name, phone=r.phone),
        ),
        (Contact, ["name_pinyin", "phone_key"], lambda r: party_match_keys(person_name=r.name, phone=r.phone)),
    ]
    for model, fields, keys_of in specs:
        last = 0
        while True:
            rows = list(model.objects.filter(pk__gt=last).order_by("pk")[:batch_size])
            if not rows:
                break
            last = rows[-1].pk
            dirty = []
            for row in rows:
                keys = keys_of(row)
                if any(getattr(row, f) != keys[f] for f in fields):
                    for f in fields:
                        setattr(row, f, keys[f])
                    dirty.append(row)
            model.objects.bulk_update(dirty, fields)
            changed += len(dirty)
    return changed
