"""``lead_create_many`` (imports): the checks of ``lead_create`` per row, written in bulk."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent, AuditLink
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_create, lead_create_many
from salesflow.search.models import SearchEntry

pytestmark = pytest.mark.django_db


def _row(owner: Any, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"owner": owner, "name": "王先生", "source_channel": "inbound", "mobile": "139 0000 1111"}
    values.update(fields)
    return values


def test_rows_are_saved_as_lead_create_saves_them(personas) -> None:
    one = lead_create(
        actor=personas.rep,
        owner=personas.rep,
        name=" 王先生 ",
        source_channel="inbound",
        mobile="139 0000 1111",
        email="A@Example.COM",
        company_name="上海星河科技有限公司",
        budget_amount="12000.50",
        intake_action="import",
    )
    when = timezone.now() - timedelta(days=400)
    done = lead_create_many(
        actor=personas.rep,
        rows=[
            _row(
                personas.rep,
                name=" 王先生 ",
                mobile="139 0000 2222",
                email="B@Example.COM",
                company_name="上海星河科技有限公司",
                budget_amount="12000.50",
                created_at=when,
            )
        ],
        intake_options=[{"via": "import"}],
    )
    many = done[0].lead
    assert many is not None and done[0].error is None
    many.refresh_from_db()
    one.refresh_from_db()
    assert (many.name, many.mobile, many.email) == ("王先生", "13900002222", "b@example.com")
    assert many.budget_amount == Decimal("12000.50") == one.budget_amount
    assert (many.company_key, many.status, many.owner) == (one.company_key, one.status, personas.rep)
    assert many.created_at == when
    event = AuditEvent.objects.get(verb="leads.lead.created", target_id=many.pk)
    assert event.actor == personas.rep
    assert event.data == {"owner": personas.rep.pk, "source_channel": "inbound"}
    assert AuditLink.objects.filter(event=event, object_id=many.pk).count() == 1
    assert SearchEntry.objects.filter(kind="lead", object_id=many.pk).count() == 1


def test_a_bad_row_is_refused_alone_naming_its_field(personas) -> None:
    done = lead_create_many(
        actor=personas.rep,
        rows=[
            _row(personas.rep),
            _row(personas.rep, mobile="12345"),
            _row(personas.outsider, mobile="13900003333"),
            _row(personas.rep, mobile="13900004444", created_at=timezone.now() + timedelta(days=2)),
        ],
    )
    assert done[0].lead is not None and done[0].error is None
    errors = [d.error for d in done[1:]]
    assert all(isinstance(e, ValidationFailed) for e in errors)
    assert [sorted(e.field_errors) for e in errors if isinstance(e, ValidationFailed)] == [
        ["mobile"],
        ["owner"],
        ["created_at"],
    ]
    assert list(Lead.objects.values_list("mobile", flat=True)) == ["13900001111"]
    assert AuditEvent.objects.filter(verb="leads.lead.created").count() == 1


def test_an_actor_who_may_not_write_leads_writes_nothing(personas) -> None:
    with pytest.raises(Forbidden):
        lead_create_many(actor=personas.support, rows=[_row(personas.rep)])
    assert not Lead.objects.exists()


def test_unknown_fields_are_a_programming_error(personas) -> None:
    with pytest.raises(TypeError):
        lead_create_many(actor=personas.rep, rows=[_row(personas.rep, status="won")])
    assert not Lead.objects.exists()
