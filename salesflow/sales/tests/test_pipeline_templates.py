"""Pipeline templates (data), team pipelines and the settings services: copy, hide,
teams, validation, and where deals start (creation and lead conversion)."""

from __future__ import annotations

import pytest
from django.utils import translation

from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.sales.choices import StageKind
from salesflow.sales.config_services import (
    pipeline_copy,
    pipeline_create,
    pipeline_set_teams,
    pipeline_update,
    register_stage_copier,
    stage_create,
    stage_deactivate,
    stage_reorder,
    stage_update,
)
from salesflow.sales.models import Pipeline, Stage, TeamDefaultPipeline, TeamPipeline
from salesflow.sales.selectors import pipelines_for, team_default_pipeline
from salesflow.sales.services import default_pipeline, default_pipeline_for, opportunity_create
from salesflow.sales.tests.factories import make_account, make_opportunity

pytestmark = pytest.mark.django_db

TEMPLATES = ("b2c-simple", "channel", "auto-showroom", "personal-loan")
SHOWROOM = ["reception", "needs", "presentation", "test_drive", "negotiation", "closing", "delivery", "follow_up"]
SHOWROOM_ZH = ["接待", "需求分析", "产品介绍", "试乘试驾", "报价协商", "成交", "交车", "回访"]
LOAN_ZH = ["进件", "审核", "签约", "放款"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def codes(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("position").values_list("code", flat=True))


def template(code: str) -> Pipeline:
    return Pipeline.objects.get(code=code)


def turn_on(personas, code: str) -> Pipeline:  # type: ignore[no-untyped-def]
    pipeline = template(code)
    pipeline_update(actor=personas.admin, pipeline=pipeline, is_active=True)
    return pipeline


def config_events() -> list[str]:
    return list(
        AuditEvent.objects.filter(verb__regex=r"^sales\.(pipeline|stage)\.")
        .order_by("id")
        .values_list("verb", flat=True)
    )


# ------------------------------------------------------------------ data migration


@pytest.mark.parametrize("code", TEMPLATES)
def test_every_template_is_complete_data(code):
    pipeline = template(code)
    assert pipeline.name_en and pipeline.name_zh
    assert not pipeline.is_active and not pipeline.is_default  # templates ship turned off
    stages = list(pipeline.stages.order_by("position"))
    kinds = [s.kind for s in stages]
    assert kinds.count(StageKind.WON) == 1 and kinds.count(StageKind.LOST) == 1
    assert kinds[-2:] == [StageKind.WON, StageKind.LOST] and StageKind.OPEN in kinds
    for stage in stages:
        assert stage.name_en and stage.name_zh, stage.code
        # real advice, in both languages: at least a sentence, no placeholder
        assert len(stage.guidance_en) >= 40 and len(stage.guidance_zh) >= 12, stage.code
        assert "TODO" not in stage.guidance_en and "lorem" not in stage.guidance_en.lower()
        assert 0 <= stage.probability <= 100
        if stage.kind == StageKind.OPEN:
            assert stage.rotting_days is not None and stage.rotting_days > 0
    won = next(s for s in stages if s.kind == StageKind.WON)
    lost = next(s for s in stages if s.kind == StageKind.LOST)
    assert (won.probability, won.forecast_category, lost.probability, lost.forecast_category) == (
        100,
        "closed",
        0,
        "omitted",
    )
    open_probabilities = [s.probability for s in stages if s.kind == StageKind.OPEN]
    assert open_probabilities == sorted(open_probabilities)


def test_showroom_has_the_eight_steps_and_loan_the_four():
    showroom = template("auto-showroom")
    assert codes(showroom)[:8] == SHOWROOM
    assert [s.name_zh for s in showroom.stages.order_by("position")][:8] == SHOWROOM_ZH
    loan = template("personal-loan")
    assert [s.name_zh for s in loan.stages.filter(kind="open").order_by("position")] == LOAN_ZH
    assert template("channel").stages.get(is_bant_gate=True).code == "qualification"
    assert default_pipeline().code == "b2b"


def test_guidance_shows_in_the_readers_language():
    stage = template("auto-showroom").stages.get(code="test_drive")
    with translation.override("zh-hans"):
        assert stage.guidance == stage.guidance_zh and "试驾" in stage.guidance
    with translation.override("en"):
        assert stage.guidance == stage.guidance_en and "test drive" in stage.guidance


# ------------------------------------------------------------------------- copy


def test_copy_is_deep_and_leaves_the_source_alone(personas):
    source = turn_on(personas, "auto-showroom")
    stage_update(actor=personas.admin, stage=source.stages.get(code="follow_up"), rotting_days=9)
    before = list(source.stages.order_by("position").values_list("code", "probability", "guidance_zh", "rotting_days"))
    seen: list[tuple[str, str]] = []

    def copier(old: Stage, new: Stage) -> None:
        seen.append((old.code, new.code))

    register_stage_copier(copier)
    copy = pipeline_copy(actor=personas.admin, source=source, code="showroom-2", name_en="Showroom 2", name_zh="展厅二")
    assert copy.pk != source.pk and copy.is_active and not copy.is_default
    after = list(copy.stages.order_by("position").values_list("code", "probability", "guidance_zh", "rotting_days"))
    assert after == before
    assert set(copy.stages.values_list("pk", flat=True)).isdisjoint(source.stages.values_list("pk", flat=True))
    assert [a for a, _b in seen] == codes(source)
    assert (
        list(source.stages.order_by("position").values_list("code", "probability", "guidance_zh", "rotting_days"))
        == before
    )
    event = AuditEvent.objects.get(verb="sales.pipeline.copied")
    assert event.data == {"code": "showroom-2", "source": "auto-showroom", "stages": 10}


@pytest.mark.parametrize(
    ("code", "field"),
    [("b2b", "code"), ("", "code"), ("has space", "code"), ("x" * 51, "code"), ("ok\x00", "code")],
    ids=["taken", "blank", "space", "long", "nul"],
)
def test_copy_refuses_a_bad_code_and_writes_nothing(personas, code, field):
    count = Stage.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        pipeline_copy(actor=personas.admin, source=default_pipeline(), code=code, name_en="X", name_zh="X")
    assert field in exc.value.field_errors
    assert Stage.objects.count() == count and config_events() == []


@pytest.mark.parametrize("who", ["manager", "rep", "assistant", "support", "outsider", "other_manager"])
def test_only_admins_copy_hide_or_assign_teams(personas, who):
    actor = getattr(personas, who)
    b2b = default_pipeline()
    stage = b2b.stages.get(code="demo")
    with pytest.raises(Forbidden):
        pipeline_copy(actor=actor, source=b2b, code="mine", name_en="Mine", name_zh="我的")
    with pytest.raises(Forbidden):
        stage_deactivate(actor=actor, stage=stage)
    with pytest.raises(Forbidden):
        pipeline_set_teams(actor=actor, pipeline=template("channel"), teams=[personas.team_a])
    with pytest.raises(Forbidden):
        pipeline_create(actor=actor, code="x", name_en="X", name_zh="X", starter_stages=True)
    assert not Pipeline.objects.filter(code__in=["mine", "x"]).exists()
    assert Stage.objects.get(pk=stage.pk).is_active
    assert not TeamPipeline.objects.exists()
    assert config_events() == []


# ------------------------------------------------------------- create and stages


def test_settings_create_starts_with_open_won_and_lost(personas):
    pipeline = pipeline_create(
        actor=personas.admin, code="svc", name_en="Service", name_zh="服务", is_active=False, starter_stages=True
    )
    assert codes(pipeline) == ["new", "won", "lost"]
    pipeline_update(actor=personas.admin, pipeline=pipeline, is_active=True)
    assert pipeline.is_active


def test_an_incomplete_pipeline_cannot_be_turned_on(personas):
    pipeline = pipeline_create(actor=personas.admin, code="empty", name_en="Empty", name_zh="空", is_active=False)
    with pytest.raises(ValidationFailed) as exc:
        pipeline_update(actor=personas.admin, pipeline=pipeline, is_active=True)
    assert "is_active" in exc.value.field_errors
    assert not Pipeline.objects.get(pk=pipeline.pk).is_active


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "won", "probability": 90}, "probability"),
        ({"kind": "lost", "probability": 5}, "probability"),
        ({"kind": "won", "probability": 100}, "kind"),  # a second active won stage
        ({"kind": "lost", "probability": 0}, "kind"),
        ({"probability": 101}, "probability"),
        ({"probability": -1}, "probability"),
        ({"probability": True}, "probability"),
        ({"rotting_days": 0}, "rotting_days"),
        ({"rotting_days": 10**9}, "rotting_days"),
        ({"name_en": "x" * 50_000}, "name_en"),
        ({"name_zh": "坏\x00名"}, "name_zh"),
        ({"guidance_en": "g" * 50_000}, "guidance_en"),
        ({"code": "demo"}, "code"),
        ({"forecast_category": "maybe"}, "forecast_category"),
    ],
    ids=[
        "won-not-100",
        "lost-not-0",
        "second-won",
        "second-lost",
        "prob-101",
        "prob-negative",
        "prob-bool",
        "rotting-0",
        "rotting-huge",
        "name-50k",
        "name-nul",
        "guidance-50k",
        "code-taken",
        "forecast-unknown",
    ],
)
def test_stage_create_validates_and_writes_nothing(personas, values, field):
    b2b = default_pipeline()
    before = codes(b2b)
    kwargs = {"code": "extra", "name_en": "Extra", "name_zh": "额外", "probability": 40, **values}
    with pytest.raises(ValidationFailed) as exc:
        stage_create(actor=personas.admin, pipeline=b2b, **kwargs)
    assert field in exc.value.field_errors
    assert codes(b2b) == before and config_events() == []


def test_stage_update_refuses_a_won_probability_below_100(personas):
    won = default_pipeline().stages.get(kind="won")
    with pytest.raises(ValidationFailed) as exc:
        stage_update(actor=personas.admin, stage=won, probability=99)
    assert "probability" in exc.value.field_errors
    assert Stage.objects.get(pk=won.pk).probability == 100


def test_deactivating_a_stage_with_deals_is_a_conflict(personas):
    opp = make_opportunity(personas.rep, stage_code="demo")
    demo = opp.stage
    with pytest.raises(Conflict) as exc:
        stage_deactivate(actor=personas.admin, stage=demo)
    assert exc.value.status_code == 409 and "1 deals" in str(exc.value.message)
    assert Stage.objects.get(pk=demo.pk).is_active and config_events() == []
    empty = default_pipeline().stages.get(code="proposal")
    stage_deactivate(actor=personas.admin, stage=empty)
    assert not Stage.objects.get(pk=empty.pk).is_active
    assert config_events() == ["sales.stage.updated"]


def test_the_last_open_stage_cannot_be_hidden(personas):
    pipeline = pipeline_create(actor=personas.admin, code="one", name_en="One", name_zh="一", starter_stages=True)
    with pytest.raises(ValidationFailed):
        stage_deactivate(actor=personas.admin, stage=pipeline.stages.get(code="new"))
    assert pipeline.stages.get(code="new").is_active


def test_reorder_puts_stages_in_the_new_order(personas):
    loan = turn_on(personas, "personal-loan")
    stages = list(loan.stages.order_by("position"))
    stage_reorder(actor=personas.admin, pipeline=loan, stages=[stages[1], stages[0], *stages[2:]])
    assert codes(loan)[:2] == ["review", "intake"]
    assert AuditEvent.objects.filter(verb="sales.stage.reordered").count() == 1


# ------------------------------------------------------------------- team pipelines


def test_team_pipelines_decide_who_sees_which(personas):
    showroom = turn_on(personas, "auto-showroom")
    loan = turn_on(personas, "personal-loan")
    b2c = turn_on(personas, "b2c-simple")
    pipeline_set_teams(actor=personas.admin, pipeline=showroom, teams=[personas.team_a])  # 华东一组
    pipeline_set_teams(actor=personas.admin, pipeline=loan, teams=[personas.team_b])  # 华南一组

    def seen(user):  # type: ignore[no-untyped-def]
        user = type(user).objects.get(pk=user.pk)  # fresh: no cached team ids
        return set(pipelines_for(user).values_list("code", flat=True))

    everyone = {"b2b", b2c.code}
    assert seen(personas.rep) == everyone | {"auto-showroom"}
    assert seen(personas.outsider) == everyone | {"personal-loan"}
    # the department's manager manages 华东一组 below it; the admin sees every active one
    assert seen(personas.manager) == everyone | {"auto-showroom"}
    assert seen(personas.other_manager) == everyone | {"personal-loan"}
    assert seen(personas.admin) == everyone | {"auto-showroom", "personal-loan"}
    # a pipeline given to the department is used by its sub-teams
    pipeline_set_teams(actor=personas.admin, pipeline=loan, teams=[personas.team_b, personas.department])
    assert "personal-loan" in seen(personas.rep)
    event = AuditEvent.objects.filter(verb="sales.pipeline.teams_changed").order_by("id").last()
    assert event is not None and event.data["teams"] == sorted([personas.team_b.pk, personas.department.pk])


def test_team_default_pipeline_is_where_new_deals_start(personas):
    showroom = turn_on(personas, "auto-showroom")
    pipeline_set_teams(actor=personas.admin, pipeline=showroom, teams=[personas.team_a], default_for=[personas.team_a])
    assert team_default_pipeline(personas.rep) == showroom
    assert default_pipeline_for(personas.outsider).code == "b2b"
    opp = opportunity_create(actor=personas.rep, account=make_account(personas.rep), owner=personas.rep, name="车")
    assert (opp.pipeline.code, opp.stage.code) == ("auto-showroom", "reception")
    # the mark moves: a team has one default
    loan = turn_on(personas, "personal-loan")
    pipeline_set_teams(actor=personas.admin, pipeline=loan, teams=[], default_for=[personas.team_a])
    assert TeamDefaultPipeline.objects.get(team=personas.team_a).pipeline == loan


def test_a_deal_cannot_start_in_a_pipeline_of_another_team(personas):
    loan = turn_on(personas, "personal-loan")
    pipeline_set_teams(actor=personas.admin, pipeline=loan, teams=[personas.team_b])
    account = make_account(personas.rep)
    with pytest.raises(ValidationFailed) as exc:
        opportunity_create(actor=personas.rep, account=account, owner=personas.rep, name="贷", pipeline=loan)
    assert "pipeline" in exc.value.field_errors
    # nor in a hidden template
    with pytest.raises(ValidationFailed) as exc:
        opportunity_create(
            actor=personas.rep, account=account, owner=personas.rep, name="B2C", pipeline=template("b2c-simple")
        )
    assert "pipeline" in exc.value.field_errors
    assert not account.opportunities.exists()


@pytest.mark.parametrize(
    ("case", "field"),
    [("default-restricted", "teams"), ("default-not-among-teams", "default_for"), ("unknown-team", "teams")],
    ids=["default-restricted", "default-not-among-teams", "unknown-team"],
)
def test_team_assignment_validation(personas, case, field):
    showroom = turn_on(personas, "auto-showroom")
    with pytest.raises(ValidationFailed) as exc:
        if case == "default-restricted":
            pipeline_set_teams(actor=personas.admin, pipeline=default_pipeline(), teams=[personas.team_a])
        elif case == "default-not-among-teams":
            pipeline_set_teams(
                actor=personas.admin, pipeline=showroom, teams=[personas.team_a], default_for=[personas.team_b]
            )
        else:
            pipeline_set_teams(actor=personas.admin, pipeline=showroom, teams=[10**9])
    assert field in exc.value.field_errors
    assert not TeamPipeline.objects.exists() and not TeamDefaultPipeline.objects.exists()


def test_a_restricted_pipeline_cannot_become_the_default(personas):
    showroom = turn_on(personas, "auto-showroom")
    pipeline_set_teams(actor=personas.admin, pipeline=showroom, teams=[personas.team_a])
    with pytest.raises(ValidationFailed) as exc:
        pipeline_update(actor=personas.admin, pipeline=showroom, is_default=True)
    assert "is_default" in exc.value.field_errors
    assert default_pipeline().code == "b2b"


def test_a_deal_moves_only_to_a_pipeline_its_owners_team_uses(personas, client_for):
    """Changing a deal's pipeline follows the creation rule: the owner's team must use the
    target pipeline. The change form offers only those; the service refuses the rest."""
    from salesflow.sales.selectors import pipeline_change_options
    from salesflow.sales.services import opportunity_change_pipeline

    showroom = turn_on(personas, "auto-showroom")
    loans = turn_on(personas, "personal-loan")
    pipeline_set_teams(actor=personas.admin, pipeline=showroom, teams=[personas.team_b])  # not the rep's team
    opp = make_opportunity(owner=personas.rep)
    offered = [pipeline.code for pipeline, _stages in pipeline_change_options(opp)]
    assert "auto-showroom" not in offered and "personal-loan" in offered
    with pytest.raises(ValidationFailed) as exc:
        opportunity_change_pipeline(
            actor=personas.admin, opportunity=opp, pipeline=showroom, stage=showroom.stages.filter(kind="open")[0]
        )
    assert "pipeline" in exc.value.field_errors
    opp.refresh_from_db()
    assert opp.pipeline.code == "b2b"
    # the pipeline the team uses is fine
    opportunity_change_pipeline(
        actor=personas.rep, opportunity=opp, pipeline=loans, stage=loans.stages.filter(kind="open")[0]
    )
    opp.refresh_from_db()
    assert opp.pipeline_id == loans.pk
    page = client_for(personas.rep).get(f"/opportunities/{opp.pk}/change-pipeline/")
    assert page.status_code == 200
    assert showroom.name_en not in page.content.decode()
