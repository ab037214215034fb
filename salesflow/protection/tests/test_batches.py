"""The batch forms of the protection intake checks (imports through
``leads.services.lead_create_many``) give each row what the per-record checks give it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesflow.core.errors import Conflict
from salesflow.core.models import AuditEvent
from salesflow.leads.services import lead_create_many
from salesflow.leads.tests.factories import credit_code
from salesflow.protection.models import Collision, KnownCustomerMatch
from salesflow.protection.tests.factories import load_list, new_lead

pytestmark = pytest.mark.django_db

OPTIONS = {"via": "import"}


def _row(owner: Any, i: int, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "owner": owner,
        "name": f"批量{i}",
        "source_channel": "inbound",
        "mobile": f"1370000{i:04d}",
        "company_name": f"无关公司{i}",
    }
    values.update(fields)
    return values


def test_a_batch_routes_refuses_and_opens_collisions_row_by_row(personas) -> None:
    load_list(
        personas.admin,
        [
            {"company_name": "上海星河科技有限公司", "credit_code": credit_code(), "owner": "teammate"},
            {"company_name": "广州南海物流有限公司", "owner": "某离职员工", "sales_office": "华南销售处"},
        ],
    )
    held = new_lead(personas.teammate, personas.teammate, mobile="13911112222")
    rows = [
        _row(personas.rep, 0),
        _row(personas.rep, 1, company_name="上海星河科技"),  # known customer: routed to its owner
        _row(personas.rep, 2, company_name="广州南海物流"),  # known customer without a user: refused
        _row(personas.rep, 3, name="王先生", company_name="", mobile="139 1111 2222"),  # the teammate's lead
    ]
    done = lead_create_many(actor=personas.rep, rows=rows, intake_options=[OPTIONS] * 4)
    assert [d.error is None for d in done] == [True, True, False, True]
    refusal = done[2].error
    assert isinstance(refusal, Conflict) and refusal.code == "known_customer"
    assert str(refusal.message) == "This company is an existing customer of 华南销售处 — owner 某离职员工."
    leads = [d.lead for d in done]
    assert leads[2] is None
    assert [lead.owner for lead in (leads[0], leads[1], leads[3]) if lead is not None] == [
        personas.rep,
        personas.teammate,
        personas.rep,
    ]
    routed = leads[1]
    assert routed is not None
    assert KnownCustomerMatch.objects.get(record_kind="lead", record_id=routed.pk).matched_by == "name"
    assert AuditEvent.objects.filter(verb="protection.known_customer.routed", target_id=routed.pk).count() == 1
    collision = Collision.objects.get()
    assert leads[3] is not None
    assert (collision.new_id, collision.existing_id, collision.action) == (leads[3].pk, held.pk, "import")
    assert (collision.claimant, collision.holder) == (personas.rep, personas.teammate)
    assert "same mobile" in collision.reasons


def _queries(personas: Any, n: int, start: int) -> int:
    rows = [_row(personas.rep, i) for i in range(start, start + n)]
    with CaptureQueriesContext(connection) as ctx:
        done = lead_create_many(actor=personas.rep, rows=rows, intake_options=[OPTIONS] * n)
    assert all(d.lead is not None for d in done)
    return len(ctx.captured_queries)


def test_the_checks_of_a_batch_cost_the_same_queries_for_5_or_20_rows(personas) -> None:
    # 20 rows still fit one INSERT under SQLite's 999 parameters (bulk_create splits above)
    _queries(personas, 2, 9000)  # warm the process-wide caches (content types)
    # 19: the duplicate matcher's bounded blocking counts each kind's common keys first
    # (three queries more than without it, whatever the number of rows)
    assert _queries(personas, 20, 100) == _queries(personas, 5, 0) <= 19
