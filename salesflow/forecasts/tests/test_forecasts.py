"""Forecast submissions: the pre-fill rule, who may submit and adjust, the history, the
roll-up sums, accuracy against hand-worked actuals, pages and API with the personas, hostile
input and bounded query counts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from salesflow.analytics.selectors import Node
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.core.periods import period_containing
from salesflow.forecasts.models import ForecastEntry
from salesflow.forecasts.selectors import accuracy, past_periods, rollup, suggested_by_owner
from salesflow.forecasts.services import forecast_adjust, forecast_submit
from salesflow.sales.choices import Outcome
from salesflow.sales.services import opportunity_close, opportunity_update
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.choices import Role
from salesflow.users.models import User

pytestmark = pytest.mark.django_db


def _month(today: date | None = None):  # type: ignore[no-untyped-def]
    return period_containing("month", today or timezone.localdate())


def _deal(owner: User, amount: str, category: str, close: date) -> None:
    opp = make_opportunity(owner, amount=amount, expected_close_date=close)
    opportunity_update(actor=owner, opportunity=opp, forecast_category=category)


def _won(owner: User, amount: str, day: date) -> None:
    opp = make_opportunity(owner, amount=amount, expected_close_date=day, created_at=_noon(day - timedelta(days=1)))
    opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON, closed_on=day)


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), ZoneInfo(settings.TIME_ZONE))


def test_prefill_rule(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    today = timezone.localdate()
    period = _month(today)
    _won(p.rep, "1000.00", today)
    _deal(p.rep, "2000.00", "commit", period.end)
    _deal(p.rep, "3000.00", "best_case", period.end)
    _deal(p.rep, "4000.00", "pipeline", period.end)
    _deal(p.rep, "5000.00", "omitted", period.end)  # never counts
    _deal(p.rep, "7000.00", "commit", period.end + timedelta(days=1))  # next period
    _deal(p.teammate, "9000.00", "commit", period.end)  # someone else
    s = suggested_by_owner([p.rep.pk], period, today)
    f = s.of(p.rep.pk)
    assert (f.commit, f.best_case, f.pipeline) == (Decimal("3000.00"), Decimal("6000.00"), Decimal("10000.00"))
    assert suggested_by_owner(None, period, today).total.commit == Decimal("12000.00")


def test_submit_keeps_history_and_audits(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    key = _month().key
    first = forecast_submit(actor=p.rep, rep=p.rep, period_key=key, commit="100", best_case="200", pipeline="300")
    second = forecast_submit(actor=p.rep, rep=p.rep, period_key=key, commit="150", best_case="200", pipeline="300")
    assert (first.revision, second.revision) == (1, 2)
    assert ForecastEntry.objects.filter(node_key=f"rep:{p.rep.pk}").count() == 2
    assert second.suggested_commit == Decimal("0.00")
    events = AuditEvent.objects.filter(verb="forecasts.submission.created").order_by("id")
    assert [e.data["commit"] for e in events] == ["100.00", "150.00"]
    assert events[0].data["node"] == f"rep:{p.rep.pk}" and events[0].data["revision"] == 1
    # the same figures again at once (a double click) return the latest entry, no new row
    again = forecast_submit(actor=p.rep, rep=p.rep, period_key=key, commit="150", best_case="200", pipeline="300")
    assert again.pk == second.pk and ForecastEntry.objects.count() == 2


def test_who_may_submit(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    key = _month().key
    figures = {"period_key": key, "commit": "1", "best_case": "2", "pipeline": "3"}
    for actor in (p.teammate, p.manager, p.admin, p.support, p.outsider):
        with pytest.raises(Forbidden):
            forecast_submit(actor=actor, rep=p.rep, **figures)
    with pytest.raises(Forbidden):
        forecast_submit(actor=p.assistant, rep=p.teammate, **figures)  # not delegated
    entry = forecast_submit(actor=p.assistant, rep=p.rep, **figures)  # delegated
    assert entry.node_key == f"rep:{p.rep.pk}" and entry.author == p.assistant
    forecast_submit(actor=p.manager, rep=p.manager, **figures)  # a manager who sells: their own
    assert ForecastEntry.objects.count() == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"period_key": "2026"}, "period"),
        ({"period_key": "2026-12-W1"}, "period"),
        ({"period_key": "2019-01"}, "period"),  # over
        ({"period_key": "x" * 50_000}, "period"),
        ({"commit": "NaN"}, "commit"),
        ({"commit": "-1"}, "commit"),
        ({"commit": "1" * 30}, "commit"),
        ({"commit": "1.005"}, "commit"),
        ({"best_case": "0.50"}, "best_case"),  # below commit
        ({"pipeline": "1.50"}, "pipeline"),  # below best case
        ({"note": "a\x00b"}, "note"),
        ({"note": "x" * 1001}, "note"),
    ],
)
def test_submission_refuses_bad_input(personas, changes: dict[str, str], field: str) -> None:  # type: ignore[no-untyped-def]
    p = personas
    args = {"period_key": _month().key, "commit": "1", "best_case": "2", "pipeline": "3", **changes}
    with pytest.raises(ValidationFailed) as exc:
        forecast_submit(actor=p.rep, rep=p.rep, **args)  # type: ignore[arg-type]
    assert field in exc.value.field_errors
    assert ForecastEntry.objects.count() == 0 and not AuditEvent.objects.filter(verb__startswith="forecasts.").exists()


def test_who_may_adjust(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    key = _month().key
    figures = {"period_key": key, "commit": "10", "best_case": "20", "pipeline": "30"}
    team_a, dept, team_b = Node("team", p.team_a.pk), Node("team", p.department.pk), Node("team", p.team_b.pk)
    forecast_adjust(actor=p.manager, node=team_a, **figures)
    forecast_adjust(actor=p.manager, node=dept, **figures)
    forecast_adjust(actor=p.admin, node=Node("company"), **figures)
    forecast_adjust(actor=p.admin, node=team_b, **figures)
    for actor, node in [
        (p.other_manager, team_a),
        (p.manager, team_b),
        (p.manager, Node("company")),
        (p.rep, team_a),
        (p.assistant, team_a),
        (p.support, team_a),
        (p.admin, Node("rep", p.rep.pk)),
    ]:
        with pytest.raises(Forbidden):
            forecast_adjust(actor=actor, node=node, **figures)
    assert ForecastEntry.objects.filter(kind="adjustment").count() == 4
    assert AuditEvent.objects.filter(verb="forecasts.adjustment.created").count() == 4


def test_rollup_sums(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    today = timezone.localdate()
    key = _month(today).key
    forecast_submit(actor=p.rep, rep=p.rep, period_key=key, commit="100", best_case="200", pipeline="300")
    forecast_submit(actor=p.teammate, rep=p.teammate, period_key=key, commit="50", best_case="60", pipeline="70")
    forecast_submit(actor=p.manager, rep=p.manager, period_key=key, commit="5", best_case="5", pipeline="5")
    period = _month(today)
    dept = rollup(Node("team", p.department.pk, p.department.name), period, today)
    # nobody adjusted yet: team A's figure is the sum below it
    assert dept.level.submitted.commit == Decimal("155.00")
    assert dept.level.below.commit == Decimal("155.00")
    assert dept.level.entry is None and dept.level.figure.commit == Decimal("155.00")
    forecast_adjust(
        actor=p.manager, node=Node("team", p.team_a.pk), period_key=key, commit="120", best_case="250", pipeline="400"
    )
    dept = rollup(Node("team", p.department.pk, p.department.name), period, today)
    rows = {r.node.key: r for r in dept.rows}
    assert set(rows) == {f"rep:{p.manager.pk}", f"team:{p.team_a.pk}"}
    team_row = rows[f"team:{p.team_a.pk}"]
    assert team_row.figure.commit == Decimal("120.00") and team_row.submitted.commit == Decimal("150.00")
    assert (team_row.people, team_row.submitted_people) == (2, 2)
    assert dept.level.submitted.commit == Decimal("155.00")  # what was submitted below
    assert dept.level.below.commit == Decimal("125.00")  # the level below's adjusted figures
    assert dept.level.below.pipeline == Decimal("405.00")
    company = rollup(Node("company"), period, today)
    assert company.level.submitted.commit == Decimal("155.00")  # outsider and other manager did not submit
    assert company.level.below.commit == Decimal("125.00")
    # the adjustment stored the sum below it at that moment as its suggestion
    adj = ForecastEntry.objects.get(kind="adjustment")
    assert adj.suggested_commit == Decimal("150.00")


def test_accuracy_against_hand_worked_actuals(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    today = timezone.localdate()
    last, before = past_periods("month", today, 2)[::-1]
    # last month: rep forecast 1000 (then 1200, the latest before the end counts), won 1500;
    # teammate 500, won 0; team A adjusted 2000. A submission after the end does not count.
    day = last.start + timedelta(days=2)
    forecast_submit(
        actor=p.rep,
        rep=p.rep,
        period_key=last.key,
        commit="1000",
        best_case="1000",
        pipeline="1000",
        written_at=_noon(day),
    )
    forecast_submit(
        actor=p.rep,
        rep=p.rep,
        period_key=last.key,
        commit="1200",
        best_case="1200",
        pipeline="1200",
        written_at=_noon(day + timedelta(days=1)),
    )
    forecast_submit(
        actor=p.teammate,
        rep=p.teammate,
        period_key=last.key,
        commit="500",
        best_case="500",
        pipeline="500",
        written_at=_noon(day),
    )
    forecast_adjust(
        actor=p.manager,
        node=Node("team", p.team_a.pk),
        period_key=last.key,
        commit="2000",
        best_case="2000",
        pipeline="2000",
        written_at=_noon(day),
    )
    late = ForecastEntry.objects.create(
        node_key=f"rep:{p.rep.pk}", period_key=last.key, period_end=last.end, kind="submission", revision=9,
        commit=Decimal("1500"), best_case=Decimal("1500"), pipeline=Decimal("1500"), currency="CNY", author=p.rep,
        created_at=_noon(last.end + timedelta(days=1)),
    )  # fmt: skip
    assert late.pk
    _won(p.rep, "1500.00", last.start + timedelta(days=5))
    _won(p.rep, "800.00", before.start + timedelta(days=5))
    acc = accuracy(Node("team", p.team_a.pk, p.team_a.name), [before, last])
    rows = {r.node.key: r for r in acc.rows}
    assert next(iter(rows)) == f"team:{p.team_a.pk}"
    team = rows[f"team:{p.team_a.pk}"].cells
    assert team[0].forecast is None and team[0].actual == Decimal("800.00")
    assert (team[1].forecast, team[1].actual, team[1].error, team[1].ape) == (
        Decimal("2000.00"), Decimal("1500.00"), Decimal("500.00"), Decimal("33.3"),
    )  # fmt: skip
    rep = rows[f"rep:{p.rep.pk}"].cells[1]
    assert (rep.forecast, rep.error, rep.ape) == (Decimal("1200.00"), Decimal("-300.00"), Decimal("20.0"))
    mate = rows[f"rep:{p.teammate.pk}"].cells[1]
    assert (mate.forecast, mate.actual, mate.error, mate.ape) == (
        Decimal("500.00"),
        Decimal("0.00"),
        Decimal("500.00"),
        None,
    )
    assert rows[f"rep:{p.rep.pk}"].mape == Decimal("20.0")
    # the department has no figure of its own: the sum of the level below (team A adjusted)
    dept = accuracy(Node("team", p.department.pk, p.department.name), [last])
    cell = dept.rows[0].cells[0]
    assert (cell.forecast, cell.source, cell.actual) == (Decimal("2000.00"), "below", Decimal("1500.00"))


# ------------------------------------------------------------------------------------- pages


def test_rep_submits_on_the_page_and_manager_adjusts(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    key = _month().key
    _deal(p.rep, "2000.00", "commit", _month().end)
    rep = client_for(p.rep, "zh-hans")
    page = rep.get(f"/forecasts/?period={key}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="2000.00"' in html  # pre-filled commit
    bad = rep.post(f"/forecasts/?period={key}", {"commit": "300", "best_case": "200", "pipeline": "400"})
    assert bad.status_code == 400 and ForecastEntry.objects.count() == 0
    ok = rep.post(
        f"/forecasts/?period={key}", {"commit": "2000", "best_case": "2500", "pipeline": "3000", "note": "稳"}
    )
    assert ok.status_code == 302
    manager = client_for(p.manager)
    grid = manager.get(f"/forecasts/team/?node=team:{p.team_a.pk}&period={key}")
    assert grid.status_code == 200
    assert "¥2,000.00" in grid.content.decode()
    adj = manager.post(
        f"/forecasts/team/?node=team:{p.team_a.pk}&period={key}",
        {"commit": "1800", "best_case": "2600", "pipeline": "3000"},
    )
    assert adj.status_code == 302
    assert ForecastEntry.objects.get(kind="adjustment").commit == Decimal("1800.00")
    # a rep may not see the team; the other manager may not post to it
    assert rep.get(f"/forecasts/team/?node=team:{p.team_a.pk}").status_code == 404
    assert (
        client_for(p.other_manager).post(f"/forecasts/team/?node=team:{p.team_a.pk}&period={key}", {}).status_code
        == 404
    )


def test_pages_for_every_persona(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    for who in ("admin", "manager", "rep", "teammate", "assistant", "outsider", "other_manager"):
        client = client_for(getattr(p, who))
        for url in ("/forecasts/", "/forecasts/team/", "/forecasts/accuracy/", "/forecasts/changes/"):
            assert client.get(url).status_code == 200, (who, url)
    for url in ("/forecasts/", "/forecasts/team/", "/forecasts/accuracy/", "/forecasts/changes/"):
        assert client_for(p.support).get(url).status_code == 404  # support sees no money
    assert client_for(p.outsider).get(f"/forecasts/changes/?node=rep:{p.rep.pk}").status_code == 404
    assert client_for(p.rep).get("/forecasts/?period=2026").status_code == 400
    assert client_for(p.assistant).get(f"/forecasts/?rep={p.teammate.pk}").status_code == 404
    assert client_for(p.assistant).get(f"/forecasts/?rep={p.rep.pk}").status_code == 200


def _more_reps(personas, n: int) -> None:  # type: ignore[no-untyped-def]
    key = _month().key
    for i in range(n):
        u = User.objects.create_user(username=f"extra{i}", password="x", role=Role.REP, team=personas.team_a)
        make_opportunity(u, amount="100.00", expected_close_date=_month().end)
        forecast_submit(actor=u, rep=u, period_key=key, commit="1", best_case="2", pipeline="3")


@pytest.mark.parametrize("url", ["/forecasts/team/", "/forecasts/accuracy/", "/forecasts/changes/", "/forecasts/"])
def test_query_count_does_not_grow_with_people(personas, client_for, django_assert_max_num_queries, url: str) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(personas.manager)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _more_reps(personas, 8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


# --------------------------------------------------------------------------------------- API


def test_api_submit_adjust_rollup(personas, api_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    key = _month().key
    rep = api_for(p.rep)
    r = rep.post("/forecasts/submissions", {"period": key, "commit": "100.00", "best_case": "200", "pipeline": 300})
    assert r.status_code == 201, r.content
    assert r.json()["revision"] == 1 and r.json()["commit"] == "100.00"
    assert rep.get("/forecasts/suggested", period=key).json()["figures"]["commit"] == "0.00"
    manager = api_for(p.manager)
    r = manager.post(
        "/forecasts/adjustments",
        {"period": key, "node": f"team:{p.team_a.pk}", "commit": "90", "best_case": "200", "pipeline": "300"},
    )
    assert r.status_code == 201, r.content
    grid = manager.get("/forecasts/rollup", node=f"team:{p.team_a.pk}", period=key).json()
    assert grid["level"]["own"]["commit"] == "90.00" and grid["level"]["submitted"]["commit"] == "100.00"
    assert {row["node"]: row["figure"]["commit"] for row in grid["rows"]}[f"rep:{p.rep.pk}"] == "100.00"
    hist = manager.get("/forecasts/history", node=f"team:{p.team_a.pk}", period=key).json()
    assert [h["kind"] for h in hist] == ["adjustment", "submission"]
    # unseen levels are 404; a seen level you may not adjust is 403
    assert api_for(p.other_manager).get("/forecasts/rollup", node=f"team:{p.team_a.pk}").status_code == 404
    assert (
        api_for(p.other_manager)
        .post(
            "/forecasts/adjustments",
            {"period": key, "node": f"team:{p.team_a.pk}", "commit": "1", "best_case": "1", "pipeline": "1"},
        )
        .status_code
        == 404
    )
    assert (
        manager.post(
            "/forecasts/submissions",
            {"period": key, "rep_id": p.rep.pk, "commit": "1", "best_case": "1", "pipeline": "1"},
        ).status_code
        == 403
    )
    assert (
        rep.post(
            "/forecasts/submissions",
            {"period": key, "rep_id": p.outsider.pk, "commit": "1", "best_case": "1", "pipeline": "1"},
        ).status_code
        == 404
    )
    assert api_for(p.support).get("/forecasts/rollup").status_code == 404
    assert manager.get("/forecasts/accuracy", node=f"team:{p.team_a.pk}", kind="quarter", count=2).status_code == 200
    changes = manager.get("/forecasts/changes", node=f"team:{p.team_a.pk}", period=key)
    assert changes.status_code == 200 and next(b["key"] for b in changes.json()["bars"]) == "new"
    assert manager.get("/forecasts/changes/deals", node=f"team:{p.team_a.pk}", bar="won").json() == []


HOSTILE_BODIES = [
    ({"commit": "NaN"}, "commit"),
    ({"commit": True}, "commit"),
    ({"commit": 1e20}, "commit"),
    ({"commit": "9" * 50}, "commit"),
    ({"period": "x" * 50_000}, "period"),
    ({"period": "2026-Q9"}, "period"),
    ({"note": "a\x00b"}, "note"),
    ({"note": "x" * 50_000}, "note"),
    ({"surprise": 1}, "surprise"),
    ({"best_case": "0"}, "best_case"),
]


@pytest.mark.parametrize(("change", "field"), HOSTILE_BODIES)
def test_api_hostile_bodies(personas, api_for, change: dict[str, object], field: str) -> None:  # type: ignore[no-untyped-def]
    body = {"period": _month().key, "commit": "1", "best_case": "2", "pipeline": "3", **change}
    r = api_for(personas.rep).post("/forecasts/submissions", body)
    assert r.status_code == 400, r.content
    assert field in r.content.decode()
    assert ForecastEntry.objects.count() == 0


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/forecasts/rollup", {"period": "2026"}, "period"),
        ("/forecasts/rollup", {"period": "x" * 5000}, "period"),
        ("/forecasts/changes", {"since": "2026-13-01"}, "since"),
        ("/forecasts/changes", {"since": "2999-01-01"}, "since"),
        ("/forecasts/changes/deals", {"bar": "sideways"}, "bar"),
        ("/forecasts/accuracy", {"count": "999"}, "count"),
        ("/forecasts/accuracy", {"kind": "year"}, "kind"),
        ("/forecasts/changes/deals", {"bar": "won", "since": "yesterday"}, "since"),
    ],
)
def test_api_hostile_queries(personas, api_for, path: str, params: dict[str, str], field: str) -> None:  # type: ignore[no-untyped-def]
    r = api_for(personas.manager).get(path, **params)
    assert r.status_code == 400, r.content
    assert field in r.content.decode()


def test_api_malformed_json_and_unseen_nodes(personas, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(personas.rep)
    r = api.client.post("/api/v1/forecasts/submissions", "{not json", content_type="application/json")
    assert r.status_code == 400
    for node in ("team:999999", "rep:" + "9" * 30, "company", "team:abc"):
        assert api.get("/forecasts/rollup", node=node).status_code == 404, node
