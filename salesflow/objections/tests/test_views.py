"""Library pages and the deal panel, per persona: access, search, hostile input, query counts."""

from __future__ import annotations

import pytest

from salesflow.objections.models import DealObjection, Objection
from salesflow.objections.tests.factories import answers_of, close, log, make_objection
from salesflow.sales.tests.factories import make_opportunity, stage

pytestmark = pytest.mark.django_db


def _closed_deals(personas, answer, won: int, lost: int) -> None:
    for outcome, n in (("won", won), ("lost", lost)):
        for _ in range(n):
            opp = make_opportunity(personas.rep)
            log(personas.rep, opp, answer)
            close(personas.rep, opp, outcome)


def test_library_lists_objections_with_win_rates(personas, client_for) -> None:
    answer = answers_of(Objection.objects.get(text_en="Your price is too high."))[1]
    _closed_deals(personas, answer, won=2, lost=1)
    response = client_for(personas.rep).get("/objections/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your price is too high." in html
    assert "67% won of 3 deals" in html
    assert "fewer than 5 deals: not enough to judge" in html


def test_library_in_chinese(personas, client_for) -> None:
    response = client_for(personas.rep, language="zh-hans").get("/objections/")
    html = response.content.decode()
    assert "异议库" in html and "价格太高了。" in html


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ({"q": "预算"}, "We have no budget left this year.", "Your competitor is cheaper."),
        ({"q": "BOSS"}, "I need to check with my boss.", "Your price is too high."),
        ({"category": "competitor"}, "Your competitor is cheaper.", "I need to check with my boss."),
    ],
    ids=["zh-text", "en-case", "category"],
)
def test_library_search_and_filters(personas, client_for, query, expected, absent) -> None:
    if "category" in query:
        from salesflow.objections.models import ObjectionCategory

        query = {"category": str(ObjectionCategory.objects.get(code=query["category"]).pk)}
    html = client_for(personas.rep).get("/objections/", query).content.decode()
    assert expected in html and absent not in html


def test_library_stage_filter(personas, client_for) -> None:
    make_objection(personas.manager, "谈判阶段的异议", stage=stage("negotiation"))
    html = client_for(personas.rep).get("/objections/", {"stage": stage("negotiation").pk}).content.decode()
    assert "谈判阶段的异议" in html and "Your price is too high." not in html


@pytest.mark.parametrize("q", ["x" * 50_000, "price\x00", "\x00" * 10], ids=["50k", "nul", "only-nul"])
def test_library_search_refuses_hostile_terms(personas, client_for, q) -> None:
    response = client_for(personas.rep).get("/objections/", {"q": q})
    assert response.status_code == 400


def test_library_query_count_is_constant(personas, client_for, django_assert_max_num_queries) -> None:
    for objection in Objection.objects.all()[:4]:
        _closed_deals(personas, answers_of(objection)[0], won=1, lost=1)
    client = client_for(personas.rep)
    client.get("/objections/")
    with django_assert_max_num_queries(14):
        assert client.get("/objections/").status_code == 200


def test_detail_shows_answers_ranked_with_rates(personas, client_for, django_assert_max_num_queries) -> None:
    objection = make_objection(personas.manager, answers=2)
    first, second = answers_of(objection)
    _closed_deals(personas, second, won=4, lost=1)
    _closed_deals(personas, first, won=1, lost=4)
    client = client_for(personas.rep)
    with django_assert_max_num_queries(14):
        html = client.get(f"/objections/{objection.pk}/").content.decode()
    assert "80% won of 5 deals" in html and "20% won of 5 deals" in html
    assert html.index("80% won") < html.index("20% won")


@pytest.mark.parametrize("persona", ["rep", "support", "assistant"])
def test_non_editors_cannot_create_or_edit(personas, client_for, persona) -> None:
    client = client_for(personas.all()[persona])
    objection = Objection.objects.first()
    assert objection is not None
    assert client.get("/objections/new/").status_code == 403
    assert client.post("/objections/new/", {"text_zh": "x", "category": "1"}).status_code == 403
    assert client.post(f"/objections/{objection.pk}/edit/", {"text_zh": "x"}).status_code == 403
    answer = objection.answers.first()
    assert answer is not None
    assert client.post(f"/objections/answers/{answer.pk}/approve/").status_code == 403


def test_manager_creates_and_edits_an_objection(personas, client_for) -> None:
    from salesflow.objections.models import ObjectionCategory

    client = client_for(personas.manager)
    category = ObjectionCategory.objects.get(code="timing")
    response = client.post(
        "/objections/new/", {"text_zh": "等明年再说", "text_en": "Next year", "category": category.pk}
    )
    objection = Objection.objects.get(text_zh="等明年再说")
    assert response.status_code == 302 and response["Location"] == f"/objections/{objection.pk}/"
    response = client.post(
        f"/objections/{objection.pk}/edit/",
        {"text_zh": "等明年再说", "text_en": "Maybe next year", "category": category.pk, "is_active": "on"},
    )
    assert response.status_code == 302
    objection.refresh_from_db()
    assert objection.text_en == "Maybe next year"


@pytest.mark.parametrize(
    "data",
    [
        {"text_zh": "x" * 50_000, "category": "1"},
        {"text_zh": "a\x00b", "category": "1"},
        {"text_zh": "", "text_en": "", "category": "1"},
        {"text_zh": "ok", "category": "99999"},
    ],
    ids=["50k", "nul", "empty", "bad-category"],
)
def test_objection_form_refuses_hostile_input(personas, client_for, data) -> None:
    before = Objection.objects.count()
    response = client_for(personas.manager).post("/objections/new/", data)
    assert response.status_code == 400
    assert Objection.objects.count() == before


def test_rep_suggests_and_manager_approves_on_the_page(personas, client_for) -> None:
    objection = Objection.objects.first()
    assert objection is not None
    response = client_for(personas.rep).post(
        f"/objections/{objection.pk}/answers/", {"new-text_zh": "先做小范围试点", "new-text_en": ""}
    )
    assert response.status_code == 302
    answer = objection.answers.get(text_zh="先做小范围试点")
    assert answer.status == "suggested"
    assert "先做小范围试点" not in client_for(personas.teammate).get(f"/objections/{objection.pk}/").content.decode()
    assert client_for(personas.manager).post(f"/objections/answers/{answer.pk}/approve/").status_code == 302
    answer.refresh_from_db()
    assert answer.status == "approved"


# ---------------------------------------------------------------- the deal panel


def test_panel_is_prefiltered_to_the_deals_stage(personas, client_for) -> None:
    make_objection(personas.manager, "谈判阶段的异议", stage=stage("negotiation"))
    make_objection(personas.manager, "任何阶段的异议")
    opp = make_opportunity(personas.rep, stage_code="negotiation")
    html = client_for(personas.rep).get(f"/objections/deal/{opp.pk}/").content.decode()
    assert "谈判阶段的异议" in html and "任何阶段的异议" in html
    assert "Your price is too high." not in html  # a proposal-stage objection
    html = (
        client_for(personas.rep).get(f"/objections/deal/{opp.pk}/", {"all_stages": "1", "q": "price"}).content.decode()
    )
    assert "Your price is too high." in html


def test_panel_falls_back_to_every_stage_when_its_stage_has_none(personas, client_for) -> None:
    opp = make_opportunity(personas.rep, stage_code="prospect")
    html = client_for(personas.rep).get(f"/objections/deal/{opp.pk}/").content.decode()
    assert "showing every stage" in html and "Your price is too high." in html


@pytest.mark.parametrize(
    ("persona", "get_status", "post_status"),
    [
        ("rep", 200, 200),
        ("manager", 200, 200),
        ("assistant", 200, 200),
        ("support", 200, 403),
        ("teammate", 404, 404),
        ("outsider", 404, 404),
    ],
)
def test_panel_access_per_persona(personas, client_for, persona, get_status, post_status) -> None:
    opp = make_opportunity(personas.rep)
    answer = answers_of(Objection.objects.first())[0]  # type: ignore[arg-type]
    client = client_for(personas.all()[persona])
    assert client.get(f"/objections/deal/{opp.pk}/").status_code == get_status
    response = client.post(
        f"/objections/deal/{opp.pk}/",
        {"objection_id": answer.objection_id, "answer_id": answer.pk},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == post_status
    assert DealObjection.objects.filter(opportunity=opp).count() == (1 if post_status == 200 else 0)


def test_panel_shows_the_logged_answer_and_its_win_rate(personas, client_for, django_assert_max_num_queries) -> None:
    answer = answers_of(Objection.objects.first())[0]  # type: ignore[arg-type]
    _closed_deals(personas, answer, won=3, lost=1)
    opp = make_opportunity(personas.rep, stage_code="proposal")
    client = client_for(personas.rep)
    client.post(f"/objections/deal/{opp.pk}/", {"objection_id": answer.objection_id, "answer_id": answer.pk})
    for other in Objection.objects.all()[1:4]:
        client.post(f"/objections/deal/{opp.pk}/", {"objection_id": other.pk, "custom_answer": "我自己的回答"})
    with django_assert_max_num_queries(16):
        html = client.get(f"/objections/deal/{opp.pk}/").content.decode()
    assert "75% won of 4 deals" in html and "我自己的回答" in html
    assert DealObjection.objects.filter(opportunity=opp).count() == 4


@pytest.mark.parametrize(
    "data",
    [
        {"objection_id": "abc"},
        {"objection_id": "999999"},
        {"objection_id": "OBJ", "custom_answer": "x" * 50_000},
        {"objection_id": "OBJ", "custom_answer": "a\x00b"},
        {"objection_id": "OBJ", "answer_id": "OTHER"},
        {"objection_id": "OBJ", "answer_id": "99999999999999999999999"},
    ],
    ids=["not-a-number", "unknown", "50k", "nul", "foreign-answer", "huge-id"],
)
def test_panel_refuses_hostile_input(personas, client_for, data) -> None:
    opp = make_opportunity(personas.rep)
    first, second = list(Objection.objects.all()[:2])
    data = {
        k: str(first.pk) if v == "OBJ" else str(answers_of(second)[0].pk) if v == "OTHER" else v
        for k, v in data.items()
    }
    response = client_for(personas.rep).post(f"/objections/deal/{opp.pk}/", data)
    assert response.status_code == 400
    assert not DealObjection.objects.exists()


def test_rep_deletes_own_log_from_the_panel(personas, client_for) -> None:
    opp = make_opportunity(personas.rep)
    answer = answers_of(Objection.objects.first())[0]  # type: ignore[arg-type]
    mine = log(personas.rep, opp, answer)
    theirs = log(personas.assistant, opp, answer)
    client = client_for(personas.rep)
    assert client.post(f"/objections/deal/{opp.pk}/{theirs.pk}/delete/").status_code == 403
    assert client.post(f"/objections/deal/{opp.pk}/{mine.pk}/delete/").status_code == 200
    assert list(DealObjection.objects.values_list("pk", flat=True)) == [theirs.pk]


def test_deal_page_loads_the_panel(personas, client_for) -> None:
    opp = make_opportunity(personas.rep)
    html = client_for(personas.rep).get(f"/opportunities/{opp.pk}/").content.decode()
    assert f"/objections/deal/{opp.pk}/" in html
