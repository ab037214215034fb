"""API of ``salesflow.forecasts`` under ``/api/v1/forecasts``: thin endpoints over the same
selectors and services as the pages.

* ``GET /suggested`` — the figures a rep's deals suggest for a period (the pre-fill);
* ``POST /submissions`` — submit a rep's forecast (the reader's own, or a delegated rep's);
* ``POST /adjustments`` — a manager's (team) or an administrator's (team, company) own figure;
* ``GET /rollup`` — a level and the level below: latest figures, sums, status;
* ``GET /history`` — the entries of a level and the level below, newest first;
* ``GET /accuracy`` — forecast vs won revenue for past months or quarters;
* ``GET /changes`` and ``GET /changes/deals`` — the pipeline waterfall and one bar's deals.

Filters are ``forms.FilterForm`` (node, period, since, kind, count). An unseen level is 404;
bad input is 400 naming the field; support sees no money (404). Money is a decimal string in
the company currency.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from salesflow.analytics.selectors import node_for_user, node_owner_ids_now
from salesflow.billing.permissions import sees_no_money
from salesflow.core.errors import Forbidden
from salesflow.core.money import company_currency
from salesflow.core.money_schema import MoneyIn, MoneyOut
from salesflow.core.schemas import StrictQuery, StrictSchema
from salesflow.forecasts.forms import MAX_PERIODS, filters_or_error
from salesflow.forecasts.models import NOTE_MAX_LENGTH, ForecastEntry
from salesflow.forecasts.selectors import (
    BAR_KEYS,
    Figures,
    Level,
    accuracy,
    day_start,
    history,
    past_periods,
    rollup,
    suggested_by_owner,
    waterfall,
)
from salesflow.forecasts.services import forecast_adjust, forecast_submit
from salesflow.users.models import User

router = Router(tags=["forecasts"])

_PERIOD_DOC = "a month (2026-12) or a quarter (2026-Q4); default this month"
_NODE_DOC = "company, team:<id> or rep:<id>; default the widest level you see"


def _user(request: HttpRequest) -> User:
    user = cast(User, request.user)
    if sees_no_money(user):
        raise Http404
    return user


# --- schemas ---------------------------------------------------------------------------------


class LevelQuery(StrictQuery):
    node: str | None = Field(None, max_length=40, description=_NODE_DOC)
    period: str | None = Field(None, max_length=20, description=_PERIOD_DOC)


class SuggestedQuery(StrictQuery):
    period: str | None = Field(None, max_length=20, description=_PERIOD_DOC)
    rep_id: int | None = Field(None, ge=1, le=2**31 - 1, description="default: yourself")


class AccuracyQuery(StrictQuery):
    node: str | None = Field(None, max_length=40, description=_NODE_DOC)
    kind: Literal["month", "quarter"] = "month"
    count: int = Field(6, ge=1, le=MAX_PERIODS, description="how many past periods")


class ChangesQuery(LevelQuery):
    since: str | None = Field(None, max_length=10, description="YYYY-MM-DD; default seven days ago")


class DealsQuery(ChangesQuery):
    bar: Literal["new", "moved_in", "increased", "won", "lost", "moved_out", "decreased"]


class FiguresIn(StrictSchema):
    period: str = Field(..., max_length=20, description="a month (2026-12) or a quarter (2026-Q4), not over")
    commit: MoneyIn
    best_case: MoneyIn = Field(..., description="commit + best-case deals; ≥ commit")
    pipeline: MoneyIn = Field(..., description="best case + pipeline deals; ≥ best_case")
    note: str = Field("", max_length=NOTE_MAX_LENGTH)


class SubmissionIn(FiguresIn):
    rep_id: int | None = Field(None, ge=1, le=2**31 - 1, description="default: yourself (assistants: a delegated rep)")


class AdjustmentIn(FiguresIn):
    node: str = Field(..., max_length=40, description="team:<id> (its manager, administrators) or company")


class FiguresOut(Schema):
    commit: MoneyOut
    best_case: MoneyOut
    pipeline: MoneyOut


class SuggestedOut(Schema):
    rep_id: int
    period: str
    currency: str
    figures: FiguresOut
    rule: str
    missing_rates: list[str]


class EntryOut(Schema):
    entry_id: int
    node: str
    period: str
    kind: str
    revision: int
    commit: MoneyOut
    best_case: MoneyOut
    pipeline: MoneyOut
    currency: str
    suggested: FiguresOut | None
    note: str
    author_id: int
    author_name: str
    created_at: str


class LevelOut(Schema):
    node: str
    name: str
    own: EntryOut | None = Field(..., description="the level's latest entry (submission or adjustment)")
    figure: FiguresOut = Field(..., description="own figure, else the sum of the level below")
    source: str = Field(..., description="own or below")
    submitted: FiguresOut = Field(..., description="sum of the latest submissions of everyone in the level")
    below: FiguresOut = Field(..., description="sum of the level below's figures (adjusted where adjusted)")
    people: int
    submitted_people: int
    suggested: FiguresOut | None = Field(None, description="people: what their deals suggest now")


class RollupOut(Schema):
    node: str
    period: str
    currency: str
    level: LevelOut
    rows: list[LevelOut]
    missing_rates: list[str]


class AccuracyCellOut(Schema):
    period: str
    forecast: MoneyOut | None
    source: str
    actual: MoneyOut
    error: MoneyOut | None = Field(..., description="forecast − actual")
    ape: str | None = Field(..., description="|error| ÷ actual × 100, one decimal; null when actual is 0")


class AccuracyRowOut(Schema):
    node: str
    name: str
    cells: list[AccuracyCellOut]
    mape: str | None


class AccuracyOut(Schema):
    node: str
    currency: str
    periods: list[str]
    rows: list[AccuracyRowOut]
    missing_rates: list[str]


class BarOut(Schema):
    key: str
    amount: MoneyOut
    deals: int


class WaterfallOut(Schema):
    node: str
    period: str
    since: str
    currency: str
    start: MoneyOut
    start_deals: int
    bars: list[BarOut]
    end: MoneyOut
    end_deals: int
    missing_rates: list[str]


class MoveOut(Schema):
    opportunity_id: int
    bar: str
    change: MoneyOut
    amount_before: MoneyOut | None
    amount_after: MoneyOut | None
    close_before: str | None
    close_after: str | None


# --- output helpers --------------------------------------------------------------------------


def _m(value: Any) -> str | None:
    return None if value is None else f"{value:.2f}"


def figures_out(f: Figures) -> dict[str, Any]:
    return {"commit": _m(f.commit), "best_case": _m(f.best_case), "pipeline": _m(f.pipeline)}


def entry_out(e: ForecastEntry) -> dict[str, Any]:
    suggested = (
        None
        if e.suggested_commit is None or e.suggested_best_case is None or e.suggested_pipeline is None
        else figures_out(Figures(e.suggested_commit, e.suggested_best_case, e.suggested_pipeline))
    )
    return {
        "entry_id": e.pk,
        "node": e.node_key,
        "period": e.period_key,
        "kind": e.kind,
        "revision": e.revision,
        "commit": _m(e.commit),
        "best_case": _m(e.best_case),
        "pipeline": _m(e.pipeline),
        "currency": e.currency,
        "suggested": suggested,
        "note": e.note,
        "author_id": e.author_id,
        "author_name": str(e.author),
        "created_at": e.created_at.isoformat(),
    }


def level_out(lv: Level) -> dict[str, Any]:
    return {
        "node": lv.node.key,
        "name": lv.node.label,
        "own": entry_out(lv.entry) if lv.entry is not None else None,
        "figure": figures_out(lv.figure),
        "source": lv.source,
        "submitted": figures_out(lv.submitted),
        "below": figures_out(lv.below),
        "people": lv.people,
        "submitted_people": lv.submitted_people,
        "suggested": figures_out(lv.suggested) if lv.suggested is not None else None,
    }


# --- endpoints -------------------------------------------------------------------------------


@router.get("/suggested", response=SuggestedOut, summary="What a rep's deals suggest for a period (the pre-fill)")
def get_suggested(request: HttpRequest, filters: Query[SuggestedQuery]) -> dict[str, Any]:
    user = _user(request)
    f = filters_or_error({"period": filters.period, "node": f"rep:{filters.rep_id or user.pk}"}, user)
    assert f.node.id is not None
    s = suggested_by_owner([f.node.id], f.period, timezone.localdate())
    return {
        "rep_id": f.node.id,
        "period": f.period.key,
        "currency": company_currency(),
        "figures": figures_out(s.of(f.node.id)),
        "rule": "commit = won in period + open commit deals closing in period; best_case = commit + best_case "
        "deals; pipeline = best_case + pipeline deals (omitted never); today's rates",
        "missing_rates": sorted(s.missing_rates),
    }


@router.post("/submissions", response={201: EntryOut}, summary="Submit a rep's forecast (a new revision)")
def create_submission(request: HttpRequest, payload: SubmissionIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    node = node_for_user(user, f"rep:{payload.rep_id or user.pk}")  # 404 unseen
    assert node.id is not None
    rep = User.objects.get(pk=node.id)
    entry = forecast_submit(
        actor=user,
        rep=rep,
        period_key=payload.period,
        commit=payload.commit,
        best_case=payload.best_case,
        pipeline=payload.pipeline,
        note=payload.note,
    )
    return 201, entry_out(entry)


@router.post("/adjustments", response={201: EntryOut}, summary="Adjust a team's (or the company's) forecast")
def create_adjustment(request: HttpRequest, payload: AdjustmentIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    node = node_for_user(user, payload.node)  # 404 unseen
    if node.kind == "rep":
        raise Forbidden(_("A person's forecast is submitted, not adjusted."))
    entry = forecast_adjust(
        actor=user,
        node=node,
        period_key=payload.period,
        commit=payload.commit,
        best_case=payload.best_case,
        pipeline=payload.pipeline,
        note=payload.note,
    )
    return 201, entry_out(entry)


@router.get("/rollup", response=RollupOut, summary="A level's forecast beside the level below")
def get_rollup(request: HttpRequest, filters: Query[LevelQuery]) -> dict[str, Any]:
    user = _user(request)
    f = filters_or_error(filters.dict(), user)
    grid = rollup(f.node, f.period, timezone.localdate())
    return {
        "node": f.node.key,
        "period": f.period.key,
        "currency": company_currency(),
        "level": level_out(grid.level),
        "rows": [level_out(r) for r in grid.rows],
        "missing_rates": sorted(grid.suggestion.missing_rates),
    }


@router.get("/history", response=list[EntryOut], summary="Entries of a level and the level below, newest first")
def get_history(request: HttpRequest, filters: Query[LevelQuery]) -> list[dict[str, Any]]:
    user = _user(request)
    f = filters_or_error(filters.dict(), user)
    return [entry_out(e) for e in history(f.node, f.period)]


@router.get("/accuracy", response=AccuracyOut, summary="Forecast accuracy of past months or quarters")
def get_accuracy(request: HttpRequest, filters: Query[AccuracyQuery]) -> dict[str, Any]:
    user = _user(request)
    f = filters_or_error({"node": filters.node}, user)
    periods = past_periods(filters.kind, timezone.localdate(), filters.count)
    acc = accuracy(f.node, periods)
    return {
        "node": f.node.key,
        "currency": company_currency(),
        "periods": [p.key for p in periods],
        "rows": [
            {
                "node": r.node.key,
                "name": r.node.label,
                "cells": [
                    {
                        "period": c.period.key,
                        "forecast": _m(c.forecast),
                        "source": c.source,
                        "actual": _m(c.actual),
                        "error": _m(c.error),
                        "ape": None if c.ape is None else str(c.ape),
                    }
                    for c in r.cells
                ],
                "mape": None if r.mape is None else str(r.mape),
            }
            for r in acc.rows
        ],
        "missing_rates": sorted(acc.missing_rates),
    }


def _waterfall(request: HttpRequest, filters: ChangesQuery) -> tuple[Any, Any]:
    user = _user(request)
    f = filters_or_error({"node": filters.node, "period": filters.period, "since": filters.since}, user)
    w = waterfall(node_owner_ids_now(f.node), f.period, day_start(f.since), timezone.localdate())
    return f, w


@router.get("/changes", response=WaterfallOut, summary="Pipeline waterfall: what changed since a day")
def get_changes(request: HttpRequest, filters: Query[ChangesQuery]) -> dict[str, Any]:
    f, w = _waterfall(request, filters)
    counts = w.counts()
    return {
        "node": f.node.key,
        "period": f.period.key,
        "since": f.since.isoformat(),
        "currency": company_currency(),
        "start": _m(w.start),
        "start_deals": w.start_count,
        "bars": [{"key": k, "amount": _m(w.bars[k]), "deals": counts[k]} for k in BAR_KEYS],
        "end": _m(w.end),
        "end_deals": w.end_count,
        "missing_rates": sorted(w.missing_rates),
    }


@router.get("/changes/deals", response=list[MoveOut], summary="The deals behind one bar of the waterfall")
def get_change_deals(request: HttpRequest, filters: Query[DealsQuery]) -> list[dict[str, Any]]:
    _f, w = _waterfall(request, filters)
    return [
        {
            "opportunity_id": m.opportunity_id,
            "bar": m.bar,
            "change": _m(m.value),
            "amount_before": _m(m.amount_before),
            "amount_after": _m(m.amount_after),
            "close_before": m.close_before.isoformat() if m.close_before else None,
            "close_after": m.close_after.isoformat() if m.close_after else None,
        }
        for m in w.deals(filters.bar)[:1000]
    ]
