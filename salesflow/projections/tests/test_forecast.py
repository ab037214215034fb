"""The stored revenue forecast: the job's series against a plain loop over the deals, the
page and the API (visibility, both languages, constant query count, hostile input), the
administrators' recompute through the real worker, and ``salesflow forecast-backtest``."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from salesflow.analytics.selectors import Node
from salesflow.core.testing import run_worker
from salesflow.projections.models import ForecastRun
from salesflow.projections.services import compute_node, forecast_recompute
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db

AMOUNTS = ["1200.00", "800.50", "1500.00", "950.00", "1100.25", "700.00", "1300.00", "1000.00"]


def _month_back(today: date, k: int) -> date:
    d = today.replace(day=1)
    for _ in range(k):
        d = (d - timedelta(days=1)).replace(day=1)
    return d


def _won(owner: Any, amount: str, day: date) -> Opportunity:
    opp = make_opportunity(owner, amount=amount)
    return opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON, closed_on=day)


@pytest.fixture
def history(personas: Personas) -> date:
    """Fourteen months of won deals for the rep (team A) and a few for the outsider (team B)."""
    today = timezone.localdate()
    for k in range(1, 15):
        month = _month_back(today, k)
        _won(personas.rep, AMOUNTS[k % len(AMOUNTS)], month + timedelta(days=9))
        if k % 3 == 0:
            _won(personas.outsider, "5000.00", month + timedelta(days=2))
    _won(personas.rep, "99999.00", today)  # the current, incomplete month is left out
    return today


def _loop_by_month(owners: set[int], today: date) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    this_month = today.replace(day=1)
    for o in Opportunity.objects.filter(outcome=Outcome.WON):
        if o.owner_id in owners and o.closed_on and o.closed_on < this_month:
            key = o.closed_on.replace(day=1).isoformat()
            sums[key] = sums.get(key, Decimal(0)) + o.amount
    return sums


def test_job_series_match_a_loop_and_the_run_is_stored(personas: Personas, history: date) -> None:
    today = history
    runs = compute_node(Node("company"), today, metrics=("won_revenue",))
    runs += compute_node(Node("team", personas.team_a.pk, personas.team_a.name), today, metrics=("won_revenue",))
    assert len(runs) == 4 and ForecastRun.objects.count() == 4
    company = ForecastRun.objects.get(node_key="company", metric="won_revenue", freq="M")
    expected = _loop_by_month({personas.rep.pk, personas.outsider.pk}, today)
    got = {p: Decimal(v) for p, v in company.history}
    assert {k: v for k, v in got.items() if v} == expected
    assert company.history[0][0] == min(expected)  # leading empty months trimmed
    assert company.history[-1][0] == _month_back(today, 1).isoformat()  # the current month is out
    assert len(company.forecast) == 3 and company.horizon == 3
    names = [m["name"] for m in company.table]
    assert names[0] == "Naive" and company.chosen in names
    assert company.baseline in ("Naive", "SeasonalNaive")
    if not company.beat_baseline:
        assert company.chosen == company.baseline and "baseline_not_beaten" in company.notes
    team = ForecastRun.objects.get(node_key=f"team:{personas.team_a.pk}", metric="won_revenue", freq="M")
    assert {p: Decimal(v) for p, v in team.history if Decimal(v)} == _loop_by_month({personas.rep.pk}, today)
    weekly = ForecastRun.objects.get(node_key="company", metric="won_revenue", freq="W")
    assert sum(Decimal(v) for _p, v in weekly.history) <= sum(expected.values())
    assert all(date.fromisoformat(p).weekday() == 0 for p, _v in weekly.history)


def test_a_node_without_history_says_so(personas: Personas) -> None:
    (run, _w) = compute_node(Node("company"), timezone.localdate(), metrics=("collections",))
    assert run.chosen == "" and run.notes == ["no_history"] and run.forecast == []


@pytest.fixture
def stored(personas: Personas, history: date) -> None:
    compute_node(Node("company"), history, metrics=("won_revenue",))
    compute_node(Node("team", personas.department.pk, personas.department.name), history, metrics=("won_revenue",))


def test_page_admin_sees_chart_table_and_chosen_row(personas: Personas, stored: None, client_for: Any) -> None:
    response = client_for(personas.admin).get("/revenue-forecast/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="projections-chart"' in html and 'data-testid="projections-backtest"' in html
    assert html.count('data-testid="projections-chosen-row"') == 1
    run = response.context["run"]
    assert run.node_key == "company" and run.metric == "won_revenue" and run.freq == "M"
    chart = response.context["chart"]
    assert len(chart["categories"]) == len(run.history) + 3
    assert 'data-testid="projections-recompute"' in html
    zh = client_for(personas.admin, "zh-hans").get("/revenue-forecast/").content.decode()
    assert "收入预测" in zh and "回测" in zh


def test_page_visibility(personas: Personas, stored: None, client_for: Any) -> None:
    manager = client_for(personas.manager)
    response = manager.get("/revenue-forecast/")
    assert response.status_code == 200
    nodes = [n.key for n in response.context["nodes"]]
    assert sorted(nodes) == sorted([f"team:{personas.department.pk}", f"team:{personas.team_a.pk}"])
    assert response.context["choice"].node.key == nodes[0]  # the first by name
    response = manager.get("/revenue-forecast/", {"node": f"team:{personas.department.pk}"})
    assert response.context["run"].node_key == f"team:{personas.department.pk}"
    assert 'data-testid="projections-recompute"' not in response.content.decode()
    assert manager.get("/revenue-forecast/", {"node": "company"}).status_code == 404
    assert manager.get("/revenue-forecast/", {"node": f"team:{personas.team_b.pk}"}).status_code == 404
    assert manager.get("/revenue-forecast/", {"node": f"rep:{personas.rep.pk}"}).status_code == 404
    no_run = manager.get("/revenue-forecast/", {"node": f"team:{personas.team_a.pk}"})
    assert no_run.status_code == 200 and 'data-testid="projections-no-run"' in no_run.content.decode()
    for name in ("rep", "support", "assistant"):
        page = client_for(getattr(personas, name)).get("/revenue-forecast/")
        assert page.status_code == 200 and 'data-testid="projections-no-nodes"' in page.content.decode()
        assert client_for(getattr(personas, name)).get("/revenue-forecast/", {"node": "company"}).status_code == 404


def test_page_hostile_input_is_400_or_404(personas: Personas, stored: None, client_for: Any) -> None:
    admin = client_for(personas.admin)
    assert admin.get("/revenue-forecast/", {"metric": "x" * 50000}).status_code == 400
    assert admin.get("/revenue-forecast/", {"freq": "NaN"}).status_code == 400
    assert admin.get("/revenue-forecast/", {"node": "team:99999999999999"}).status_code == 404
    assert admin.get("/revenue-forecast/", {"node": "company\x00"}).status_code in (400, 404)


def test_page_query_count_is_constant(
    personas: Personas, stored: None, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    admin = client_for(personas.admin)
    admin.get("/revenue-forecast/")
    with django_assert_max_num_queries(10):
        assert admin.get("/revenue-forecast/", {"freq": "W"}).status_code == 200


def test_api_same_data_and_errors(personas: Personas, stored: None, api_for: Any) -> None:
    api = api_for(personas.admin)
    response = api.get("/revenue-forecast")
    assert response.status_code == 200, response.content
    body = response.json()
    run = ForecastRun.objects.get(node_key="company", metric="won_revenue", freq="M")
    assert body["chosen"] == run.chosen and body["node"] == "company"
    assert [m["name"] for m in body["models"]] == [m["name"] for m in run.table]
    assert [h["amount"] for h in body["history"]] == [v for _p, v in run.history]
    assert len(body["forecast"]) == 3
    assert api.get("/revenue-forecast", metric="bogus").status_code == 400
    assert "metric" in api.get("/revenue-forecast", metric="bogus").json()["errors"]
    assert api.get("/revenue-forecast", metric="collections").status_code == 404  # not computed
    manager = api_for(personas.manager)
    assert manager.get("/revenue-forecast", node="company").status_code == 404
    assert manager.get("/revenue-forecast", node=f"team:{personas.team_b.pk}").status_code == 404
    own = manager.get("/revenue-forecast", node=f"team:{personas.department.pk}")
    assert own.status_code == 200 and own.json()["node"] == f"team:{personas.department.pk}"
    assert [n["key"] for n in api_for(personas.rep).get("/revenue-forecast/nodes").json()] == []
    assert api_for(personas.rep).get("/revenue-forecast").status_code == 404


def test_recompute_is_for_admins_and_runs_the_job(
    personas: Personas, history: date, api_for: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert api_for(personas.manager).post("/revenue-forecast/recompute", {}).status_code == 403
    assert client_for(personas.rep).post("/revenue-forecast/recompute/").status_code == 403
    assert api_for(personas.admin).post("/revenue-forecast/recompute", {"x": 1}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(personas.admin).post("/revenue-forecast/recompute", {})
    assert response.status_code == 202
    assert run_worker() >= 1
    teams = 3  # department, team A, team B
    assert ForecastRun.objects.count() == (1 + teams) * 2 * 2
    from salesflow.core.models import AuditEvent

    assert AuditEvent.objects.filter(verb="projections.forecast.recompute_requested").count() == 1
    with django_capture_on_commit_callbacks(execute=False):
        page = client_for(personas.admin).post(
            "/revenue-forecast/recompute/", {"metric": "collections", "freq": "W", "node": "company"}
        )
    assert page.status_code == 302 and page["Location"] == "/revenue-forecast/?metric=collections&freq=W&node=company"
    forecast_recompute  # noqa: B018  (the service both interfaces call)


# --------------------------------------------------------------------------- the CLI


def _csv(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_json_shape(tmp_path: Path) -> None:
    path = _csv(tmp_path, "day,total\n2026-01-05,10\n2026-02-03,20\n2026-03-01,30\n2026-04-09,40\n2026-05-01,50\n")
    out = StringIO()
    call_command(
        "forecast-backtest", str(path), freq="M", horizon=1, folds=2, json=True, date_column="day",
        amount_column="total", stdout=out,
    )  # fmt: skip
    assert json.loads(out.getvalue()) == {
        "chosen": "Naive",
        "models": [{"name": "Naive", "mape": 22.5, "smape": 25.3968, "mase": 1.0, "folds": 2}],
    }
    seasonal = "date,amount\n" + "".join(
        f"2023-{m:02d}-15,{100 + (50 if m in (11, 12) else 0)}\n2024-{m:02d}-15,{100 + (50 if m in (11, 12) else 0)}\n"
        f"2025-{m:02d}-15,{100 + (50 if m in (11, 12) else 0)}\n"
        for m in range(1, 13)
    )
    out = StringIO()
    call_command(
        "forecast-backtest", str(_csv(tmp_path, seasonal, "s.csv")), freq="M", horizon=2, json=True, stdout=out
    )
    body = json.loads(out.getvalue())
    assert set(body) == {"chosen", "models"}
    assert [m["name"] for m in body["models"]][:2] == ["Naive", "SeasonalNaive"]
    assert all(set(m) == {"name", "mape", "smape", "mase", "folds"} for m in body["models"])
    table = StringIO()
    call_command("forecast-backtest", str(tmp_path / "s.csv"), freq="M", horizon=2, stdout=table)
    assert "SeasonalNaive (baseline)" in table.getvalue() and "Chosen:" in table.getvalue()


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("date,amount\n2026-01-01,1\n", {"amount_column": "total"}, "Column 'total'"),
        ("date,amount\nyesterday,1\n", {}, "is not a date"),
        ("date,amount\n2026-01-01,abc\n", {}, "is not a number"),
        ("date,amount\n2026-01-01,NaN\n", {}, "not a finite number"),
        ("date,amount\n2026-01-01,1e400\n", {}, "out of range"),
        ('date,amount\n2026-01-01,"1\n', {}, "well-formed CSV"),
        ("date,amount\n2026-01-01,1,9\n", {}, "more fields"),
        ("", {}, "is empty"),
        ("date,amount\n", {}, "no rows"),
        ("date,amount\n2026-01-01,1\n2026-02-01,2\n", {}, "needs at least"),
    ],
)
def test_cli_errors_are_exit_code_2(tmp_path: Path, text: str, options: dict[str, str], message: str) -> None:
    path = _csv(tmp_path, text)
    with pytest.raises(CommandError) as caught:
        call_command("forecast-backtest", str(path), freq="M", horizon=1, **options)
    assert caught.value.returncode == 2 and message in str(caught.value)


def test_cli_subprocess_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"date,amount\n2026-01-01,\xff\xfe\n")
    done = subprocess.run(
        [sys.executable, "-m", "salesflow.cli", "forecast-backtest", str(bad), "--freq", "M", "--horizon", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert done.returncode == 2
    assert "not UTF-8" in done.stderr and "Traceback" not in done.stderr
