"""The pre-filled facts of a report against an independent computation over the same rows,
at the boundaries of the author's time zone, for a day and a week."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from salesflow.activities.models import Activity
from salesflow.leads.models import Lead
from salesflow.sales.models import Opportunity, StageChange
from salesflow.users.models import User
from salesflow.users.testing import Personas
from salesflow.workreports.selectors import report_facts, team_reports, team_row
from salesflow.workreports.tests.factories import at, close, deal, done_activity, lead_at, move

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 18)  # a Wednesday
MONDAY = date(2026, 11, 16)


def _world(rep: User, other: User, zone: str) -> None:
    """Rows in, just inside and just outside the day and the week, and other people's rows."""
    account_deal = deal(rep, created_at=at(DAY, 9, 0, zone), name="星云扩容")
    done_activity(rep, at(DAY, 0, 0, zone), "visit", opportunity=account_deal, account=account_deal.account)
    done_activity(rep, at(DAY, 23, 59, zone), "call")
    done_activity(rep, at(DAY, 12, 0, zone), "call")
    done_activity(rep, at(DAY - timedelta(days=1), 23, 59, zone), "email")  # the day before (same week)
    done_activity(rep, at(DAY + timedelta(days=1), 0, 0, zone), "demo")  # the day after (same week)
    done_activity(rep, at(MONDAY - timedelta(days=1), 23, 59, zone), "call")  # Sunday before the week
    done_activity(rep, at(MONDAY + timedelta(days=7), 0, 0, zone), "call")  # next Monday
    Activity.objects.create(owner=rep, kind="task", subject="未完成", done=False, due_at=at(DAY, 10, 0, zone))
    done_activity(other, at(DAY, 12, 0, zone), "call")

    old = deal(rep, created_at=at(DAY - timedelta(days=30), 9, 0, zone))
    move(old, at(DAY, 10, 0, zone))
    move(old, at(DAY, 11, 0, zone), to_code="prospect", from_code="qualification")  # back: a regression
    move(old, at(DAY - timedelta(days=2), 10, 0, zone))  # Monday: in the week only
    move(old, at(DAY, 8, 0, zone), from_code=None)  # a deal's first stage is not a move
    theirs = deal(other, created_at=at(DAY, 9, 0, zone))
    move(theirs, at(DAY, 10, 0, zone))

    lead_at(rep, at(DAY, 0, 1, zone), name="新线索")
    lead_at(rep, at(DAY - timedelta(days=1), 23, 59, zone), name="昨天的线索")
    lead_at(other, at(DAY, 10, 0, zone))

    close(deal(rep, created_at=at(DAY - timedelta(days=40), 9, 0, zone), amount="120000.50"), "won", DAY)
    close(deal(rep, created_at=at(DAY - timedelta(days=40), 9, 0, zone)), "lost", DAY)
    close(deal(rep, created_at=at(DAY - timedelta(days=40), 9, 0, zone)), "won", DAY + timedelta(days=4))  # Sunday
    close(deal(other, created_at=at(DAY - timedelta(days=40), 9, 0, zone)), "won", DAY)


def _expected(rep: User, zone: str, first: date, last: date) -> dict[str, Any]:
    """The same facts computed in Python over every row (no shared code with the selector)."""
    tz = ZoneInfo(zone)

    def local(moment: datetime | None) -> date | None:
        return moment.astimezone(tz).date() if moment is not None else None

    def inside(moment: datetime | None) -> bool:
        day = local(moment)
        return day is not None and first <= day <= last

    acts = [a for a in Activity.objects.all() if a.owner_id == rep.pk and a.done and inside(a.done_at)]
    moves = [
        m
        for m in StageChange.objects.select_related("opportunity")
        if m.opportunity.owner_id == rep.pk and m.from_stage_id is not None and inside(m.changed_at)
    ]
    leads = [lead for lead in Lead.objects.all() if lead.owner_id == rep.pk and inside(lead.created_at)]
    deals = [d for d in Opportunity.objects.all() if d.owner_id == rep.pk and inside(d.created_at)]
    won = [
        d
        for d in Opportunity.objects.all()
        if d.owner_id == rep.pk and d.outcome == "won" and d.closed_on and first <= d.closed_on <= last
    ]
    lost = [
        d
        for d in Opportunity.objects.all()
        if d.owner_id == rep.pk and d.outcome == "lost" and d.closed_on and first <= d.closed_on <= last
    ]
    by_kind: dict[str, int] = {}
    for a in acts:
        by_kind[a.kind] = by_kind.get(a.kind, 0) + 1
    return {
        "counts": {
            "activities": len(acts),
            "stage_moves": len(moves),
            "new_leads": len(leads),
            "new_deals": len(deals),
            "won": len(won),
            "lost": len(lost),
        },
        "by_kind": by_kind,
        "ids": {
            "activities": sorted(a.pk for a in acts),
            "stage_moves": sorted(m.pk for m in moves),
            "new_leads": sorted(lead.pk for lead in leads),
            "new_deals": sorted(d.pk for d in deals),
            "won": sorted(d.pk for d in won),
            "lost": sorted(d.pk for d in lost),
        },
        "regressions": sorted(m.pk for m in moves if (m.to_position or 0) < (m.from_position or 0)),
    }


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/Los_Angeles"])
@pytest.mark.parametrize("kind", ["daily", "weekly"])
def test_facts_match_an_independent_computation(personas: Personas, zone: str, kind: str) -> None:
    rep = personas.rep
    rep.time_zone = zone
    rep.save(update_fields=["time_zone"])
    _world(rep, personas.teammate, zone)
    first, last = (DAY, DAY) if kind == "daily" else (MONDAY, MONDAY + timedelta(days=6))

    facts = report_facts(author_id=rep.pk, kind=kind, period_start=DAY, time_zone=zone)
    expected = _expected(rep, zone, first, last)

    assert facts["period_start"] == first.isoformat() and facts["period_end"] == last.isoformat()
    assert facts["counts"] == expected["counts"]
    assert facts["activities_by_kind"] == expected["by_kind"]
    for key, ids in expected["ids"].items():
        assert sorted(row["id"] for row in facts[key]) == ids, key
    assert sorted(m["id"] for m in facts["stage_moves"] if m["regression"]) == expected["regressions"]
    # the day has what the set-up placed in it (guards the set-up itself)
    if kind == "daily":
        assert facts["counts"] == {
            "activities": 3,
            "stage_moves": 2,
            "new_leads": 1,
            "new_deals": 1,
            "won": 1,
            "lost": 1,
        }
        assert facts["activities_by_kind"] == {"call": 2, "visit": 1}
        assert facts["won_amounts"] == [{"currency": "CNY", "amount": "120000.50"}]
        visit = next(a for a in facts["activities"] if a["kind"] == "visit")
        assert visit["opportunity"]["name"] == "星云扩容" and visit["account"] is not None
    else:
        assert facts["counts"]["activities"] == 5 and facts["counts"]["won"] == 2


@pytest.mark.parametrize("kind", ["daily", "weekly"])
def test_team_page_live_counts_equal_the_facts_in_each_persons_zone(personas: Personas, kind: str) -> None:
    """The team page counts with SQL (each person's period in their own zone): the same numbers."""
    personas.teammate.time_zone = "America/Los_Angeles"
    personas.teammate.save(update_fields=["time_zone"])
    _world(personas.rep, personas.teammate, "Asia/Shanghai")
    _world(personas.teammate, personas.rep, "America/Los_Angeles")
    rows = {row.person.pk: row for row in map(team_row, team_reports(personas.manager, kind=kind, period_start=DAY))}
    assert set(rows) == {personas.rep.pk, personas.teammate.pk}  # reps of the subtree, not the assistant
    for person in (personas.rep, personas.teammate):
        facts = report_facts(author_id=person.pk, kind=kind, period_start=DAY, time_zone=person.time_zone)
        assert rows[person.pk].counts == facts["counts"], person.username


def test_stage_moves_are_the_authors_moves_and_the_moves_of_their_deals(personas: Personas) -> None:
    """A report counts the moves of deals the author owned when they moved, whoever moved
    them (a manager's override shows "moved by"), and the moves the author made on other
    people's deals they may see (shown with the owner) — not moves on deals they cannot see."""
    from salesflow.users.services import share_grant

    zone = "Asia/Shanghai"
    rep, teammate, outsider, manager = personas.rep, personas.teammate, personas.outsider, personas.manager
    mine = deal(rep, created_at=at(DAY - timedelta(days=9), 9, 0, zone), name="我的商机")
    by_manager = move(mine, at(DAY, 10, 0, zone))
    StageChange.objects.filter(pk=by_manager.pk).update(changed_by=manager)
    shared = deal(teammate, created_at=at(DAY - timedelta(days=9), 9, 0, zone), name="李娜的商机")
    share_grant(actor=teammate, target=shared, grantee_user=rep, access="write")
    helped = move(shared, at(DAY, 11, 0, zone))
    StageChange.objects.filter(pk=helped.pk).update(changed_by=rep)
    hidden = deal(outsider, created_at=at(DAY - timedelta(days=9), 9, 0, zone), name="看不到的商机")
    unseen = move(hidden, at(DAY, 12, 0, zone))
    StageChange.objects.filter(pk=unseen.pk).update(changed_by=rep)
    move(mine, at(DAY, 8, 0, zone), from_code=None)  # a first stage: not a move

    facts = report_facts(author_id=rep.pk, kind="daily", period_start=DAY, time_zone=zone)
    assert facts["counts"]["stage_moves"] == 2
    rows = {row["id"]: row for row in facts["stage_moves"]}
    assert set(rows) == {by_manager.pk, helped.pk}
    assert (rows[by_manager.pk]["moved_by"], rows[by_manager.pk]["owner"]) == (
        {"id": manager.pk, "name": str(manager)},
        None,
    )
    assert (rows[helped.pk]["moved_by"], rows[helped.pk]["owner"]) == (None, {"id": teammate.pk, "name": str(teammate)})
    # the same moves seen from the owners' reports
    theirs = report_facts(author_id=teammate.pk, kind="daily", period_start=DAY, time_zone=zone)
    assert [(r["id"], r["moved_by"]) for r in theirs["stage_moves"]] == [(helped.pk, {"id": rep.pk, "name": str(rep)})]
    outsiders = report_facts(author_id=outsider.pk, kind="daily", period_start=DAY, time_zone=zone)
    assert [r["id"] for r in outsiders["stage_moves"]] == [unseen.pk]


def test_report_page_names_who_moved_and_whose_deal(personas: Personas, client_for: Any) -> None:
    from salesflow.workreports.services import report_get_or_create_draft

    rep, manager = personas.rep, personas.manager
    zone = rep.zone.key
    mine = deal(rep, created_at=at(DAY - timedelta(days=9), 9, 0, zone), name="我的商机")
    change = move(mine, at(DAY, 10, 0, zone))
    StageChange.objects.filter(pk=change.pk).update(changed_by=manager)
    report, _created = report_get_or_create_draft(actor=rep, kind="daily", day=DAY)
    for language, text in (("en", f"moved by {manager}"), ("zh-hans", f"由{manager}推进")):
        page = client_for(rep, language).get(f"/work-reports/{report.pk}/").content.decode()
        assert text in page, language
