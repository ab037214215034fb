"""Declared event types: payload contracts, strict/lenient handling, subscribers after commit."""

from __future__ import annotations

import importlib
import logging
import re
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.db import transaction

from salesflow.core import events
from salesflow.core.audit import event_changes, record_event
from salesflow.core.events import EventContractError, EventType, check_payload
from salesflow.core.models import AuditEvent
from salesflow.core.timeline import verb_label

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_every_verb_written_by_the_code_is_declared():
    written: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text()
        written.update(re.findall(r'verb="([a-z_]+\.[a-z_]+\.[a-z_]+)"', text))
    # the one computed verb: sales.opportunity.{outcome}
    written |= {f"sales.opportunity.{o}" for o in ("won", "lost", "paused", "upgraded")}
    undeclared = sorted(v for v in written if events.event_type(v) is None)
    assert undeclared == []
    assert len(written) >= 30


def test_verbs_of_other_parts_are_declared_ahead():
    for verb in (
        "users.share.granted",
        "users.share.revoked",
        "core.exchange_rate.created",
        "core.exchange_rate.updated",
        "core.exchange_rate.deleted",
        "sales.opportunity.pipeline_changed",
    ):
        assert events.event_type(verb) is not None, verb
    share = {"share_id": 1, "grantee_user_id": None, "grantee_team_id": 3, "access": "read"}
    assert check_payload("users.share.granted", share) == []
    assert check_payload("users.share.granted", {**share, "access": 1}) != []


def test_check_payload_reports_unknown_missing_and_mistyped_keys():
    assert check_payload("no.such.verb", {}) == ["undeclared event type 'no.such.verb'"]
    assert check_payload("parties.account.created", {"owner": 3}) == []
    assert check_payload("parties.account.created", {"owner": 3, "summary": {"en": "x", "zh-hans": "x"}}) == []
    assert check_payload("parties.account.created", {}) == ["parties.account.created: missing payload key 'owner'"]
    assert check_payload("parties.account.created", {"owner": "3"}) == [
        "parties.account.created: payload key 'owner' is str, expected int"
    ]
    assert check_payload("parties.account.created", {"owner": True}) != []  # a bool is not an id
    assert check_payload("parties.account.created", {"owner": 1, "extra": 1}) == [
        "parties.account.created: undeclared payload key 'extra'"
    ]
    assert check_payload("leads.lead.updated", {"changes": {"name": ["a", "b"]}}) == []
    assert check_payload("leads.lead.updated", {"changes": {"name": "b"}}) != []


def test_record_event_refuses_an_undeclared_verb_in_strict_mode_and_writes_nothing(personas, settings):
    settings.SALESFLOW_STRICT_EVENTS = True
    with pytest.raises(EventContractError):
        record_event(actor=personas.rep, verb="parties.account.renamed", target=personas.rep)
    with pytest.raises(EventContractError):
        record_event(actor=personas.rep, verb="parties.account.created", target=personas.rep, data={"owner": "x"})
    assert AuditEvent.objects.count() == 0


def test_record_event_logs_and_stores_in_production_mode(personas, settings, caplog):
    settings.SALESFLOW_STRICT_EVENTS = False
    with caplog.at_level(logging.ERROR, logger="salesflow.core.events"):
        event = record_event(actor=personas.rep, verb="parties.account.renamed", target=personas.rep)
    assert AuditEvent.objects.get() == event
    assert "undeclared event type 'parties.account.renamed'" in caplog.text


def test_update_events_use_one_changes_key_and_old_events_stay_readable():
    assert event_changes({"changes": {"a": [1, 2]}}) == {"a": [1, 2]}
    assert event_changes({"changed_fields": {"a": [1, 2]}}) == {"a": [1, 2]}
    assert event_changes({}) == {}


def test_the_migration_renames_changed_fields_to_changes(personas, settings):
    settings.SALESFLOW_STRICT_EVENTS = False
    old = record_event(
        actor=None, verb="parties.account.updated", target=personas.rep, data={"changed_fields": {"name": ["a", "b"]}}
    )
    new = record_event(actor=None, verb="leads.lead.updated", target=personas.rep, data={"changes": {"x": [1, 2]}})
    migration = importlib.import_module("salesflow.core.migrations.0005_unify_changes_payload")
    migration.forwards(django_apps, None)
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.data == {"changes": {"name": ["a", "b"]}}
    assert new.data == {"changes": {"x": [1, 2]}}


def test_labels_come_from_the_apps_or_the_declaration():
    assert verb_label("leads.lead.created") in {"created the lead", "创建了线索"}
    assert verb_label("users.share.granted") in {"shared the record", "共享了记录"}
    assert verb_label("unknown.verb") == "unknown.verb"


@pytest.fixture
def probe():
    """Declare a probe event type with three subscribers: one fails, two record what they saw."""
    seen: list[tuple[str, int]] = []

    def first(event: AuditEvent) -> None:
        seen.append(("first", event.pk))

    def broken(event: AuditEvent) -> None:
        raise RuntimeError("subscriber bug")

    def last(event: AuditEvent) -> None:
        seen.append(("last", event.pk))

    events.declare(EventType("tests.probe.happened", {"n": "int"}))
    for handler in (first, broken, last):
        events.subscribe("tests.probe.happened", handler)
    yield seen
    for name in events.subscribers("tests.probe.happened"):
        events.unsubscribe("tests.probe.happened", name)
    events.undeclare("tests.probe.happened")


def test_subscribers_run_after_commit_each_isolated(personas, probe, django_capture_on_commit_callbacks, caplog):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        event = record_event(actor=None, verb="tests.probe.happened", target=personas.rep, data={"n": 1})
        assert probe == []  # nothing before the commit
    assert len(callbacks) == 3
    assert probe == [("first", event.pk), ("last", event.pk)]  # the failing one did not stop the last
    assert "subscriber bug" in caplog.text or "failed for tests.probe.happened" in caplog.text


def test_subscribers_do_not_run_for_a_rolled_back_transaction(personas, probe, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        record_event(actor=None, verb="tests.probe.happened", target=personas.rep, data={"n": 1})
        raise RuntimeError("roll back")
    assert probe == []


def test_subscribing_to_an_undeclared_verb_is_an_error():
    with pytest.raises(ValueError):
        events.subscribe("nobody.declared.this", lambda event: None)
