"""Pages of the orders app: the order list, create from a contract or a quote
(``/orders/new/?contract=ID`` / ``?quote=ID``), the order page (lines with ordered,
delivered and open quantities, deliveries, hand-off, installation, acceptance, timeline),
the delivery form and the account page's orders panel. Thin callers of the services."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesflow.core.audit import timeline_for
from salesflow.core.errors import ServiceError
from salesflow.core.web import apply_service_error, page_number, paginate, render_list
from salesflow.orders.forms import DeliveryForm, HandOffForm, LineForm, OrderFilterForm, ProofForm, ReasonForm
from salesflow.orders.models import Order, OrderStatus
from salesflow.orders.permissions import (
    can_write_order,
    get_contract_for_order,
    get_delivery_for_user,
    get_order_for_user,
    get_quote_for_order,
)
from salesflow.orders.selectors import (
    ACCOUNT_PANEL_LIMIT,
    DEFAULT_SORT,
    PAGE_SIZE,
    OrderFilters,
    account_orders,
    order_detail,
    order_list,
)
from salesflow.orders.services import (
    delivery_create,
    delivery_record_installation,
    delivery_void,
    order_cancel,
    order_confirm,
    order_create_from_contract,
    order_create_from_quote,
    order_hand_off,
    order_line_update,
    order_record_acceptance,
)
from salesflow.parties.permissions import get_account_for_user
from salesflow.users.models import User
from salesflow.users.permissions import visible_owner_ids


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _owners(user: User) -> Any:
    ids = visible_owner_ids(user)
    qs = User.objects.filter(is_active=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.order_by("display_name", "username")


def _error_text(exc: ServiceError) -> str:
    parts = [str(exc.message)]
    for messages_ in exc.field_errors.values():
        parts.extend(m for m in messages_ if m not in parts)
    return " ".join(parts)


@require_GET
def order_list_view(request: HttpRequest) -> HttpResponse:
    """Orders the user may see: filters, whitelisted sorts and keyset pages (fixed query count)."""
    user = _user(request)
    form = OrderFilterForm(request.GET or None, owners=_owners(user))
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    owner = data.get("owner")
    filters = OrderFilters(
        status=data.get("status") or "",
        fulfilment_status=data.get("fulfilment") or "",
        owner_id=owner.pk if owner else None,
        account_id=data.get("account"),
        expected_from=data.get("expected_from"),
        expected_to=data.get("expected_to"),
        q=data.get("q") or "",
    )
    sort = data.get("sort") or DEFAULT_SORT
    page = paginate(order_list(user, filters, sort=sort), page_number(request), PAGE_SIZE)
    context = {"form": form, "page": page, "orders": page.object_list, "sort": sort, "section": "orders"}
    return render_list(
        request,
        page="orders/list.html",
        fragment="orders/partials/list_results.html",
        context=context,
        target="order-results",
    )


@require_http_methods(["GET", "POST"])
def order_create_view(request: HttpRequest) -> HttpResponse:
    """``?contract=ID`` (a signed contract) or ``?quote=ID`` (an accepted quote): shows the
    lines the order will copy; POST creates the draft order and opens it."""
    user = _user(request)
    params = request.POST if request.method == "POST" else request.GET
    contract_id, quote_id = params.get("contract"), params.get("quote")
    if bool(contract_id) == bool(quote_id):
        raise Http404("give a contract or a quote")
    if contract_id:
        source: Any = get_contract_for_order(user, contract_id)
        version = source.current_version
    else:
        source = get_quote_for_order(user, quote_id)
        version = source.accepted_version
    if request.method == "POST":
        try:
            if contract_id:
                order = order_create_from_contract(actor=user, contract_id=contract_id)
            else:
                order = order_create_from_quote(actor=user, quote_id=quote_id)
        except ServiceError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Order %(number)s was created as a draft.") % {"number": order.number})
            return redirect("orders:detail", pk=order.pk)
    context = {
        "source": source,
        "source_kind": "contract" if contract_id else "quote",
        "version": version,
        "lines": list(version.lines.order_by("position", "id")) if version is not None else [],
        "section": "orders",
    }
    return render(request, "orders/create.html", context)


@require_GET
def order_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    order = order_detail(user, get_order_for_user(user, pk))
    writable = can_write_order(user, order)
    today = timezone.localdate()
    proof_form = ProofForm(initial={"day": today}, auto_id="acceptance_%s")
    proof_form.fields["day"].label = _("Accepted on")
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "deliveries": list(order.deliveries.all()),
        "can_write": writable,
        "hand_off_form": HandOffForm(
            initial={"fulfilment_status": order.fulfilment_status, "expected_date": order.expected_date}
        ),
        "proof_form": proof_form,
        "install_form": ProofForm(initial={"day": today}, auto_id="install_%s"),
        "reason_form": ReasonForm(),
        "is_draft": order.status == OrderStatus.DRAFT,
        "deliverable": order.status in (OrderStatus.CONFIRMED, OrderStatus.PARTLY_DELIVERED),
        "events": timeline_for(order, user=user),
        "section": "orders",
    }
    return render(request, "orders/detail.html", context)


def _back(order: Order) -> HttpResponse:
    return redirect("orders:detail", pk=order.pk)


@require_POST
def order_confirm_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    order = get_order_for_user(user, pk, write=True)
    try:
        order_confirm(actor=user, order=order)
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The order was confirmed."))
    return _back(order)


@require_POST
def order_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    order = get_order_for_user(user, pk, write=True)
    form = ReasonForm(request.POST)
    try:
        order_cancel(actor=user, order=order, reason=form.data.get("reason", ""))
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The order was cancelled."))
    return _back(order)


@require_POST
def order_hand_off_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    order = get_order_for_user(user, pk, write=True)
    form = HandOffForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for ms in form.errors.values() for m in ms))
        return _back(order)
    try:
        order_hand_off(
            actor=user,
            order=order,
            fulfilment_status=form.cleaned_data["fulfilment_status"],
            expected_date=form.cleaned_data["expected_date"],
            note=form.cleaned_data["note"],
        )
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The hand-off to production was updated."))
    return _back(order)


@require_POST
def line_update_view(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    user = _user(request)
    order = get_order_for_user(user, pk, write=True)
    line = order.lines.filter(pk=line_pk).first()
    if line is None:
        raise Http404("line not found")
    form = LineForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for ms in form.errors.values() for m in ms))
        return _back(order)
    try:
        order_line_update(actor=user, line=line, **form.cleaned_data)
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The line was saved."))
    return _back(order)


@require_http_methods(["GET", "POST"])
def delivery_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a (partial) delivery: one quantity per open line, prefilled with what is open."""
    user = _user(request)
    order = order_detail(user, get_order_for_user(user, pk, write=True))
    if order.status not in (OrderStatus.CONFIRMED, OrderStatus.PARTLY_DELIVERED):
        messages.error(request, _("Deliveries can be recorded only on a confirmed order."))
        return _back(order)
    open_lines = [line for line in order.lines.all() if line.open_quantity > 0]
    if request.method == "POST":
        form = DeliveryForm(request.POST, lines=open_lines)
        if form.is_valid():
            try:
                delivery = delivery_create(
                    actor=user,
                    order=order,
                    delivered_on=form.cleaned_data["delivered_on"],
                    lines=form.line_quantities(),
                    note=form.cleaned_data["note"],
                )
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Delivery %(number)s was recorded.") % {"number": delivery.number})
                return _back(order)
        status = 400
    else:
        initial: dict[str, Any] = {"delivered_on": timezone.localdate()}
        initial.update({f"line_{line.pk}": f"{line.open_quantity.normalize():f}" for line in open_lines})
        form = DeliveryForm(initial=initial, lines=open_lines)
        status = 200
    context = {"order": order, "form": form, "section": "orders"}
    return render(request, "orders/delivery_form.html", context, status=status)


@require_POST
def delivery_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    delivery = get_delivery_for_user(user, pk, write=True)
    try:
        delivery_void(actor=user, delivery=delivery, reason=request.POST.get("reason", ""))
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Delivery %(number)s was voided.") % {"number": delivery.number})
    return _back(delivery.order)


def _proof(request: HttpRequest) -> tuple[ProofForm, bool]:
    form = ProofForm(request.POST, request.FILES)
    return form, form.is_valid()


@require_POST
def installation_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    delivery = get_delivery_for_user(user, pk, write=True)
    form, ok = _proof(request)
    if not ok:
        messages.error(request, " ".join(str(m) for ms in form.errors.values() for m in ms))
        return _back(delivery.order)
    try:
        delivery_record_installation(
            actor=user,
            delivery=delivery,
            installed_on=form.cleaned_data["day"],
            upload=form.cleaned_data["file"],
            note=form.cleaned_data["note"],
        )
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The installation was recorded."))
    return _back(delivery.order)


@require_POST
def acceptance_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    order = get_order_for_user(user, pk, write=True)
    form, ok = _proof(request)
    if not ok:
        messages.error(request, " ".join(str(m) for ms in form.errors.values() for m in ms))
        return _back(order)
    try:
        order_record_acceptance(
            actor=user,
            order=order,
            accepted_on=form.cleaned_data["day"],
            upload=form.cleaned_data["file"],
            note=form.cleaned_data["note"],
        )
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The customer's acceptance was recorded."))
    return _back(order)


@require_GET
def account_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The account page's orders panel (htmx): the account's visible orders, newest first."""
    user = _user(request)
    account = get_account_for_user(user, pk)
    rows = account_orders(user, account.pk)
    context = {"account": account, "orders": rows[:ACCOUNT_PANEL_LIMIT], "has_more": len(rows) > ACCOUNT_PANEL_LIMIT}
    return render(request, "orders/partials/account_panel.html", context)
