"""Orders services: creation from contracts and quotes, confirmation, cancellation,
deliveries, the derived status, hand-off events, installation and acceptance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.http import Http404

from salesflow.attachments.samples import pdf_bytes
from salesflow.contracts.models import ContractStatus
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.events import subscribe, unsubscribe
from salesflow.core.models import AuditEvent
from salesflow.orders.choices import DeliveryStatus, FulfilmentStatus
from salesflow.orders.models import Order, OrderLine, OrderStatus
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
from salesflow.orders.status import derive_status
from salesflow.orders.tests.factories import make_contract, make_quote
from salesflow.quotes.models import QuoteStatus
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db

D = Decimal


def pdf(name: str = "验收单.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(), content_type="application/pdf")


def verbs(order: Order) -> list[str]:
    ct = ContentType.objects.get_for_model(Order)
    rows = AuditEvent.objects.filter(links__content_type=ct, links__object_id=order.pk, verb__startswith="orders.")
    return list(rows.values_list("verb", flat=True).order_by("id"))


def _lines(order: Order) -> list[OrderLine]:
    return list(order.lines.order_by("position"))


# --- creation ---------------------------------------------------------------------------------


def test_order_from_signed_contract_copies_lines_and_totals_exactly(personas: Personas) -> None:
    contract = make_contract(personas.rep)
    order = order_create_from_contract(actor=personas.rep, contract_id=contract.pk)
    assert order.number == f"DD-{date.today().year}-00001"
    assert order.status == OrderStatus.DRAFT
    assert (order.account_id, order.owner_id, order.opportunity_id, order.contract_id) == (
        contract.account_id,
        contract.owner_id,
        contract.opportunity_id,
        contract.pk,
    )
    version = contract.current_version
    assert version is not None
    fields = [
        "code",
        "name_zh",
        "name_en",
        "unit",
        "quantity",
        "unit_price",
        "discount_percent",
        "tax_rate",
        "gross",
        "discount",
        "net",
        "tax",
        "total",
    ]
    src = [[getattr(ln, f) for f in fields] for ln in version.lines.order_by("position")]
    got = [[getattr(ln, f) for f in fields] for ln in _lines(order)]
    assert got == src
    # 3 × 12,500 = 37,500 − 5% = 35,625 + 13% = 40,256.25; 2.5 × 1,800 = 4,500 + 6% = 4,770
    assert got[0][-5:] == [D("37500.00"), D("1875.00"), D("35625.00"), D("4631.25"), D("40256.25")]
    assert got[1][-5:] == [D("4500.00"), D("0.00"), D("4500.00"), D("270.00"), D("4770.00")]
    assert (order.subtotal, order.discount, order.net, order.tax, order.total) == (
        D("42000.00"),
        D("1875.00"),
        D("40125.00"),
        D("4901.25"),
        D("45026.25"),
    )
    assert order.total == version.total
    assert verbs(order) == ["orders.order.created"]


def test_order_from_accepted_quote_copies_the_accepted_version(personas: Personas) -> None:
    quote = make_quote(personas.rep, prices_include_tax=True)
    order = order_create_from_quote(actor=personas.rep, quote_id=quote.pk)
    assert order.quote_id == quote.pk and order.contract_id is None and order.prices_include_tax
    assert [(ln.code, ln.quantity, ln.total) for ln in _lines(order)] == [
        (ln.code, ln.quantity, ln.total)
        for ln in quote.accepted_version.lines.order_by("position")  # type: ignore[union-attr]
    ]
    assert order.total == quote.accepted_version.total == D("40125.00")  # type: ignore[union-attr]


def test_numbers_are_gapless(personas: Personas) -> None:
    numbers = [
        order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk).number
        for _ in range(3)
    ]
    year = date.today().year
    assert numbers == [f"DD-{year}-00001", f"DD-{year}-00002", f"DD-{year}-00003"]


@pytest.mark.parametrize("status", [ContractStatus.DRAFT, ContractStatus.APPROVED, ContractStatus.PENDING_APPROVAL])
def test_unsigned_contract_is_refused(personas: Personas, status: str) -> None:
    contract = make_contract(personas.rep, status=status)
    with pytest.raises(Conflict):
        order_create_from_contract(actor=personas.rep, contract_id=contract.pk)
    assert Order.objects.count() == 0


def test_quote_not_accepted_or_with_contract_is_refused(personas: Personas) -> None:
    sent = make_quote(personas.rep, status=QuoteStatus.SENT)
    with pytest.raises(Conflict):
        order_create_from_quote(actor=personas.rep, quote_id=sent.pk)
    accepted = make_quote(personas.rep)
    make_contract(personas.rep, quote=accepted)
    with pytest.raises(Conflict, match="contract"):
        order_create_from_quote(actor=personas.rep, quote_id=accepted.pk)
    assert Order.objects.count() == 0


def test_one_live_order_per_document(personas: Personas, order: Order) -> None:
    with pytest.raises(Conflict):
        order_create_from_contract(actor=personas.rep, contract_id=order.contract_id)
    # the database says the same for a writer that skips the service
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(number="X-1", account=order.account, owner=order.owner, contract=order.contract)
    order_cancel(actor=personas.rep, order=order, reason="客户改单")
    again = order_create_from_contract(actor=personas.rep, contract_id=order.contract_id)
    assert again.status == OrderStatus.DRAFT


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("rep", None),
        ("assistant", None),
        ("manager", None),
        ("admin", None),
        ("support", Forbidden),
        ("teammate", Http404),
        ("outsider", Http404),
        ("other_manager", Http404),
    ],
)
def test_who_may_create_from_a_contract(personas: Personas, persona: str, expected: Any) -> None:
    contract = make_contract(personas.rep)
    actor = getattr(personas, persona)
    if expected is None:
        order = order_create_from_contract(actor=actor, contract_id=contract.pk)
        assert order.owner == personas.rep
    else:
        with pytest.raises(expected):
            order_create_from_contract(actor=actor, contract_id=contract.pk)
        assert Order.objects.count() == 0


# --- confirmation and frozen lines ------------------------------------------------------------


def test_draft_lines_change_and_totals_follow(personas: Personas, order: Order) -> None:
    line = _lines(order)[0]
    order_line_update(actor=personas.assistant, line=line, quantity="4")
    order.refresh_from_db()
    line.refresh_from_db()
    assert line.quantity == D("4.000") and line.total == D("53675.00")
    assert order.total == D("53675.00") + D("4770.00")
    assert verbs(order)[-1] == "orders.order.line_updated"


def test_confirmed_lines_are_frozen(personas: Personas, confirmed: Order) -> None:
    assert confirmed.status == OrderStatus.CONFIRMED and confirmed.confirmed_at is not None
    line = _lines(confirmed)[0]
    with pytest.raises(Conflict, match="confirmed"):
        order_line_update(actor=personas.rep, line=line, quantity="1")
    line.refresh_from_db()
    assert line.quantity == D("3.000")
    with pytest.raises(Conflict):
        order_confirm(actor=personas.rep, order=confirmed)


@pytest.mark.parametrize("persona", ["rep", "assistant", "manager", "admin"])
def test_confirm_by_owner_assistant_manager(personas: Personas, order: Order, persona: str) -> None:
    assert order_confirm(actor=getattr(personas, persona), order=order).status == OrderStatus.CONFIRMED


@pytest.mark.parametrize("persona", ["support", "teammate", "outsider"])
def test_confirm_refused_for_others(personas: Personas, order: Order, persona: str) -> None:
    with pytest.raises(Forbidden):
        order_confirm(actor=getattr(personas, persona), order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.DRAFT and order.confirmed_at is None


def test_bad_line_values_name_the_field(personas: Personas, order: Order) -> None:
    line = _lines(order)[0]
    with pytest.raises(ValidationFailed) as exc:
        order_line_update(actor=personas.rep, line=line, quantity="NaN", discount_percent="101", unit_price="-1")
    assert set(exc.value.field_errors) == {"quantity", "discount_percent", "unit_price"}
    with pytest.raises(ValidationFailed) as exc:
        order_line_update(actor=personas.rep, line=line, total="1")  # type: ignore[call-arg]
    assert "total" in exc.value.field_errors


# --- cancellation -----------------------------------------------------------------------------


def test_cancel_needs_a_reason_and_nothing_delivered(personas: Personas, confirmed: Order) -> None:
    with pytest.raises(ValidationFailed) as exc:
        order_cancel(actor=personas.rep, order=confirmed, reason="  ")
    assert "reason" in exc.value.field_errors
    first = _lines(confirmed)[0]
    delivery_create(actor=personas.rep, order=confirmed, delivered_on="2026-05-01", lines={first.pk: "1"})
    with pytest.raises(Conflict, match="delivered"):
        order_cancel(actor=personas.rep, order=confirmed, reason="客户取消")
    confirmed.refresh_from_db()
    assert confirmed.status == OrderStatus.PARTLY_DELIVERED


def test_cancel_is_audited_with_reason(personas: Personas, confirmed: Order) -> None:
    order = order_cancel(actor=personas.assistant, order=confirmed, reason="客户取消采购")
    assert order.status == OrderStatus.CANCELLED and order.cancel_reason == "客户取消采购"
    event = AuditEvent.objects.get(verb="orders.order.cancelled")
    assert event.data["reason"] == "客户取消采购" and event.data["previous_status"] == "confirmed"
    with pytest.raises(Conflict):
        order_cancel(actor=personas.rep, order=order, reason="again")


# --- deliveries and the derived status --------------------------------------------------------


def test_every_status_transition(personas: Personas, order: Order) -> None:
    rack, install = _lines(order)
    assert order.status == OrderStatus.DRAFT
    order = order_confirm(actor=personas.rep, order=order)
    assert order.status == OrderStatus.CONFIRMED
    first = delivery_create(actor=personas.rep, order=order, delivered_on="2026-05-01", lines={rack.pk: "1"})
    order.refresh_from_db()
    assert first.number == "FH-2026-00001" and order.status == OrderStatus.PARTLY_DELIVERED
    second = delivery_create(
        actor=personas.assistant, order=order, delivered_on="2026-05-03", lines={rack.pk: "2", install.pk: "2.5"}
    )
    order.refresh_from_db()
    assert second.number == "FH-2026-00002" and order.status == OrderStatus.DELIVERED
    # a correction: voiding the second delivery goes back to partly delivered, then delivered again
    delivery_void(actor=personas.rep, delivery=second, reason="数量录错")
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTLY_DELIVERED
    assert [ln.delivered_quantity for ln in _lines(order)] == [D("1.000"), D("0.000")]
    second.refresh_from_db()
    assert second.status == DeliveryStatus.VOIDED
    delivery_void(actor=personas.rep, delivery=first, reason="整单重录")
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    delivery_create(actor=personas.rep, order=order, delivered_on="2026-05-04", lines={rack.pk: "3", install.pk: "2.5"})
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    order = order_record_acceptance(
        actor=personas.rep, order=order, accepted_on="2026-05-10", upload=pdf(), note="验收合格"
    )
    assert order.status == OrderStatus.ACCEPTED and order.accepted_on == date(2026, 5, 10)
    assert order.acceptance_file is not None and order.acceptance_file.file_name == "验收单.pdf"
    changes = list(
        AuditEvent.objects.filter(verb="orders.order.status_changed")
        .values_list("data__status", flat=True)
        .order_by("id")
    )
    assert changes == [
        "confirmed",
        "partly_delivered",
        "delivered",
        "partly_delivered",
        "confirmed",
        "delivered",
        "accepted",
    ]


def test_derive_status_rule() -> None:
    one = [(D("2"), D("0"))]
    assert derive_status(confirmed=False, cancelled=False, accepted=False, lines=one) == OrderStatus.DRAFT
    assert derive_status(confirmed=True, cancelled=True, accepted=False, lines=one) == OrderStatus.CANCELLED
    assert derive_status(confirmed=True, cancelled=False, accepted=False, lines=one) == OrderStatus.CONFIRMED
    assert (
        derive_status(confirmed=True, cancelled=False, accepted=False, lines=[(D("2"), D("1"))])
        == OrderStatus.PARTLY_DELIVERED
    )
    assert (
        derive_status(confirmed=True, cancelled=False, accepted=False, lines=[(D("2"), D("2"))])
        == OrderStatus.DELIVERED
    )
    assert (
        derive_status(confirmed=True, cancelled=False, accepted=True, lines=[(D("2"), D("2"))]) == OrderStatus.ACCEPTED
    )
    assert (
        derive_status(confirmed=True, cancelled=False, accepted=True, lines=[(D("2"), D("1"))])
        == OrderStatus.PARTLY_DELIVERED
    )
    assert derive_status(confirmed=True, cancelled=False, accepted=False, lines=[]) == OrderStatus.CONFIRMED


def test_over_delivery_is_refused_naming_the_line(personas: Personas, confirmed: Order) -> None:
    rack, install = _lines(confirmed)
    delivery_create(actor=personas.rep, order=confirmed, delivered_on="2026-05-01", lines={rack.pk: "2"})
    with pytest.raises(ValidationFailed) as exc:
        delivery_create(
            actor=personas.rep, order=confirmed, delivered_on="2026-05-02", lines={rack.pk: "1.001", install.pk: "1"}
        )
    message = exc.value.field_errors[f"line_{rack.pk}"][0]
    assert message == (
        "Line 1 (Server rack): delivering 1.001 would exceed the ordered 3; 2 delivered, at most 1 still open."
    )
    assert str(exc.value.message) == message
    assert [ln.delivered_quantity for ln in _lines(confirmed)] == [D("2.000"), D("0.000")]
    assert confirmed.deliveries.count() == 1


def test_the_database_refuses_over_delivery_too(confirmed: Order) -> None:
    rack = _lines(confirmed)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(pk=rack.pk).update(delivered_quantity=D("3.001"))


def test_delivery_input_is_checked(personas: Personas, confirmed: Order, order: Order) -> None:
    rack = _lines(confirmed)[0]
    other = order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk)
    foreign = _lines(other)[0]
    cases: list[tuple[dict[Any, Any], str]] = [
        ({rack.pk: "-1"}, f"line_{rack.pk}"),
        ({rack.pk: "NaN"}, f"line_{rack.pk}"),
        ({rack.pk: "1.0001"}, f"line_{rack.pk}"),
        ({foreign.pk: "1"}, "lines"),
        ({"abc": "1"}, "lines"),
        ({}, "lines"),
        ({rack.pk: "0"}, "lines"),
    ]
    for lines, field in cases:
        with pytest.raises(ValidationFailed) as exc:
            delivery_create(actor=personas.rep, order=confirmed, delivered_on="2026-05-01", lines=lines)
        assert field in exc.value.field_errors, lines
    with pytest.raises(ValidationFailed) as exc:
        delivery_create(
            actor=personas.rep, order=confirmed, delivered_on="1999-12-31", lines={rack.pk: "1"}, note="\x00"
        )
    assert set(exc.value.field_errors) == {"delivered_on", "note"}
    assert confirmed.deliveries.count() == 0


def test_no_delivery_on_draft_cancelled_or_accepted(personas: Personas, order: Order) -> None:
    rack = _lines(order)[0]
    with pytest.raises(Conflict):
        delivery_create(actor=personas.rep, order=order, delivered_on="2026-05-01", lines={rack.pk: "1"})


def test_support_and_outsider_cannot_deliver(personas: Personas, confirmed: Order) -> None:
    rack = _lines(confirmed)[0]
    for who in (personas.support, personas.teammate, personas.outsider):
        with pytest.raises(Forbidden):
            delivery_create(actor=who, order=confirmed, delivered_on="2026-05-01", lines={rack.pk: "1"})
    assert confirmed.deliveries.count() == 0


def test_acceptance_needs_a_delivered_order_and_a_file(personas: Personas, confirmed: Order) -> None:
    with pytest.raises(Conflict):
        order_record_acceptance(actor=personas.rep, order=confirmed, accepted_on="2026-05-10", upload=pdf())
    rack, install = _lines(confirmed)
    delivery_create(
        actor=personas.rep, order=confirmed, delivered_on="2026-05-01", lines={rack.pk: "3", install.pk: "2.5"}
    )
    with pytest.raises(ValidationFailed) as exc:
        order_record_acceptance(actor=personas.rep, order=confirmed, accepted_on="2026-05-10")
    assert "file" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        order_record_acceptance(
            actor=personas.rep,
            order=confirmed,
            accepted_on="2026-05-10",
            upload=SimpleUploadedFile("a.pdf", b"<html><script>", content_type="application/pdf"),
        )
    assert "file" in exc.value.field_errors
    confirmed.refresh_from_db()
    assert confirmed.status == OrderStatus.DELIVERED and confirmed.accepted_on is None


def test_no_void_after_acceptance(personas: Personas, confirmed: Order) -> None:
    rack, install = _lines(confirmed)
    d = delivery_create(
        actor=personas.rep, order=confirmed, delivered_on="2026-05-01", lines={rack.pk: "3", install.pk: "2.5"}
    )
    order_record_acceptance(actor=personas.rep, order=confirmed, accepted_on="2026-05-10", upload=pdf())
    with pytest.raises(Conflict):
        delivery_void(actor=personas.rep, delivery=d, reason="x")
    with pytest.raises(Conflict):
        delivery_void(actor=personas.rep, delivery=d, reason="x")


def test_installation_with_a_date_and_a_file(personas: Personas, confirmed: Order) -> None:
    rack = _lines(confirmed)[0]
    d = delivery_create(actor=personas.assistant, order=confirmed, delivered_on="2026-05-01", lines={rack.pk: "3"})
    d = delivery_record_installation(
        actor=personas.assistant, delivery=d, installed_on="2026-05-02", upload=pdf("安装记录.pdf")
    )
    assert d.installed_on == date(2026, 5, 2) and d.installation_file is not None
    event = AuditEvent.objects.get(verb="orders.delivery.installed")
    assert event.data["file_name"] == "安装记录.pdf" and event.data["installed_on"] == "2026-05-02"
    # an attachment already on the order can be named instead of an upload
    d2 = delivery_record_installation(
        actor=personas.rep, delivery=d, installed_on="2026-05-03", attachment_id=d.installation_file.pk
    )
    assert d2.installation_file_id == d.installation_file.pk
    with pytest.raises(ValidationFailed) as exc:
        delivery_record_installation(actor=personas.rep, delivery=d, installed_on="2026-05-03", attachment_id=999999)
    assert "attachment_id" in exc.value.field_errors


# --- hand-off events --------------------------------------------------------------------------


def test_hand_off_emits_the_declared_event_with_its_payload(personas: Personas, confirmed: Order) -> None:
    draft = order_create_from_quote(actor=personas.rep, quote_id=make_quote(personas.rep).pk)
    with pytest.raises(Conflict):  # drafts are not handed off
        order_hand_off(actor=personas.rep, order=draft, fulfilment_status="in_production")
    order_hand_off(
        actor=personas.assistant,
        order=confirmed,
        fulfilment_status=FulfilmentStatus.IN_PRODUCTION,
        expected_date="2026-06-30",
        note="排产第 26 周",
    )
    event = AuditEvent.objects.get(verb="orders.order.handed_off")
    data = dict(event.data)
    data.pop("changed_at")
    data.pop("summary")
    assert data == {
        "order_id": confirmed.pk,
        "number": confirmed.number,
        "status": "confirmed",
        "account_id": confirmed.account_id,
        "owner_id": personas.rep.pk,
        "fulfilment_status": "in_production",
        "previous_fulfilment_status": "not_started",
        "expected_date": "2026-06-30",
        "previous_expected_date": None,
        "note": "排产第 26 周",
    }
    # the same values again change nothing and emit nothing
    order_hand_off(actor=personas.rep, order=confirmed, fulfilment_status="in_production", expected_date="2026-06-30")
    assert AuditEvent.objects.filter(verb="orders.order.handed_off").count() == 1
    order_hand_off(actor=personas.rep, order=confirmed, fulfilment_status="shipped")
    last = AuditEvent.objects.filter(verb="orders.order.handed_off").latest("id")
    assert (last.data["previous_fulfilment_status"], last.data["fulfilment_status"], last.data["expected_date"]) == (
        "in_production",
        "shipped",
        "2026-06-30",
    )


def test_hand_off_subscribers_run_after_commit(
    personas: Personas, confirmed: Order, django_capture_on_commit_callbacks: Any
) -> None:
    received: list[dict[str, Any]] = []
    subscribe("orders.order.handed_off", lambda e: received.append(e.data), name="test-hand-off-2")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            order_hand_off(actor=personas.rep, order=confirmed, fulfilment_status="ready_to_ship")
    finally:
        unsubscribe("orders.order.handed_off", "test-hand-off-2")
    assert [r["fulfilment_status"] for r in received] == ["ready_to_ship"]


def test_hand_off_input_is_checked(personas: Personas, confirmed: Order) -> None:
    with pytest.raises(ValidationFailed) as exc:
        order_hand_off(
            actor=personas.rep, order=confirmed, fulfilment_status="flying", expected_date="2026-13-01", note="x" * 2001
        )
    assert set(exc.value.field_errors) == {"fulfilment_status", "expected_date", "note"}
    with pytest.raises(Forbidden):
        order_hand_off(actor=personas.support, order=confirmed, fulfilment_status="shipped")
    confirmed.refresh_from_db()
    assert confirmed.fulfilment_status == FulfilmentStatus.NOT_STARTED


# --- visibility -------------------------------------------------------------------------------


def test_visibility_follows_owner_scope_and_the_deal(personas: Personas) -> None:
    from salesflow.orders.permissions import get_order_for_user, orders_visible_to
    from salesflow.users.models import Share, ShareAccess

    mine = order_create_from_contract(actor=personas.rep, contract_id=make_contract(personas.rep).pk)
    theirs = order_create_from_contract(actor=personas.teammate, contract_id=make_contract(personas.teammate).pk)
    # the assistant works for the reps delegated to them only
    assert set(orders_visible_to(personas.assistant)) == {mine}
    with pytest.raises(Http404):
        get_order_for_user(personas.assistant, theirs.pk)
    # whoever may read the deal may read its order — read only (shares never give write)
    assert theirs.opportunity is not None
    Share.objects.create(
        content_type=ContentType.objects.get_for_model(theirs.opportunity),
        object_id=theirs.opportunity.pk,
        grantee_user=personas.rep,
        access=ShareAccess.WRITE,
        created_by=personas.teammate,
    )
    assert get_order_for_user(personas.rep, theirs.pk) == theirs
    with pytest.raises(Forbidden):
        get_order_for_user(personas.rep, theirs.pk, write=True)
    with pytest.raises(Forbidden):
        order_confirm(actor=personas.rep, order=theirs)
    assert set(orders_visible_to(personas.manager)) == {mine, theirs}
    assert set(orders_visible_to(personas.outsider)) == set()
    assert set(orders_visible_to(personas.support)) == {mine, theirs}
