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
from salesflow.parties.tests.factories import make_contact
from salesflow.protection.models import Collision, KnownCustomerMatch
from salesflow.protection.tests.factories import load_list, new_account, new_lead

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
    assert "same mobile" in collision.reason_texts


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


# --- collisions of a batch opened in bulk (collision_open_many) ----------------------------------


def _holders(personas: Any) -> dict[str, Any]:
    """Records of three other reps an import batch collides with: a lead two reps hold under
    one mobile, another rep's account, a contact at the teammate's account."""
    teammate_lead = new_lead(personas.teammate, personas.teammate, name="李雷", mobile="13911110001")
    outsider_lead = new_lead(personas.outsider, personas.outsider, name="李雷", mobile="13911110001")
    account = new_account(personas.other_manager, personas.other_manager, "深圳云帆科技有限公司")
    at_teammates = new_account(personas.teammate, personas.teammate, "杭州远山物流有限公司")
    contact = make_contact(at_teammates, name="韩梅梅", mobile="13911110003")
    own = new_lead(personas.rep, personas.rep, name="张三", mobile="13911110004")
    return {
        "teammate_lead": teammate_lead,
        "outsider_lead": outsider_lead,
        "account": account,
        "contact": contact,
        "own": own,
    }


def _colliding_rows(personas: Any) -> list[dict[str, Any]]:
    return [
        _row(personas.rep, 0),  # nothing in common with anyone
        _row(personas.rep, 1, name="李雷", mobile="139 1111 0001"),  # two holders: teammate, outsider
        _row(personas.rep, 2, name="王五", company_name="深圳云帆科技"),  # another rep's account
        _row(personas.rep, 3, name="韩梅梅", mobile="13911110003"),  # a contact at the teammate's account
        _row(personas.rep, 4, name="张三", mobile="13911110004"),  # the rep's own lead: no collision
        _row(personas.rep, 5, name="李雷", mobile="13911110001", company_name="深圳云帆科技"),  # three holders
    ]


def _opened_snapshot(names: dict[int, str]) -> dict[str, Any]:
    """Every collision, its ``opened`` event and the event's links, with the new records
    named (``names``: pk → "row i") and collision ids replaced by their order."""
    from django.contrib.contenttypes.models import ContentType

    from salesflow.core.models import AuditLink

    collisions = list(Collision.objects.order_by("pk"))
    order = {c.pk: i for i, c in enumerate(collisions)}
    rows = [
        (
            c.new_kind,
            names.get(c.new_id, c.new_id),
            c.existing_kind,
            c.existing_id,
            c.claimant_id,
            c.holder_id,
            c.arbiter_id,
            c.action,
            c.reasons,
            c.score,
            c.status,
        )
        for c in collisions
    ]
    events = list(AuditEvent.objects.filter(verb="protection.collision.opened").order_by("pk"))
    event_rows = []
    for event in events:
        data = dict(event.data)
        data["collision_id"] = order[data["collision_id"]]
        links = sorted(
            (ContentType.objects.get_for_id(ct).model, str(names.get(obj, obj) if ct == event.target_type_id else obj))
            for ct, obj in AuditLink.objects.filter(event=event).values_list("content_type_id", "object_id")
        )
        event_rows.append(
            (event.actor_id, event.target_type.model, names.get(event.target_id), event.target_repr, data, links)
        )
    return {"collisions": rows, "events": event_rows}


def test_a_batchs_collisions_opened_in_bulk_equal_those_opened_one_by_one(
    personas, django_capture_on_commit_callbacks
) -> None:
    """The same batch written with the collision hook's batch form and with its one-record
    form (``collision_open`` per collision) opens the same collisions — claimant, holder,
    arbiter, score, reasons, action — with the same events on the same timelines, in the
    same order; and the batch form's queries do not grow with the collisions."""
    from dataclasses import replace

    from django.db import transaction

    from salesflow.core.intake import register_intake_check, registered_checks

    _holders(personas)
    check = next(c for c in registered_checks() if c.code == "collision")
    assert check.after_many is not None

    def run(one_by_one: bool) -> tuple[dict[str, Any], int]:
        register_intake_check(replace(check, after_many=None) if one_by_one else check)
        try:
            with transaction.atomic():
                with CaptureQueriesContext(connection) as queries:
                    done = lead_create_many(
                        actor=personas.rep, rows=_colliding_rows(personas), intake_options=[OPTIONS] * 6
                    )
                names = {d.lead.pk: f"row {i}" for i, d in enumerate(done) if d.lead is not None}
                snapshot = _opened_snapshot(names)
                transaction.set_rollback(True)
        finally:
            register_intake_check(check)
        return snapshot, len(queries.captured_queries)

    one_by_one, queries_one = run(one_by_one=True)
    bulk, queries_bulk = run(one_by_one=False)
    assert bulk == one_by_one
    assert bulk == one_by_one
    mine = [row for row in bulk["collisions"] if str(row[1]).startswith("row ")]
    # (row, existing kind, holder, arbiter, action, score): the teammate's side has an arbiter
    # (their manager), the other trees none (an administrator decides)
    assert [(row[1], row[2], row[5], row[6], row[7], row[9]) for row in mine] == [
        ("row 1", "lead", personas.teammate.pk, personas.manager.pk, "import", 0.9991),
        ("row 1", "lead", personas.outsider.pk, None, "import", 0.9991),
        ("row 2", "account", personas.other_manager.pk, None, "import", 0.9526),
        ("row 3", "contact", personas.teammate.pk, personas.manager.pk, "import", 0.982),
        ("row 5", "lead", personas.teammate.pk, personas.manager.pk, "import", 0.9991),
        ("row 5", "lead", personas.outsider.pk, None, "import", 0.9991),
        ("row 5", "account", personas.other_manager.pk, None, "import", 0.9526),
    ]
    # one event per collision, on the new lead's and the existing record's timelines
    assert len(bulk["events"]) == len(bulk["collisions"])
    assert all(len(links) == 2 for *_rest, links in bulk["events"])
    assert queries_bulk < queries_one  # a fixed number per batch instead of ~6 per collision


def test_collision_open_many_keeps_collision_opens_rules(personas) -> None:
    """An open collision between the same records is returned as it is — one opened before
    the call or by an earlier item of it — and only new ones are audited; the score is
    clamped to [0, 1] and the reasons cut to ten, as ``collision_open`` does."""
    from salesflow.protection.services import CollisionToOpen, collision_open, collision_open_many

    held = new_lead(personas.teammate, personas.teammate, name="甲", mobile="13911112001")
    other = new_lead(personas.outsider, personas.outsider, name="乙", mobile="13911112002")
    new = new_lead(personas.rep, personas.rep, name="丙", mobile="13911112003")
    before = collision_open(
        actor=personas.rep,
        new_kind="lead",
        new_record=new,
        existing_kind="lead",
        existing_id=held.pk,
        claimant=personas.rep,
        holder=personas.teammate,
        score=0.9,
        reasons=["same name"],
        action="import",
    )
    events = AuditEvent.objects.filter(verb="protection.collision.opened").count()

    def item(existing: Any, holder: Any, score: float) -> CollisionToOpen:
        return CollisionToOpen(
            actor=personas.rep,
            new_kind="lead",
            new_record=new,
            existing_kind="lead",
            existing_id=existing.pk,
            claimant=personas.rep,
            holder=holder,
            score=score,
            reasons=[f"reason {i}" for i in range(12)],
            action="import",
        )

    opened = collision_open_many(
        [item(held, personas.teammate, 0.5), item(other, personas.outsider, 1.7), item(other, personas.outsider, 0.2)]
    )
    assert opened[0] == before and opened[1] == opened[2] != before
    fresh = Collision.objects.get(existing_id=other.pk)
    assert (fresh.score, fresh.reasons, fresh.holder, fresh.arbiter) == (
        1.0,
        [f"reason {i}" for i in range(10)],
        personas.outsider,
        None,
    )
    assert Collision.objects.filter(new_id=new.pk).count() == 2
    assert AuditEvent.objects.filter(verb="protection.collision.opened").count() == events + 1
    event = AuditEvent.objects.get(verb="protection.collision.opened", data__collision_id=fresh.pk)
    assert event.data["score_percent"] == 100 and event.target_id == new.pk


def test_a_batchs_collisions_notify_everyone_through_one_task(personas, committed) -> None:
    """After the commit, the collisions of one batch are notified by one task (the
    notifications' batch form) that tells each collision's claimant, holder and arbiter (or,
    without an arbiter, the administrators) — what one task per collision told them."""
    from django.apps import apps

    notification_model = apps.get_model("notifications", "Notification")
    task_model = apps.get_model("django_tasks_database", "DBTaskResult")
    _holders(personas)
    before = set(task_model.objects.values_list("pk", flat=True))
    with committed():
        done = lead_create_many(actor=personas.rep, rows=_colliding_rows(personas), intake_options=[OPTIONS] * 6)
    new_ids = {d.lead.pk for d in done if d.lead is not None}
    batch_tasks = [t for t in task_model.objects.exclude(pk__in=before) if t.task_path.endswith("notify_for_events")]
    assert len(batch_tasks) == 1
    assert not task_model.objects.exclude(pk__in=before).filter(task_path__endswith="notify_for_event").exists()
    admins = {personas.admin.pk}  # the only administrator
    for collision in Collision.objects.filter(new_id__in=new_ids):
        event = AuditEvent.objects.get(verb="protection.collision.opened", data__collision_id=collision.pk)
        told = set(notification_model.objects.filter(event=event).values_list("recipient", flat=True))
        expected = {collision.claimant_id, collision.holder_id}
        expected |= {collision.arbiter_id} if collision.arbiter_id is not None else admins
        assert told == expected
