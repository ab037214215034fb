"""Stage gates: the criterion registry, each built-in criterion type, refusal of forward
moves with every unmet criterion, manager override (audited), regressions, the checklist
(ticks, constant query count), the API (409 with ``unmet``) and the pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesflow.attachments.models import Attachment
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.parties.choices import BuyingRole
from salesflow.sales.gate_services import (
    opportunity_checklist_tick,
    stage_criterion_create,
    stage_criterion_delete,
    stage_criterion_update,
)
from salesflow.sales.gates import (
    CriterionType,
    GateRefused,
    criteria_of,
    evaluate,
    opportunity_checklist,
    register_criterion_type,
    unmet_criteria,
    unregister_criterion_type,
)
from salesflow.sales.models import Opportunity, OpportunityChecklistTick, Stage, StageChange, StageCriterion
from salesflow.sales.services import opportunity_close, opportunity_move_stage, opportunity_update
from salesflow.sales.tests.factories import make_contact, make_opportunity, stage

pytestmark = pytest.mark.django_db


def crit(personas: Any, code: str, kind: str, params: Any = None, label: str = "") -> StageCriterion:
    return stage_criterion_create(
        actor=personas.admin, stage=stage(code), kind=kind, params=params, label_en=label, label_zh=label
    )


def snapshot(opp: Opportunity) -> tuple[Any, ...]:
    row = Opportunity.objects.get(pk=opp.pk)
    return (
        row.stage_id,
        row.probability,
        row.outcome,
        StageChange.objects.filter(opportunity=opp).count(),
        AuditEvent.objects.filter(target_id=opp.pk, verb__startswith="sales.opportunity").count(),
    )


def attach(opp: Opportunity, kind: str) -> Attachment:
    return Attachment.objects.create(
        content_type=ContentType.objects.get_for_model(Opportunity),
        object_id=opp.pk,
        kind=kind,
        file_name="方案.pdf",
        stored_path=f"x/{opp.pk}/{kind}",
        size=10,
        mime_type="application/pdf",
        sha256="0" * 64,
    )


# ------------------------------------------------------------------------------ registry


def test_registry_accepts_a_new_type_from_another_module(personas):
    calls: list[int] = []

    def load(opp_ids: list[int], criteria: list[StageCriterion]) -> set[int]:
        calls.append(len(criteria))
        return {opp_ids[0]}

    register_criterion_type(
        CriterionType(
            code="test_quote",
            label="An accepted quote",
            clean_params=lambda raw: {},
            load=load,
            check=lambda opp, c, loaded: None if opp.pk in loaded else "No accepted quote.",
        )
    )
    try:
        a = make_opportunity(personas.rep, stage_code="needs")
        b = make_opportunity(personas.rep, stage_code="needs")
        crit(personas, "demo", "test_quote", label="Quote")
        crit(personas, "demo", "test_quote", label="Quote again")
        criteria = criteria_of([stage("demo").pk])[stage("demo").pk]
        results = evaluate([a, b], criteria)
        assert calls == [2]  # one load for both deals and both criteria
        assert [r.met for r in results[a.pk]] == [True, True]
        assert [r.explanation for r in results[b.pk]] == ["No accepted quote.", "No accepted quote."]
    finally:
        unregister_criterion_type("test_quote")
    # a criterion whose type is gone is skipped, never a 500
    assert unmet_criteria(b, stage("demo")) == []


def test_unknown_type_is_refused_when_saving(personas):
    with pytest.raises(ValidationFailed) as exc:
        crit(personas, "demo", "no_such_type")
    assert list(exc.value.field_errors) == ["kind"]
    assert not StageCriterion.objects.exists()


# ---------------------------------------------------------------------- built-in types


def test_required_fields(personas):
    opp = make_opportunity(personas.rep, stage_code="needs", amount="0")
    c = crit(personas, "demo", "fields", {"fields": ["amount", "expected_close_date", "next_step", "contact"]})
    [result] = unmet_criteria(opp, stage("demo"))
    assert result.criterion == c
    for word in ("amount", "expected close date", "next step", "a contact"):
        assert word in result.explanation
    contact = make_contact(opp.account)
    opportunity_update(
        actor=personas.rep,
        opportunity=opp,
        amount="5000",
        expected_close_date=opp.created_at.date(),
        next_step="上门拜访",
        contacts=[(contact, BuyingRole.USER)],
    )
    assert unmet_criteria(opp, stage("demo")) == []


def test_checklist_item_ticked_and_unticked(personas):
    opp = make_opportunity(personas.rep, stage_code="needs")
    c = crit(personas, "demo", "checklist", label="Budget confirmed by finance")
    assert [r.explanation for r in unmet_criteria(opp, stage("demo"))] == ["Not ticked yet."]
    assert opportunity_checklist_tick(actor=personas.rep, opportunity=opp, criterion=c) is True
    assert opportunity_checklist_tick(actor=personas.rep, opportunity=opp, criterion=c) is False  # idempotent
    assert unmet_criteria(opp, stage("demo")) == []
    tick = OpportunityChecklistTick.objects.get()
    assert tick.ticked_by == personas.rep
    assert AuditEvent.objects.filter(verb="sales.opportunity.checklist_ticked", target_id=opp.pk).count() == 1
    opportunity_checklist_tick(actor=personas.rep, opportunity=opp, criterion=c, ticked=False)
    assert len(unmet_criteria(opp, stage("demo"))) == 1
    assert AuditEvent.objects.filter(verb="sales.opportunity.checklist_unticked").count() == 1


def test_checklist_tick_needs_write_access_and_a_checklist_item(personas):
    opp = make_opportunity(personas.rep, stage_code="needs")
    item = crit(personas, "demo", "checklist", label="Budget")
    other = crit(personas, "demo", "decision_maker")
    with pytest.raises(Forbidden):
        opportunity_checklist_tick(actor=personas.support, opportunity=opp, criterion=item)
    with pytest.raises(ValidationFailed) as exc:
        opportunity_checklist_tick(actor=personas.rep, opportunity=opp, criterion=other)
    assert list(exc.value.field_errors) == ["criterion"]
    assert not OpportunityChecklistTick.objects.exists()


def test_checklist_needs_a_label(personas):
    with pytest.raises(ValidationFailed) as exc:
        crit(personas, "demo", "checklist")
    assert list(exc.value.field_errors) == ["label_en"]


def test_decision_maker_contact(personas):
    opp = make_opportunity(personas.rep, stage_code="needs")
    crit(personas, "demo", "decision_maker")
    contact = make_contact(opp.account)
    opportunity_update(actor=personas.rep, opportunity=opp, contacts=[(contact, BuyingRole.INFLUENCER)])
    assert len(unmet_criteria(opp, stage("demo"))) == 1
    opportunity_update(actor=personas.rep, opportunity=opp, contacts=[(contact, BuyingRole.DECISION_MAKER)])
    assert unmet_criteria(opp, stage("demo")) == []


def test_attachment_of_a_kind(personas):
    opp = make_opportunity(personas.rep, stage_code="needs")
    crit(personas, "demo", "attachment", {"kind": "proposal"})
    attach(opp, "photo")
    [result] = unmet_criteria(opp, stage("demo"))
    assert "Proposal" in result.explanation and result.label == "A “Proposal” attachment"
    attach(opp, "proposal")
    assert unmet_criteria(opp, stage("demo")) == []


def test_checklist_query_count_is_constant(personas, django_assert_max_num_queries):
    opp = make_opportunity(personas.rep, stage_code="needs")
    crit(personas, "demo", "checklist", label="A")

    def count() -> int:
        fresh = Opportunity.objects.select_related("stage").get(pk=opp.pk)
        with CaptureQueriesContext(connection) as ctx:
            opportunity_checklist(fresh)
        return len(ctx.captured_queries)

    few = count()
    for i in range(6):
        crit(personas, "demo", "checklist", label=f"item {i}")
        crit(personas, "needs", "fields", {"fields": ["amount", "contact"]})
    crit(personas, "demo", "decision_maker")
    crit(personas, "demo", "attachment", {"kind": "contract"})
    many = count()
    # next stage + criteria + one load per type used (checklist, fields, decision maker, attachment)
    assert few <= 3
    assert many <= 3 + 3
    with django_assert_max_num_queries(8):
        evaluate(list(Opportunity.objects.all()), [c for cs in criteria_of([stage("demo").pk]).values() for c in cs])


# ------------------------------------------------------------------ refusal and override


def test_forward_move_refused_lists_every_unmet_criterion_and_writes_nothing(personas):
    opp = make_opportunity(personas.rep, stage_code="needs", amount="0")
    a = crit(personas, "proposal", "fields", {"fields": ["amount"]})
    b = crit(personas, "proposal", "decision_maker")
    c = crit(personas, "proposal", "checklist", label="Budget confirmed by finance")
    before = snapshot(opp)
    with pytest.raises(GateRefused) as exc:
        opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("proposal"))
    assert exc.value.status_code == 409
    assert [r.criterion for r in exc.value.unmet] == [a, b, c]
    assert [u["id"] for u in exc.value.data["unmet"]] == [a.pk, b.pk, c.pk]
    assert "Budget confirmed by finance" in str(exc.value.message)
    assert snapshot(opp) == before
    # skipped stages' criteria are not checked: only the target's
    crit(personas, "demo", "checklist", label="Demo done")
    StageCriterion.objects.filter(stage=stage("proposal")).delete()
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("proposal"))
    assert Opportunity.objects.get(pk=opp.pk).stage == stage("proposal")


def test_inactive_criteria_do_not_gate(personas):
    opp = make_opportunity(personas.rep, stage_code="needs")
    c = crit(personas, "demo", "decision_maker")
    stage_criterion_update(actor=personas.admin, criterion=c, is_active=False)
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("demo"))


def test_manager_override_is_audited(personas):
    opp = make_opportunity(personas.rep, stage_code="needs")
    c = crit(personas, "demo", "decision_maker")
    opportunity_move_stage(
        actor=personas.manager, opportunity=opp, stage=stage("demo"), override_reason="  客户CEO口头确认，先推进  "
    )
    assert Opportunity.objects.get(pk=opp.pk).stage == stage("demo")
    change = StageChange.objects.filter(opportunity=opp).latest("id")
    assert change.gate_overridden and not change.is_regression
    event = AuditEvent.objects.get(verb="sales.opportunity.gate_overridden", target_id=opp.pk)
    assert event.actor == personas.manager
    assert event.data["reason"] == "客户CEO口头确认，先推进"
    assert event.data["stage"] == "demo"
    assert [u["id"] for u in event.data["unmet"]] == [c.pk]


def test_admin_may_override_and_other_manager_may_not_see(personas):
    opp = make_opportunity(personas.rep, stage_code="needs")
    crit(personas, "demo", "decision_maker")
    opportunity_move_stage(actor=personas.admin, opportunity=opp, stage=stage("demo"), override_reason="ok")
    assert Opportunity.objects.get(pk=opp.pk).stage == stage("demo")


@pytest.mark.parametrize("persona", ["rep", "assistant"])
def test_rep_cannot_override(personas, persona):
    opp = make_opportunity(personas.rep, stage_code="needs")
    crit(personas, "demo", "decision_maker")
    before = snapshot(opp)
    with pytest.raises(Forbidden):
        opportunity_move_stage(
            actor=getattr(personas, persona), opportunity=opp, stage=stage("demo"), override_reason="please"
        )
    assert snapshot(opp) == before


@pytest.mark.parametrize(
    "reason",
    ["", "   ", "x" * 501, "a\x00b", "bell\x07"],
    ids=["empty", "blank", "too-long", "nul", "control"],
)
def test_hostile_override_reason(personas, reason):
    opp = make_opportunity(personas.rep, stage_code="needs")
    crit(personas, "demo", "decision_maker")
    before = snapshot(opp)
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move_stage(actor=personas.manager, opportunity=opp, stage=stage("demo"), override_reason=reason)
    assert list(exc.value.field_errors) == ["override_reason"]
    assert snapshot(opp) == before


def test_moving_back_is_allowed_and_recorded_as_a_regression(personas):
    opp = make_opportunity(personas.rep, stage_code="demo")
    crit(personas, "needs", "decision_maker")  # the target's criteria do not apply backwards
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("needs"))
    change = StageChange.objects.filter(opportunity=opp).latest("id")
    assert change.is_regression and not change.gate_overridden
    event = AuditEvent.objects.filter(verb="sales.opportunity.stage_changed", target_id=opp.pk).latest("id")
    assert event.data["regression"] is True
    assert "moved back" in event.data["summary"]["en"]
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("proposal"))
    assert not StageChange.objects.filter(opportunity=opp).latest("id").is_regression


def test_winning_is_gated_by_the_won_stage(personas):
    opp = make_opportunity(personas.rep, stage_code="negotiation")
    crit(personas, "won", "attachment", {"kind": "contract"})
    before = snapshot(opp)
    with pytest.raises(GateRefused):
        opportunity_close(actor=personas.rep, opportunity=opp, outcome="won")
    assert snapshot(opp) == before
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="lost", lost_reason=_reason())  # never gated
    assert Opportunity.objects.get(pk=opp.pk).outcome == "lost"
    other = make_opportunity(personas.rep, stage_code="negotiation")
    opportunity_close(actor=personas.manager, opportunity=other, outcome="won", override_reason="合同已在走流程")
    assert Opportunity.objects.get(pk=other.pk).outcome == "won"
    assert AuditEvent.objects.filter(verb="sales.opportunity.gate_overridden", target_id=other.pk).exists()


def _reason() -> Any:
    from salesflow.sales.models import LostReason

    return LostReason.objects.filter(is_active=True).first()


# ------------------------------------------------------------------- criteria settings


def test_only_admins_change_criteria(personas):
    with pytest.raises(Forbidden):
        stage_criterion_create(actor=personas.manager, stage=stage("demo"), kind="decision_maker")
    c = crit(personas, "demo", "decision_maker")
    with pytest.raises(Forbidden):
        stage_criterion_update(actor=personas.manager, criterion=c, label_en="x")
    with pytest.raises(Forbidden):
        stage_criterion_delete(actor=personas.rep, criterion=c)
    stage_criterion_delete(actor=personas.admin, criterion=c)
    assert AuditEvent.objects.filter(verb__startswith="sales.stage_criterion.").count() == 2


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("fields", None, "params"),
        ("fields", {"fields": []}, "params"),
        ("fields", {"fields": ["amount", "password"]}, "params"),
        ("fields", {"fields": "amount", "extra": 1}, "params"),
        ("fields", ["amount"], "params"),
        ("attachment", {"kind": "exe"}, "params"),
        ("attachment", {"kind": ["proposal"]}, "params"),
        ("decision_maker", {"x": 1}, "params"),
        ("fields", {"fields": ["amount"] * 50}, "params"),
        ("x" * 5000, None, "kind"),
        ("checklist\x00", None, "kind"),
    ],
    ids=[
        "fields-missing",
        "fields-empty",
        "fields-unknown",
        "fields-extra-key",
        "not-an-object",
        "attachment-unknown",
        "attachment-list",
        "no-params-type",
        "fields-repeated",
        "huge-kind",
        "nul-kind",
    ],
)
def test_hostile_criterion_params(personas, kind, params, field):
    with pytest.raises(ValidationFailed) as exc:
        stage_criterion_create(actor=personas.admin, stage=stage("demo"), kind=kind, params=params)
    assert field in exc.value.field_errors
    assert not StageCriterion.objects.exists()


def test_hostile_labels(personas):
    for label, field in (("x" * 201, "label_en"), ("a\x00", "label_en")):
        with pytest.raises(ValidationFailed) as exc:
            stage_criterion_create(
                actor=personas.admin, stage=stage("demo"), kind="checklist", label_en=label, label_zh="好"
            )
        assert field in exc.value.field_errors
    assert not StageCriterion.objects.exists()


# -------------------------------------------------------------------------------- API


def test_api_move_409_lists_unmet_and_override(personas, api_for):
    opp = make_opportunity(personas.rep, stage_code="needs")
    a = crit(personas, "demo", "decision_maker")
    b = crit(personas, "demo", "checklist", label="Budget confirmed by finance")
    url = f"/opportunities/{opp.pk}/move"
    response = api_for(personas.rep).post(url, {"stage": "demo"})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "gate_unmet" and body["errors"] == {}
    assert [u["id"] for u in body["unmet"]] == [a.pk, b.pk]
    assert body["unmet"][1] == {
        "id": b.pk,
        "code": "checklist",
        "label": "Budget confirmed by finance",
        "explanation": "Not ticked yet.",
    }
    assert api_for(personas.rep).post(url, {"stage": "demo", "override_reason": "急"}).status_code == 403
    bad = api_for(personas.manager).post(url, {"stage": "demo", "override_reason": "   "})
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["override_reason"]
    ok = api_for(personas.manager).post(url, {"stage": "demo", "override_reason": "客户高层已确认"})
    assert ok.status_code == 200 and ok.json()["stage"]["code"] == "demo"
    history = api_for(personas.rep).get(f"/opportunities/{opp.pk}/stage-changes").json()
    assert history[-1]["gate_overridden"] is True
    back = api_for(personas.rep).post(url, {"stage": "needs"})
    assert back.status_code == 200
    history = api_for(personas.rep).get(f"/opportunities/{opp.pk}/stage-changes").json()
    assert history[-1]["is_regression"] is True


def test_api_checklist_and_tick(personas, api_for):
    opp = make_opportunity(personas.rep, stage_code="needs")
    item = crit(personas, "demo", "checklist", label="Budget")
    api = api_for(personas.rep)
    blocks = api.get(f"/opportunities/{opp.pk}/checklist").json()
    assert [b["stage"]["code"] for b in blocks] == ["needs", "demo"]
    assert blocks[1]["items"][0]["met"] is False and blocks[1]["items"][0]["manual"] is True
    blocks = api.post(f"/opportunities/{opp.pk}/checklist/{item.pk}", {"ticked": True}).json()
    assert blocks[1]["items"][0]["met"] is True
    blocks = api.post(f"/opportunities/{opp.pk}/checklist/{item.pk}", {"ticked": False}).json()
    assert blocks[1]["items"][0]["met"] is False
    assert api_for(personas.support).post(f"/opportunities/{opp.pk}/checklist/{item.pk}", {}).status_code == 403
    assert api_for(personas.outsider).get(f"/opportunities/{opp.pk}/checklist").status_code == 404
    assert api.post(f"/opportunities/{opp.pk}/checklist/999999", {}).status_code == 404


def test_api_criteria_crud_is_for_admins(personas, api_for):
    demo = stage("demo")
    url = f"/opportunities/stages/{demo.pk}/criteria"
    assert api_for(personas.manager).get(url).status_code == 403
    assert api_for(personas.manager).post(url, {"kind": "decision_maker"}).status_code == 403
    admin = api_for(personas.admin)
    created = admin.post(url, {"kind": "fields", "params": {"fields": ["amount"]}, "label_zh": "金额已填"})
    assert created.status_code == 201, created.json()
    cid = created.json()["id"]
    assert admin.get(url).json()[0]["params"] == {"fields": ["amount"]}
    bad = admin.post(url, {"kind": "fields", "params": {"fields": ["nope"]}})
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["params"]
    assert admin.post(url, {"kind": "fields", "surprise": 1}).status_code == 400
    patched = admin.patch(f"/opportunities/criteria/{cid}", {"label_en": "Amount filled in", "position": 3})
    assert patched.status_code == 200 and patched.json()["position"] == 3
    assert api_for(personas.rep).delete(f"/opportunities/criteria/{cid}").status_code == 403
    assert admin.delete(f"/opportunities/criteria/{cid}").status_code == 204
    assert admin.get(url).json() == []
    types = {t["code"] for t in api_for(personas.rep).get("/opportunities/criterion-types").json()}
    assert {"fields", "checklist", "decision_maker", "attachment", "activity_done", "bant_complete"} <= types


# ------------------------------------------------------------------------------ pages


def _board_post(client: Any, opp: Opportunity, stage_obj: Stage, **extra: str) -> Any:
    return client.post(
        f"/opportunities/{opp.pk}/move/",
        {"stage": str(stage_obj.pk), "pipeline": str(stage_obj.pipeline_id), **extra},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="board",
    )


def _column_of(html: str, code: str) -> str:
    start = html.index(f'data-testid="board-column-{code}"')
    end = html.find("<section", start)
    return html[start : end if end != -1 else len(html)]


def test_board_drop_refused_shows_the_list_in_the_column_and_the_card_stays(personas, client_for):
    opp = make_opportunity(personas.rep, stage_code="needs", name="华东项目")
    crit(personas, "demo", "decision_maker")
    crit(personas, "demo", "checklist", label="Budget confirmed by finance")
    response = _board_post(client_for(personas.rep), opp, stage("demo"))
    assert response.status_code == 409
    html = response.content.decode()
    demo_column = _column_of(html, "demo")
    assert 'data-testid="gate-refusal"' in demo_column
    assert "Budget confirmed by finance" in demo_column and "decision-maker role" in demo_column
    assert f'data-testid="board-card-{opp.pk}"' in _column_of(html, "needs")
    assert "gate-override-form" not in html  # a rep gets no override
    manager = client_for(personas.manager)
    html = _board_post(manager, opp, stage("demo")).content.decode()
    assert "gate-override-form" in _column_of(html, "demo")
    done = _board_post(manager, opp, stage("demo"), override_reason="已与客户确认")
    assert done.status_code == 200
    assert f'data-testid="board-card-{opp.pk}"' in _column_of(done.content.decode(), "demo")


def test_detail_move_form_refused_shows_the_list(personas, client_for):
    opp = make_opportunity(personas.rep, stage_code="needs")
    crit(personas, "demo", "decision_maker")
    response = client_for(personas.rep).post(f"/opportunities/{opp.pk}/move/", {"stage": str(stage("demo").pk)})
    assert response.status_code == 409
    assert b'data-testid="gate-refusal"' in response.content
    assert Opportunity.objects.get(pk=opp.pk).stage == stage("needs")


def test_checklist_panel_and_tick(personas, client_for):
    opp = make_opportunity(personas.rep, stage_code="needs")
    item = crit(personas, "demo", "checklist", label="Budget confirmed by finance")
    client = client_for(personas.rep)
    panel = client.get(f"/opportunities/{opp.pk}/checklist/").content.decode()
    assert "Budget confirmed by finance" in panel and f'checklist-tick-{item.pk}"' in panel
    response = client.post(f"/opportunities/{opp.pk}/checklist/{item.pk}/", {"ticked": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert re.search(rf'checklist-item-{item.pk}" data-met="true"', response.content.decode())
    # support reads the panel but cannot tick
    support = client_for(personas.support)
    assert f"checklist-tick-{item.pk}" not in support.get(f"/opportunities/{opp.pk}/checklist/").content.decode()
    assert support.post(f"/opportunities/{opp.pk}/checklist/{item.pk}/", {"ticked": "0"}).status_code == 403


def test_criteria_settings_page(personas, client_for):
    demo = stage("demo")
    url = f"/settings/pipelines/stages/{demo.pk}/criteria/"
    assert client_for(personas.manager).get(url).status_code == 403
    admin = client_for(personas.admin)
    assert admin.get(url).status_code == 200
    response = admin.post(
        url,
        {"new-kind": "fields", "new-p_fields_fields": ["amount", "contact"], "new-label_zh": "", "new-is_active": "on"},
    )
    assert response.status_code == 302
    c = StageCriterion.objects.get()
    assert c.params == {"fields": ["amount", "contact"]} and c.position == 0
    response = admin.post(url, {"new-kind": "checklist", "new-is_active": "on"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and b"needs a label" in response.content
    response = admin.post(url, {"new-kind": "x" * 50_000, "new-label_en": "\x00"})
    assert response.status_code == 400
    edit = admin.post(
        f"/settings/pipelines/criteria/{c.pk}/",
        {
            f"c{c.pk}-kind": "attachment",
            f"c{c.pk}-p_attachment_kind": "proposal",
            f"c{c.pk}-label_en": "Proposal attached",
            f"c{c.pk}-position": "2",
            f"c{c.pk}-is_active": "on",
        },
        HTTP_HX_REQUEST="true",
    )
    assert edit.status_code == 200
    c.refresh_from_db()
    assert (c.kind, c.params, c.position) == ("attachment", {"kind": "proposal"}, 2)
    assert admin.post(f"/settings/pipelines/criteria/{c.pk}/delete/").status_code == 302
    assert not StageCriterion.objects.exists()
    assert client_for(personas.rep).post(f"/settings/pipelines/criteria/{c.pk}/delete/").status_code == 403


def test_a_copied_pipeline_keeps_its_stages_entry_criteria(personas):
    from salesflow.sales.config_services import pipeline_copy

    proposal = stage("proposal")
    stage_criterion_create(actor=personas.admin, stage=proposal, kind="decision_maker")
    stage_criterion_create(
        actor=personas.admin, stage=proposal, kind="checklist", label_en="Budget confirmed", label_zh="预算已确认"
    )
    copy = pipeline_copy(
        actor=personas.admin, source=proposal.pipeline, code="b2b-east", name_en="B2B East", name_zh="华东 B2B"
    )
    copied = copy.stages.get(code="proposal")
    assert list(StageCriterion.objects.filter(stage=copied).values_list("kind", "label_zh", "position")) == list(
        StageCriterion.objects.filter(stage=proposal).values_list("kind", "label_zh", "position")
    )
    assert StageCriterion.objects.filter(stage=copied).count() == 2
    # the source keeps its own rows: editing the copy's criteria never touches the original
    assert set(StageCriterion.objects.filter(stage=copied).values_list("pk", flat=True)).isdisjoint(
        StageCriterion.objects.filter(stage=proposal).values_list("pk", flat=True)
    )
