"""record_event / changed_fields / timeline_for: what is stored, where it shows, in which order."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from salesflow.core.audit import changed_fields, record_event, timeline_for
from salesflow.core.models import AuditEvent, AuditLink

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _lenient_events(settings):
    # These tests exercise storage and timelines with made-up verbs; the event contracts
    # (declared verbs and payloads) are tested in test_events.py.
    settings.SALESFLOW_STRICT_EVENTS = False


def _team(name: str):
    return apps.get_model("users", "Team").objects.create(name=name)


def test_event_stores_target_actor_and_json_safe_data(personas):
    team = personas.team_a
    event = record_event(
        actor=personas.manager,
        verb="users.team.renamed",
        target=team,
        data={
            "amount": Decimal("12.50"),
            "day": date(2026, 3, 1),
            "at": datetime(2026, 3, 1, 9, 30, tzinfo=timezone.get_fixed_timezone(480)),
            "owner": personas.rep,
            "tags": ("a", "b"),
            "nested": {1: [Decimal("1.00")]},
        },
    )
    event.refresh_from_db()
    assert event.actor == personas.manager
    assert event.verb == "users.team.renamed"
    assert event.target_type == ContentType.objects.get_for_model(team)
    assert event.target_id == team.pk
    assert event.target_repr == str(team)
    assert event.data == {
        "amount": "12.50",
        "day": "2026-03-01",
        "at": "2026-03-01T09:30:00+08:00",
        "owner": personas.rep.pk,
        "tags": ["a", "b"],
        "nested": {"1": ["1.00"]},
    }


def test_system_events_have_no_actor(personas):
    User = apps.get_model("users", "User")
    assert record_event(actor=None, verb="x.y.z", target=personas.rep).actor is None
    assert record_event(actor=User(username="unsaved"), verb="x.y.z", target=personas.rep).actor is None


def test_target_repr_is_truncated(db):
    team = _team("T" * 100)
    team.name = "长" * 250  # longer than the column; only the representation matters here
    event = record_event(actor=None, verb="x.y.z", target=team)
    assert event.target_repr == "长" * 200


def test_event_is_linked_to_target_and_related_once_each(personas):
    team, other = personas.team_a, personas.team_b
    unsaved = apps.get_model("users", "Team")(name="unsaved")
    event = record_event(
        actor=personas.rep, verb="x.y.z", target=team, related=[other, None, team, unsaved, personas.rep, other]
    )
    links = {(link.content_type.model, link.object_id) for link in AuditLink.objects.filter(event=event)}
    assert links == {("team", team.pk), ("team", other.pk), ("user", personas.rep.pk)}
    assert AuditLink.objects.filter(event=event).count() == 3


def test_timeline_is_newest_first_and_includes_related_events(personas):
    team, other = personas.team_a, personas.team_b
    first = record_event(actor=personas.rep, verb="t.first", target=team)
    on_other = record_event(actor=personas.rep, verb="t.other", target=other)
    mentioning = record_event(actor=personas.rep, verb="t.related", target=other, related=[team])
    last = record_event(actor=personas.rep, verb="t.last", target=team)
    # Same timestamp: the id decides, so events written in one transaction keep their order.
    AuditEvent.objects.filter(pk__in=[first.pk, mentioning.pk, last.pk]).update(created_at=timezone.now())

    assert [e.pk for e in timeline_for(team)] == [last.pk, mentioning.pk, first.pk]
    assert [e.pk for e in timeline_for(other)] == [mentioning.pk, on_other.pk]
    assert [e.pk for e in timeline_for(personas.rep)] == []


def test_timeline_orders_by_time_before_id(personas):
    team = personas.team_a
    older = record_event(actor=None, verb="t.older", target=team)
    newer = record_event(actor=None, verb="t.newer", target=team)
    AuditEvent.objects.filter(pk=older.pk).update(created_at=timezone.now() + timedelta(minutes=5))
    assert [e.pk for e in timeline_for(team)] == [older.pk, newer.pk]


def test_timeline_limit_and_single_query(personas, django_assert_num_queries):
    team = personas.team_a
    for i in range(7):
        record_event(actor=personas.rep if i % 2 else personas.manager, verb=f"t.{i}", target=team)
    assert len(timeline_for(team, limit=5)) == 5
    with django_assert_num_queries(1):
        rendered = [(e.verb, str(e.actor), e.target_type.model) for e in timeline_for(team)]
    assert [verb for verb, _actor, _model in rendered] == [f"t.{i}" for i in reversed(range(7))]


def test_event_rolls_back_with_the_action(personas):
    team = personas.team_a
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(actor=personas.rep, verb="t.rolled_back", target=team)
        raise RuntimeError("the service failed after writing its event")
    assert not AuditEvent.objects.filter(verb="t.rolled_back").exists()
    assert not AuditLink.objects.exists()


def test_changed_fields_lists_only_differences():
    before = {"name": "Acme", "amount": Decimal("10.00"), "close": date(2026, 1, 1), "owner": 1, "same": "x"}
    after = {"name": "Acme Ltd", "amount": Decimal("12.50"), "close": date(2026, 2, 1), "owner": 1, "same": "x"}
    assert changed_fields(before, after) == {
        "name": ["Acme", "Acme Ltd"],
        "amount": ["10.00", "12.50"],
        "close": ["2026-01-01", "2026-02-01"],
    }


def test_changed_fields_treats_missing_before_as_none_and_ignores_unlisted_keys():
    assert changed_fields({"kept": 1}, {"new": "v", "blank": None}) == {"new": [None, "v"]}
    assert changed_fields({"a": 1}, {}) == {}
    assert changed_fields({"a": Decimal("1.0")}, {"a": Decimal("1.00")}) == {}
