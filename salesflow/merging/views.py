"""Pages of the duplicates app: a record's possible duplicates, the merge screen, a merge's
result with its undo, and access requests (ask, decide, list). Views parse input, resolve
records through the visibility policy (``Http404`` for what the user may not see) and call
the services."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesflow.core.errors import Forbidden, ServiceError
from salesflow.dedupe.matching import find_candidates
from salesflow.merging.checks import DETAIL_URLS, describe_candidates
from salesflow.merging.models import MESSAGE_LENGTH, AccessLevel, MergeRecord
from salesflow.merging.permissions import MODELS, can_manage
from salesflow.merging.selectors import (
    matcher_values,
    merge_rows,
    merges_of,
    record_for_user,
    requests_made_by,
    requests_to_decide,
)
from salesflow.merging.services import (
    access_request_create,
    access_request_decide,
    may_decide,
    merge_undo,
    record_merge,
)
from salesflow.users.models import User

LIST_LIMIT = 100


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@require_GET
def duplicates_of_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The possible duplicates of one record, with a merge link for those the user may merge."""
    user = _user(request)
    record = record_for_user(user, kind, pk)
    candidates = find_candidates(cast(Any, kind), matcher_values(kind, record), exclude=[(cast(Any, kind), record.pk)])
    items = describe_candidates(user, candidates)
    may_merge = can_manage(user, kind, record)
    for item in items:
        item["merge_url"] = (
            reverse("merging:merge", args=[kind, record.pk, item["id"]])
            if may_merge and item["kind"] == kind and item["writable"]
            else None
        )
    context = {
        "kind": kind,
        "record": record,
        "record_url": reverse(DETAIL_URLS[kind], args=[record.pk]),
        "duplicates": items,
        "merges": list(merges_of(kind, record.pk)[:20]),
    }
    return render(request, "merging/duplicates_of.html", context)


@require_http_methods(["GET", "POST"])
def merge_view(request: HttpRequest, kind: str, pk_a: int, pk_b: int) -> HttpResponse:
    """The merge screen: pick the survivor and, per differing field, the value to keep."""
    user = _user(request)
    if pk_a == pk_b:
        raise Http404("the same record twice")
    a = record_for_user(user, kind, pk_a)
    b = record_for_user(user, kind, pk_b)
    if not (can_manage(user, kind, a) and can_manage(user, kind, b)):
        raise Forbidden(_("You may only merge records you may delete."))
    rows = merge_rows(user, kind, a, b)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        survivor_side = request.POST.get("survivor", "a")
        if survivor_side not in ("a", "b"):
            survivor_side = "a"
        survivor, loser = (a, b) if survivor_side == "a" else (b, a)
        choices: dict[str, str] = {}
        for row in rows:
            picked = request.POST.get(f"field_{row.name}", survivor_side)
            if row.differs and picked in ("a", "b"):
                choices[row.name] = "survivor" if picked == survivor_side else "loser"
        try:
            merge = record_merge(actor=user, kind=kind, survivor=survivor, loser=loser, field_choices=choices)
        except Forbidden:
            raise
        except ServiceError as exc:
            errors = [str(exc.message), *(m for msgs in exc.field_errors.values() for m in msgs)]
            status = 409 if exc.status_code == 409 else 400
        else:
            messages.success(request, _("The records were merged."))
            return redirect("merging:merge_result", pk=merge.pk)
    context = {
        "kind": kind,
        "a": a,
        "b": b,
        "a_url": reverse(DETAIL_URLS[kind], args=[a.pk]),
        "b_url": reverse(DETAIL_URLS[kind], args=[b.pk]),
        "rows": rows,
        "differing": [row for row in rows if row.differs],
        "errors": errors,
    }
    return render(request, "merging/merge.html", context, status=status)


def _merge_for_user(user: User, pk: int) -> MergeRecord:
    """A merge the user may see: its survivor is visible to them (else ``Http404``)."""
    merge = MergeRecord.objects.select_related("actor", "undone_by").filter(pk=pk).first()
    if merge is None or merge.kind not in MODELS:
        raise Http404("merge not found")
    record_for_user(user, merge.kind, merge.survivor_id)
    return merge


@require_GET
def merge_result_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    merge = _merge_for_user(user, pk)
    survivor = record_for_user(user, merge.kind, merge.survivor_id)
    snapshot: dict[str, Any] = merge.snapshot or {}
    context = {
        "merge": merge,
        "survivor": survivor,
        "survivor_url": reverse(DETAIL_URLS[merge.kind], args=[survivor.pk]),
        "moved": len(snapshot.get("moved", [])),
        "dropped": len(snapshot.get("dropped", [])),
        "changed": sorted(snapshot.get("survivor_changes", {})),
        "can_undo": merge.undone_at is None and can_manage(user, merge.kind, survivor),
    }
    return render(request, "merging/merge_result.html", context)


@require_POST
def merge_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    merge = _merge_for_user(user, pk)
    try:
        merge_undo(actor=user, merge=merge)
    except Forbidden:
        raise
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The merge was undone."))
    return redirect("merging:merge_result", pk=merge.pk)


# --- access requests ---------------------------------------------------------------------------


@require_GET
def access_requests_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    to_me = list(requests_to_decide(user)[:LIST_LIMIT])
    context = {
        "to_me": to_me,
        "decidable": {r.pk for r in to_me if r.status == "pending" and may_decide(user, r)},
        "mine": list(requests_made_by(user)[:LIST_LIMIT]),
        "urls": DETAIL_URLS,
    }
    return render(request, "merging/access_requests.html", context)


@require_http_methods(["GET", "POST"])
def access_request_new_view(request: HttpRequest) -> HttpResponse:
    """Ask the owner of a record (named by kind and id, as the duplicate panel shows it)."""
    user = _user(request)
    source = request.POST if request.method == "POST" else request.GET
    kind = source.get("kind", "")
    raw_id = source.get("id", "")
    if kind not in MODELS or not raw_id.isdigit() or len(raw_id) > 18:
        raise Http404("unknown record")
    access = source.get("access", AccessLevel.READ)
    if access not in AccessLevel.values:
        access = AccessLevel.READ
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            access_request_create(
                actor=user, kind=kind, object_id=int(raw_id), message=request.POST.get("message", ""), access=access
            )
        except Forbidden:
            raise
        except ServiceError as exc:
            errors = [str(exc.message), *(m for msgs in exc.field_errors.values() for m in msgs)]
            status = exc.status_code
        else:
            messages.success(request, _("Your access request was sent to the owner."))
            return redirect("merging:access_requests")
    context = {
        "kind": kind,
        "object_id": raw_id,
        "access": access,
        "errors": errors,
        "message": request.POST.get("message", ""),
        "max_length": MESSAGE_LENGTH,
    }
    return render(request, "merging/access_request_new.html", context, status=status)


@require_POST
def access_request_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    access_request = requests_to_decide(user).filter(pk=pk).first()
    if access_request is None:
        raise Http404("request not found")
    decision = request.POST.get("decision")
    if decision not in ("grant", "decline"):
        messages.error(request, _("Choose grant or decline."))
        return redirect("merging:access_requests")
    try:
        access_request_decide(actor=user, request=access_request, grant=decision == "grant")
    except Forbidden:
        raise
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Access granted.") if decision == "grant" else _("Access declined."))
    return redirect("merging:access_requests")
