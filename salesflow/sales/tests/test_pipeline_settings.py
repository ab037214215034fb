"""Settings → Pipelines pages and the pipeline configuration API: administrators only,
thin over sales.config_services; hostile input is a 400/409 naming the field, never a 500."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from salesflow.core.models import AuditEvent
from salesflow.sales.config_services import pipeline_set_teams, pipeline_update
from salesflow.sales.models import Opportunity, Pipeline, Stage, TeamPipeline
from salesflow.sales.services import default_pipeline
from salesflow.sales.tests.factories import make_account, make_opportunity

pytestmark = pytest.mark.django_db


def codes(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("position").values_list("code", flat=True))


def config_events() -> int:
    return AuditEvent.objects.filter(verb__regex=r"^sales\.(pipeline|stage)\.").count()


def turn_on(personas, code: str) -> Pipeline:  # type: ignore[no-untyped-def]
    pipeline = Pipeline.objects.get(code=code)
    pipeline_update(actor=personas.admin, pipeline=pipeline, is_active=True)
    return pipeline


# ------------------------------------------------------------------------ pages


@pytest.mark.parametrize("who", ["manager", "rep", "assistant", "support", "outsider"])
def test_settings_pages_are_for_administrators_only(personas, client_for, who):
    client = client_for(getattr(personas, who))
    b2b = default_pipeline()
    stage = b2b.stages.get(code="demo")
    for url in (
        reverse("sales:pipeline_settings"),
        reverse("sales:pipeline_edit", args=[b2b.pk]),
        reverse("sales:stage_edit", args=[stage.pk]),
    ):
        assert client.get(url).status_code == 403
    for url, data in (
        (reverse("sales:pipeline_settings"), {"new-code": "x", "new-name_en": "X"}),
        (reverse("sales:pipeline_copy", args=[b2b.pk]), {"copy-code": "x", "copy-name_en": "X"}),
        (reverse("sales:stage_reorder", args=[b2b.pk]), {"order": "1"}),
        (reverse("sales:stage_move", args=[stage.pk]), {"direction": "up"}),
        (reverse("sales:stage_deactivate", args=[stage.pk]), {}),
        (reverse("sales:pipeline_teams", args=[b2b.pk]), {"teams": [personas.team_a.pk]}),
    ):
        assert client.post(url, data).status_code == 403
    assert config_events() == 0
    assert b'data-testid="pipeline-settings-link"' not in client.get("/").content


def test_admin_lists_pipelines_with_templates_and_a_menu_link(personas, client_for, django_assert_max_num_queries):
    client = client_for(personas.admin)
    assert b'data-testid="pipeline-settings-link"' in client.get("/").content
    with django_assert_max_num_queries(20):
        response = client.get(reverse("sales:pipeline_settings"))
    body = response.content.decode()
    assert response.status_code == 200
    for name in ("B2B complex sale", "Automotive showroom", "Personal-loan sales", "Channel sales", "B2C simple sale"):
        assert name in body
    assert body.count('data-testid="pipeline-row"') == 5


def test_admin_creates_a_pipeline_from_the_page(personas, client_for):
    client = client_for(personas.admin)
    response = client.post(
        reverse("sales:pipeline_settings"), {"new-code": "svc", "new-name_zh": "服务", "new-name_en": "Service"}
    )
    svc = Pipeline.objects.get(code="svc")
    assert response.status_code == 302 and response["Location"] == reverse("sales:pipeline_edit", args=[svc.pk])
    assert codes(svc) == ["new", "won", "lost"] and not svc.is_active
    # taken code: the form again with the error, nothing written
    response = client.post(reverse("sales:pipeline_settings"), {"new-code": "svc", "new-name_en": "Again"})
    assert response.status_code == 400 and "Another pipeline uses this code." in response.content.decode()
    assert Pipeline.objects.filter(code="svc").count() == 1


def test_admin_copies_and_edits_a_pipeline(personas, client_for):
    client = client_for(personas.admin)
    showroom = Pipeline.objects.get(code="auto-showroom")
    response = client.post(
        reverse("sales:pipeline_copy", args=[showroom.pk]),
        {"copy-code": "showroom-east", "copy-name_zh": "华东展厅", "copy-name_en": "East showroom"},
    )
    copy = Pipeline.objects.get(code="showroom-east")
    assert response.status_code == 302 and codes(copy) == codes(showroom)
    page = client.get(reverse("sales:pipeline_edit", args=[copy.pk])).content.decode()
    assert page.count('data-testid="stage-row"') == 10 and "试乘试驾" not in page  # English UI
    assert "Test drive" in page
    response = client.post(
        reverse("sales:pipeline_edit", args=[copy.pk]),
        {"code": "showroom-east", "name_zh": "华东展厅", "name_en": "East showroom", "position": 7, "is_active": "on"},
    )
    assert response.status_code == 302
    copy.refresh_from_db()
    assert (copy.is_active, copy.position) == (True, 7)


def test_stage_edit_page_saves_and_has_the_criteria_hook(personas, client_for):
    client = client_for(personas.admin)
    stage = Stage.objects.get(pipeline__code="auto-showroom", code="test_drive")
    page = client.get(reverse("sales:stage_edit", args=[stage.pk])).content.decode()
    assert "Offer a test drive to every customer" in page
    # the stage gates' criteria panel is embedded (htmx) from its own URL
    assert f'hx-get="{reverse("sales:stage_criteria", args=[stage.pk])}"' in page
    data = {
        "name_zh": "试乘试驾",
        "name_en": "Test drive",
        "probability": 55,
        "forecast_category": "best_case",
        "rotting_days": 4,
        "guidance_zh": "邀请客户试驾。",
        "guidance_en": "Invite every customer to a test drive.",
    }
    response = client.post(reverse("sales:stage_edit", args=[stage.pk]), data)
    assert response.status_code == 302
    stage.refresh_from_db()
    assert (stage.probability, stage.rotting_days, stage.guidance_en) == (
        55,
        4,
        "Invite every customer to a test drive.",
    )
    hostile = {**data, "probability": "1e9", "rotting_days": "NaN", "name_en": "x" * 50_000, "guidance_zh": "a\x00b"}
    response = client.post(reverse("sales:stage_edit", args=[stage.pk]), hostile)
    assert response.status_code == 400
    stage.refresh_from_db()
    assert stage.probability == 55


def test_add_stage_goes_before_the_end_stages(personas, client_for):
    client = client_for(personas.admin)
    loan = Pipeline.objects.get(code="personal-loan")
    data = {
        "stage-code": "visit",
        "stage-name_zh": "回访",
        "stage-name_en": "Follow-up call",
        "stage-kind": "open",
        "stage-probability": 97,
        "stage-forecast_category": "commit",
        "stage-rotting_days": 30,
        "stage-guidance_zh": "放款一个月后回访。",
        "stage-guidance_en": "Call a month after the disbursement.",
        "stage-is_active": "on",
    }
    response = client.post(reverse("sales:stage_add", args=[loan.pk]), data)
    assert response.status_code == 302
    assert codes(loan)[-3:] == ["visit", "won", "lost"]
    response = client.post(reverse("sales:stage_add", args=[loan.pk]), {**data, "stage-probability": "NaN"})
    assert response.status_code == 400


def test_drag_and_drop_order_and_the_up_down_buttons(personas, client_for):
    client = client_for(personas.admin)
    loan = Pipeline.objects.get(code="personal-loan")
    ids = list(loan.stages.order_by("position").values_list("pk", flat=True))
    new = [ids[1], ids[0], *ids[2:]]
    response = client.post(
        reverse("sales:stage_reorder", args=[loan.pk]), {"order": ",".join(map(str, new))}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and 'id="stage-table"' in response.content.decode()
    assert codes(loan)[:2] == ["review", "intake"]
    # keyboard: "intake" back up
    intake = loan.stages.get(code="intake")
    response = client.post(reverse("sales:stage_move", args=[intake.pk]), {"direction": "up"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert codes(loan)[:2] == ["intake", "review"]
    # an incomplete or hostile order: 400 with the table again, nothing moved
    for order in (str(ids[0]), "1,2,x", ",".join(["1"] * 500), "\x00"):
        response = client.post(reverse("sales:stage_reorder", args=[loan.pk]), {"order": order}, HTTP_HX_REQUEST="true")
        assert response.status_code == 400, order
    assert codes(loan)[:2] == ["intake", "review"]


def test_hiding_a_used_stage_is_409_and_says_why(personas, client_for):
    client = client_for(personas.admin)
    opp = make_opportunity(personas.rep, stage_code="demo")
    response = client.post(reverse("sales:stage_deactivate", args=[opp.stage_id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "move them to another stage before hiding it" in response.content.decode()
    assert Stage.objects.get(pk=opp.stage_id).is_active
    response = client.post(reverse("sales:stage_delete", args=[opp.stage_id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and Stage.objects.filter(pk=opp.stage_id).exists()


def test_teams_form_assigns_the_pipeline(personas, client_for):
    client = client_for(personas.admin)
    showroom = turn_on(personas, "auto-showroom")
    response = client.post(
        reverse("sales:pipeline_teams", args=[showroom.pk]),
        {"teams": [personas.team_a.pk], "default_for": [personas.team_a.pk]},
    )
    assert response.status_code == 302
    assert list(TeamPipeline.objects.values_list("team_id", flat=True)) == [personas.team_a.pk]
    response = client.post(
        reverse("sales:pipeline_teams", args=[default_pipeline().pk]), {"teams": [personas.team_a.pk]}
    )
    assert response.status_code == 400


# ------------------------------------------------------- deal creation and conversion


def test_create_form_offers_the_owners_pipelines_and_their_stages(personas, client_for):
    showroom = turn_on(personas, "auto-showroom")
    loan = turn_on(personas, "personal-loan")
    pipeline_set_teams(actor=personas.admin, pipeline=showroom, teams=[personas.team_a], default_for=[personas.team_a])
    pipeline_set_teams(actor=personas.admin, pipeline=loan, teams=[personas.team_b])
    client = client_for(personas.rep)
    page = client.get(reverse("opportunities:create")).content.decode()
    assert "Automotive showroom" in page and "Personal-loan sales" not in page
    assert "Reception" in page  # the team default's first stage is preselected
    options = client.get(reverse("opportunities:stage_options"), {"pipeline": loan.pk}).content.decode()
    assert options.strip() == ""  # not the rep's pipeline: no options
    options = client.get(reverse("opportunities:stage_options"), {"pipeline": showroom.pk}).content.decode()
    assert "Test drive" in options
    account = make_account(personas.rep)
    stage = showroom.stages.get(code="test_drive")
    base = {"account": account.pk, "name": "车队", "amount": "100", "currency": "CNY", "owner": personas.rep.pk}
    response = client.post(reverse("opportunities:create"), {**base, "pipeline": showroom.pk, "stage": stage.pk})
    assert response.status_code == 302
    assert Opportunity.objects.get(name="车队").stage == stage
    response = client.post(
        reverse("opportunities:create"),
        {**base, "name": "贷", "pipeline": loan.pk, "stage": loan.stages.get(code="intake").pk},
    )
    assert response.status_code == 400 and not Opportunity.objects.filter(name="贷").exists()


def test_board_switcher_lists_the_users_pipelines(personas, client_for):
    showroom = turn_on(personas, "auto-showroom")
    loan = turn_on(personas, "personal-loan")
    pipeline_set_teams(actor=personas.admin, pipeline=showroom, teams=[personas.team_a])
    pipeline_set_teams(actor=personas.admin, pipeline=loan, teams=[personas.team_b])
    page = client_for(personas.rep).get(reverse("opportunities:board")).content.decode()
    assert 'data-testid="pipeline-select"' in page
    assert "Automotive showroom" in page and "Personal-loan sales" not in page
    page = client_for(personas.rep).get(reverse("opportunities:board"), {"pipeline": showroom.pk}).content.decode()
    assert "Test drive" in page and "Negotiation" in page


# -------------------------------------------------------------------------- API


def test_api_admin_copies_reorders_and_edits(personas, api_for):
    api = api_for(personas.admin)
    showroom = Pipeline.objects.get(code="auto-showroom")
    response = api.post(
        f"/opportunities/pipelines/{showroom.pk}/copy", {"code": "api-copy", "name_en": "API copy", "name_zh": "副本"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [s["code"] for s in body["stages"]] == codes(showroom) and body["is_active"] is False
    ids = [s["id"] for s in body["stages"]]
    response = api.post(
        f"/opportunities/pipelines/{body['id']}/stages/reorder", {"stage_ids": [ids[1], ids[0], *ids[2:]]}
    )
    assert response.status_code == 200 and response.json()["stages"][0]["code"] == "needs"
    response = api.patch(
        f"/opportunities/pipelines/{body['id']}/stages/{ids[0]}", {"probability": 15, "guidance_en": "Line one.\nTwo."}
    )
    assert response.status_code == 200
    assert Stage.objects.get(pk=ids[0]).guidance_en == "Line one.\nTwo."
    response = api.patch(
        f"/opportunities/pipelines/{body['id']}", {"is_active": True, "team_ids": [personas.team_a.pk]}
    )
    assert response.status_code == 200 and response.json()["team_ids"] == [personas.team_a.pk]
    response = api.post(
        f"/opportunities/pipelines/{body['id']}/stages",
        {"code": "visit", "name_en": "Visit", "name_zh": "回访", "probability": 96, "rotting_days": 30},
    )
    assert response.status_code == 201 and response.json()["stages"][-1]["code"] == "visit"
    assert api.get("/opportunities/pipelines/config").status_code == 200


@pytest.mark.parametrize("who", ["manager", "rep", "support"])
def test_api_config_is_403_for_non_admins(personas, api_for, who):
    api = api_for(getattr(personas, who))
    b2b = default_pipeline()
    stage = b2b.stages.get(code="demo")
    assert api.get("/opportunities/pipelines/config").status_code == 403
    assert api.post("/opportunities/pipelines", {"code": "x", "name_en": "X"}).status_code == 403
    assert api.patch(f"/opportunities/pipelines/{b2b.pk}", {"name_en": "Renamed"}).status_code == 403
    assert api.post(f"/opportunities/pipelines/{b2b.pk}/copy", {"code": "y"}).status_code == 403
    assert api.patch(f"/opportunities/pipelines/{b2b.pk}/stages/{stage.pk}", {"probability": 1}).status_code == 403
    assert api.delete(f"/opportunities/pipelines/{b2b.pk}/stages/{stage.pk}").status_code == 403
    assert config_events() == 0 and Stage.objects.get(pk=stage.pk).probability == 50
    # everyone still reads the active pipelines
    assert api.get("/opportunities/pipelines").status_code == 200


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("stage", {"probability": 1e9}, "probability"),
        ("stage", {"probability": "NaN"}, "probability"),
        ("stage", {"name_en": "x" * 50_000}, "name_en"),
        ("stage", {"guidance_zh": "a\x00b"}, "guidance_zh"),
        ("stage", {"colour": "red"}, "colour"),
        ("stage", {"probability": None}, "probability"),
        ("pipeline", {"code": "has space"}, "code"),
        ("pipeline", {"team_ids": [10**9]}, "team_ids"),
        ("pipeline", {"position": -1}, "position"),
        ("reorder", {"stage_ids": [1]}, "stage_ids"),
    ],
    ids=[
        "prob-1e9",
        "prob-nan",
        "name-50k",
        "nul",
        "unknown-field",
        "null",
        "bad-code",
        "unknown-team",
        "position",
        "reorder",
    ],
)
def test_api_hostile_input_is_400_naming_the_field(personas, api_for, path, payload, field):
    api = api_for(personas.admin)
    b2b = default_pipeline()
    stage = b2b.stages.get(code="demo")
    url = {
        "stage": f"/opportunities/pipelines/{b2b.pk}/stages/{stage.pk}",
        "pipeline": f"/opportunities/pipelines/{b2b.pk}",
        "reorder": f"/opportunities/pipelines/{b2b.pk}/stages/reorder",
    }[path]
    response = api.post(url, payload) if path == "reorder" else api.patch(url, payload)
    assert response.status_code == 400, response.content
    assert any(field in key for key in response.json()["errors"]), response.json()
    assert config_events() == 0


def test_api_bad_json_and_conflicts(personas, api_for):
    api = api_for(personas.admin)
    b2b = default_pipeline()
    response = api.client.post("/api/v1/opportunities/pipelines", "{not json", content_type="application/json")
    assert response.status_code == 400
    opp = make_opportunity(personas.rep, stage_code="demo")
    response = api.patch(f"/opportunities/pipelines/{b2b.pk}/stages/{opp.stage_id}", {"is_active": False})
    assert response.status_code == 409 and response.json()["code"] == "stage_in_use"
    response = api.delete(f"/opportunities/pipelines/{b2b.pk}/stages/{opp.stage_id}")
    assert response.status_code == 409
    assert Stage.objects.get(pk=opp.stage_id).is_active
    assert json.loads(api.get(f"/opportunities/pipelines/{b2b.pk}").content)["code"] == "b2b"


@pytest.mark.parametrize(
    ("language", "text"),
    [("zh-hans", "邀请每位客户试乘试驾"), ("en", "Offer a test drive to every customer")],
    ids=["zh", "en"],
)
def test_deal_page_shows_the_stage_guidance_in_the_readers_language(personas, client_for, language, text):
    showroom = turn_on(personas, "auto-showroom")
    opp = make_opportunity(personas.rep)
    Opportunity.objects.filter(pk=opp.pk).update(pipeline=showroom, stage=showroom.stages.get(code="test_drive"))
    page = client_for(personas.rep, language).get(reverse("opportunities:detail", args=[opp.pk])).content.decode()
    assert text in page
