"""``/api/v1/duplicates``: the duplicate check for values (any user; candidates the caller
cannot read carry only kind and owner) and the administrators' duplicate report (start,
status, pairs, dismiss). The same services and selectors as the pages."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.core.errors import ValidationFailed
from salesflow.core.keyset import api_page
from salesflow.dedupe.matching import RECORD_KINDS
from salesflow.dedupe.models import DuplicatePair, DuplicateReportRun, PairKind, PairStatus
from salesflow.dedupe.permissions import require_report_access
from salesflow.dedupe.schemas import (
    CheckOut,
    CheckQuery,
    PairFilters,
    PairListOut,
    PairOut,
    ReportStartIn,
    ReportStatusOut,
)
from salesflow.dedupe.selectors import check_values, latest_finished_run, latest_run, report_pairs
from salesflow.dedupe.services import pair_dismiss, report_start
from salesflow.users.models import User

router = Router(tags=["duplicates"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@router.get("/check", response=CheckOut, summary="Possible duplicates of a new record's values")
def check(request: HttpRequest, query: Query[CheckQuery]) -> dict[str, Any]:
    """Candidates (score ≥ 0.8) among leads, contacts and accounts for the values of a new
    ``kind`` record. A candidate the caller cannot read has ``visible: false`` and only its
    kind and owner."""
    if query.kind not in RECORD_KINDS:
        raise ValidationFailed(
            _("The input is not valid."), field_errors={"kind": [_("Choose lead, account or contact.")]}
        )
    values = query.model_dump(exclude={"kind"})
    found = check_values(_user(request), query.kind, values)  # type: ignore[arg-type]
    return {
        "candidates": [
            {
                "kind": c.kind,
                "owner_id": c.owner_id,
                "visible": c.visible,
                "id": c.pk,
                "label": c.label,
                "score": c.score,
                "reasons": list(c.reasons),
            }
            for c in found
        ]
    }


@router.post("/report", response={202: ReportStatusOut}, summary="Start a duplicate report (administrators)")
def start_report(request: HttpRequest, payload: ReportStartIn) -> tuple[int, dict[str, Any]]:
    """Scans the whole database in the background; 409 while a run is going, 403 for others."""
    run = report_start(actor=_user(request), min_score=payload.min_score)
    return 202, {"run": run}


@router.get("/report", response=ReportStatusOut, summary="The duplicate report's status (administrators)")
def report_status(request: HttpRequest) -> dict[str, Any]:
    require_report_access(_user(request))
    return {"run": latest_run()}


@router.get("/pairs", response=PairListOut, summary="Pairs of the latest finished report (administrators)")
def list_pairs(request: HttpRequest, filters: Query[PairFilters]) -> dict[str, Any]:
    """Best first; filter by kind, lowest score and status (open by default)."""
    require_report_access(_user(request))
    errors: dict[str, list[str]] = {}
    if filters.kind and filters.kind not in PairKind.values:
        errors["kind"] = [_("Choose lead, account or contact.")]
    if filters.status not in PairStatus.values:
        errors["status"] = [_("Choose open or dismissed.")]
    if errors:
        raise ValidationFailed(_("The input is not valid."), field_errors=errors)
    qs = report_pairs(latest_finished_run(), kind=filters.kind, min_score=filters.min_score, status=filters.status)
    return api_page(qs, cursor=filters.cursor, limit=filters.limit, offset=filters.offset)


@router.post("/pairs/{int:pair_id}/dismiss", response=PairOut, summary="Dismiss a pair (administrators)")
def dismiss_pair(request: HttpRequest, pair_id: int) -> DuplicatePair:
    pair = get_object_or_404(DuplicatePair, pk=pair_id)  # an unknown id is a 404 whoever asks
    user = _user(request)
    require_report_access(user)
    return pair_dismiss(actor=user, pair=pair)


__all__ = ["DuplicateReportRun", "router"]
