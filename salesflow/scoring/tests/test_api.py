"""Score rules through the API and the settings page; the lead's score; hostile input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from salesflow.leads.tests.factories import make_lead
from salesflow.scoring.models import ScoreRule
from salesflow.scoring.services import recompute_leads

pytestmark = pytest.mark.django_db
RULE = {"label": "IT", "category": "fit", "attribute": "industry", "operator": "eq", "value": "it", "points": 10}


def test_rule_crud_is_for_administrators(personas, api_for) -> None:
    admin = api_for(personas.admin)
    response = admin.post("/scoring/rules", RULE)
    assert response.status_code == 201, response.json()
    rule_id = response.json()["id"]
    assert api_for(personas.manager).post("/scoring/rules", RULE).status_code == 403
    assert api_for(personas.rep).patch(f"/scoring/rules/{rule_id}", {"points": 1}).status_code == 403
    assert admin.patch(f"/scoring/rules/{rule_id}", {"points": 12}).json()["points"] == 12
    assert [r["id"] for r in api_for(personas.rep).get("/scoring/rules").json()] == [rule_id]
    assert admin.delete(f"/scoring/rules/{rule_id}").status_code == 204
    assert not ScoreRule.objects.exists()
    assert admin.delete(f"/scoring/rules/{rule_id}").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"value": "spaceships"}, "value"),
        ({"operator": "gte"}, "operator"),
        ({"attribute": "activities", "value": "many"}, "value"),
        ({"attribute": "title", "operator": "eq"}, "operator"),
        ({"points": 10**30}, "points"),
        ({"points": "NaN"}, "points"),
        ({"label": "x" * 50_000}, "label"),
        ({"label": "a\x00b"}, "label"),
        ({"category": "vibes"}, "category"),
        ({"window_days": 0}, "window_days"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_hostile_rules_are_refused_with_the_field_named(personas, api_for, change, field) -> None:
    response = api_for(personas.admin).post("/scoring/rules", {**RULE, **change})
    assert response.status_code == 400
    body = response.json()
    assert field in body["errors"] or field in str(body), body
    assert not ScoreRule.objects.exists()


def test_malformed_json_is_a_400(personas, api_for) -> None:
    from django.test import Client

    from salesflow.users.services import api_token_create

    _token, raw = api_token_create(user=personas.admin, name="t")
    response = Client().post(
        "/api/v1/scoring/rules", data="{bad", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 400


def test_score_endpoint_and_panel_show_every_contribution(personas, api_for, client_for) -> None:
    ScoreRule.objects.create(**{**RULE, "label": "IT industry"})
    ScoreRule.objects.create(
        label="Has title", category="fit", attribute="title", operator="contains", value="经理", points=3
    )
    lead = make_lead(owner=personas.rep, industry="it")
    body = api_for(personas.rep).get(f"/leads/{lead.pk}/score").json()
    assert body["total"] is None and body["contributions"] == []
    recompute_leads([lead.pk])
    body = api_for(personas.rep).get(f"/leads/{lead.pk}/score").json()
    assert body["total"] == 13
    assert [(c["label"], c["points"]) for c in body["contributions"]] == [("IT industry", 10), ("Has title", 3)]
    assert api_for(personas.outsider).get(f"/leads/{lead.pk}/score").status_code == 404
    assert api_for(personas.rep).get(f"/leads/{lead.pk}").json()["score"] == 13
    panel = client_for(personas.rep).get(reverse("scoring:lead_panel", args=[lead.pk]))
    assert panel.content.count(b'data-testid="score-contribution"') == 2
    assert b'data-testid="lead-score-total">13<' in panel.content
    assert client_for(personas.outsider).get(reverse("scoring:lead_panel", args=[lead.pk])).status_code == 404


def test_settings_page(personas, client_for) -> None:
    admin = client_for(personas.admin)
    assert admin.get(reverse("scoring:settings")).status_code == 200
    assert client_for(personas.manager).get(reverse("scoring:settings")).status_code == 403
    response = admin.post(
        reverse("scoring:settings"),
        {**RULE, "window_days": 30, "position": 0, "is_active": "on"},
    )
    assert response.status_code == 302
    rule = ScoreRule.objects.get()
    bad = admin.post(
        reverse("scoring:rule_edit", args=[rule.pk]), {**RULE, "value": "nope", "window_days": 30, "position": 0}
    )
    assert bad.status_code == 400 and ScoreRule.objects.get().value == "it"
    admin.post(reverse("scoring:rule_edit", args=[rule.pk]), {"delete": "1"})
    assert not ScoreRule.objects.exists()
    assert admin.get(reverse("scoring:progress")).status_code == 200
