"""History that stays true: stage change snapshots, field history, pipeline changes,
won/lost stage values and the closed-deal edit rules."""

from __future__ import annotations

import importlib
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps as global_apps
from django.db import connection
from django.utils import timezone, translation

from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.parties.choices import BuyingRole
from salesflow.sales.config_services import stage_reorder, stage_update
from salesflow.sales.models import Opportunity, OpportunityContact, OpportunityFieldChange, StageChange
from salesflow.sales.selectors import field_changes_between, field_history_for
from salesflow.sales.services import (
    default_pipeline,
    opportunity_change_pipeline,
    opportunity_close,
    opportunity_move_stage,
    opportunity_reopen,
    opportunity_update,
)
from salesflow.sales.tests.factories import make_contact, make_opportunity, make_pipeline, stage
from salesflow.users.testing import make_personas

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """The messages below are asserted in English, whatever an earlier test activated."""
    with translation.override("en"):
        yield


def history(opp: Opportunity) -> list[tuple[str, str, str]]:
    return list(field_history_for(opp).values_list("field", "old_value", "new_value"))


# ------------------------------------------------------------- stage snapshots


def test_stage_changes_keep_the_snapshot_of_their_time(personas):
    opp = make_opportunity(personas.rep, amount="5000")
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("needs"))
    # Later: the rep changes team, the amount changes and the stages are reordered.
    personas.rep.team = personas.team_b
    personas.rep.save()
    opportunity_update(actor=personas.rep, opportunity=opp, amount="9000")
    b2b = default_pipeline()
    stage_reorder(actor=personas.admin, pipeline=b2b, stages=list(b2b.stages.order_by("-position")))
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won")
    rows = list(
        StageChange.objects.filter(opportunity=opp)
        .order_by("id")
        .values_list(
            "from_stage__code", "to_stage__code", "from_position", "to_position", "owner_team", "amount", "probability"
        )
    )
    assert rows == [
        (None, "prospect", None, 1, personas.team_a.pk, Decimal("5000.00"), 10),
        ("prospect", "needs", 1, 3, personas.team_a.pk, Decimal("5000.00"), 35),
        ("needs", "won", 6, 2, personas.team_b.pk, Decimal("9000.00"), 100),
    ]
    assert set(StageChange.objects.filter(opportunity=opp).values_list("owner", "currency")) == {
        (personas.rep.pk, "CNY")
    }


def test_backfill_migration_fills_old_rows_from_the_deal(personas):
    opp = make_opportunity(personas.rep, amount="700")
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("demo"))
    StageChange.objects.update(
        from_position=None, to_position=None, owner=None, owner_team=None, amount=None, currency="", probability=None
    )
    module = importlib.import_module("salesflow.sales.migrations.0005_backfill_stage_change_snapshots")
    module.backfill(global_apps, None)
    rows = list(
        StageChange.objects.order_by("id").values_list(
            "from_position", "to_position", "owner", "owner_team", "amount", "currency", "probability"
        )
    )
    team = personas.team_a.pk
    assert rows == [
        (None, 1, personas.rep.pk, team, Decimal("700.00"), "CNY", 10),
        (1, 4, personas.rep.pk, team, Decimal("700.00"), "CNY", 50),
    ]


# ---------------------------------------------------------------- field history


def test_create_writes_initial_values_and_changes_are_kept(personas):
    opp = make_opportunity(personas.rep, amount="1000")
    assert history(opp) == [
        ("amount", "", "1000.00"),
        ("expected_close_date", "", ""),
        ("probability", "", "10"),
        ("forecast_category", "", "pipeline"),
        ("stage", "", "prospect"),
        ("owner", "", "rep"),
        ("pipeline", "", "b2b"),
        ("outcome", "", "open"),
    ]
    OpportunityFieldChange.objects.all().delete()
    close = timezone.localdate() + timedelta(days=30)
    opportunity_update(
        actor=personas.manager, opportunity=opp, amount="1500", expected_close_date=close, owner=personas.teammate
    )
    opportunity_update(actor=personas.manager, opportunity=opp, name="只改名称")
    opportunity_move_stage(actor=personas.manager, opportunity=opp, stage=stage("demo"))
    opportunity_close(actor=personas.manager, opportunity=opp, outcome="won")
    opportunity_reopen(actor=personas.manager, opportunity=opp)
    rows = {(r.field, r.new_value): r for r in OpportunityFieldChange.objects.filter(opportunity=opp).order_by("id")}
    amount = rows[("amount", "1500.00")]
    assert (amount.old_amount, amount.new_amount, amount.currency) == (Decimal("1000.00"), Decimal("1500.00"), "CNY")
    assert rows[("expected_close_date", close.isoformat())].new_date == close
    assert rows[("owner", "teammate")].new_number == personas.teammate.pk
    assert rows[("owner", "teammate")].changed_by == personas.manager
    assert rows[("stage", "demo")].new_number == stage("demo").pk
    fields = [f for f, _old, _new in history(opp)]
    assert fields == [
        "amount",
        "expected_close_date",
        "owner",
        "probability",
        "forecast_category",
        "stage",
        "probability",
        "forecast_category",
        "stage",
        "outcome",
        "closed_on",
        "probability",
        "forecast_category",
        "stage",
        "outcome",
        "closed_on",
    ]


def test_field_changes_between_respects_visibility_and_period(personas):
    mine = make_opportunity(personas.rep)
    theirs = make_opportunity(personas.outsider)
    start = timezone.now()
    opportunity_update(actor=personas.rep, opportunity=mine, amount="1")
    opportunity_update(actor=personas.outsider, opportunity=theirs, amount="2")
    end = timezone.now() + timedelta(seconds=1)
    seen = list(field_changes_between(personas.manager, start, end, ["amount"]).values_list("opportunity", flat=True))
    assert seen == [mine.pk]
    assert [c.opportunity_id for c in field_changes_between(personas.admin, start, end, ["amount"])] == [
        mine.pk,
        theirs.pk,
    ]
    assert list(field_changes_between(personas.rep, start, end, ["stage"])) == []
    assert list(field_changes_between(personas.rep, end, end + timedelta(days=1))) == []


# ------------------------------------------------------------ won / lost values


def test_won_and_lost_take_their_stage_values(personas):
    # the won stage is always 100% and the lost one 0% (config_services); categories may vary
    stage_update(actor=personas.admin, stage=stage("won"), forecast_category="commit")
    won = make_opportunity(personas.rep)
    opportunity_close(actor=personas.rep, opportunity=won, outcome="won")
    won.refresh_from_db()
    assert (won.probability, won.forecast_category) == (100, "commit")
    stage_update(actor=personas.admin, stage=stage("lost"), forecast_category="pipeline")
    lost = make_opportunity(personas.rep)
    from salesflow.sales.models import LostReason

    opportunity_close(actor=personas.rep, opportunity=lost, outcome="lost", lost_reason=LostReason.objects.first())
    lost.refresh_from_db()
    assert (lost.probability, lost.forecast_category) == (0, "pipeline")


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_closed_deals_keep_probability_and_forecast(personas, outcome):
    from salesflow.sales.models import LostReason

    opp = make_opportunity(personas.rep)
    opportunity_close(actor=personas.rep, opportunity=opp, outcome=outcome, lost_reason=LostReason.objects.first())
    opp.refresh_from_db()
    before = (opp.probability, opp.forecast_category, opp.updated_at)
    with pytest.raises(ValidationFailed) as exc:
        opportunity_update(actor=personas.rep, opportunity=opp, probability=50, forecast_category="commit")
    assert set(exc.value.field_errors) == {"probability", "forecast_category"}
    opp.refresh_from_db()
    assert (opp.probability, opp.forecast_category, opp.updated_at) == before
    # Sending the current values (the edit form does) is fine; the amount stays editable.
    opportunity_update(
        actor=personas.rep, opportunity=opp, probability=before[0], forecast_category=before[1], amount="1"
    )
    opp.refresh_from_db()
    assert opp.amount == Decimal("1.00")


def test_edit_form_disables_probability_on_won_deals(personas, client_for):
    opp = make_opportunity(personas.rep)
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won")
    client = client_for(personas.rep)
    page = client.get(f"/opportunities/{opp.pk}/edit/").content.decode()
    assert 'name="probability"' in page and "disabled" in page.split('name="probability"')[1].split(">")[0]
    response = client.post(
        f"/opportunities/{opp.pk}/edit/",
        {
            "name": opp.name,
            "amount": "10",
            "currency": "CNY",
            "probability": "5",
            "forecast_category": "omitted",
            "owner": personas.rep.pk,
        },
    )
    assert response.status_code == 302
    opp.refresh_from_db()
    assert (opp.amount, opp.probability, opp.forecast_category) == (Decimal("10.00"), 100, "closed")


def test_api_patch_probability_of_won_deal_is_a_field_error(personas, api_for):
    opp = make_opportunity(personas.rep)
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won")
    response = api_for(personas.rep).patch(f"/opportunities/{opp.pk}", {"probability": 10})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["probability"]


# ---------------------------------------------------------------- change pipeline


def test_change_pipeline_with_explicit_stage(personas):
    opp = make_opportunity(personas.rep, stage_code="demo")
    b2c = make_pipeline()
    opportunity_change_pipeline(actor=personas.rep, opportunity=opp, pipeline=b2c, stage=stage("offer", b2c))
    opp.refresh_from_db()
    assert (opp.pipeline.code, opp.stage.code, opp.probability, opp.forecast_category) == (
        "b2c",
        "offer",
        60,
        "best_case",
    )
    change = StageChange.objects.filter(opportunity=opp).order_by("id").last()
    assert change is not None and change.from_stage is not None
    assert (change.from_stage.code, change.to_stage.code, change.from_position, change.to_position) == (
        "demo",
        "offer",
        4,
        2,
    )
    assert [(f, o, n) for f, o, n in history(opp) if o] == [
        ("probability", "50", "60"),
        ("stage", "demo", "offer"),
        ("pipeline", "b2b", "b2c"),
    ]
    event = AuditEvent.objects.get(verb="sales.opportunity.pipeline_changed")
    assert {k: event.data[k] for k in ("from_pipeline", "to_pipeline", "from_stage", "to_stage")} == {
        "from_pipeline": "b2b",
        "to_pipeline": "b2c",
        "from_stage": "demo",
        "to_stage": "offer",
    }


def test_change_pipeline_refusals_change_nothing(personas):
    opp = make_opportunity(personas.rep, stage_code="demo")
    b2c = make_pipeline()
    cases = [
        (personas.rep, b2c, stage("demo"), {"stage"}),  # stage of another pipeline
        (personas.rep, b2c, stage("won", b2c), {"stage"}),  # closed stage for an open deal
        (personas.rep, default_pipeline(), stage("needs"), {"pipeline"}),  # same pipeline
    ]
    for actor, pipeline, target, fields in cases:
        with pytest.raises(ValidationFailed) as exc:
            opportunity_change_pipeline(actor=actor, opportunity=opp, pipeline=pipeline, stage=target)
        assert set(exc.value.field_errors) == fields
    stage_update(actor=personas.admin, stage=stage("offer", b2c), is_active=False)
    with pytest.raises(ValidationFailed):
        opportunity_change_pipeline(actor=personas.rep, opportunity=opp, pipeline=b2c, stage=stage("offer", b2c))
    with pytest.raises(Forbidden):
        opportunity_change_pipeline(actor=personas.support, opportunity=opp, pipeline=b2c, stage=stage("new", b2c))
    opp.refresh_from_db()
    assert (opp.pipeline.code, opp.stage.code) == ("b2b", "demo")
    assert not AuditEvent.objects.filter(verb="sales.opportunity.pipeline_changed").exists()


def test_won_deal_changes_pipeline_into_the_won_stage(personas):
    opp = make_opportunity(personas.rep)
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won")
    b2c = make_pipeline()
    with pytest.raises(ValidationFailed):
        opportunity_change_pipeline(actor=personas.rep, opportunity=opp, pipeline=b2c, stage=stage("new", b2c))
    opportunity_change_pipeline(actor=personas.rep, opportunity=opp, pipeline=b2c, stage=stage("won", b2c))
    opp.refresh_from_db()
    assert (opp.outcome, opp.pipeline.code, opp.stage.code) == ("won", "b2c", "won")


def test_change_pipeline_page_and_api(personas, client_for, api_for):
    opp = make_opportunity(personas.rep, stage_code="demo")
    b2c = make_pipeline()
    client = client_for(personas.rep)
    page = client.get(f"/opportunities/{opp.pk}/change-pipeline/")
    assert page.status_code == 200
    assert "B2C simple" in page.content.decode()
    response = client.post(f"/opportunities/{opp.pk}/change-pipeline/", {"stage": stage("new", b2c).pk})
    assert response.status_code == 302
    opp.refresh_from_db()
    assert opp.stage.code == "new"
    bad = client.post(f"/opportunities/{opp.pk}/change-pipeline/", {"stage": "x"})
    assert bad.status_code == 400
    api = api_for(personas.rep)
    response = api.post(f"/opportunities/{opp.pk}/change-pipeline", {"pipeline": "b2b", "stage": "negotiation"})
    assert response.status_code == 200, response.json()
    assert response.json()["pipeline_id"] == default_pipeline().pk
    assert response.json()["stage"]["code"] == "negotiation"
    response = api.post(f"/opportunities/{opp.pk}/change-pipeline", {"pipeline": "b2c", "stage": "nope"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["stage"]
    assert (
        api_for(personas.outsider)
        .post(f"/opportunities/{opp.pk}/change-pipeline", {"pipeline": "b2c", "stage": "new"})
        .status_code
        == 404
    )
    assert (
        api_for(personas.support)
        .post(f"/opportunities/{opp.pk}/change-pipeline", {"pipeline": "b2c", "stage": "new"})
        .status_code
        == 403
    )
    opp.refresh_from_db()
    assert opp.stage.code == "negotiation"


# --------------------------------------------------------- concurrent contacts


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_contact_updates_do_not_fail(transactional_db):
    """Two threads replace the same decision-maker map: both succeed, one map wins."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need a server database; SQLite serialises writers with BEGIN IMMEDIATE")
    personas = make_personas()
    opp = make_opportunity(personas.rep)
    contacts = [make_contact(opp.account) for _ in range(3)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(role: str) -> None:
        from django.db import connection as conn

        try:
            copy = Opportunity.objects.get(pk=opp.pk)
            barrier.wait()
            opportunity_update(actor=personas.rep, opportunity=copy, contacts=[(c, role) for c in contacts])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    for _round in range(3):
        threads = [threading.Thread(target=worker, args=(r,)) for r in (BuyingRole.USER, BuyingRole.INFLUENCER)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        roles = set(OpportunityContact.objects.filter(opportunity=opp).values_list("role", flat=True))
        assert OpportunityContact.objects.filter(opportunity=opp).count() == 3
        assert len(roles) == 1
        OpportunityContact.objects.filter(opportunity=opp).delete()


def test_api_exposes_snapshots_and_field_history(personas, api_for):
    opp = make_opportunity(personas.rep, amount="12.5")
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("demo"))
    api = api_for(personas.rep)
    rows = api.get(f"/opportunities/{opp.pk}/stage-changes").json()
    assert [
        (r["from_position"], r["to_position"], r["amount"], r["probability"], r["owner_team_id"]) for r in rows
    ] == [
        (None, 1, "12.50", 10, personas.team_a.pk),
        (1, 4, "12.50", 50, personas.team_a.pk),
    ]
    fields = api.get(f"/opportunities/{opp.pk}/field-changes").json()
    assert [(f["field"], f["old_value"], f["new_value"]) for f in fields][-3:] == [
        ("probability", "10", "50"),
        ("forecast_category", "pipeline", "best_case"),
        ("stage", "prospect", "demo"),
    ]
    assert api_for(personas.outsider).get(f"/opportunities/{opp.pk}/field-changes").status_code == 404
