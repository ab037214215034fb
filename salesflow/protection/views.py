"""Pages of customer protection: the collision queue (撞单) with its decisions, and the
known-customer list (已成交客户名单) under settings with its upload."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from salesflow.core.errors import ServiceError, ValidationFailed
from salesflow.core.web import apply_service_error, page_number, paginate
from salesflow.protection.forms import DecideForm, ListSearchForm, ListUploadForm
from salesflow.protection.listfiles import MAX_FILE_BYTES, read_list_file
from salesflow.protection.models import Collision, KnownCustomerLoad
from salesflow.protection.permissions import can_manage_known_customers, is_arbiter_role
from salesflow.protection.selectors import collision_queue, collision_rows, known_customers_search, recent_loads
from salesflow.protection.services import collision_decide, get_collision_for_user, known_customers_load
from salesflow.users.models import User

QUEUE_PAGE = 20
LIST_PAGE = 50
_TABS = ("decide", "mine", "decided")


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def queue_view(request: HttpRequest) -> HttpResponse:
    """撞单 / Collisions: managers and administrators see the open collisions they may decide
    (tab ``decide``); everyone sees their own (``mine``, read-only) and the decided ones."""
    user = _user(request)
    arbiter = is_arbiter_role(user)
    tab = request.GET.get("tab") or ("decide" if arbiter else "mine")
    if tab not in _TABS or (tab == "decide" and not arbiter):
        tab = "mine"
    if tab == "decided":
        qs = collision_queue(user, scope="all", status="decided")
    else:
        qs = collision_queue(user, scope=tab, status="open")
    page = paginate(qs, page_number(request), per_page=QUEUE_PAGE)
    rows = collision_rows(user, list(page.object_list))
    return render(
        request,
        "protection/queue.html",
        {"page": page, "rows": rows, "tab": tab, "arbiter": arbiter, "form": DecideForm()},
    )


def _collision(request: HttpRequest, pk: int) -> Collision:
    try:
        return get_collision_for_user(_user(request), pk)
    except Collision.DoesNotExist:
        raise Http404 from None


def collision_view(request: HttpRequest, pk: int, form: DecideForm | None = None, status: int = 200) -> HttpResponse:
    """One collision with both records side by side (and the decision form for its arbiter)."""
    collision = _collision(request, pk)
    row = collision_rows(_user(request), [collision])[0]
    return render(request, "protection/collision.html", {"row": row, "form": form or DecideForm()}, status=status)


@require_POST
def decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Decide: keep, transfer (with its direction) or share; back to the queue."""
    user = _user(request)
    collision = _collision(request, pk)
    form = DecideForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            collision_decide(
                actor=user,
                collision=collision,
                decision=data["decision"],
                direction=data["direction"],
                note=data["note"],
            )
        except ServiceError as exc:
            if exc.status_code == 403:
                raise PermissionDenied(str(exc.message)) from None
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The collision was decided."))
            return redirect("protection:queue")
    return collision_view(request, pk, form=form, status=400)


# --- known-customer list (settings) ----------------------------------------------------------


def _require_admin(user: User) -> None:
    if not can_manage_known_customers(user):
        raise PermissionDenied(_("Only administrators see and load known-customer lists."))


@require_http_methods(["GET", "POST"])
def known_customers_view(request: HttpRequest) -> HttpResponse:
    """已成交客户名单: search the list, upload a CSV or XLSX file, see the latest loads."""
    user = _user(request)
    _require_admin(user)
    upload = ListUploadForm()
    status = 200
    if request.method == "POST":
        upload = ListUploadForm(request.POST, request.FILES)
        if upload.is_valid():
            uploaded = upload.cleaned_data["file"]
            try:
                if uploaded.size is not None and uploaded.size > MAX_FILE_BYTES:
                    raise ValidationFailed(
                        _("The file could not be read."),
                        field_errors={
                            "file": [_("The file is larger than %(mb)d MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)}]
                        },
                    )
                rows = read_list_file(uploaded.name or "", uploaded.read(MAX_FILE_BYTES + 1))
                load = known_customers_load(
                    actor=user,
                    source_system=upload.cleaned_data["source_system"],
                    rows=rows,
                    file_name=uploaded.name or "",
                )
            except ServiceError as exc:
                apply_service_error(upload, exc)
            else:
                if load.status == "done":
                    messages.success(
                        request,
                        _("Loaded: %(created)d created, %(updated)d updated, %(rejected)d rejected.")
                        % {"created": load.created, "updated": load.updated, "rejected": load.rejected},
                    )
                else:
                    messages.info(request, _("The list is being loaded in the background."))
                return redirect("known_customers:load", pk=load.pk)
        status = 400
    search = ListSearchForm(request.GET or None)
    q = search.cleaned_data["q"] if search.is_valid() else ""
    page = paginate(known_customers_search(q), page_number(request), per_page=LIST_PAGE)
    context: dict[str, Any] = {"page": page, "upload": upload, "search": search, "loads": recent_loads()}
    return render(request, "protection/known_customers.html", context, status=status)


def load_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One list load: its summary and the rejected rows with their reasons."""
    _require_admin(_user(request))
    load = KnownCustomerLoad.objects.defer("rows").select_related("created_by").filter(pk=pk).first()
    if load is None:
        raise Http404
    return render(request, "protection/load.html", {"load": load})
