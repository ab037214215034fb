"""Pipeline configuration that is safe to edit: services, admin screens and their effect on deals."""

from __future__ import annotations

import pytest
from django.utils import translation

from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.sales.config_services import (
    pipeline_create,
    pipeline_delete,
    pipeline_update,
    stage_create,
    stage_delete,
    stage_reorder,
    stage_update,
)
from salesflow.sales.models import LostReason, Pipeline, Stage
from salesflow.sales.selectors import board, open_stages, opportunity_list, pipelines_with_stages
from salesflow.sales.services import default_pipeline, opportunity_move_stage, opportunity_reopen
from salesflow.sales.tests.factories import make_account, make_opportunity, make_pipeline, stage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """The messages below are asserted in English, whatever an earlier test activated."""
    with translation.override("en"):
        yield


def codes(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("position").values_list("code", flat=True))


def config_verbs() -> list[str]:
    return list(
        AuditEvent.objects.filter(verb__regex=r"^sales\.(pipeline|stage)\.")
        .order_by("id")
        .values_list("verb", flat=True)
    )


# ------------------------------------------------------------------- list sort


def test_stage_sort_follows_positions_not_ids(personas):
    b2b = default_pipeline()
    early, late = make_opportunity(personas.rep, stage_code="negotiation"), make_opportunity(personas.rep)
    # Put "negotiation" first: by stage id it would still sort after "prospect".
    order = [stage("negotiation"), *[s for s in b2b.stages.order_by("position") if s.code != "negotiation"]]
    stage_reorder(actor=personas.admin, pipeline=b2b, stages=order)
    names = list(opportunity_list(personas.rep, sort="stage").values_list("pk", flat=True))
    assert names == [early.pk, late.pk]
    assert list(opportunity_list(personas.rep, sort="-stage").values_list("pk", flat=True)) == [late.pk, early.pk]


def test_the_stage_sort_key_follows_every_change(personas):
    """``stage_rank`` (the list's stage sort, one index) is kept by every path that moves a
    deal or reorders stages and pipelines: create, move, close, reopen, change pipeline,
    stage reorder, pipeline position; ``refresh_stage_ranks`` repairs raw writes."""
    from salesflow.sales.models import Opportunity, stage_rank_of
    from salesflow.sales.selectors import refresh_stage_ranks
    from salesflow.sales.services import (
        opportunity_change_pipeline,
        opportunity_close,
        opportunity_move_stage,
        opportunity_reopen,
    )

    def expected(opp: Opportunity) -> int:
        row = Opportunity.objects.select_related("pipeline", "stage").get(pk=opp.pk)
        return stage_rank_of(row.pipeline.position, row.pipeline_id, row.stage.position)

    def rank(opp: Opportunity) -> int:
        return Opportunity.objects.values_list("stage_rank", flat=True).get(pk=opp.pk)

    b2b = default_pipeline()
    opp = make_opportunity(personas.rep)
    assert rank(opp) == expected(opp) > 0
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("negotiation"))
    assert rank(opp) == expected(opp)
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="lost", lost_reason=LostReason.objects.first())
    assert rank(opp) == expected(opp)
    opportunity_reopen(actor=personas.rep, opportunity=opp)
    assert rank(opp) == expected(opp)
    order = list(reversed(list(b2b.stages.order_by("position"))))
    stage_reorder(actor=personas.admin, pipeline=b2b, stages=order)
    assert rank(opp) == expected(opp)
    loans = Pipeline.objects.get(code="personal-loan")
    pipeline_update(actor=personas.admin, pipeline=loans, is_active=True)
    opportunity_change_pipeline(
        actor=personas.rep, opportunity=opp, pipeline=loans, stage=loans.stages.filter(kind="open")[0]
    )
    assert rank(opp) == expected(opp)
    pipeline_update(actor=personas.admin, pipeline=loans, position=loans.position + 7)
    assert rank(opp) == expected(opp)
    # a raw write (bulk loads) is repaired by the refresh
    Opportunity.objects.filter(pk=opp.pk).update(stage_rank=0)
    assert refresh_stage_ranks() == 1 and rank(opp) == expected(opp)
    assert stage_rank_of(3, 2, 1) < stage_rank_of(3, 2, 2) < stage_rank_of(3, 3, 0) < stage_rank_of(4, 1, 0)
    assert 0 <= stage_rank_of(10**9, 10**12, 10**9) < 2**63


# ------------------------------------------------------------------- reorder


def test_reorder_swaps_without_hitting_the_unique_position(personas):
    b2b = default_pipeline()
    stages = list(b2b.stages.order_by("position"))
    swapped = [stages[1], stages[0], *stages[2:]]
    result = stage_reorder(actor=personas.admin, pipeline=b2b, stages=swapped)
    assert [s.code for s in result] == [s.code for s in swapped]
    assert codes(b2b)[:2] == ["qualification", "prospect"]
    assert list(b2b.stages.order_by("position").values_list("position", flat=True)) == list(range(1, 9))
    event = AuditEvent.objects.get(verb="sales.stage.reordered")
    assert event.data["order"][:2] == ["qualification", "prospect"]
    assert event.data["before"][:2] == ["prospect", "qualification"]


def test_reorder_refuses_an_incomplete_list_and_non_admins(personas):
    b2b = default_pipeline()
    before = codes(b2b)
    stages = list(b2b.stages.order_by("position"))
    with pytest.raises(ValidationFailed) as exc:
        stage_reorder(actor=personas.admin, pipeline=b2b, stages=stages[1:])
    assert "stages" in exc.value.field_errors
    with pytest.raises(Forbidden):
        stage_reorder(actor=personas.manager, pipeline=b2b, stages=list(reversed(stages)))
    assert codes(b2b) == before
    assert config_verbs() == []


def test_admin_inline_reorders_by_swapping_positions(personas, client_for):
    b2b = default_pipeline()
    stages = list(b2b.stages.order_by("position"))
    data = {
        "code": b2b.code,
        "name_zh": b2b.name_zh,
        "name_en": b2b.name_en,
        "is_default": "on",
        "is_active": "on",
        "position": b2b.position,
        "stages-TOTAL_FORMS": len(stages),
        "stages-INITIAL_FORMS": len(stages),
        "stages-MIN_NUM_FORMS": 0,
        "stages-MAX_NUM_FORMS": 1000,
    }
    for i, s in enumerate(stages):
        position = {1: 2, 2: 1}.get(s.position, s.position)
        data.update(
            {
                f"stages-{i}-id": s.pk,
                f"stages-{i}-pipeline": b2b.pk,
                f"stages-{i}-position": position,
                f"stages-{i}-code": s.code,
                f"stages-{i}-name_zh": s.name_zh,
                f"stages-{i}-name_en": s.name_en,
                f"stages-{i}-probability": s.probability,
                f"stages-{i}-forecast_category": s.forecast_category,
                f"stages-{i}-kind": s.kind,
                f"stages-{i}-is_active": "on",
                **({f"stages-{i}-is_bant_gate": "on"} if s.is_bant_gate else {}),
                f"stages-{i}-rotting_days": s.rotting_days or "",
                f"stages-{i}-guidance_zh": s.guidance_zh,
                f"stages-{i}-guidance_en": s.guidance_en,
            }
        )
    response = client_for(personas.admin).post(f"/admin/sales/pipeline/{b2b.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert codes(b2b)[:2] == ["qualification", "prospect"]
    assert config_verbs() == ["sales.stage.reordered"]


# ------------------------------------------------------------- hiding stages


def test_hide_a_used_stage_after_moving_its_deals(personas):
    opp = make_opportunity(personas.rep, stage_code="needs")
    needs = stage("needs")
    with pytest.raises(ValidationFailed) as exc:
        stage_update(actor=personas.admin, stage=needs, is_active=False)
    assert exc.value.field_errors == {"is_active": ["Deals are in this stage; move them before hiding it."]}
    needs.refresh_from_db()
    assert needs.is_active
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("demo"))
    stage_update(actor=personas.admin, stage=needs, is_active=False)
    needs.refresh_from_db()
    assert not needs.is_active
    event = AuditEvent.objects.get(verb="sales.stage.updated")
    assert event.data["changes"] == {"is_active": [True, False]}
    # No new deals, not on the board, not in pickers; history still readable.
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=needs)
    assert exc.value.field_errors == {"stage": ["This stage is hidden and takes no deals."]}
    with pytest.raises(ValidationFailed):
        make_opportunity(personas.rep, stage_code="needs")
    assert "needs" not in [c.stage.code for c in board(personas.rep, pipeline=default_pipeline()).columns]
    assert "needs" not in [s.code for s in open_stages()]
    assert "needs" not in [s.code for p in pipelines_with_stages() for s in p.stages.all()]
    assert [c.from_stage.code for c in opp.stage_changes.exclude(from_stage=None)] == ["needs"]


def test_reopen_never_lands_in_a_hidden_stage(personas):
    opp = make_opportunity(personas.rep, stage_code="needs")
    from salesflow.sales.services import opportunity_close

    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won")
    stage_update(actor=personas.admin, stage=stage("needs"), is_active=False)
    opportunity_reopen(actor=personas.rep, opportunity=opp)
    opp.refresh_from_db()
    assert opp.stage.code == "prospect"


def test_cannot_hide_the_last_stage_of_a_kind(personas):
    with pytest.raises(ValidationFailed) as exc:
        stage_update(actor=personas.admin, stage=stage("won"), is_active=False)
    assert exc.value.field_errors == {"is_active": ["The pipeline needs an active “Won” stage."]}
    assert stage("won").is_active


# ---------------------------------------------------------------- stage kind


def test_kind_cannot_change_while_deals_sit_in_the_stage(personas):
    make_opportunity(personas.rep, stage_code="demo")
    demo = stage("demo")
    with pytest.raises(ValidationFailed) as exc:
        stage_update(actor=personas.admin, stage=demo, kind="won")
    assert exc.value.field_errors["kind"] == ["Deals are in this stage; move them before changing its kind."]
    demo.refresh_from_db()
    assert demo.kind == "open"
    assert config_verbs() == []


def test_admin_shows_the_kind_refusal_on_the_stage(personas, client_for):
    make_opportunity(personas.rep, stage_code="demo")
    b2b = default_pipeline()
    stages = list(b2b.stages.order_by("position"))
    data = {
        "code": b2b.code,
        "name_zh": b2b.name_zh,
        "name_en": b2b.name_en,
        "is_default": "on",
        "is_active": "on",
        "position": b2b.position,
        "stages-TOTAL_FORMS": len(stages),
        "stages-INITIAL_FORMS": len(stages),
        "stages-MIN_NUM_FORMS": 0,
        "stages-MAX_NUM_FORMS": 1000,
    }
    for i, s in enumerate(stages):
        data.update(
            {
                f"stages-{i}-id": s.pk,
                f"stages-{i}-pipeline": b2b.pk,
                f"stages-{i}-position": s.position,
                f"stages-{i}-code": s.code,
                f"stages-{i}-name_zh": s.name_zh,
                f"stages-{i}-name_en": s.name_en,
                f"stages-{i}-probability": s.probability,
                f"stages-{i}-forecast_category": s.forecast_category,
                f"stages-{i}-kind": "lost" if s.code == "demo" else s.kind,
                f"stages-{i}-is_active": "on",
                **({f"stages-{i}-is_bant_gate": "on"} if s.is_bant_gate else {}),
                f"stages-{i}-rotting_days": s.rotting_days or "",
                f"stages-{i}-guidance_zh": s.guidance_zh,
                f"stages-{i}-guidance_en": s.guidance_en,
            }
        )
    response = client_for(personas.admin).post(f"/admin/sales/pipeline/{b2b.pk}/change/", data)
    assert response.status_code == 200
    assert "Deals are in this stage; move them before changing its kind." in response.content.decode()
    assert stage("demo").kind == "open"
    assert config_verbs() == []


# ------------------------------------------------------------ default pipeline


def test_unsetting_the_default_is_refused_and_creation_keeps_working(personas):
    b2b = default_pipeline()
    with pytest.raises(ValidationFailed) as exc:
        pipeline_update(actor=personas.admin, pipeline=b2b, is_default=False)
    assert "is_default" in exc.value.field_errors
    with pytest.raises(ValidationFailed):
        pipeline_update(actor=personas.admin, pipeline=b2b, is_active=False)
    b2b.refresh_from_db()
    assert (b2b.is_default, b2b.is_active) == (True, True)
    assert make_opportunity(personas.rep).pipeline_id == b2b.pk


def test_making_another_pipeline_default_moves_the_mark(personas):
    b2b = default_pipeline()
    b2c = make_pipeline()
    pipeline_update(actor=personas.admin, pipeline=b2c, is_default=True)
    assert list(Pipeline.objects.filter(is_default=True).values_list("code", flat=True)) == ["b2c"]
    assert default_pipeline() == b2c
    assert make_opportunity(personas.rep, account=make_account(personas.rep)).stage.code == "new"
    b2b.refresh_from_db()
    assert not b2b.is_default
    event = AuditEvent.objects.get(verb="sales.pipeline.updated")
    assert event.data == {"code": "b2c", "changes": {"is_default": [False, True]}}


def test_default_pipeline_without_default_row_never_500s(personas):
    # Rows edited behind the services' back: no default at all.
    Pipeline.objects.update(is_default=False)
    assert default_pipeline().code == "b2b"
    Pipeline.objects.update(is_active=False)
    with pytest.raises(ValidationFailed) as exc:
        default_pipeline()
    assert exc.value.field_errors == {"pipeline": ["No active pipeline."]}


def test_api_create_without_active_pipeline_is_400_not_500(personas, api_for):
    Pipeline.objects.update(is_active=False)
    account = make_account(personas.rep)
    response = api_for(personas.rep).post("/opportunities", {"account_id": account.pk, "name": "X"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"pipeline": ["No active pipeline."]}
    assert not account.opportunities.exists()


# ----------------------------------------------------- create / delete / audit


def test_pipeline_and_stage_lifecycle_is_audited(personas):
    p = pipeline_create(actor=personas.admin, code="svc", name_en="Service", name_zh="服务")
    s1 = stage_create(actor=personas.admin, pipeline=p, code="a", name_en="A", name_zh="甲", probability=10)
    stage_create(actor=personas.admin, pipeline=p, code="b", name_en="B", name_zh="乙", probability=50, position=1)
    assert codes(p) == ["b", "a"]
    stage_delete(actor=personas.admin, stage=s1)
    assert codes(p) == ["b"]
    pipeline_delete(actor=personas.admin, pipeline=p)
    assert not Pipeline.objects.filter(code="svc").exists()
    assert config_verbs() == [
        "sales.pipeline.created",
        "sales.stage.created",
        "sales.stage.created",
        "sales.stage.deleted",
        "sales.pipeline.deleted",
    ]
    created = AuditEvent.objects.filter(verb="sales.stage.created").order_by("id").last()
    assert created is not None
    assert created.data == {"pipeline": "svc", "code": "b", "kind": "open", "position": 1}


def test_used_stages_and_pipelines_cannot_be_deleted(personas):
    make_opportunity(personas.rep)
    with pytest.raises(Conflict):
        stage_delete(actor=personas.admin, stage=stage("prospect"))
    with pytest.raises(ValidationFailed):
        pipeline_delete(actor=personas.admin, pipeline=default_pipeline())
    assert Stage.objects.filter(code="prospect").exists()


@pytest.mark.parametrize("who", ["manager", "rep", "support"])
def test_only_admins_edit_configuration(personas, who):
    actor = getattr(personas, who)
    b2b = default_pipeline()
    with pytest.raises(Forbidden):
        pipeline_create(actor=actor, code="x", name_en="X", name_zh="X")
    with pytest.raises(Forbidden):
        pipeline_update(actor=actor, pipeline=b2b, name_en="Renamed")
    with pytest.raises(Forbidden):
        stage_update(actor=actor, stage=stage("demo"), probability=5)
    with pytest.raises(Forbidden):
        stage_create(actor=actor, pipeline=b2b, code="x", name_en="X", name_zh="X", probability=1)
    b2b.refresh_from_db()
    assert b2b.name_en == "B2B complex sale"
    assert stage("demo").probability != 5
    assert not Pipeline.objects.filter(code="x").exists()
    assert config_verbs() == []


def test_admin_unchecking_default_shows_an_error_and_saves_nothing(personas, client_for):
    b2b = default_pipeline()
    stages = list(b2b.stages.order_by("position"))
    data = {
        "code": b2b.code,
        "name_zh": "改了",
        "name_en": b2b.name_en,
        "is_active": "on",
        "position": b2b.position,
        "stages-TOTAL_FORMS": 0,
        "stages-INITIAL_FORMS": 0,
        "stages-MIN_NUM_FORMS": 0,
        "stages-MAX_NUM_FORMS": 1000,
    }
    assert stages
    response = client_for(personas.admin).post(f"/admin/sales/pipeline/{b2b.pk}/change/", data)
    assert response.status_code == 200  # the form again, with the error next to the checkbox
    assert "There must be a default pipeline" in response.content.decode()
    b2b.refresh_from_db()
    assert (b2b.is_default, b2b.name_zh) == (True, "B2B 复杂销售")
    assert config_verbs() == []


def test_admin_refusal_from_the_service_is_a_message_not_a_500(personas, client_for):
    b2c = make_pipeline()
    pipeline_update(actor=personas.admin, pipeline=b2c, is_default=True)
    response = client_for(personas.admin).post(f"/admin/sales/pipeline/{b2c.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "The default pipeline cannot be deleted" in response.content.decode()
    assert Pipeline.objects.filter(pk=b2c.pk).exists()
    assert codes(b2c) == ["new", "offer", "won", "lost"]
    assert config_verbs() == ["sales.pipeline.updated"]


def test_admin_creates_a_pipeline_with_stages_through_the_services(personas, client_for):
    data = {
        "code": "svc",
        "name_zh": "服务",
        "name_en": "Service",
        "is_active": "on",
        "position": 5,
        "stages-TOTAL_FORMS": 2,
        "stages-INITIAL_FORMS": 0,
        "stages-MIN_NUM_FORMS": 0,
        "stages-MAX_NUM_FORMS": 1000,
    }
    for i, (code, kind, position) in enumerate([("open1", "open", 2), ("won", "won", 1)]):
        data.update(
            {
                f"stages-{i}-position": position,
                f"stages-{i}-code": code,
                f"stages-{i}-name_zh": code,
                f"stages-{i}-name_en": code,
                f"stages-{i}-probability": 100 if kind == "won" else 50,
                f"stages-{i}-forecast_category": "pipeline",
                f"stages-{i}-kind": kind,
                f"stages-{i}-is_active": "on",
            }
        )
    response = client_for(personas.admin).post("/admin/sales/pipeline/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    svc = Pipeline.objects.get(code="svc")
    assert not svc.is_default
    assert codes(svc) == ["won", "open1"]
    assert config_verbs() == [
        "sales.pipeline.created",
        "sales.stage.created",
        "sales.stage.created",
        "sales.stage.reordered",
    ]
