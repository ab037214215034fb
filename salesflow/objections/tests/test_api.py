"""API of the objection library and of a deal's logged objections, per persona; hostile input."""

from __future__ import annotations

import pytest

from salesflow.objections.models import DealObjection, Objection, ObjectionCategory
from salesflow.objections.tests.factories import answers_of, close, log
from salesflow.sales.tests.factories import make_opportunity, stage

pytestmark = pytest.mark.django_db


def test_search_and_detail_with_win_rates(personas, api_for) -> None:
    objection = Objection.objects.get(text_en="Your price is too high.")
    answer = answers_of(objection)[2]
    for outcome in ("won", "won", "lost"):
        opp = make_opportunity(personas.rep)
        log(personas.rep, opp, answer)
        close(personas.rep, opp, outcome)
    api = api_for(personas.rep)
    page = api.get("/objections", q="too high").json()
    assert page["count"] == 1 and page["items"][0]["id"] == objection.pk
    detail = api.get(f"/objections/{objection.pk}").json()
    assert detail["category"]["code"] == "price"
    first = detail["answers"][0]
    assert first["id"] == answer.pk or not first["win_rate"]["enough"]
    rate = next(a["win_rate"] for a in detail["answers"] if a["id"] == answer.pk)
    assert rate == {"won": 2, "lost": 1, "deals": 3, "percent": 67, "enough": False}
    assert api.get("/objections", stage_id=stage("proposal").pk, limit=100).json()["count"] >= 8
    assert api.get("/objections/categories").status_code == 200


@pytest.mark.parametrize(
    "params",
    [{"q": "x" * 50_000}, {"q": "a\x00"}, {"limit": "0"}, {"limit": "abc"}, {"category_id": "9" * 30}],
    ids=["50k", "nul", "limit-0", "limit-text", "huge-id"],
)
def test_search_refuses_hostile_params(personas, api_for, params) -> None:
    response = api_for(personas.rep).get("/objections", **params)
    assert response.status_code == 400
    assert response.json()["errors"]


def test_editors_create_and_patch_reps_may_not(personas, api_for) -> None:
    category = ObjectionCategory.objects.get(code="need")
    body = {"category_id": category.pk, "text_zh": "没有需求", "text_en": "No need", "stage_id": stage("needs").pk}
    assert api_for(personas.rep).post("/objections", body).status_code == 403
    response = api_for(personas.manager).post("/objections", body)
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    response = api_for(personas.manager).patch(f"/objections/{pk}", {"text_en": "We don't need it", "stage_id": None})
    assert response.status_code == 200 and response.json()["stage_id"] is None
    assert api_for(personas.rep).patch(f"/objections/{pk}", {"text_en": "x"}).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category_id": 999999, "text_zh": "x"}, "category_id"),
        ({"category_id": "CAT", "text_zh": "x", "stage_id": 999999}, "stage_id"),
        ({"category_id": "CAT", "stage_id": "WON", "text_zh": "x"}, "stage_id"),
        ({"category_id": "CAT", "text_zh": "x" * 501}, "text_zh"),
        ({"category_id": "CAT", "text_zh": "a\x00b"}, "text_zh"),
        ({"category_id": "CAT", "text_zh": ""}, "text_zh"),
        ({"category_id": "CAT", "text_zh": "x", "owner_id": 1}, "owner_id"),
    ],
    ids=["category", "stage", "closed-stage", "long", "nul", "empty", "unknown-field"],
)
def test_create_refuses_bad_input_naming_the_field(personas, api_for, body, field) -> None:
    body = dict(body)
    if body.get("category_id") == "CAT":
        body["category_id"] = ObjectionCategory.objects.first().pk  # type: ignore[union-attr]
    if body.get("stage_id") == "WON":
        body["stage_id"] = stage("won").pk
    before = Objection.objects.count()
    response = api_for(personas.manager).post("/objections", body)
    assert response.status_code == 400, response.content
    assert field in str(response.json()["errors"])
    assert Objection.objects.count() == before


def test_answers_suggested_by_reps_and_approved_by_managers(personas, api_for) -> None:
    objection = Objection.objects.first()
    assert objection is not None
    response = api_for(personas.rep).post(f"/objections/{objection.pk}/answers", {"text_zh": "第一行\n第二行"})
    assert response.status_code == 201 and response.json()["status"] == "suggested"
    answer_id = response.json()["id"]
    assert api_for(personas.rep).patch(f"/objections/answers/{answer_id}", {"status": "approved"}).status_code == 403
    assert (
        api_for(personas.teammate).patch(f"/objections/answers/{answer_id}", {"status": "approved"}).status_code == 404
    )
    response = api_for(personas.manager).patch(f"/objections/answers/{answer_id}", {"status": "approved"})
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert api_for(personas.support).post(f"/objections/{objection.pk}/answers", {"text_zh": "x"}).status_code == 403


def test_deal_objections_log_list_delete(personas, api_for) -> None:
    opp = make_opportunity(personas.rep)
    objection = Objection.objects.first()
    assert objection is not None
    answer = answers_of(objection)[0]
    api = api_for(personas.rep)
    response = api.post(
        f"/opportunities/{opp.pk}/objections",
        {"objection_id": objection.pk, "answer_id": answer.pk, "note": "客户说\n预算紧张"},
    )
    assert response.status_code == 201, response.content
    row = response.json()
    assert row["stage_id"] == opp.stage_id and row["answer_win_rate"]["deals"] == 0
    listed = api.get(f"/opportunities/{opp.pk}/objections").json()
    assert [r["id"] for r in listed] == [row["id"]]
    assert api_for(personas.teammate).get(f"/opportunities/{opp.pk}/objections").status_code == 404
    assert api_for(personas.support).get(f"/opportunities/{opp.pk}/objections").status_code == 200
    assert (
        api_for(personas.support)
        .post(f"/opportunities/{opp.pk}/objections", {"objection_id": objection.pk})
        .status_code
        == 403
    )
    assert (
        api_for(personas.outsider)
        .post(f"/opportunities/{opp.pk}/objections", {"objection_id": objection.pk})
        .status_code
        == 404
    )
    assert api_for(personas.assistant).delete(f"/opportunities/{opp.pk}/objections/{row['id']}").status_code == 403
    assert api.delete(f"/opportunities/{opp.pk}/objections/{row['id']}").status_code == 204
    assert not DealObjection.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"objection_id": 999999}, "objection_id"),
        ({"objection_id": "OBJ", "answer_id": "OTHER"}, "answer_id"),
        ({"objection_id": "OBJ", "answer_id": 999999}, "answer_id"),
        ({"objection_id": "OBJ", "custom_answer": "x" * 50_000}, "custom_answer"),
        ({"objection_id": "OBJ", "note": "a\x00"}, "note"),
        ({"objection_id": "OBJ", "stage_id": 1}, "stage_id"),
        ({"objection_id": 2**70}, "objection_id"),
    ],
    ids=["unknown-objection", "foreign-answer", "unknown-answer", "50k", "nul", "read-only", "huge"],
)
def test_deal_log_refuses_bad_input(personas, api_for, body, field) -> None:
    opp = make_opportunity(personas.rep)
    first, second = list(Objection.objects.all()[:2])
    body = {k: first.pk if v == "OBJ" else answers_of(second)[0].pk if v == "OTHER" else v for k, v in body.items()}
    response = api_for(personas.rep).post(f"/opportunities/{opp.pk}/objections", body)
    assert response.status_code == 400, response.content
    assert field in str(response.json()["errors"])
    assert not DealObjection.objects.exists()


def test_malformed_json_is_a_400(personas, api_for) -> None:
    opp = make_opportunity(personas.rep)
    api = api_for(personas.rep)
    response = api.client.post(
        f"/api/v1/opportunities/{opp.pk}/objections", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
