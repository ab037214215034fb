"""Pages of the catalogue: products (list, search, filter, create, edit, deactivate), product
lines, customer groups, price lists with items and tiers, discount rules, and the Products
panel of a deal page (htmx). Thin callers of ``catalogue.services`` and ``selectors``."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesflow.catalogue.forms import (
    CategoryForm,
    GroupForm,
    LineAddForm,
    LineEditForm,
    PriceItemForm,
    PriceListForm,
    ProductFilterForm,
    ProductForm,
    RuleForm,
    TierForm,
)
from salesflow.catalogue.models import (
    CustomerGroup,
    DiscountRule,
    PriceList,
    PriceListItem,
    ProductCategory,
    VolumeTier,
)
from salesflow.catalogue.permissions import (
    can_manage_catalogue,
    can_read_pricing,
    get_line_for_user,
    get_product_for_user,
    products_visible_to,
    require_manage,
    require_read_pricing,
    sees_cost,
)
from salesflow.catalogue.selectors import (
    PAGE_SIZE,
    deal_lines,
    group_members,
    group_rows,
    price_list_items,
    price_list_rows,
    product_list,
    product_margin_percent,
    rule_rows,
)
from salesflow.catalogue.services import (
    category_save,
    customer_group_save,
    customer_group_set_members,
    discount_rule_delete,
    discount_rule_save,
    opportunity_line_add,
    opportunity_line_remove,
    opportunity_line_update,
    opportunity_lines_sync,
    price_item_delete,
    price_item_save,
    price_list_delete,
    price_list_save,
    product_create,
    product_set_active,
    product_update,
    tier_delete,
    tier_save,
)
from salesflow.core.errors import ServiceError
from salesflow.core.web import apply_service_error, page_number, paginate
from salesflow.parties.permissions import accounts_visible_to
from salesflow.sales.permissions import can_write_opportunity, get_opportunity_for_user
from salesflow.users.models import User


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _get(model: type[Any], pk: int, **filters: Any) -> Any:
    obj = model.objects.filter(pk=pk, **filters).first() if 0 < pk < 2**63 else None
    if obj is None:
        raise Http404("not found")
    return obj


def _pk(obj: Any) -> int | None:
    return obj.pk if obj is not None else None


def _status(request: HttpRequest, form: forms.Form) -> int:
    return 400 if request.method == "POST" and form.errors else 200


# --- products ---------------------------------------------------------------------------------


@require_GET
def product_list_view(request: HttpRequest) -> HttpResponse:
    """The products and services the user may read: search by code or name, filter by line,
    type and (administrators, managers) status; cost and margin only for cost readers."""
    user = _user(request)
    form = ProductFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    status = data.get("status", "")
    active: bool | None = True
    if can_read_pricing(user):
        active = {"": True, "inactive": False, "all": None}.get(status, True)
    qs = product_list(
        user,
        q=(data.get("q") or "").strip(),
        category_id=_pk(data.get("category")),
        kind=data.get("kind", ""),
        active=active,
    )
    page = paginate(qs, page_number(request), PAGE_SIZE)
    show_cost = sees_cost(user)
    rows = [(p, product_margin_percent(p) if show_cost else None) for p in page]
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "show_cost": show_cost,
        "can_manage": can_manage_catalogue(user),
        "can_read_pricing": can_read_pricing(user),
        "tab": "products",
    }
    return render(request, "catalogue/product_list.html", context)


def _product_values(form: forms.Form, *, show_cost: bool) -> dict[str, Any]:
    data = form.cleaned_data
    values = {
        "code": data["code"],
        "name_zh": data["name_zh"],
        "name_en": data["name_en"],
        "kind": data["kind"],
        "unit": data["unit"],
        "category_id": _pk(data["category"]),
        "tax_rate": data["tax_rate"],
        "list_price": data["list_price"],
        "currency": data["currency"],
        "active": data["active"],
        "description": data["description"],
    }
    if show_cost:
        values["cost"] = data.get("cost")
    return values


@require_http_methods(["GET", "POST"])
def product_create_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require_manage(user)
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = product_create(actor=user, **_product_values(form, show_cost=True))
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The product was created."))
            return redirect("catalogue:product_detail", pk=product.pk)
    context = {"form": form, "product": None, "tab": "products"}
    return render(request, "catalogue/product_form.html", context, status=_status(request, form))


@require_GET
def product_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    product = get_product_for_user(user, pk)
    items: list[PriceListItem] = []
    if can_read_pricing(user):
        items = list(
            PriceListItem.objects.filter(product=product)
            .select_related("price_list", "price_list__customer_group")
            .prefetch_related("tiers")
            .order_by("price_list__currency", "price_list__code")
        )
    context = {
        "product": product,
        "items": items,
        "show_cost": sees_cost(user),
        "margin_percent": product_margin_percent(product) if sees_cost(user) else None,
        "can_manage": can_manage_catalogue(user),
        "tab": "products",
    }
    return render(request, "catalogue/product_detail.html", context)


@require_http_methods(["GET", "POST"])
def product_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    product = get_product_for_user(user, pk, write=True)
    initial = {
        "code": product.code,
        "name_zh": product.name_zh,
        "name_en": product.name_en,
        "kind": product.kind,
        "unit": product.unit,
        "category": product.category,
        "tax_rate": product.tax_rate,
        "list_price": product.list_price,
        "currency": product.currency,
        "cost": product.cost,
        "active": product.active,
        "description": product.description,
    }
    form = ProductForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            product_update(actor=user, product=product, **_product_values(form, show_cost=True))
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The product was saved."))
            return redirect("catalogue:product_detail", pk=product.pk)
    context = {"form": form, "product": product, "tab": "products"}
    return render(request, "catalogue/product_form.html", context, status=_status(request, form))


@require_POST
def product_active_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    product = get_product_for_user(user, pk, write=True)
    active = request.POST.get("active") == "1"
    product_set_active(actor=user, product=product, active=active)
    messages.success(request, _("The product is sold again.") if active else _("The product is no longer sold."))
    return redirect("catalogue:product_detail", pk=product.pk)


# --- product lines -----------------------------------------------------------------------------


def _category_values(form: forms.Form) -> dict[str, Any]:
    data = form.cleaned_data
    return {"code": data["code"], "name_zh": data["name_zh"], "name_en": data["name_en"], "active": data["active"]}


@require_http_methods(["GET", "POST"])
def category_list_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require_read_pricing(user)
    form = CategoryForm(request.POST or None)
    if request.method == "POST":
        require_manage(user)
        if form.is_valid():
            try:
                category_save(actor=user, **_category_values(form))
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("The product line was saved."))
                return redirect("catalogue:categories")
    context = {
        "categories": list(ProductCategory.objects.annotate(product_count=Count("products")).order_by("code")),
        "form": form,
        "can_manage": can_manage_catalogue(user),
        "tab": "categories",
    }
    return render(request, "catalogue/category_list.html", context, status=_status(request, form))


@require_http_methods(["GET", "POST"])
def category_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    require_manage(user)
    category = _get(ProductCategory, pk)
    initial = {
        "code": category.code,
        "name_zh": category.name_zh,
        "name_en": category.name_en,
        "active": category.active,
    }
    form = CategoryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            category_save(actor=user, category=category, **_category_values(form))
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The product line was saved."))
            return redirect("catalogue:categories")
    context = {"form": form, "object": category, "title": category, "back": "catalogue:categories", "tab": "categories"}
    return render(request, "catalogue/simple_form.html", context, status=_status(request, form))


# --- customer groups ---------------------------------------------------------------------------


def _group_values(form: forms.Form) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "code": data["code"],
        "name_zh": data["name_zh"],
        "name_en": data["name_en"],
        "active": data["active"],
        "description": data["description"],
    }


@require_http_methods(["GET", "POST"])
def group_list_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require_read_pricing(user)
    form = GroupForm(request.POST or None)
    if request.method == "POST":
        require_manage(user)
        if form.is_valid():
            try:
                group = customer_group_save(actor=user, **_group_values(form))
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("The customer group was saved."))
                return redirect("catalogue:group_detail", pk=group.pk)
    context = {"groups": list(group_rows()), "form": form, "can_manage": can_manage_catalogue(user), "tab": "groups"}
    return render(request, "catalogue/group_list.html", context, status=_status(request, form))


@require_http_methods(["GET", "POST"])
def group_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A group's accounts (remove), a search to add accounts, and its settings."""
    user = _user(request)
    require_read_pricing(user)
    group = _get(CustomerGroup, pk)
    initial = {
        "code": group.code,
        "name_zh": group.name_zh,
        "name_en": group.name_en,
        "active": group.active,
        "description": group.description,
    }
    form = GroupForm(request.POST or None, initial=initial)
    if request.method == "POST":
        require_manage(user)
        if form.is_valid():
            try:
                customer_group_save(actor=user, group=group, **_group_values(form))
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("The customer group was saved."))
                return redirect("catalogue:group_detail", pk=group.pk)
    q = request.GET.get("q", "").strip()[:200]
    members = list(group_members(group, user)[:500])
    candidates = []
    if q:
        member_ids = {a.pk for a in members}
        candidates = [
            a
            for a in accounts_visible_to(user).filter(Q(name__icontains=q)).order_by("name", "id")[:20]
            if a.pk not in member_ids
        ]
    context = {
        "group": group,
        "form": form,
        "members": members,
        "q": q,
        "candidates": candidates,
        "can_manage": can_manage_catalogue(user),
        "tab": "groups",
    }
    return render(request, "catalogue/group_detail.html", context, status=_status(request, form))


@require_POST
def group_members_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    require_manage(user)
    group = _get(CustomerGroup, pk)
    try:
        account_id = int(request.POST.get("account_id", ""))
    except ValueError:
        raise Http404("no such account") from None
    action = request.POST.get("action")
    try:
        if action == "remove":
            customer_group_set_members(actor=user, group=group, remove=[account_id])
        else:
            customer_group_set_members(actor=user, group=group, add=[account_id])
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    return redirect("catalogue:group_detail", pk=group.pk)


# --- price lists -------------------------------------------------------------------------------


def _list_values(form: forms.Form) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "code": data["code"],
        "name_zh": data["name_zh"],
        "name_en": data["name_en"],
        "currency": data["currency"],
        "channel": data["channel"],
        "customer_group_id": _pk(data["customer_group"]),
        "valid_from": data["valid_from"],
        "valid_to": data["valid_to"],
        "priority": data["priority"],
        "active": data["active"],
    }


@require_http_methods(["GET", "POST"])
def price_list_list_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require_read_pricing(user)
    form = PriceListForm(request.POST or None)
    if request.method == "POST":
        require_manage(user)
        if form.is_valid():
            try:
                plist = price_list_save(actor=user, **_list_values(form))
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("The price list was saved."))
                return redirect("catalogue:price_list_detail", pk=plist.pk)
    context = {
        "price_lists": list(price_list_rows()),
        "form": form,
        "can_manage": can_manage_catalogue(user),
        "tab": "price_lists",
    }
    return render(request, "catalogue/price_list_list.html", context, status=_status(request, form))


@require_http_methods(["GET", "POST"])
def price_list_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A price list's items with their tiers; administrators set prices, add tiers and change
    the list's settings here."""
    user = _user(request)
    require_read_pricing(user)
    plist = _get(PriceList, pk)
    which = request.POST.get("form", "")
    initial = {
        "code": plist.code,
        "name_zh": plist.name_zh,
        "name_en": plist.name_en,
        "currency": plist.currency,
        "channel": plist.channel,
        "customer_group": plist.customer_group,
        "valid_from": plist.valid_from,
        "valid_to": plist.valid_to,
        "priority": plist.priority,
        "active": plist.active,
    }
    list_form = PriceListForm(request.POST if which == "list" else None, initial=initial)
    item_form = PriceItemForm(request.POST if which == "item" else None)
    tier_form = TierForm(request.POST if which == "tier" else None)
    failed: forms.Form | None = None
    if request.method == "POST":
        require_manage(user)
        try:
            if which == "list" and list_form.is_valid():
                price_list_save(actor=user, price_list=plist, **_list_values(list_form))
            elif which == "item" and item_form.is_valid():
                price_item_save(
                    actor=user,
                    price_list=plist,
                    product_id=item_form.cleaned_data["product"].pk,
                    unit_price=item_form.cleaned_data["unit_price"],
                )
            elif which == "tier" and tier_form.is_valid():
                try:
                    item_id = int(request.POST.get("item_id", ""))
                except ValueError:
                    raise Http404("no such item") from None
                item = _get(PriceListItem, item_id, price_list=plist)
                data = tier_form.cleaned_data
                tier_save(
                    actor=user,
                    item=item,
                    min_quantity=data["min_quantity"],
                    unit_price=data["unit_price"],
                    discount_percent=data["discount_percent"],
                )
            else:
                failed = {"list": list_form, "item": item_form, "tier": tier_form}.get(which, list_form)
        except ServiceError as exc:
            failed = {"list": list_form, "item": item_form, "tier": tier_form}.get(which, list_form)
            apply_service_error(failed, exc)
        if failed is None:
            messages.success(request, _("The price list was saved."))
            return redirect("catalogue:price_list_detail", pk=plist.pk)
        if which == "tier":
            messages.error(request, " ".join(str(e) for errs in tier_form.errors.values() for e in errs))
    context = {
        "price_list": plist,
        "items": price_list_items(plist),
        "list_form": list_form,
        "item_form": item_form,
        "tier_form": TierForm(),
        "can_manage": can_manage_catalogue(user),
        "tab": "price_lists",
    }
    return render(request, "catalogue/price_list_detail.html", context, status=400 if failed else 200)


@require_POST
def price_list_delete_view(request: HttpRequest, pk: int, what: str, obj_pk: int) -> HttpResponse:
    """Delete the list itself (``what=list``), one of its items or one of its tiers."""
    user = _user(request)
    require_manage(user)
    plist = _get(PriceList, pk)
    if what == "list":
        price_list_delete(actor=user, price_list=plist)
        messages.success(request, _("Deleted."))
        return redirect("catalogue:price_lists")
    if what == "item":
        price_item_delete(actor=user, item=_get(PriceListItem, obj_pk, price_list=plist))
    elif what == "tier":
        tier_delete(actor=user, tier=_get(VolumeTier, obj_pk, item__price_list=plist))
    else:
        raise Http404("unknown")
    messages.success(request, _("Deleted."))
    return redirect("catalogue:price_list_detail", pk=plist.pk)


# --- discount rules ----------------------------------------------------------------------------


def _rule_values(form: forms.Form) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "percent": data["percent"],
        "priority": data["priority"],
        "customer_group_id": _pk(data["customer_group"]),
        "grade": data["grade"],
        "category_id": _pk(data["category"]),
        "product_id": _pk(data["product"]),
        "channel": data["channel"],
        "min_quantity": data["min_quantity"],
        "valid_from": data["valid_from"],
        "valid_to": data["valid_to"],
        "active": data["active"],
    }


@require_http_methods(["GET", "POST"])
def rule_list_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require_read_pricing(user)
    form = RuleForm(request.POST or None)
    if request.method == "POST":
        require_manage(user)
        if form.is_valid():
            try:
                discount_rule_save(actor=user, **_rule_values(form))
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("The discount rule was saved."))
                return redirect("catalogue:rules")
    context = {"rules": list(rule_rows()), "form": form, "can_manage": can_manage_catalogue(user), "tab": "rules"}
    return render(request, "catalogue/rule_list.html", context, status=_status(request, form))


@require_http_methods(["GET", "POST"])
def rule_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    require_manage(user)
    rule = _get(DiscountRule, pk)
    initial = {
        "name": rule.name,
        "percent": rule.percent,
        "priority": rule.priority,
        "customer_group": rule.customer_group_id,
        "grade": rule.grade,
        "category": rule.category_id,
        "product": rule.product_id,
        "channel": rule.channel,
        "min_quantity": rule.min_quantity,
        "valid_from": rule.valid_from,
        "valid_to": rule.valid_to,
        "active": rule.active,
    }
    form = RuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            discount_rule_save(actor=user, rule=rule, **_rule_values(form))
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The discount rule was saved."))
            return redirect("catalogue:rules")
    context = {"form": form, "object": rule, "title": rule.name, "back": "catalogue:rules", "tab": "rules"}
    return render(request, "catalogue/simple_form.html", context, status=_status(request, form))


@require_POST
def rule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    require_manage(user)
    discount_rule_delete(actor=user, rule=_get(DiscountRule, pk))
    messages.success(request, _("Deleted."))
    return redirect("catalogue:rules")


# --- the Products panel of a deal -------------------------------------------------------------


def _panel(
    request: HttpRequest,
    opportunity_pk: int,
    *,
    add_form: LineAddForm | None = None,
    errors: list[str] | None = None,
    changed: bool = False,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    opportunity = get_opportunity_for_user(user, opportunity_pk)
    can_write = can_write_opportunity(user, opportunity)
    data = deal_lines(opportunity, user)
    products = products_visible_to(user).filter(active=True).order_by("code")
    if can_write:
        for line in data.lines:
            line.edit_form = LineEditForm(  # type: ignore[attr-defined]
                initial={
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "discount_percent": line.discount_percent,
                },
                prefix=f"line{line.pk}",
            )
    context = {
        "opportunity": opportunity,
        "data": data,
        "can_write": can_write,
        "show_cost": sees_cost(user),
        "add_form": add_form or LineAddForm(products=products),
        "errors": errors or [],
        "changed": changed,
    }
    return render(request, "catalogue/partials/deal_panel.html", context, status=status)


def _fragment_status(request: HttpRequest) -> int:
    # htmx swaps only 2xx answers: a refused form comes back as 200 there
    return 200 if request.headers.get("HX-Request") == "true" else 400


@require_http_methods(["GET", "POST"])
def deal_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The Products panel of a deal page: its lines with totals (and margin for cost
    readers) and, for whoever may write the deal, the forms to add, change and remove
    lines. After a change the deal's amount on the page is updated out of band."""
    user = _user(request)
    opportunity = get_opportunity_for_user(user, pk, write=request.method == "POST")
    if request.method != "POST":
        return _panel(request, opportunity.pk)
    products = products_visible_to(user).filter(active=True).order_by("code")
    form = LineAddForm(request.POST, products=products)
    if form.is_valid():
        data = form.cleaned_data
        try:
            opportunity_line_add(
                actor=user,
                opportunity=opportunity,
                product_id=data["product"].pk,
                quantity=data["quantity"],
                unit_price=data["unit_price"],
                discount_percent=data["discount_percent"],
                channel=data["channel"],
            )
        except ServiceError as exc:
            if exc.status_code != 400:
                raise
            apply_service_error(form, exc)
        else:
            return _panel(request, opportunity.pk, changed=True)
    return _panel(request, opportunity.pk, add_form=form, status=_fragment_status(request))


@require_POST
def deal_line_view(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    """Change a line's quantity, unit price and discount (``action=save``) or remove it
    (``action=remove``)."""
    user = _user(request)
    opportunity = get_opportunity_for_user(user, pk, write=True)
    line = get_line_for_user(user, opportunity.pk, line_pk)
    if request.POST.get("action") == "remove":
        opportunity_line_remove(actor=user, opportunity=opportunity, line=line)
        return _panel(request, opportunity.pk, changed=True)
    form = LineEditForm(request.POST, prefix=f"line{line.pk}")
    errors: list[str] = []
    if form.is_valid():
        try:
            opportunity_line_update(actor=user, opportunity=opportunity, line=line, **form.cleaned_data)
        except ServiceError as exc:
            if exc.status_code != 400:
                raise
            errors = [m for msgs in exc.field_errors.values() for m in msgs] or [str(exc.message)]
        else:
            return _panel(request, opportunity.pk, changed=True)
    else:
        errors = [str(e) for errs in form.errors.values() for e in errs]
    return _panel(request, opportunity.pk, errors=errors, status=_fragment_status(request))


@require_POST
def deal_sync_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Set the deal's amount to its lines' total again."""
    user = _user(request)
    opportunity = get_opportunity_for_user(user, pk, write=True)
    opportunity_lines_sync(actor=user, opportunity=opportunity)
    return _panel(request, opportunity.pk, changed=True)
