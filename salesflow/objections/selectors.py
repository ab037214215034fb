"""Reads of the objection library: search, detail, a deal's logged objections, and each
answer's win rate.

**Win rate** of an answer = won / (won + lost) over the distinct deals where the answer was
logged and whose *current* outcome is won or lost (a reopened deal no longer counts; a deal
that used the answer twice counts once). It is counted over every deal of the company —
the team learns from all of its deals — and shows only counts, never which deals. One
aggregate query per page (``win_rates``) whatever the number of answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from salesflow.core.schemas import SEARCH_MAX_LENGTH
from salesflow.objections.models import DealObjection, Objection, ObjectionAnswer, ObjectionCategory
from salesflow.objections.permissions import answers_visible_to, objections_visible_to
from salesflow.sales.choices import Outcome, StageKind
from salesflow.sales.models import Opportunity, Stage
from salesflow.users.models import User

#: fewer closed deals than this and a win rate is shown but not judged (nor used to sort)
MIN_SAMPLE = 5
#: objections shown per page of the library / per search in the deal panel
LIBRARY_PAGE = 25
PANEL_RESULTS = 8


@dataclass(frozen=True)
class WinRate:
    won: int = 0
    lost: int = 0

    @property
    def deals(self) -> int:
        return self.won + self.lost

    @property
    def percent(self) -> int | None:
        return round(100 * self.won / self.deals) if self.deals else None

    @property
    def enough(self) -> bool:
        return self.deals >= MIN_SAMPLE


def clean_terms(q: object) -> list[str]:
    """Search terms of ``q``: control characters dropped, at most ``SEARCH_MAX_LENGTH``
    characters read (the middleware refuses longer query strings; services and the API may
    pass anything), split on whitespace, at most five terms."""
    if not isinstance(q, str):
        return []
    text = "".join(ch for ch in q[:SEARCH_MAX_LENGTH] if ch.isprintable() or ch == " ")
    return text.split()[:5]


def categories() -> QuerySet[ObjectionCategory]:
    return ObjectionCategory.objects.filter(is_active=True).order_by("position", "id")


def stages_for_filter() -> QuerySet[Stage]:
    """Open stages of the active pipelines (the stage filter and the objection form)."""
    return (
        Stage.objects.filter(kind=StageKind.OPEN, is_active=True, pipeline__is_active=True)
        .select_related("pipeline")
        .order_by("pipeline__position", "pipeline_id", "position")
    )


def _answers_prefetch(user: User) -> Prefetch[Any]:
    return Prefetch(
        "answers",
        queryset=answers_visible_to(user).select_related("author").order_by("position", "id"),
        to_attr="visible_answers",
    )


def library_search(
    user: User,
    *,
    q: object = "",
    category_id: int | None = None,
    stage_id: int | None = None,
    with_unstaged: bool = False,
    include_inactive: bool = False,
) -> QuerySet[Objection]:
    """Objections ``user`` may see matching every term of ``q`` (objection text in either
    language or product line), the category and the stage (``with_unstaged``: objections
    without a stage as well — they apply at any stage). Answers the user may see are
    prefetched as ``visible_answers``."""
    qs = objections_visible_to(user)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    for term in clean_terms(q):
        qs = qs.filter(Q(text_zh__icontains=term) | Q(text_en__icontains=term) | Q(product_line__icontains=term))
    if category_id is not None:
        qs = qs.filter(category_id=category_id)
    if stage_id is not None:
        qs = qs.filter(Q(stage_id=stage_id) | Q(stage__isnull=True)) if with_unstaged else qs.filter(stage_id=stage_id)
    return (
        qs.select_related("category", "stage", "stage__pipeline")
        .prefetch_related(_answers_prefetch(user))
        .order_by("category__position", "category_id", "id")
    )


def objection_detail(user: User, pk: object) -> Objection | None:
    try:
        key = int(str(pk))
    except ValueError:
        return None
    return (
        objections_visible_to(user)
        .select_related("category", "stage", "stage__pipeline", "created_by")
        .prefetch_related(_answers_prefetch(user))
        .filter(pk=key)
        .first()
    )


def win_rates(answer_ids: Iterable[int]) -> dict[int, WinRate]:
    """``{answer id: WinRate}`` for ``answer_ids`` in ONE aggregate query (module docstring)."""
    ids = sorted(set(answer_ids))
    if not ids:
        return {}
    rows = (
        DealObjection.objects.filter(answer_id__in=ids, opportunity__outcome__in=[Outcome.WON, Outcome.LOST])
        .values("answer_id")
        .annotate(
            won=Count("opportunity_id", distinct=True, filter=Q(opportunity__outcome=Outcome.WON)),
            lost=Count("opportunity_id", distinct=True, filter=Q(opportunity__outcome=Outcome.LOST)),
        )
        .order_by()
    )
    return {row["answer_id"]: WinRate(won=row["won"], lost=row["lost"]) for row in rows}


def ranked(answers: Sequence[ObjectionAnswer], rates: dict[int, WinRate]) -> list[ObjectionAnswer]:
    """Attach ``.win`` to each answer and sort: answers with enough closed deals by win rate
    (then by number of deals), then the others in their library order."""
    for answer in answers:
        answer.win = rates.get(answer.pk, WinRate())  # type: ignore[attr-defined]

    def key(a: ObjectionAnswer) -> tuple[int, int, int, int, int]:
        win: WinRate = a.win  # type: ignore[attr-defined]
        if win.enough:
            return (0, -(win.percent or 0), -win.deals, a.position, a.pk)
        return (1, 0, 0, a.position, a.pk)

    return sorted(answers, key=key)


def with_win_rates(objections: Sequence[Objection]) -> list[Objection]:
    """Rank every objection's ``visible_answers`` with their win rates (one query in all)."""
    items = list(objections)
    ids = [a.pk for o in items for a in getattr(o, "visible_answers", [])]
    rates = win_rates(ids)
    for objection in items:
        objection.visible_answers = ranked(getattr(objection, "visible_answers", []), rates)  # type: ignore[attr-defined]
    return items


def deal_logs(opportunity: Opportunity) -> list[DealObjection]:
    """The objections logged on ``opportunity`` (the caller resolved it through the deal's
    visibility), newest first, answers with their win rates (``.answer.win``)."""
    logs = list(
        DealObjection.objects.filter(opportunity=opportunity)
        .select_related("objection", "objection__category", "answer", "stage", "logged_by")
        .order_by("-logged_at", "-id")
    )
    rates = win_rates(log.answer_id for log in logs if log.answer_id)
    for log in logs:
        if log.answer is not None:
            log.answer.win = rates.get(log.answer.pk, WinRate())  # type: ignore[attr-defined]
    return logs


def deal_log_for_user(opportunity: Opportunity, pk: object) -> DealObjection | None:
    try:
        key = int(str(pk))
    except ValueError:
        return None
    return DealObjection.objects.filter(opportunity=opportunity, pk=key).select_related("objection").first()
