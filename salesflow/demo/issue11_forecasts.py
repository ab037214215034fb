"""Demo forecast submissions (销售预测, issue 11): the last three months and this month.

Every demo person who sells submits through ``forecasts.services.forecast_submit`` (backdated
with ``written_at``): for past months a commit near what they actually won that month (±20%,
so the accuracy page has honest errors), revised once mid-month by some; for this month the
figures their deals suggest now, rounded to hundreds. Each demo manager then adjusts each team
they manage (``forecast_adjust``) a little above or below the sum of its submissions, and the
demo administrator adjusts the company. Deterministic (seeded); a second run adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from salesflow.analytics.selectors import Node, facts_for
from salesflow.core.periods import Period, period_containing
from salesflow.forecasts.models import ForecastEntry
from salesflow.forecasts.selectors import SELLING_ROLES, Figures, can_adjust, suggested_by_owner
from salesflow.forecasts.services import forecast_adjust, forecast_submit
from salesflow.users.models import Team, User

HUNDRED = Decimal("100")
NOTES = [
    "两个重点项目月底前签约，把握较大。",
    "客户预算已确认，等待法务审核合同。",
    "一个大单推迟到下月，其余按计划推进。",
    "",
    "新客户进展顺利，但金额还在谈。",
    "",
]
MANAGER_NOTES = ["结合周会复盘，略作下调。", "团队整体节奏良好，按提交数上调。", ""]


def _round(value: Decimal) -> Decimal:
    return (value / HUNDRED).quantize(Decimal(1), ROUND_HALF_UP) * HUNDRED


def _at(day: dt.date, hour: int) -> dt.datetime:
    """``hour`` o'clock of ``day`` in the company time zone, never later than now."""
    return min(dt.datetime.combine(day, dt.time(hour), ZoneInfo(settings.TIME_ZONE)), timezone.now())


def _spread(commit: Decimal, rng: random.Random) -> Figures:
    commit = max(_round(commit), Decimal(0))
    best = _round(commit * Decimal(str(rng.uniform(1.15, 1.45))))
    return Figures(commit, best, _round(best * Decimal(str(rng.uniform(1.3, 1.8)))))


def _periods(today: dt.date) -> list[Period]:
    this = period_containing("month", today)
    out = [this]
    while len(out) < 4:
        out.insert(0, period_containing("month", out[0].start - dt.timedelta(days=1)))
    return out


def write_forecasts(users: dict[str, User], today: dt.date) -> dict[str, int]:
    """Submissions and adjustments for the last three months and this month; returns counts."""
    rng = random.Random(11)  # noqa: S311 - reproducible demo data, not secrets
    periods = _periods(today)
    people = sorted(
        (u for u in users.values() if u.is_active and u.role in SELLING_ROLES and u.team_id is not None),
        key=lambda u: u.pk,
    )
    if not people or ForecastEntry.objects.filter(author__in=people).exists():
        return {"forecast submissions": 0, "forecast adjustments": 0}
    facts = facts_for("won_revenue", Node("company"), periods[0].start, periods[-2].end)
    won: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for row in facts.rows:
        won[(row.owner_id, period_containing("month", row.day).key)] += row.value
    current = periods[-1]
    suggestion = suggested_by_owner([u.pk for u in people], current, today)
    submissions = adjustments = 0
    for period in periods:
        past = period.end < today
        first_day = period.start + dt.timedelta(days=min(4, max((today - period.start).days, 0)))
        for person in people:
            if past:
                actual = won[(person.pk, period.key)]
                base = actual * Decimal(str(rng.uniform(0.8, 1.2))) if actual else Decimal(rng.randint(0, 3) * 10000)
            else:
                base = suggestion.of(person.pk).commit
            figures = _spread(base, rng)
            forecast_submit(
                actor=person,
                rep=person,
                period_key=period.key,
                commit=figures.commit,
                best_case=figures.best_case,
                pipeline=figures.pipeline,
                note=NOTES[(person.pk + len(period.key)) % len(NOTES)],
                written_at=_at(first_day, 9 + person.pk % 8),
            )
            submissions += 1
            revise_day = period.start + dt.timedelta(days=14)
            if past and rng.random() < 0.4:
                revised = _spread(base * Decimal(str(rng.uniform(0.9, 1.1))), rng)
                forecast_submit(
                    actor=person,
                    rep=person,
                    period_key=period.key,
                    commit=revised.commit,
                    best_case=revised.best_case,
                    pipeline=revised.pipeline,
                    note="月中复盘后更新。",
                    written_at=_at(revise_day, 17),
                )
                submissions += 1
        adjust_day = first_day + dt.timedelta(days=1) if past else first_day
        adjust_at = _at(adjust_day, 18)
        for manager in (u for u in users.values() if u.is_active and Team.objects.filter(manager=u).exists()):
            for team in Team.objects.filter(manager=manager).order_by("pk"):
                node = Node("team", team.pk, team.name)
                if not can_adjust(manager, node):
                    continue
                adjustments += _adjust(manager, node, period, adjust_at, rng)
        admin = next((u for u in users.values() if u.is_active and u.is_admin), None)
        if admin is not None:
            adjustments += _adjust(admin, Node("company"), period, _at(adjust_day, 20), rng)
    return {"forecast submissions": submissions, "forecast adjustments": adjustments}


def _adjust(actor: User, node: Node, period: Period, at: dt.datetime, rng: random.Random) -> int:
    from salesflow.forecasts.selectors import rollup

    below = rollup(node, period, at.date()).level.below
    if below.commit == 0:
        return 0
    factor = Decimal(str(rng.uniform(0.88, 1.08)))
    commit = _round(below.commit * factor)
    best = max(_round(below.best_case * factor), commit)
    forecast_adjust(
        actor=actor,
        node=node,
        period_key=period.key,
        commit=commit,
        best_case=best,
        pipeline=max(_round(below.pipeline), best),
        note=MANAGER_NOTES[rng.randrange(len(MANAGER_NOTES))],
        written_at=at,
    )
    return 1


def delete_forecasts(user_ids: list[int]) -> int:
    """Remove the forecast entries written by the demo users (they PROTECT their authors)."""
    deleted, _ = ForecastEntry.objects.filter(author_id__in=user_ids).delete()
    return deleted
