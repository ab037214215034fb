"""Reads of the duplicate check: the report's runs and pairs, and the visible-safe check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from salesflow.dedupe.matching import DEFAULT_MIN_SCORE, RecordKind, find_candidates
from salesflow.dedupe.models import DuplicatePair, DuplicateReportRun, PairStatus, ReportStatus
from salesflow.leads.permissions import leads_visible_to
from salesflow.parties.permissions import accounts_visible_to, contacts_visible_to
from salesflow.users.models import User


def latest_run() -> DuplicateReportRun | None:
    """The newest report run (any status)."""
    return DuplicateReportRun.objects.order_by("-id").first()


def latest_finished_run() -> DuplicateReportRun | None:
    """The newest finished run, whose pairs the report shows."""
    return DuplicateReportRun.objects.filter(status=ReportStatus.DONE).order_by("-id").first()


def report_pairs(
    run: DuplicateReportRun | None,
    *,
    kind: str = "",
    min_score: float = 0.0,
    status: str = PairStatus.OPEN,
) -> QuerySet[DuplicatePair]:
    """Pairs of ``run`` (none without a run), best first (score, then newest id), filtered by
    kind, lowest score and status. Served by ``dedupe_pair_browse_idx``/``dedupe_pair_kind_idx``."""
    if run is None:
        return DuplicatePair.objects.none()
    qs = DuplicatePair.objects.filter(run=run, status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if min_score > 0:
        qs = qs.filter(score__gte=Decimal(f"{min_score:.4f}"))
    return qs.order_by("-score", "-id")


@dataclass(frozen=True)
class CheckedCandidate:
    """A candidate as a user may see it: ``pk``, ``label``, ``score`` and ``reasons`` only
    when the user can read the record; otherwise just its kind and owner."""

    kind: RecordKind
    owner_id: int | None
    visible: bool
    pk: int | None = None
    label: str = ""
    score: float | None = None
    reasons: tuple[str, ...] = ()


def check_values(
    user: User, kind: RecordKind, values: Mapping[str, Any], *, min_score: float = DEFAULT_MIN_SCORE
) -> list[CheckedCandidate]:
    """Candidates for ``values`` of a new ``kind`` record, safe to show ``user``: a record the
    user cannot read is named only by its kind and owner (one visibility query per kind)."""
    candidates = find_candidates(kind, values, min_score=min_score)
    visible: dict[str, set[int]] = {}
    for ck in {c.kind for c in candidates}:
        pks = [c.pk for c in candidates if c.kind == ck]
        if ck == "lead":
            qs: QuerySet[Any] = leads_visible_to(user)
        elif ck == "account":
            qs = accounts_visible_to(user)
        else:
            qs = contacts_visible_to(user)
        visible[ck] = set(qs.filter(pk__in=pks).values_list("pk", flat=True))
    out: list[CheckedCandidate] = []
    for c in candidates:
        if c.pk in visible.get(c.kind, set()):
            out.append(CheckedCandidate(c.kind, c.owner_id, True, c.pk, c.label, c.score, c.reasons))
        else:
            out.append(CheckedCandidate(c.kind, c.owner_id, False))
    return out
