"""Services and permissions of the objection library, per persona; the seeded content."""

from __future__ import annotations

import pytest

from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.objections.choices import AnswerStatus
from salesflow.objections.models import DealObjection, Objection, ObjectionAnswer, ObjectionCategory
from salesflow.objections.permissions import answers_visible_to, can_edit_library
from salesflow.objections.services import (
    answer_create,
    answer_update,
    deal_objection_delete,
    deal_objection_log,
    objection_create,
    objection_update,
)
from salesflow.objections.tests.factories import answers_of, category, log, make_objection
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import PERSONA_NAMES, REP_RECORD_WRITERS

pytestmark = pytest.mark.django_db

EDITORS = {"admin", "manager", "other_manager"}


def test_seed_every_objection_has_both_languages_and_two_answers() -> None:
    objections = list(Objection.objects.prefetch_related("answers"))
    assert len(objections) >= 8
    codes = set(ObjectionCategory.objects.values_list("code", flat=True))
    assert {"price", "timing", "authority", "competitor", "need"} <= codes
    assert {o.category.code for o in objections} >= {"price", "timing", "authority", "competitor", "need"}
    for objection in objections:
        assert objection.text_zh and objection.text_en, objection.pk
        assert objection.stage is not None and objection.stage.code == "proposal"
        answers = list(objection.answers.all())
        assert len(answers) >= 2, objection.text_en
        for answer in answers:
            assert answer.text_zh and answer.text_en and answer.status == AnswerStatus.APPROVED
            assert any("\u4e00" <= ch <= "\u9fff" for ch in answer.text_zh)


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_only_managers_and_admins_edit_the_library(personas, persona) -> None:
    user = personas.all()[persona]
    assert can_edit_library(user) is (persona in EDITORS)
    if persona in EDITORS:
        objection = objection_create(actor=user, category=category(), text_zh="新异议", text_en="New")
        objection_update(actor=user, objection=objection, text_en="Renamed")
        assert Objection.objects.get(pk=objection.pk).text_en == "Renamed"
        return
    before = Objection.objects.count()
    with pytest.raises(Forbidden):
        objection_create(actor=user, category=category(), text_zh="新异议", text_en="New")
    existing = Objection.objects.first()
    assert existing is not None
    with pytest.raises(Forbidden):
        objection_update(actor=user, objection=existing, text_en="Hacked")
    answer = existing.answers.first()
    assert answer is not None
    with pytest.raises(Forbidden):
        answer_update(actor=user, answer=answer, text_en="Hacked")
    assert Objection.objects.count() == before
    assert not Objection.objects.filter(text_en="Hacked").exists()


def test_rep_suggests_an_answer_seen_by_author_and_editors_until_approved(personas) -> None:
    objection = Objection.objects.first()
    assert objection is not None
    answer = answer_create(actor=personas.rep, objection=objection, text_zh="先试用一个月", text_en="")
    assert answer.status == AnswerStatus.SUGGESTED
    assert answers_visible_to(personas.rep).filter(pk=answer.pk).exists()
    assert answers_visible_to(personas.manager).filter(pk=answer.pk).exists()
    assert not answers_visible_to(personas.teammate).filter(pk=answer.pk).exists()
    with pytest.raises(Forbidden):
        answer_create(actor=personas.support, objection=objection, text_zh="x")
    answer_update(actor=personas.manager, answer=answer, status=AnswerStatus.APPROVED)
    assert answers_visible_to(personas.teammate).filter(pk=answer.pk).exists()
    verbs = list(AuditEvent.objects.filter(verb__startswith="objections.answer").values_list("verb", flat=True))
    assert "objections.answer.suggested" in verbs and "objections.answer.updated" in verbs


@pytest.mark.parametrize(
    ("field", "value"),
    [("text_zh", "x" * 50_000), ("text_en", "bad\x00nul"), ("product_line", "p" * 101), ("text_en", "a\nb")],
    ids=["huge", "nul", "product-line", "newline"],
)
def test_objection_create_refuses_hostile_text_naming_the_field(personas, field, value) -> None:
    before = Objection.objects.count()
    kwargs = {"text_zh": "正常", "text_en": "ok", field: value}
    with pytest.raises(ValidationFailed) as exc:
        objection_create(actor=personas.manager, category=category(), **kwargs)
    assert field in exc.value.field_errors
    assert Objection.objects.count() == before


def test_objection_needs_text_in_one_language(personas) -> None:
    with pytest.raises(ValidationFailed) as exc:
        objection_create(actor=personas.manager, category=category(), text_zh="  ", text_en="")
    assert set(exc.value.field_errors) == {"text_zh", "text_en"}


def test_unknown_fields_are_refused(personas) -> None:
    objection = Objection.objects.first()
    assert objection is not None
    with pytest.raises(ValidationFailed) as exc:
        objection_update(actor=personas.manager, objection=objection, owner=personas.rep)  # type: ignore[call-arg]
    assert "owner" in exc.value.field_errors


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_logging_on_a_deal_follows_its_write_access(personas, persona) -> None:
    user = personas.all()[persona]
    opp = make_opportunity(personas.rep)
    answer = answers_of(Objection.objects.first())[0]  # type: ignore[arg-type]
    if persona in REP_RECORD_WRITERS:
        row = log(user, opp, answer)
        assert row.stage_id == opp.stage_id and row.logged_by == user
        assert AuditEvent.objects.filter(verb="objections.deal.logged", target_id=opp.pk).exists()
    else:
        with pytest.raises(Forbidden):
            log(user, opp, answer)
        assert not DealObjection.objects.exists()


def test_the_answer_must_belong_to_the_objection(personas) -> None:
    opp = make_opportunity(personas.rep)
    first, second = list(Objection.objects.all()[:2])
    with pytest.raises(ValidationFailed) as exc:
        deal_objection_log(actor=personas.rep, opportunity=opp, objection=first, answer=answers_of(second)[0])
    assert "answer_id" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        deal_objection_log(actor=personas.rep, opportunity=opp, objection=None)
    assert "objection_id" in exc.value.field_errors
    assert not DealObjection.objects.exists()


def test_another_reps_suggestion_cannot_be_logged(personas) -> None:
    objection = make_objection(personas.manager, answers=0)
    suggestion = answer_create(actor=personas.teammate, objection=objection, text_zh="我的说法")
    opp = make_opportunity(personas.rep)
    with pytest.raises(ValidationFailed):
        deal_objection_log(actor=personas.rep, opportunity=opp, objection=objection, answer=suggestion)


def test_own_log_is_deleted_by_its_author_or_an_editor(personas) -> None:
    opp = make_opportunity(personas.rep)
    answer = answers_of(Objection.objects.first())[0]  # type: ignore[arg-type]
    by_assistant = log(personas.assistant, opp, answer)
    by_rep = log(personas.rep, opp, answer)
    with pytest.raises(Forbidden):
        deal_objection_delete(actor=personas.rep, log=by_assistant)
    deal_objection_delete(actor=personas.rep, log=by_rep)
    deal_objection_delete(actor=personas.manager, log=by_assistant)
    assert not DealObjection.objects.exists()
    assert AuditEvent.objects.filter(verb="objections.deal.log_deleted").count() == 2


def test_retired_objection_cannot_be_logged_but_keeps_its_history(personas) -> None:
    opp = make_opportunity(personas.rep)
    objection = Objection.objects.first()
    assert objection is not None
    log(personas.rep, opp, answers_of(objection)[0])
    objection_update(actor=personas.admin, objection=objection, is_active=False)
    with pytest.raises(ValidationFailed):
        deal_objection_log(actor=personas.rep, opportunity=opp, objection=objection)
    assert DealObjection.objects.filter(objection=objection).count() == 1
    assert ObjectionAnswer.objects.filter(objection=objection).exists()


def test_categories_are_data_managed_by_editors(personas, client_for) -> None:
    from salesflow.objections.services import category_create, category_update

    with pytest.raises(Forbidden):
        category_create(actor=personas.rep, code="contract", name_en="Contract terms", name_zh="合同条款")
    category = category_create(actor=personas.admin, code="contract", name_en="Contract terms", name_zh="合同条款")
    with pytest.raises(ValidationFailed) as exc:
        category_create(actor=personas.admin, code="contract", name_en="x", name_zh="x")
    assert "code" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        category_create(actor=personas.admin, code="合同", name_en="x", name_zh="x\x00")
    assert set(exc.value.field_errors) == {"code", "name_zh"}
    category_update(actor=personas.manager, category=category, is_active=False)
    assert not ObjectionCategory.objects.get(code="contract").is_active
    with pytest.raises(ValidationFailed) as exc:
        objection_create(actor=personas.manager, category=category, text_zh="合同条款太苛刻")
    assert "category_id" in exc.value.field_errors
    client = client_for(personas.admin)
    assert client.get("/admin/objections/objectioncategory/").status_code == 200
    response = client.post(
        "/admin/objections/objectioncategory/add/",
        {"code": "delivery", "name_zh": "交付周期", "name_en": "Delivery time", "position": "9", "is_active": "on"},
    )
    assert response.status_code == 302
    assert ObjectionCategory.objects.get(code="delivery").name_zh == "交付周期"
    assert AuditEvent.objects.filter(verb="objections.category.created").count() == 2  # through the service
