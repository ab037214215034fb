"""Services: stage changes, outcomes, updates and deletes — exact rows, durations and events."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone, translation

from salesflow.core.audit import timeline_for
from salesflow.core.errors import Conflict, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.parties.choices import BuyingRole
from salesflow.sales.models import LostReason, Opportunity, OpportunityContact, StageChange
from salesflow.sales.services import (
    opportunity_close,
    opportunity_delete,
    opportunity_move_stage,
    opportunity_reopen,
    opportunity_update,
)
from salesflow.sales.tests.factories import (
    make_account,
    make_competitor,
    make_contact,
    make_opportunity,
    make_pipeline,
    stage,
)
from salesflow.users.testing import make_personas

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(days=30)


@pytest.fixture
def clock(monkeypatch):
    """A controllable ``timezone.now`` for exact durations."""

    class Clock:
        now = T0

        def advance(self, **kwargs):
            self.now = self.now + timedelta(**kwargs)

    c = Clock()
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


def changes(opp):
    return list(
        StageChange.objects.filter(opportunity=opp)
        .order_by("changed_at", "id")
        .values_list("from_stage__code", "to_stage__code", "changed_by__username", "duration_seconds")
    )


def verbs(opp):
    return list(
        AuditEvent.objects.filter(target_id=opp.pk, verb__startswith="sales.opportunity")
        .order_by("id")
        .values_list("verb", flat=True)
    )


# ----------------------------------------------------------------------- create


def test_create_defaults_from_first_stage(personas, clock):
    opp = make_opportunity(personas.rep, amount="1234.57")
    opp.refresh_from_db()
    assert opp.stage.code == "prospect"
    assert opp.probability == 10
    assert opp.forecast_category == "pipeline"
    assert opp.amount == Decimal("1234.57")
    assert opp.stage_entered_at == T0
    assert changes(opp) == [(None, "prospect", "rep", None)]


# ------------------------------------------------------------------------- move


def test_move_writes_exact_stage_change_rows_and_durations(personas, clock):
    opp = make_opportunity(personas.rep)
    clock.advance(days=3)
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("qualification"))
    clock.advance(days=1, hours=12)
    opportunity_move_stage(actor=personas.manager, opportunity=opp, stage=stage("demo"))
    clock.advance(hours=5)
    # moving back (rework) is allowed and recorded the same way
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("needs"))

    assert changes(opp) == [
        (None, "prospect", "rep", None),
        ("prospect", "qualification", "rep", 3 * 86400),
        ("qualification", "demo", "manager", 36 * 3600),
        ("demo", "needs", "rep", 5 * 3600),
    ]
    opp.refresh_from_db()
    assert (opp.stage.code, opp.probability, opp.forecast_category) == ("needs", 35, "pipeline")
    assert opp.stage_entered_at == clock.now
    event = AuditEvent.objects.filter(target_id=opp.pk, verb="sales.opportunity.stage_changed").latest("id")
    assert event.data["from"] == "demo"
    assert event.data["to"] == "needs"
    assert event.data["duration_seconds"] == 5 * 3600
    assert event.actor == personas.rep


def test_move_resets_manual_probability_to_stage_default(personas):
    opp = make_opportunity(personas.rep)
    opportunity_update(actor=personas.rep, opportunity=opp, probability=42, forecast_category="commit")
    opp.refresh_from_db()
    assert (opp.probability, opp.forecast_category) == (42, "commit")
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("demo"))
    opp.refresh_from_db()
    assert (opp.probability, opp.forecast_category) == (50, "best_case")


def test_move_to_current_stage_is_a_noop(personas, clock):
    opp = make_opportunity(personas.rep)
    clock.advance(days=2)
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("prospect"))
    assert changes(opp) == [(None, "prospect", "rep", None)]
    assert verbs(opp) == ["sales.opportunity.created"]
    opp.refresh_from_db()
    assert opp.stage_entered_at == T0


def test_stale_instance_moving_to_same_stage_is_a_noop(personas):
    opp = make_opportunity(personas.rep)
    stale = Opportunity.objects.get(pk=opp.pk)
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("qualification"))
    # a second user (stale page) drops the same card into the same column
    opportunity_move_stage(actor=personas.manager, opportunity=stale, stage=stage("qualification"))
    assert [c[:2] for c in changes(opp)] == [(None, "prospect"), ("prospect", "qualification")]
    assert stale.stage.code == "qualification"  # the caller's copy is refreshed


def test_move_rejects_closed_stage_and_other_pipeline(personas):
    opp = make_opportunity(personas.rep)
    other = make_pipeline()
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("won"))
    assert "stage" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=other.stages.get(code="offer"))
    assert "stage" in exc.value.field_errors
    opp.refresh_from_db()
    assert opp.stage.code == "prospect"
    assert StageChange.objects.filter(opportunity=opp).count() == 1


def test_moving_a_closed_deal_is_refused(personas):
    opp = make_opportunity(personas.rep)
    stale = Opportunity.objects.get(pk=opp.pk)
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won")
    with pytest.raises(Conflict):
        opportunity_move_stage(actor=personas.rep, opportunity=stale, stage=stage("demo"))
    opp.refresh_from_db()
    assert (opp.stage.code, opp.outcome) == ("won", "won")
    assert StageChange.objects.filter(opportunity=opp).count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_moves_serialise(transactional_db):
    """Two threads move the same deal to the same stage: exactly one StageChange row."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need a server database; SQLite serialises writers with BEGIN IMMEDIATE")
    personas = make_personas()
    opp = make_opportunity(personas.rep)
    target = stage("demo")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker():
        from django.db import connection as conn

        try:
            copy = Opportunity.objects.get(pk=opp.pk)
            barrier.wait()
            opportunity_move_stage(actor=personas.rep, opportunity=copy, stage=target)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [c[:2] for c in changes(opp)] == [(None, "prospect"), ("prospect", "demo")]
    assert verbs(opp).count("sales.opportunity.stage_changed") == 1


# ------------------------------------------------------------------------ close


def test_close_won(personas, clock):
    opp = make_opportunity(personas.rep, stage_code="negotiation")
    clock.advance(days=10)
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won", note="签约")
    opp.refresh_from_db()
    assert opp.outcome == "won"
    assert opp.stage.code == "won"
    assert (opp.probability, opp.forecast_category) == (100, "closed")
    assert opp.closed_at == clock.now
    assert opp.outcome_note == "签约"
    assert changes(opp)[-1] == ("negotiation", "won", "rep", 10 * 86400)
    assert verbs(opp)[-1] == "sales.opportunity.won"


def test_close_lost_requires_reason(personas):
    opp = make_opportunity(personas.rep, stage_code="demo")
    with pytest.raises(ValidationFailed) as exc:
        opportunity_close(actor=personas.rep, opportunity=opp, outcome="lost")
    assert list(exc.value.field_errors) == ["lost_reason"]
    opp.refresh_from_db()
    assert (opp.outcome, opp.stage.code, opp.closed_at) == ("open", "demo", None)
    assert StageChange.objects.filter(opportunity=opp).count() == 1
    assert verbs(opp) == ["sales.opportunity.created"]


def test_close_lost_with_reason_and_competitor(personas):
    opp = make_opportunity(personas.rep, stage_code="proposal")
    competitor = make_competitor("金蝶")
    reason = LostReason.objects.get(code="price")
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="lost", lost_reason=reason, lost_to=competitor)
    opp.refresh_from_db()
    assert (opp.outcome, opp.stage.code, opp.probability, opp.forecast_category) == ("lost", "lost", 0, "omitted")
    assert (opp.lost_reason, opp.lost_to) == (reason, competitor)
    assert opp.closed_at is not None
    assert [c[:2] for c in changes(opp)][-1] == ("proposal", "lost")
    event = AuditEvent.objects.get(target_id=opp.pk, verb="sales.opportunity.lost")
    assert event.data["lost_reason"] == "price"
    assert event.data["lost_to"] == competitor.pk


def test_close_paused_requires_future_resume_date(personas):
    opp = make_opportunity(personas.rep, stage_code="needs")
    today = timezone.localdate()
    for bad in (None, today, today - timedelta(days=1)):
        with pytest.raises(ValidationFailed) as exc:
            opportunity_close(actor=personas.rep, opportunity=opp, outcome="paused", resume_date=bad)
        assert list(exc.value.field_errors) == ["resume_date"]
    opp.refresh_from_db()
    assert opp.outcome == "open"
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="paused", resume_date=today + timedelta(days=30))
    opp.refresh_from_db()
    assert (opp.outcome, opp.stage.code, opp.probability) == ("paused", "needs", 35)
    assert opp.resume_date == today + timedelta(days=30)
    assert opp.closed_at is None
    assert StageChange.objects.filter(opportunity=opp).count() == 1
    assert verbs(opp)[-1] == "sales.opportunity.paused"


def test_close_upgraded_keeps_stage(personas):
    opp = make_opportunity(personas.rep, stage_code="demo")
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="upgraded")
    opp.refresh_from_db()
    assert (opp.outcome, opp.stage.code) == ("upgraded", "demo")
    assert opp.closed_at is not None
    assert verbs(opp)[-1] == "sales.opportunity.upgraded"


def test_close_twice_is_a_conflict_and_unknown_outcome_invalid(personas):
    opp = make_opportunity(personas.rep)
    with pytest.raises(ValidationFailed):
        opportunity_close(actor=personas.rep, opportunity=opp, outcome="open")
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won")
    with pytest.raises(Conflict):
        opportunity_close(
            actor=personas.rep, opportunity=opp, outcome="lost", lost_reason=LostReason.objects.get(code="price")
        )
    opp.refresh_from_db()
    assert opp.outcome == "won"


# ----------------------------------------------------------------------- reopen


def test_reopen_lost_goes_back_to_last_open_stage(personas, clock):
    opp = make_opportunity(personas.rep, stage_code="demo")
    opportunity_close(
        actor=personas.rep, opportunity=opp, outcome="lost", lost_reason=LostReason.objects.get(code="timing")
    )
    clock.advance(days=4)
    opportunity_reopen(actor=personas.manager, opportunity=opp)
    opp.refresh_from_db()
    assert (opp.outcome, opp.stage.code, opp.probability, opp.forecast_category) == ("open", "demo", 50, "best_case")
    assert (opp.lost_reason, opp.closed_at) == (None, None)
    assert changes(opp)[-1] == ("lost", "demo", "manager", 4 * 86400)
    assert verbs(opp)[-1] == "sales.opportunity.reopened"


def test_reopen_won_into_given_stage(personas):
    opp = make_opportunity(personas.rep)
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won")
    with pytest.raises(ValidationFailed):
        opportunity_reopen(actor=personas.rep, opportunity=opp, stage=stage("lost"))
    opportunity_reopen(actor=personas.rep, opportunity=opp, stage=stage("negotiation"))
    opp.refresh_from_db()
    assert (opp.outcome, opp.stage.code, opp.probability) == ("open", "negotiation", 80)


def test_reopen_paused_stays_in_stage_without_row(personas):
    opp = make_opportunity(personas.rep, stage_code="needs")
    opportunity_update(actor=personas.rep, opportunity=opp, probability=40)
    opportunity_close(
        actor=personas.rep,
        opportunity=opp,
        outcome="paused",
        resume_date=timezone.localdate() + timedelta(days=3),
    )
    opportunity_reopen(actor=personas.rep, opportunity=opp)
    opp.refresh_from_db()
    assert (opp.outcome, opp.stage.code, opp.probability, opp.resume_date) == ("open", "needs", 40, None)
    assert StageChange.objects.filter(opportunity=opp).count() == 1


def test_reopen_open_deal_is_a_conflict(personas):
    opp = make_opportunity(personas.rep)
    with pytest.raises(Conflict):
        opportunity_reopen(actor=personas.rep, opportunity=opp)


# ----------------------------------------------------------------------- update


def test_update_changes_fields_and_audits_changed_fields(personas):
    opp = make_opportunity(personas.rep, amount="1000")
    account = opp.account
    kp = make_contact(account, "王总")
    user = make_contact(account, "小李")
    competitor = make_competitor("用友")
    opportunity_update(
        actor=personas.manager,
        opportunity=opp,
        name="  ERP 升级  ",
        amount="2500.5",
        currency="usd",
        owner=personas.teammate,
        probability=30,
        contacts=[(kp, BuyingRole.DECISION_MAKER), (user, BuyingRole.USER)],
        competitors=[competitor],
        next_step="演示",
    )
    opp.refresh_from_db()
    assert opp.name == "ERP 升级"
    assert opp.amount == Decimal("2500.50")
    assert opp.currency == "USD"
    assert opp.owner == personas.teammate
    assert opp.probability == 30
    assert opp.stage.code == "prospect"
    assert sorted(OpportunityContact.objects.filter(opportunity=opp).values_list("contact__name", "role")) == [
        ("小李", "user"),
        ("王总", "decision_maker"),
    ]
    assert list(opp.competitors.all()) == [competitor]
    event = AuditEvent.objects.get(target_id=opp.pk, verb="sales.opportunity.updated")
    changed = event.data["changes"]
    assert changed["amount"] == ["1000.00", "2500.50"]
    assert changed["owner"] == [personas.rep.pk, personas.teammate.pk]
    assert changed["probability"] == [10, 30]
    assert changed["competitors"] == [[], [competitor.pk]]
    assert set(changed) == {
        "name",
        "amount",
        "currency",
        "owner",
        "probability",
        "next_step",
        "contacts",
        "competitors",
    }
    assert event in timeline_for(account)


def test_update_without_changes_writes_nothing(personas):
    opp = make_opportunity(personas.rep, name="同名", amount="100")
    opportunity_update(actor=personas.rep, opportunity=opp, name="同名", amount="100.00", contacts=[], competitors=[])
    assert verbs(opp) == ["sales.opportunity.created"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "  "}, "name"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"probability": 101}, "probability"),
        ({"probability": -1}, "probability"),
        ({"forecast_category": "maybe"}, "forecast_category"),
    ],
)
def test_update_rejects_bad_input_and_writes_nothing(personas, kwargs, field):
    opp = make_opportunity(personas.rep, name="原名", amount="100")
    with pytest.raises(ValidationFailed) as exc:
        opportunity_update(actor=personas.rep, opportunity=opp, next_step="不会保存", **kwargs)
    assert list(exc.value.field_errors) == [field]
    opp.refresh_from_db()
    assert (opp.name, opp.amount, opp.next_step, opp.probability) == ("原名", Decimal("100.00"), "", 10)
    assert verbs(opp) == ["sales.opportunity.created"]


def test_update_refuses_fields_it_does_not_change(personas):
    """The partial-update convention: unknown keys are a field error, nothing is written."""
    opp = make_opportunity(personas.rep, name="原名", amount="100")
    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        opportunity_update(actor=personas.rep, opportunity=opp, name="新名", stage=None)  # type: ignore[call-arg]
    assert exc.value.field_errors == {"stage": ["This field cannot be changed here."]}
    opp.refresh_from_db()
    assert opp.name == "原名"
    assert verbs(opp) == ["sales.opportunity.created"]


def test_update_owner_must_be_assignable(personas):
    opp = make_opportunity(personas.rep)
    with pytest.raises(ValidationFailed) as exc:
        opportunity_update(actor=personas.rep, opportunity=opp, owner=personas.outsider)
    assert list(exc.value.field_errors) == ["owner"]
    opp.refresh_from_db()
    assert opp.owner == personas.rep


def test_update_contacts_must_belong_to_account(personas):
    opp = make_opportunity(personas.rep)
    stranger = make_contact(make_account(personas.rep))
    mine = make_contact(opp.account)
    for contacts in ([(stranger, "user")], [(mine, "boss")], [(mine, "user"), (mine, "influencer")]):
        with pytest.raises(ValidationFailed) as exc:
            opportunity_update(actor=personas.rep, opportunity=opp, contacts=contacts)
        assert list(exc.value.field_errors) == ["contacts"]
    assert not OpportunityContact.objects.filter(opportunity=opp).exists()


# ----------------------------------------------------------------------- delete


def test_delete_removes_rows_and_leaves_account_timeline_entry(personas):
    opp = make_opportunity(personas.rep, name="要删除的商机")
    account = opp.account
    pk = opp.pk
    opportunity_delete(actor=personas.rep, opportunity=opp)
    assert not Opportunity.objects.filter(pk=pk).exists()
    assert not StageChange.objects.filter(opportunity_id=pk).exists()
    event = AuditEvent.objects.get(verb="sales.opportunity.deleted", target_id=pk)
    assert event.data["name"] == "要删除的商机"
    assert event in timeline_for(account)
