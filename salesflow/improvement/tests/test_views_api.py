"""Pages and API with the personas: statuses, the report's figures, hostile input (400
naming the field, nothing written), unseen → 404, constant query counts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesflow.improvement.models import Action, Phase, Project
from salesflow.improvement.services import action_create, project_advance, project_create
from salesflow.improvement.tests.helpers import write_exits
from salesflow.improvement.tests.test_services import AFTER, BEFORE, _data, _history
from salesflow.sales.tests.factories import stage
from salesflow.users.testing import Personas


@pytest.fixture
def project(personas: Personas) -> Project:
    today = timezone.localdate()
    _history(personas, today)
    p = project_create(actor=personas.manager, today=today, **_data(personas, today))
    for phase in (Phase.MEASURE, Phase.ANALYSE, Phase.IMPROVE):
        p = project_advance(actor=personas.manager, project=p, to_phase=phase, today=today)
    action_create(
        actor=personas.manager,
        project=p,
        today=today,
        description="材料清单前置",
        owner_id=personas.rep.pk,
        done_on=today - dt.timedelta(days=100),
    )
    return project_advance(
        actor=personas.manager,
        project=p,
        to_phase=Phase.CONTROL,
        limits_through=today - dt.timedelta(days=45),
        today=today,
    )


def test_detail_page_shows_the_project_in_both_languages(
    personas: Personas, project: Project, client_for: Callable[..., Any]
) -> None:
    response = client_for(personas.manager).get(f"/improvement/{project.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Significant (p &lt; 0.05)" in html
    assert "Mann–Whitney U test" in html
    assert f"{float(np.percentile(BEFORE, 50)):.1f}" in html
    assert 'id="improvement-control-data"' in html and 'id="improvement-before-after-data"' in html
    zh = client_for(personas.manager, "zh-hans").get(f"/improvement/{project.pk}/").content.decode()
    assert "控制计划" in zh and "基线" in zh and "显著（p &lt; 0.05）" in zh
    listing = client_for(personas.manager).get("/improvement/")
    assert listing.status_code == 200 and project.title in listing.content.decode()


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("manager", 200), ("rep", 404), ("teammate", 404), ("outsider", 404), ("other_manager", 404)],
)
def test_who_sees_the_team_project(
    personas: Personas,
    project: Project,
    client_for: Callable[..., Any],
    api_for: Callable[..., Any],
    who: str,
    status: int,
) -> None:
    user = getattr(personas, who)
    assert client_for(user).get(f"/improvement/{project.pk}/").status_code == status
    assert api_for(user).get(f"/improvement/projects/{project.pk}").status_code == status


def test_editing_is_the_owners_and_admins(personas: Personas, client_for: Callable[..., Any]) -> None:
    today = timezone.localdate()
    p = project_create(actor=personas.manager, today=today, **_data(personas, today, node=f"rep:{personas.rep.pk}"))
    assert client_for(personas.rep).get(f"/improvement/{p.pk}/").status_code == 200
    assert client_for(personas.rep).get(f"/improvement/{p.pk}/edit/").status_code == 403
    assert client_for(personas.rep).post(f"/improvement/{p.pk}/actions/", {"description": "x"}).status_code == 403
    assert client_for(personas.rep).get("/improvement/new/").status_code == 403
    assert not Action.objects.exists()
    response = client_for(personas.manager).post(
        f"/improvement/{p.pk}/edit/",
        {
            "title": "新标题",
            "problem": p.problem,
            "metric_key": p.metric_key,
            "stage_id": p.stage_id,
            "pipeline_id": "",
            "node": p.node_key,
            "industry": "",
            "size": "",
            "target_value": "2.5",
            "baseline_start": p.baseline_start.isoformat(),
            "baseline_end": p.baseline_end.isoformat(),
            "owner_id": p.owner_id,
        },
    )
    assert response.status_code == 302
    p.refresh_from_db()
    assert (p.title, p.target_value) == ("新标题", Decimal("2.5000"))


def test_create_form_measures_the_baseline(personas: Personas, client_for: Callable[..., Any]) -> None:
    today = timezone.localdate()
    _history(personas, today)
    client = client_for(personas.manager)
    assert client.get("/improvement/new/").status_code == 200
    form = {
        "title": "缩短资格确认时长",
        "problem": "太慢",
        "metric_key": "time_in_stage",
        "stage_id": stage("qualification").pk,
        "pipeline_id": "",
        "node": f"team:{personas.team_a.pk}",
        "industry": "",
        "size": "",
        "target_value": "3",
        "baseline_start": (today - dt.timedelta(days=200)).isoformat(),
        "baseline_end": (today - dt.timedelta(days=101)).isoformat(),
        "owner_id": personas.manager.pk,
    }
    bad = client.post("/improvement/new/", {**form, "stage_id": ""})
    assert bad.status_code == 400 and not Project.objects.exists()
    response = client.post("/improvement/new/", form)
    assert response.status_code == 302
    assert Project.objects.get().baseline_n == 8


def _payload(p: Personas) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "title": "缩短资格确认时长",
        "problem": "太慢",
        "metric_key": "time_in_stage",
        "stage_id": stage("qualification").pk,
        "node": f"team:{p.team_a.pk}",
        "target_value": "3",
        "baseline_start": (today - dt.timedelta(days=200)).isoformat(),
        "baseline_end": (today - dt.timedelta(days=101)).isoformat(),
        "owner_id": p.manager.pk,
    }


def test_api_create_report_actions_and_phases(personas: Personas, api_for: Callable[..., Any]) -> None:
    today = timezone.localdate()
    _history(personas, today)
    api = api_for(personas.manager)
    created = api.post("/improvement/projects", _payload(personas))
    assert created.status_code == 201, created.content
    body = created.json()
    pid = body["project_id"]
    assert body["baseline"]["n"] == 8
    assert body["baseline"]["p50"] == pytest.approx(float(np.percentile(BEFORE, 50)))
    for phase in ("measure", "analyse", "improve"):
        assert api.post(f"/improvement/projects/{pid}/phase", {"to_phase": phase}).status_code == 200
    action = api.post(
        f"/improvement/projects/{pid}/actions",
        {"description": "材料清单前置", "owner_id": personas.rep.pk, "done_on": str(today - dt.timedelta(days=100))},
    )
    assert action.status_code == 201
    test = action.json()["actions"][0]["test"]
    assert (test["method"], test["n_before"], test["n_after"], test["significant"]) == ("mann_whitney", 8, 10, True)
    control = api.post(
        f"/improvement/projects/{pid}/phase",
        {"to_phase": "control", "limits_through": str(today - dt.timedelta(days=45))},
    )
    assert control.status_code == 200
    limits = control.json()["control"]
    assert limits["centre"] == pytest.approx(float(np.mean(AFTER)))
    assert limits["n"] == 10
    assert "control" in control.json()["charts"]
    assert api.post(f"/improvement/projects/{pid}/phase", {"to_phase": "define"}).status_code == 409
    listed = api.get("/improvement/projects", phase="control").json()
    assert [p["project_id"] for p in listed] == [pid]
    assert api_for(personas.rep).post("/improvement/projects", _payload(personas)).status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target_value": "NaN"}, "target_value"),
        ({"target_value": 1e300}, "target_value"),
        ({"title": "x" * 50_000}, "title"),
        ({"problem": "a\x00b"}, "problem"),
        ({"colour": "red"}, "colour"),
        ({"node": "team:999999"}, "node"),
        ({"metric_key": "nope"}, "metric_key"),
        ({"stage_id": 2**70}, "stage_id"),
        ({"baseline_start": "2026-02-30"}, "baseline_start"),
        ({"owner_id": "1; drop"}, "owner_id"),
    ],
)
def test_api_hostile_input_is_a_400_naming_the_field(
    personas: Personas, api_for: Callable[..., Any], change: dict[str, Any], field: str
) -> None:
    response = api_for(personas.manager).post("/improvement/projects", {**_payload(personas), **change})
    assert response.status_code == 400, response.content
    assert field in json.dumps(response.json()["errors"])
    assert not Project.objects.exists()


def test_api_malformed_json_and_unseen_action(
    personas: Personas, project: Project, api_for: Callable[..., Any]
) -> None:
    api = api_for(personas.manager)
    response = api.client.post(
        f"/api/v1/improvement/projects/{project.pk}/actions", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert api.patch(f"/improvement/projects/{project.pk}/actions/999999", {"description": "x"}).status_code == 404
    assert api.patch(f"/improvement/projects/{project.pk}", {"title": None}).status_code == 400
    assert api_for(personas.outsider).post(f"/improvement/projects/{project.pk}/baseline").status_code == 404


def _count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_page_query_counts_do_not_grow(personas: Personas, project: Project, client_for: Callable[..., Any]) -> None:
    client = client_for(personas.manager)
    today = timezone.localdate()
    detail_before = _count(client, f"/improvement/{project.pk}/")
    list_before = _count(client, "/improvement/")
    for i in range(4):
        write_exits(personas.rep, [(today - dt.timedelta(days=20 + i), 3.0)])
        project_create(actor=personas.manager, today=today, **_data(personas, today, title=f"项目 {i}"))
    project.phase = Phase.IMPROVE
    project.save()
    for i in range(3):
        action_create(
            actor=personas.manager, project=project, today=today, description=f"动作 {i}", owner_id=personas.rep.pk
        )
    Project.objects.filter(pk=project.pk).update(phase=Phase.CONTROL)
    assert _count(client, f"/improvement/{project.pk}/") == detail_before
    assert _count(client, "/improvement/") == list_before
    assert detail_before <= 25 and list_before <= 15
