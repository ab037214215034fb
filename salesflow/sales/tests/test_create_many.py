"""``opportunity_create_many`` (imports): each row ends as ``opportunity_create`` followed by
``opportunity_close`` leaves it, row by row — the same deals, stage changes, field history,
audit events, search rows and account lifecycles, and the same refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from salesflow.core.errors import ServiceError, ValidationFailed
from salesflow.core.models import AuditEvent, AuditLink
from salesflow.parties.models import Account
from salesflow.sales.models import LostReason, Opportunity, OpportunityFieldChange, StageChange, StuckBucket
from salesflow.sales.services import (
    default_pipeline,
    opportunity_close,
    opportunity_create,
    opportunity_create_many,
)
from salesflow.sales.tests.factories import make_account, stage
from salesflow.search.models import SearchEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, tzinfo=UTC)


def _one_by_one(actor: Any, rows: list[dict[str, Any]]) -> list[tuple[Opportunity | None, ServiceError | None]]:
    """What the import did before the batch service: each row through the one-row services,
    the close after the create, both in one savepoint."""
    out: list[tuple[Opportunity | None, ServiceError | None]] = []
    for row in rows:
        values = dict(row)
        outcome = values.pop("outcome", "open")
        closed_on = values.pop("closed_on", None)
        lost_reason = values.pop("lost_reason", None)
        note = values.pop("note", "")
        try:
            with transaction.atomic():
                opp = opportunity_create(actor=actor, **values)
                if outcome != "open":
                    noon = timezone.make_aware(datetime.combine(closed_on, datetime.min.time().replace(hour=12)))
                    opportunity_close(
                        actor=actor,
                        opportunity=opp,
                        outcome=outcome,
                        lost_reason=lost_reason,
                        closed_on=closed_on,
                        closed_at=max(min(noon, timezone.now()), opp.created_at),
                        note=note,
                    )
            out.append((opp, None))
        except ServiceError as exc:
            out.append((None, exc))
    return out


def _sorted(items: Any) -> list[Any]:
    return sorted(items, key=repr)


def _snapshot() -> dict[str, Any]:
    """Everything the writes leave, ids replaced by the deal's name (unique per test)."""
    names = dict(Opportunity.objects.values_list("pk", "name"))
    opp_ct = ContentType.objects.get_for_model(Opportunity)
    skip = {"id", "updated_at"}
    deals = _sorted(
        tuple((f.attname, getattr(o, f.attname)) for f in Opportunity._meta.concrete_fields if f.attname not in skip)
        for o in Opportunity.objects.all()
    )
    changes = _sorted(
        tuple(
            (f.attname, names.get(v, v) if f.attname == "opportunity_id" else v)
            for f in StageChange._meta.concrete_fields
            if f.attname != "id"
            for v in [getattr(c, f.attname)]
        )
        for c in StageChange.objects.all()
    )
    history = _sorted(
        tuple(
            (f.attname, names.get(v, v) if f.attname == "opportunity_id" else v)
            for f in OpportunityFieldChange._meta.concrete_fields
            if f.attname not in ("id", "created_at")
            for v in [getattr(c, f.attname)]
        )
        for c in OpportunityFieldChange.objects.all()
    )

    def ref(ct_id: int, pk: int) -> Any:
        return ("deal", names[pk]) if ct_id == opp_ct.pk else (ct_id, pk)

    events = _sorted(
        (
            e.verb,
            e.actor_id,
            ref(e.target_type_id, e.target_id),
            e.target_repr,
            repr(
                sorted(
                    {
                        **e.data,
                        **({"opportunity": names.get(e.data["opportunity"])} if "opportunity" in e.data else {}),
                    }.items()
                )
            ),
            tuple(
                sorted(
                    repr(ref(ct, pk))
                    for ct, pk in AuditLink.objects.filter(event=e).values_list("content_type_id", "object_id")
                )
            ),
        )
        for e in AuditEvent.objects.filter(
            Q(verb__startswith="sales.opportunity.") | Q(verb="parties.account.lifecycle_changed")
        )
    )
    lifecycle_events = [
        (e.verb, e.target_id, names.get(e.data.get("opportunity")), e.data.get("changes"))
        for e in AuditEvent.objects.filter(verb="parties.account.lifecycle_changed")
    ]
    search = _sorted(
        (s.kind, names[s.object_id], s.title, s.subtitle, s.text)
        for s in SearchEntry.objects.filter(kind="opportunity")
    )
    lifecycles = sorted(Account.objects.values_list("name", "lifecycle"))
    # the stuck matrix's maintained aggregate (sales.stuck_services)
    buckets = sorted(
        StuckBucket.objects.values_list(
            "pipeline_id", "owner_id", "stage_id", "currency", "month", "count", "amount_hi", "amount_lo", "oldest"
        )
    )
    return {
        "buckets": buckets,
        "deals": deals,
        "changes": changes,
        "history": history,
        "events": events,
        "lifecycle_events": lifecycle_events,
        "search": search,
        "lifecycles": lifecycles,
    }


def _compare(actor: Any, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], list[Any]]:
    """The batch and the one-by-one writes of ``rows``, each rolled back after its snapshot;
    asserts they are identical and returns the snapshot and the per-row outcomes."""
    with transaction.atomic():
        batch = opportunity_create_many(actor=actor, rows=rows)
        after_batch = _snapshot()
        transaction.set_rollback(True)
    with transaction.atomic():
        single = _one_by_one(actor, rows)
        after_single = _snapshot()
        transaction.set_rollback(True)
    assert after_batch == after_single

    def outcome(record: Any, error: Any) -> Any:
        if error is not None:
            return (type(error).__name__, str(error.message), error.field_errors)
        return record.name

    got = [outcome(item.record, item.error) for item in batch]
    assert got == [outcome(record, error) for record, error in single]
    return after_batch, got


def _rows(personas: Any) -> tuple[list[dict[str, Any]], Account]:
    account = make_account(personas.rep, "上海示例科技有限公司")
    other = make_account(personas.rep, "北京样例贸易有限公司")
    pipeline = default_pipeline()
    reason = LostReason.objects.filter(is_active=True).first()
    base = {"account": account, "owner": personas.rep, "pipeline": pipeline}
    rows: list[dict[str, Any]] = [
        {**base, "name": "open deal", "amount": Decimal("1200.50"), "created_at": _moment(date(2024, 1, 2))},
        {
            **base,
            "name": "open in a later stage",
            "stage": stage("proposal"),
            "amount": "99",
            "expected_close_date": date(2030, 5, 1),
            "next_step": " call back ",
            "created_at": _moment(date(2024, 2, 2)),
        },
        {
            **base,
            "name": "won deal",
            "amount": Decimal("50000"),
            "created_at": _moment(date(2023, 9, 1)),
            "outcome": "won",
            "closed_on": date(2023, 12, 20),
            "lost_reason": None,
            "note": "Imported",
        },
        {
            **base,
            "account": other,
            "name": "lost deal",
            "amount": Decimal("7"),
            "created_at": _moment(date(2024, 1, 10)),
            "outcome": "lost",
            "closed_on": date(2024, 3, 5),
            "lost_reason": reason,
            "note": "Imported",
        },
        {
            **base,
            "name": "second win of the account",
            "created_at": _moment(date(2024, 4, 1)),
            "outcome": "won",
            "closed_on": date(2024, 4, 2),
            "note": "",
        },
        # refused by opportunity_create's checks
        {**base, "name": "  ", "created_at": _moment(date(2024, 1, 2))},
        {**base, "name": "bad amount", "amount": "1.234", "created_at": _moment(date(2024, 1, 2))},
        {**base, "name": "from the future", "created_at": timezone.now() + timedelta(days=3)},
        {**base, "name": "closed stage", "stage": stage("won"), "created_at": _moment(date(2024, 1, 2))},
        {**base, "name": "bad currency", "currency": "XXX", "created_at": _moment(date(2024, 1, 2))},
        # refused by opportunity_close's checks (the one-row path inside the batch)
        {
            **base,
            "name": "lost without reason",
            "created_at": _moment(date(2024, 1, 2)),
            "outcome": "lost",
            "closed_on": date(2024, 1, 5),
            "lost_reason": None,
        },
        {
            **base,
            "name": "closed in the future",
            "created_at": _moment(date(2024, 1, 2)),
            "outcome": "won",
            "closed_on": timezone.localdate() + timedelta(days=2),
        },
        {
            **base,
            "name": "closed before 2000",
            "created_at": _moment(date(2024, 1, 2)),
            "outcome": "won",
            "closed_on": date(1999, 1, 5),
        },
    ]
    return rows, account


def test_a_batch_writes_what_the_one_row_services_write(personas) -> None:
    rows, account = _rows(personas)
    snapshot, got = _compare(personas.rep, rows)
    assert got[:5] == ["open deal", "open in a later stage", "won deal", "lost deal", "second win of the account"]
    assert all(isinstance(outcome, tuple) for outcome in got[5:])
    assert got[5] == ("ValidationFailed", "The opportunity could not be saved.", {"name": ["This field is required."]})
    assert got[10][2] == {"lost_reason": ["Say why the opportunity was lost."]}
    # the written state itself: 5 deals, 2 + 3 × 2 stage changes, the account a customer once
    assert len(snapshot["deals"]) == 5 and len(snapshot["changes"]) == 2 + 3 * 2
    assert len(snapshot["search"]) == 5
    assert dict(snapshot["lifecycles"])[account.name] == "customer"
    assert snapshot["lifecycle_events"] == [
        ("parties.account.lifecycle_changed", account.pk, "won deal", {"lifecycle": ["prospect", "customer"]})
    ]
    verbs = sorted(event[0] for event in snapshot["events"])
    assert verbs.count("sales.opportunity.created") == 5
    assert verbs.count("sales.opportunity.won") == 2 and verbs.count("sales.opportunity.lost") == 1


def test_a_manager_batch_for_team_owners_matches_too(personas) -> None:
    rows, _account = _rows(personas)
    for row in rows[:4]:
        row["owner"] = personas.teammate
    _compare(personas.manager, rows)


def test_a_rep_cannot_create_deals_for_an_owner_they_may_not_assign(personas) -> None:
    rows, _account = _rows(personas)
    rows = rows[:3]
    rows[1] = {**rows[1], "owner": personas.manager}
    _snap, got = _compare(personas.rep, rows)
    assert got == [
        "open deal",
        (
            "ValidationFailed",
            "The opportunity could not be saved.",
            {"owner": ["You cannot assign records to this user."]},
        ),
        "won deal",
    ]
    result = opportunity_create_many(actor=personas.rep, rows=rows)
    assert [r.record is not None for r in result] == [True, False, True]
    assert isinstance(result[1].error, ValidationFailed)
    assert set(Opportunity.objects.values_list("name", flat=True)) == {"open deal", "won deal"}


def test_an_account_the_actor_may_not_write_is_refused_per_row(personas) -> None:
    rows, _account = _rows(personas)
    foreign = make_account(personas.other_manager, "广州他人客户有限公司")
    rows = [rows[0], {**rows[2], "account": foreign}]
    _snap, got = _compare(personas.rep, rows)
    assert got == ["open deal", ("Forbidden", "You may not add opportunities to this account.", {})]


def test_unknown_fields_are_a_programming_error(personas) -> None:
    rows, _account = _rows(personas)
    with pytest.raises(TypeError):
        opportunity_create_many(actor=personas.rep, rows=[{**rows[0], "contacts": []}])
