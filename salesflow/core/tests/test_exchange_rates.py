"""Dated exchange rates: exact storage, audited administrator services, the admin screen,
and ``convert`` picking the rate valid on the day (or refusing)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent, ExchangeRate
from salesflow.core.money import AmountError, parse_rate
from salesflow.core.selectors import RateMissing, convert, rates_on
from salesflow.core.services import exchange_rate_create, exchange_rate_delete, exchange_rate_update

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def add(personas, currency: str, rate: str, day: date) -> ExchangeRate:
    return exchange_rate_create(actor=personas.admin, currency=currency, rate=rate, valid_from=day)


@pytest.mark.parametrize(
    ("value", "expected"), [("7.1234", "7.1234"), ("0.04812345", "0.04812345"), (150, "150"), ("1000000", "1000000")]
)
def test_parse_rate_accepts(value, expected):
    assert parse_rate(value) == Decimal(expected)


@pytest.mark.parametrize(
    "value", ["0", "-1", "NaN", "Infinity", "1e20", "1000000.01", "0.000000001", "abc", True, None, 1e300]
)
def test_parse_rate_refuses(value):
    with pytest.raises(AmountError):
        parse_rate(value)


def test_rates_are_stored_exactly(personas):
    row = add(personas, "JPY", "0.04812345", date(2026, 1, 1))
    assert ExchangeRate.objects.get(pk=row.pk).rate == Decimal("0.04812345")
    with connection.cursor() as cursor:
        cursor.execute("SELECT rate FROM core_exchangerate WHERE id = %s", [row.pk])
        assert cursor.fetchone()[0] == 4812345


def test_services_are_audited(personas):
    row = add(personas, "USD", "7.1", date(2026, 1, 1))
    exchange_rate_update(
        actor=personas.admin, exchange_rate=row, currency="USD", rate="7.12", valid_from=date(2026, 1, 1), note="fix"
    )
    assert ExchangeRate.objects.get(pk=row.pk).rate == Decimal("7.12")
    exchange_rate_delete(actor=personas.admin, exchange_rate=ExchangeRate.objects.get(pk=row.pk))
    assert not ExchangeRate.objects.exists()
    events = list(AuditEvent.objects.filter(verb__startswith="core.exchange_rate").order_by("id"))
    assert [e.verb for e in events] == [
        "core.exchange_rate.created",
        "core.exchange_rate.updated",
        "core.exchange_rate.deleted",
    ]
    assert events[0].data == {"currency": "USD", "rate": "7.1", "valid_from": "2026-01-01", "note": ""}
    assert events[1].data == {"changes": {"rate": ["7.1", "7.12"], "note": ["", "fix"]}}
    assert events[2].data["rate"] == "7.12"
    assert {e.actor_id for e in events} == {personas.admin.pk}


@pytest.mark.parametrize("who", ["manager", "rep", "assistant", "support", "outsider"])
def test_only_administrators_change_rates(personas, who):
    user = getattr(personas, who)
    row = add(personas, "USD", "7.1", date(2026, 1, 1))
    with pytest.raises(Forbidden):
        exchange_rate_create(actor=user, currency="EUR", rate="7.8", valid_from=date(2026, 1, 1))
    with pytest.raises(Forbidden):
        exchange_rate_update(actor=user, exchange_rate=row, currency="USD", rate="9", valid_from=date(2026, 1, 1))
    with pytest.raises(Forbidden):
        exchange_rate_delete(actor=user, exchange_rate=row)
    assert list(ExchangeRate.objects.values_list("currency", "rate")) == [("USD", Decimal("7.1"))]
    assert AuditEvent.objects.filter(verb__startswith="core.exchange_rate").count() == 1


@pytest.mark.parametrize(
    ("currency", "rate", "field"),
    [("CNY", "1", "currency"), ("XYZ", "1", "currency"), ("USD", "0", "rate"), ("USD", "NaN", "rate")],
)
def test_invalid_rates_are_refused(personas, currency, rate, field):
    with pytest.raises(ValidationFailed) as info:
        exchange_rate_create(actor=personas.admin, currency=currency, rate=rate, valid_from=date(2026, 1, 1))
    assert set(info.value.field_errors) == {field}
    assert not ExchangeRate.objects.exists()


def test_one_rate_per_currency_and_day(personas):
    add(personas, "USD", "7.1", date(2026, 1, 1))
    with pytest.raises(ValidationFailed) as info:
        add(personas, "usd", "7.2", date(2026, 1, 1))
    assert set(info.value.field_errors) == {"valid_from"}
    assert ExchangeRate.objects.count() == 1


def test_convert_uses_the_latest_rate_on_or_before_the_day(personas):
    add(personas, "USD", "7.00", date(2026, 1, 1))
    march = add(personas, "USD", "7.25", date(2026, 3, 1))
    add(personas, "USD", "7.50", date(2026, 6, 1))
    add(personas, "EUR", "8", date(2026, 2, 1))
    assert convert(Decimal("100.00"), "USD", date(2026, 3, 1)) == (Decimal("725.00"), march)
    assert convert(Decimal("100.00"), "USD", date(2026, 5, 31)) == (Decimal("725.00"), march)
    assert convert(Decimal("100.00"), "USD", date(2026, 1, 1))[0] == Decimal("700.00")
    assert convert(Decimal("100.00"), "usd", date(2030, 1, 1))[0] == Decimal("750.00")
    assert convert(Decimal("12.34"), "CNY", date(2026, 1, 1)) == (Decimal("12.34"), None)
    with pytest.raises(RateMissing, match="No exchange rate for USD is valid on 2025-12-31"):
        convert(Decimal("1"), "USD", date(2025, 12, 31))
    with pytest.raises(RateMissing):
        convert(Decimal("1"), "JPY", date(2026, 6, 1))


def test_convert_rounds_once_half_up(personas):
    add(personas, "JPY", "0.04812345", date(2026, 1, 1))
    # 1,234,567 × 0.04812345 = 59411.6 … → 59,411.66 CNY (…655… rounds up)
    value, _rate = convert(Decimal("1234567"), "JPY", date(2026, 1, 2))
    assert value == (Decimal("1234567") * Decimal("0.04812345")).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")


def test_rates_on_is_one_query(personas):
    for month in range(1, 13):
        add(personas, "USD", f"7.{month:02d}", date(2026, month, 1))
        add(personas, "EUR", f"8.{month:02d}", date(2026, month, 1))
    with CaptureQueriesContext(connection) as ctx:
        rates = rates_on(["USD", "EUR", "JPY", "CNY"], date(2026, 7, 15))
    assert len(ctx.captured_queries) == 1
    assert {c: r.rate for c, r in rates.items()} == {"USD": Decimal("7.07"), "EUR": Decimal("8.07")}


def test_admin_screen_goes_through_the_service(personas, client_for):
    client = client_for(personas.admin)
    assert client.get("/admin/core/exchangerate/").status_code == 200
    assert client.get("/admin/core/exchangerate/add/").status_code == 200
    response = client.post(
        "/admin/core/exchangerate/add/", {"currency": "USD", "rate": "7.1234", "valid_from": "2026-01-01", "note": ""}
    )
    assert response.status_code == 302, response.content
    row = ExchangeRate.objects.get()
    assert row.rate == Decimal("7.1234")
    assert AuditEvent.objects.filter(verb="core.exchange_rate.created", target_id=row.pk).exists()
    duplicate = client.post(
        "/admin/core/exchangerate/add/", {"currency": "USD", "rate": "8", "valid_from": "2026-01-01", "note": ""}
    )
    assert duplicate.status_code == 200  # the form again, with the error
    for hostile in ("NaN", "0", "-1", "1e20", "0.000000001", "abc"):
        bad = client.post(
            "/admin/core/exchangerate/add/", {"currency": "EUR", "rate": hostile, "valid_from": "2026-01-01"}
        )
        assert bad.status_code == 200
        assert "rate" in bad.context["adminform"].form.errors
    assert ExchangeRate.objects.count() == 1
    changed = client.post(
        f"/admin/core/exchangerate/{row.pk}/change/",
        {"currency": "USD", "rate": "7.2", "valid_from": "2026-01-01", "note": "corrected"},
    )
    assert changed.status_code == 302
    assert ExchangeRate.objects.get().rate == Decimal("7.2")
    assert AuditEvent.objects.filter(verb="core.exchange_rate.updated").count() == 1
    deleted = client.post(f"/admin/core/exchangerate/{row.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not ExchangeRate.objects.exists()
    assert AuditEvent.objects.filter(verb="core.exchange_rate.deleted").count() == 1


@pytest.mark.parametrize("who", ["manager", "rep"])
def test_admin_screen_is_for_administrators(personas, client_for, who):
    response = client_for(getattr(personas, who)).get("/admin/core/exchangerate/")
    assert response.status_code == 302
