"""JSON API of the catalogue (``/api/v1/catalogue``) and of the products on a deal
(``/api/v1/opportunities/{id}/lines``) — through the same services as the pages.

Reads: products for every signed-in user (reps, assistants and support: active products,
``cost`` and ``margin_percent`` null); price lists, customer groups and discount rules for
administrators and managers. Writes: administrators; deal lines: whoever may write the deal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.catalogue.models import (
    CustomerGroup,
    DiscountRule,
    OpportunityLine,
    PriceList,
    PriceListItem,
    Product,
    ProductCategory,
    VolumeTier,
)
from salesflow.catalogue.permissions import (
    get_line_for_user,
    get_product_for_user,
    require_read_pricing,
    sees_cost,
)
from salesflow.catalogue.schemas import (
    CatalogueCategoryOut,
    CatalogueLineIn,
    CatalogueRuleIn,
    CatalogueRuleOut,
    CatalogueTierIn,
    CatalogueTierOut,
    CategoryIn,
    DealLinesOut,
    GroupIn,
    GroupOut,
    LineChangeIn,
    MembersIn,
    MembersOut,
    PriceItemIn,
    PriceItemOut,
    PriceListDetailOut,
    PriceListIn,
    PriceListOut,
    PriceQuery,
    ProductFilters,
    ProductIn,
    ProductOut,
    ProductPage,
    ResolvedPriceOut,
)
from salesflow.catalogue.selectors import (
    NoPrice,
    deal_lines,
    group_members,
    group_rows,
    price_list_items,
    price_list_rows,
    product_list,
    product_margin_percent,
    resolve_price,
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
from salesflow.core.errors import ValidationFailed
from salesflow.core.keyset import api_page
from salesflow.core.money import AmountError, format_amount
from salesflow.core.quantities import parse_quantity
from salesflow.parties.permissions import get_account_for_user
from salesflow.sales.permissions import get_opportunity_for_user
from salesflow.users.models import User

router = Router(tags=["catalogue"])
deal_router = Router(tags=["catalogue"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _get(model: type[Any], pk: int, **filters: Any) -> Any:
    obj = model.objects.filter(pk=pk, **filters).first() if 0 < pk < 2**63 else None
    if obj is None:
        raise Http404("not found")
    return obj


def _dec(value: Decimal | None, places: int = 2) -> str | None:
    return None if value is None else f"{value.quantize(Decimal(1).scaleb(-places)):f}"


# --- product lines ---------------------------------------------------------------------------


def _category_out(c: ProductCategory) -> dict[str, Any]:
    return {"id": c.pk, "code": c.code, "name": str(c), "name_zh": c.name_zh, "name_en": c.name_en, "active": c.active}


@router.get("/categories", response=list[CatalogueCategoryOut], summary="Product lines (产品线)")
def list_categories(request: HttpRequest) -> list[dict[str, Any]]:
    return [_category_out(c) for c in ProductCategory.objects.order_by("code")]


@router.post("/categories", response={201: CatalogueCategoryOut}, summary="Create a product line (administrators)")
def create_category(request: HttpRequest, payload: CategoryIn) -> tuple[int, dict[str, Any]]:
    row = category_save(actor=_user(request), **payload.model_dump(exclude_unset=True))
    return 201, _category_out(row)


@router.patch("/categories/{int:category_id}", response=CatalogueCategoryOut, summary="Change a product line")
def update_category(request: HttpRequest, category_id: int, payload: CategoryIn) -> dict[str, Any]:
    row = _get(ProductCategory, category_id)
    return _category_out(category_save(actor=_user(request), category=row, **payload.model_dump(exclude_unset=True)))


# --- products ---------------------------------------------------------------------------------


def _product_out(p: Product, user: User) -> dict[str, Any]:
    cost_visible = sees_cost(user)
    return {
        "id": p.pk,
        "code": p.code,
        "name": p.name,
        "name_zh": p.name_zh,
        "name_en": p.name_en,
        "kind": p.kind,
        "unit": p.unit,
        "category_id": p.category_id,
        "category": str(p.category) if p.category else None,
        "tax_rate": _dec(p.tax_rate),
        "list_price": format_amount(p.list_price, p.currency),
        "currency": p.currency,
        "cost": format_amount(p.cost, p.currency) if cost_visible and p.cost is not None else None,
        "margin_percent": _dec(product_margin_percent(p), 1) if cost_visible else None,
        "active": p.active,
        "description": p.description,
    }


@router.get("/products", response=ProductPage, summary="Products and services (search, filter, cursor pages)")
def list_products(request: HttpRequest, filters: Query[ProductFilters]) -> dict[str, Any]:
    user = _user(request)
    qs = product_list(
        user, q=filters.q.strip(), category_id=filters.category_id, kind=filters.kind, active=filters.active
    )
    page = api_page(qs, cursor=filters.cursor, limit=filters.limit, offset=filters.offset)
    page["items"] = [_product_out(p, user) for p in page["items"]]
    return page


@router.post("/products", response={201: ProductOut}, summary="Create a product (administrators; 409 on a taken code)")
def create_product(request: HttpRequest, payload: ProductIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    return 201, _product_out(product_create(actor=user, **payload.model_dump(exclude_unset=True)), user)


@router.get("/products/{int:product_id}", response=ProductOut, summary="A product")
def get_product(request: HttpRequest, product_id: int) -> dict[str, Any]:
    user = _user(request)
    return _product_out(get_product_for_user(user, product_id), user)


@router.patch("/products/{int:product_id}", response=ProductOut, summary="Change a product (administrators)")
def update_product(request: HttpRequest, product_id: int, payload: ProductIn) -> dict[str, Any]:
    user = _user(request)
    product = get_product_for_user(user, product_id, write=True)
    return _product_out(product_update(actor=user, product=product, **payload.model_dump(exclude_unset=True)), user)


@router.post("/products/{int:product_id}/deactivate", response=ProductOut, summary="No longer sold")
def deactivate_product(request: HttpRequest, product_id: int) -> dict[str, Any]:
    user = _user(request)
    product = get_product_for_user(user, product_id, write=True)
    return _product_out(product_set_active(actor=user, product=product, active=False), user)


@router.post("/products/{int:product_id}/activate", response=ProductOut, summary="Sold again")
def activate_product(request: HttpRequest, product_id: int) -> dict[str, Any]:
    user = _user(request)
    product = get_product_for_user(user, product_id, write=True)
    return _product_out(product_set_active(actor=user, product=product, active=True), user)


@router.get(
    "/products/{int:product_id}/price",
    response=ResolvedPriceOut,
    summary="The price for an account, currency, quantity, channel and date (resolve_price); 400 without a price",
)
def product_price(request: HttpRequest, product_id: int, query: Query[PriceQuery]) -> dict[str, Any]:
    user = _user(request)
    product = get_product_for_user(user, product_id)
    account = get_account_for_user(user, query.account_id) if query.account_id else None
    try:
        quantity = parse_quantity(query.quantity)
    except AmountError as exc:
        raise ValidationFailed(_("The input is not valid."), field_errors={"quantity": [str(exc.message)]}) from exc
    try:
        price = resolve_price(
            product=product,
            account=account,
            currency=query.currency.upper(),
            quantity=quantity,
            channel=query.channel,
            on=query.on or timezone.localdate(),
        )
    except NoPrice as exc:
        raise ValidationFailed(exc.message, code="no_price", field_errors={"currency": [exc.message]}) from exc
    return {
        "unit_price": format_amount(price.unit_price, query.currency.upper()),
        "discount_percent": _dec(price.discount_percent),
        "tax_rate": _dec(price.tax_rate),
        "price_list_id": price.price_list_id,
        "tier_id": price.tier_id,
        "rule_ids": list(price.rule_ids),
        "source": price.source,
        "explanation": price.explanation,
    }


# --- customer groups ---------------------------------------------------------------------------


def _group_out(g: CustomerGroup) -> dict[str, Any]:
    return {
        "id": g.pk,
        "code": g.code,
        "name": g.name,
        "name_zh": g.name_zh,
        "name_en": g.name_en,
        "active": g.active,
        "description": g.description,
        "member_count": getattr(g, "member_count", None) or g.members.count(),
    }


@router.get("/groups", response=list[GroupOut], summary="Customer groups (administrators, managers)")
def list_groups(request: HttpRequest) -> list[dict[str, Any]]:
    require_read_pricing(_user(request))
    return [_group_out(g) for g in group_rows()]


@router.post("/groups", response={201: GroupOut}, summary="Create a customer group (administrators)")
def create_group(request: HttpRequest, payload: GroupIn) -> tuple[int, dict[str, Any]]:
    return 201, _group_out(customer_group_save(actor=_user(request), **payload.model_dump(exclude_unset=True)))


@router.patch("/groups/{int:group_id}", response=GroupOut, summary="Change a customer group (administrators)")
def update_group(request: HttpRequest, group_id: int, payload: GroupIn) -> dict[str, Any]:
    group = _get(CustomerGroup, group_id)
    require_read_pricing(_user(request))
    return _group_out(customer_group_save(actor=_user(request), group=group, **payload.model_dump(exclude_unset=True)))


@router.get("/groups/{int:group_id}/members", response=list[int], summary="Account ids of a group")
def list_members(request: HttpRequest, group_id: int) -> list[int]:
    user = _user(request)
    group = _get(CustomerGroup, group_id)
    require_read_pricing(user)
    return list(group_members(group, user).values_list("pk", flat=True))


@router.post("/groups/{int:group_id}/members", response=MembersOut, summary="Add and remove accounts")
def change_members(request: HttpRequest, group_id: int, payload: MembersIn) -> dict[str, Any]:
    user = _user(request)
    group = _get(CustomerGroup, group_id)
    require_read_pricing(user)
    added, removed = customer_group_set_members(actor=user, group=group, add=payload.add, remove=payload.remove)
    return {
        "added": added,
        "removed": removed,
        "account_ids": list(group_members(group, user).values_list("pk", flat=True)),
    }


# --- price lists --------------------------------------------------------------------------------


def _list_out(p: PriceList) -> dict[str, Any]:
    return {
        "id": p.pk,
        "code": p.code,
        "name": p.name,
        "name_zh": p.name_zh,
        "name_en": p.name_en,
        "currency": p.currency,
        "channel": p.channel,
        "customer_group_id": p.customer_group_id,
        "valid_from": p.valid_from,
        "valid_to": p.valid_to,
        "priority": p.priority,
        "active": p.active,
        "item_count": getattr(p, "item_count", 0) or 0,
    }


def _tier_out(t: VolumeTier, currency: str) -> dict[str, Any]:
    return {
        "id": t.pk,
        "min_quantity": _dec(t.min_quantity, 3),
        "unit_price": format_amount(t.unit_price, currency) if t.unit_price is not None else None,
        "discount_percent": _dec(t.discount_percent),
    }


def _item_out(i: PriceListItem, currency: str) -> dict[str, Any]:
    return {
        "id": i.pk,
        "product_id": i.product_id,
        "code": i.product.code,
        "name": i.product.name,
        "unit_price": format_amount(i.unit_price, currency),
        "tiers": [_tier_out(t, currency) for t in i.tiers.all()],
    }


def _detail_out(p: PriceList) -> dict[str, Any]:
    items = price_list_items(p)
    return {**_list_out(p), "item_count": len(items), "items": [_item_out(i, p.currency) for i in items]}


@router.get("/price-lists", response=list[PriceListOut], summary="Price lists (administrators, managers)")
def list_price_lists(request: HttpRequest) -> list[dict[str, Any]]:
    require_read_pricing(_user(request))
    return [_list_out(p) for p in price_list_rows()]


@router.post("/price-lists", response={201: PriceListDetailOut}, summary="Create a price list (administrators)")
def create_price_list(request: HttpRequest, payload: PriceListIn) -> tuple[int, dict[str, Any]]:
    row = price_list_save(actor=_user(request), **payload.model_dump(exclude_unset=True))
    return 201, _detail_out(row)


@router.get("/price-lists/{int:list_id}", response=PriceListDetailOut, summary="A price list with items and tiers")
def get_price_list(request: HttpRequest, list_id: int) -> dict[str, Any]:
    row = _get(PriceList, list_id)  # an unknown id is 404 before the role check
    require_read_pricing(_user(request))
    return _detail_out(row)


@router.patch("/price-lists/{int:list_id}", response=PriceListDetailOut, summary="Change a price list")
def update_price_list(request: HttpRequest, list_id: int, payload: PriceListIn) -> dict[str, Any]:
    row = _get(PriceList, list_id)
    require_read_pricing(_user(request))
    return _detail_out(price_list_save(actor=_user(request), price_list=row, **payload.model_dump(exclude_unset=True)))


@router.delete("/price-lists/{int:list_id}", response={204: None}, summary="Delete a price list (administrators)")
def delete_price_list(request: HttpRequest, list_id: int) -> tuple[int, None]:
    row = _get(PriceList, list_id)
    require_read_pricing(_user(request))
    price_list_delete(actor=_user(request), price_list=row)
    return 204, None


@router.post("/price-lists/{int:list_id}/items", response=PriceItemOut, summary="Set a product's price on the list")
def save_item(request: HttpRequest, list_id: int, payload: PriceItemIn) -> dict[str, Any]:
    plist = _get(PriceList, list_id)
    require_read_pricing(_user(request))
    item = price_item_save(
        actor=_user(request), price_list=plist, product_id=payload.product_id, unit_price=payload.unit_price
    )
    item = PriceListItem.objects.select_related("product").prefetch_related("tiers").get(pk=item.pk)
    return _item_out(item, plist.currency)


@router.delete("/price-lists/{int:list_id}/items/{int:item_id}", response={204: None}, summary="Take a product off")
def delete_item(request: HttpRequest, list_id: int, item_id: int) -> tuple[int, None]:
    item = _get(PriceListItem, item_id, price_list_id=list_id)
    require_read_pricing(_user(request))
    price_item_delete(actor=_user(request), item=item)
    return 204, None


@router.post(
    "/price-lists/{int:list_id}/items/{int:item_id}/tiers",
    response=CatalogueTierOut,
    summary="Add or replace a volume tier",
)
def save_tier(request: HttpRequest, list_id: int, item_id: int, payload: CatalogueTierIn) -> dict[str, Any]:
    item = _get(PriceListItem, item_id, price_list_id=list_id)
    require_read_pricing(_user(request))
    tier = tier_save(actor=_user(request), item=item, **payload.model_dump())
    return _tier_out(tier, item.price_list.currency)


@router.delete("/price-lists/{int:list_id}/tiers/{int:tier_id}", response={204: None}, summary="Delete a volume tier")
def delete_tier(request: HttpRequest, list_id: int, tier_id: int) -> tuple[int, None]:
    tier = _get(VolumeTier, tier_id, item__price_list_id=list_id)
    require_read_pricing(_user(request))
    tier_delete(actor=_user(request), tier=tier)
    return 204, None


# --- discount rules -------------------------------------------------------------------------------


def _rule_out(r: DiscountRule) -> dict[str, Any]:
    return {
        "id": r.pk,
        "name": r.name,
        "percent": _dec(r.percent),
        "priority": r.priority,
        "customer_group_id": r.customer_group_id,
        "grade": r.grade,
        "category_id": r.category_id,
        "product_id": r.product_id,
        "channel": r.channel,
        "min_quantity": _dec(r.min_quantity, 3),
        "valid_from": r.valid_from,
        "valid_to": r.valid_to,
        "active": r.active,
    }


@router.get("/discount-rules", response=list[CatalogueRuleOut], summary="Discount rules (administrators, managers)")
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    require_read_pricing(_user(request))
    return [_rule_out(r) for r in rule_rows()]


@router.post("/discount-rules", response={201: CatalogueRuleOut}, summary="Create a discount rule (administrators)")
def create_rule(request: HttpRequest, payload: CatalogueRuleIn) -> tuple[int, dict[str, Any]]:
    return 201, _rule_out(discount_rule_save(actor=_user(request), **payload.model_dump(exclude_unset=True)))


@router.patch("/discount-rules/{int:rule_id}", response=CatalogueRuleOut, summary="Change a discount rule")
def update_rule(request: HttpRequest, rule_id: int, payload: CatalogueRuleIn) -> dict[str, Any]:
    rule = _get(DiscountRule, rule_id)
    require_read_pricing(_user(request))
    return _rule_out(discount_rule_save(actor=_user(request), rule=rule, **payload.model_dump(exclude_unset=True)))


@router.delete("/discount-rules/{int:rule_id}", response={204: None}, summary="Delete a discount rule")
def delete_rule(request: HttpRequest, rule_id: int) -> tuple[int, None]:
    rule = _get(DiscountRule, rule_id)
    require_read_pricing(_user(request))
    discount_rule_delete(actor=_user(request), rule=rule)
    return 204, None


# --- products on a deal (/api/v1/opportunities/{id}/lines) -------------------------------------


def _line_out(x: OpportunityLine, currency: str) -> dict[str, Any]:
    return {
        "id": x.pk,
        "position": x.position,
        "product_id": x.product_id,
        "code": x.code,
        "name": x.name,
        "name_zh": x.name_zh,
        "name_en": x.name_en,
        "unit": x.unit,
        "quantity": _dec(x.quantity, 3),
        "unit_price": format_amount(x.unit_price, currency),
        "discount_percent": _dec(x.discount_percent),
        "tax_rate": _dec(x.tax_rate),
        "gross": format_amount(x.gross, currency),
        "discount": format_amount(x.discount, currency),
        "net": format_amount(x.net, currency),
        "tax": format_amount(x.tax, currency),
        "total": format_amount(x.total, currency),
        "price_list_id": x.price_list_id,
        "price_source": x.price_source,
    }


def _lines_out(request: HttpRequest, opportunity_id: int) -> dict[str, Any]:
    user = _user(request)
    opp = get_opportunity_for_user(user, opportunity_id)
    data = deal_lines(opp, user)
    cur = opp.currency
    return {
        "opportunity_id": opp.pk,
        "currency": cur,
        "amount": format_amount(opp.amount, cur),
        "lines": [_line_out(x, cur) for x in data.lines],
        "subtotal": format_amount(data.totals.subtotal, cur),
        "discount": format_amount(data.totals.discount, cur),
        "net": format_amount(data.totals.net, cur),
        "tax": format_amount(data.totals.tax, cur),
        "total": format_amount(data.totals.total, cur),
        "margin": format_amount(data.margin, cur) if data.margin is not None else None,
    }


@deal_router.get("/{int:opportunity_id}/lines", response=DealLinesOut, summary="The products on a deal and totals")
def list_lines(request: HttpRequest, opportunity_id: int) -> dict[str, Any]:
    return _lines_out(request, opportunity_id)


@deal_router.post(
    "/{int:opportunity_id}/lines", response={201: DealLinesOut}, summary="Add a product (priced by resolve_price)"
)
def add_line(request: HttpRequest, opportunity_id: int, payload: CatalogueLineIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    opp = get_opportunity_for_user(user, opportunity_id, write=True)
    opportunity_line_add(actor=user, opportunity=opp, **payload.model_dump())
    return 201, _lines_out(request, opportunity_id)


@deal_router.patch(
    "/{int:opportunity_id}/lines/{int:line_id}", response=DealLinesOut, summary="Change quantity, price or discount"
)
def update_line(request: HttpRequest, opportunity_id: int, line_id: int, payload: LineChangeIn) -> dict[str, Any]:
    user = _user(request)
    opp = get_opportunity_for_user(user, opportunity_id, write=True)
    line = get_line_for_user(user, opp.pk, line_id)
    opportunity_line_update(actor=user, opportunity=opp, line=line, **payload.model_dump(exclude_unset=True))
    return _lines_out(request, opportunity_id)


@deal_router.delete("/{int:opportunity_id}/lines/{int:line_id}", response=DealLinesOut, summary="Remove a line")
def remove_line(request: HttpRequest, opportunity_id: int, line_id: int) -> dict[str, Any]:
    user = _user(request)
    opp = get_opportunity_for_user(user, opportunity_id, write=True)
    opportunity_line_remove(actor=user, opportunity=opp, line=get_line_for_user(user, opp.pk, line_id))
    return _lines_out(request, opportunity_id)


@deal_router.post(
    "/{int:opportunity_id}/lines/sync", response=DealLinesOut, summary="Set the deal amount to the lines' total"
)
def sync_lines(request: HttpRequest, opportunity_id: int) -> dict[str, Any]:
    user = _user(request)
    opp = get_opportunity_for_user(user, opportunity_id, write=True)
    opportunity_lines_sync(actor=user, opportunity=opp)
    return _lines_out(request, opportunity_id)
