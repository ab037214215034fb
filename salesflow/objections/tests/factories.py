"""Test data of the objection library (through the services)."""

from __future__ import annotations

from salesflow.objections.models import DealObjection, Objection, ObjectionAnswer, ObjectionCategory
from salesflow.objections.services import answer_create, deal_objection_log, objection_create
from salesflow.sales.models import LostReason, Opportunity
from salesflow.sales.services import opportunity_close
from salesflow.users.models import User


def category(code: str = "price") -> ObjectionCategory:
    return ObjectionCategory.objects.get(code=code)


def make_objection(editor: User, text: str = "太贵了", *, answers: int = 2, **kwargs: object) -> Objection:
    objection = objection_create(
        actor=editor,
        category=category(),
        text_zh=text,
        text_en=f"{text} (en)",
        **kwargs,  # type: ignore[arg-type]
    )
    for n in range(answers):
        answer_create(actor=editor, objection=objection, text_zh=f"回答 {n}", text_en=f"Answer {n}")
    return objection


def answers_of(objection: Objection) -> list[ObjectionAnswer]:
    return list(objection.answers.order_by("position"))


def log(actor: User, opp: Opportunity, answer: ObjectionAnswer) -> DealObjection:
    return deal_objection_log(actor=actor, opportunity=opp, objection=answer.objection, answer=answer)


def close(actor: User, opp: Opportunity, outcome: str) -> Opportunity:
    reason = LostReason.objects.get(code="price") if outcome == "lost" else None
    return opportunity_close(actor=actor, opportunity=opp, outcome=outcome, lost_reason=reason)
