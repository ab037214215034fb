"""Products and product lines: permissions per persona, cost protection, hostile input,
the unique code (also under a race), audit, query counts of the list."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.http import Http404

from salesflow.catalogue.models import Product, ProductCategory
from salesflow.catalogue.permissions import get_product_for_user, products_visible_to, sees_cost
from salesflow.catalogue.services import category_save, product_create, product_set_active, product_update
from salesflow.catalogue.tests.factories import make_category, make_product
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db

COST_READERS = {"admin", "manager", "other_manager"}
VALID = {"code": "SF-100", "name_zh": "智能网关", "name_en": "Smart gateway", "unit": "台", "list_price": "12800.00"}


def test_create_by_admin_only_and_audited(personas: Personas) -> None:
    for name, user in personas.all().items():
        if name == "admin":
            continue
        with pytest.raises(Forbidden):
            product_create(actor=user, **VALID)
    assert not Product.objects.exists()
    line = category_save(actor=personas.admin, code="iot", name_zh="物联网", name_en="IoT")
    product = product_create(actor=personas.admin, **VALID, category_id=line.pk, cost="7000", tax_rate="13")
    assert (product.list_price, product.cost, product.tax_rate, product.category_id) == (
        Decimal("12800.00"),
        Decimal("7000.00"),
        Decimal("13.00"),
        line.pk,
    )
    assert AuditEvent.objects.filter(verb="catalogue.product.created", target_id=product.pk).count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", ""),
        ("code", "has space"),
        ("code", "x" * 41),
        ("name_zh", "a\x00b"),
        ("name_en", "y" * 201),
        ("unit", ""),
        ("list_price", "NaN"),
        ("list_price", "1e20"),
        ("list_price", "-1"),
        ("list_price", "12.345"),
        ("list_price", True),
        ("tax_rate", "101"),
        ("cost", "Infinity"),
        ("currency", "XXX"),
        ("kind", "gadget"),
        ("category_id", 999999),
        ("category_id", "1"),
        ("description", "z" * 50_000),
    ],
)
def test_hostile_product_input_names_the_field(personas: Personas, field: str, value: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        product_create(actor=personas.admin, **{**VALID, field: value})
    assert field in caught.value.field_errors
    assert not Product.objects.exists()


def test_unknown_field_is_refused(personas: Personas) -> None:
    with pytest.raises(ValidationFailed) as caught:
        product_create(actor=personas.admin, **VALID, margin="1")
    assert "margin" in caught.value.field_errors


def test_duplicate_code_is_409_also_under_a_race(personas: Personas, monkeypatch: pytest.MonkeyPatch) -> None:
    product_create(actor=personas.admin, **VALID)
    with pytest.raises(Conflict) as caught:
        product_create(actor=personas.admin, **{**VALID, "code": "sf-100"})
    assert caught.value.status_code == 409 and "code" in caught.value.field_errors
    # the race: the check passes, the insert hits the unique key
    from salesflow.catalogue import services

    real = services._product_values

    def racing(values: Any, product: Any) -> Any:
        clean = real({**values, "code": "SF-RACE"}, product)
        Product.objects.create(code="SF-RACE", name_zh="x", name_en="x", unit="台")
        return clean

    monkeypatch.setattr(services, "_product_values", racing)
    with pytest.raises(Conflict) as raced:
        product_create(actor=personas.admin, **VALID)
    assert raced.value.field_errors == {"code": ["This code is already taken."]}
    assert list(Product.objects.values_list("code", flat=True)) == ["SF-100"]  # all rolled back


def test_update_and_deactivate(personas: Personas) -> None:
    product = make_product(code="A-1")
    with pytest.raises(Forbidden):
        product_update(actor=personas.manager, product=product, list_price="1")
    product_update(actor=personas.admin, product=product, list_price="999.90", name_en="Renamed")
    product.refresh_from_db()
    assert product.list_price == Decimal("999.90") and product.name_en == "Renamed"
    event = AuditEvent.objects.get(verb="catalogue.product.updated")
    assert event.data["changes"]["list_price"] == ["1000.00", "999.90"]
    # nothing changed → nothing written
    product_update(actor=personas.admin, product=product, list_price="999.90")
    assert AuditEvent.objects.filter(verb="catalogue.product.updated").count() == 1
    product_set_active(actor=personas.admin, product=product, active=False)
    assert not Product.objects.get(pk=product.pk).active
    assert AuditEvent.objects.filter(verb="catalogue.product.deactivated").count() == 1


def test_visibility_and_cost_per_persona(personas: Personas) -> None:
    active = make_product(code="ON")
    inactive = make_product(code="OFF", active=False)
    for name, user in personas.all().items():
        visible = set(products_visible_to(user).values_list("code", flat=True))
        assert sees_cost(user) is (name in COST_READERS), name
        assert visible == ({"ON", "OFF"} if name in COST_READERS else {"ON"}), name
        assert get_product_for_user(user, active.pk) == active
        if name not in COST_READERS:
            with pytest.raises(Http404):
                get_product_for_user(user, inactive.pk)
        with pytest.raises(Http404):
            get_product_for_user(user, "abc")


def test_category_codes(personas: Personas) -> None:
    make_category("hw")
    with pytest.raises(Conflict):
        category_save(actor=personas.admin, code="hw", name_zh="硬件", name_en="Hardware")
    with pytest.raises(ValidationFailed) as caught:
        category_save(actor=personas.admin, code="Bad Code", name_zh="x", name_en="y")
    assert "code" in caught.value.field_errors
    with pytest.raises(Forbidden):
        category_save(actor=personas.rep, code="sw", name_zh="软件", name_en="Software")
    assert ProductCategory.objects.count() == 1
