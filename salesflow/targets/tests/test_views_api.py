"""Pages and the API of plans: who sees and writes what, bounded queries, hostile input."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from salesflow.core.periods import fiscal_year_of, month_period
from salesflow.sales.choices import Outcome
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity
from salesflow.targets import services
from salesflow.targets.models import PlanVersion, Target, VersionStatus

pytestmark = pytest.mark.django_db


def _year() -> int:
    return fiscal_year_of(timezone.localdate())


def _version(p) -> PlanVersion:  # type: ignore[no-untyped-def]
    plan = services.plan_create(actor=p.admin, year=_year())
    version = plan.versions.get()
    y = str(_year())
    services.targets_set(
        actor=p.admin,
        version=version,
        metric_key="won_revenue",
        cells=[("company", y, "1200000.00"), (f"team:{p.department.pk}", y, "800000.00")],
    )
    return version


def test_pages_render_with_bounded_queries(personas, client_for, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    p = personas
    version = _version(p)
    services.targets_allocate(
        actor=p.admin,
        version=version,
        metric_key="won_revenue",
        node_key=f"team:{p.department.pk}",
        period_key=str(_year()),
        along="org",
        cascade=True,
    )
    admin = client_for(p.admin)
    assert admin.get("/plans/").status_code == 200
    with django_assert_max_num_queries(40):
        page = admin.get(f"/plans/{_year()}/?columns=months")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="targets-grid"' in body and "targets-differs" in body  # company ≠ its teams' sum
    with django_assert_max_num_queries(80):
        att = admin.get(f"/plans/attainment/?period={_year()}&node=company")
    assert att.status_code == 200 and "targets-attainment-row" in att.content.decode()
    assert admin.get("/plans/leaderboard/").status_code == 200
    rep = client_for(p.rep, "zh-hans")
    page = rep.get(f"/plans/{_year()}/").content.decode()
    assert f'data-node="rep:{p.rep.pk}"' in page and f'data-node="rep:{p.teammate.pk}"' not in page
    assert "targets-save-cells" not in page
    assert rep.get(f"/plans/attainment/?node=rep:{p.teammate.pk}").status_code == 404
    assert rep.get("/plans/leaderboard/").status_code == 200
    assert rep.get(f"/plans/leaderboard/?team={p.team_b.pk}").status_code == 404
    assert client_for(p.admin).get("/plans/1999/").status_code == 404


def test_grid_post_saves_changed_cells_only(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    version = _version(p)
    y = str(_year())
    data = {
        "version": "1",
        "metric": "won_revenue",
        f"cell:company:{y}": "1200000.00",
        f"old:company:{y}": "1200000.00",
        f"cell:rep:{p.rep.pk}:{y}-Q1": "5000",
        f"old:rep:{p.rep.pk}:{y}-Q1": "",
    }
    client_for(p.manager).post(f"/plans/{y}/cells/", data)
    assert Target.objects.get(version=version, node_key=f"rep:{p.rep.pk}").value == Decimal("5000.00")
    before = list(Target.objects.values_list("node_key", "period_key", "value"))
    client_for(p.rep).post(f"/plans/{y}/cells/", {**data, f"cell:rep:{p.rep.pk}:{y}-Q1": "9"})
    client_for(p.rep).post(f"/plans/{y}/submit/", {"version": "1"})
    assert list(Target.objects.values_list("node_key", "period_key", "value")) == before
    assert PlanVersion.objects.get().status == VersionStatus.DRAFT


def test_api_flow(personas, api_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    admin = api_for(p.admin)
    year = _year()
    r = admin.post("/plans/", {"year": year})
    assert r.status_code == 201, r.content
    version_id = r.json()["versions"][0]["version_id"]
    r = admin.put(
        f"/plans/versions/{version_id}/targets",
        {"metric": "won_revenue", "cells": [{"node": f"team:{p.team_a.pk}", "period": str(year), "value": "1000.00"}]},
    )
    assert r.status_code == 200, r.content
    r = admin.post(
        f"/plans/versions/{version_id}/allocate",
        {"metric": "won_revenue", "node": f"team:{p.team_a.pk}", "period": str(year), "along": "org", "basis": "equal"},
    )
    assert r.status_code == 200, r.content
    rows = {(t["node"], t["period"]): t for t in r.json()}
    assert Decimal(rows[(f"rep:{p.rep.pk}", str(year))]["value"]) == Decimal("500.00")
    assert rows[(f"team:{p.team_a.pk}", str(year))]["differs"] is False
    assert admin.post(f"/plans/versions/{version_id}/submit").json()["status"] == "locked"
    month = month_period(timezone.localdate().year, timezone.localdate().month)
    opp = make_opportunity(p.rep, amount="123.45", currency="CNY")
    opportunity_close(actor=p.rep, opportunity=opp, outcome=Outcome.WON, closed_on=timezone.localdate())
    r = api_for(p.rep).get("/plans/attainment", period=str(year), node=f"rep:{p.rep.pk}")
    assert r.status_code == 200, r.content
    won = next(m for m in r.json()["metrics"] if m["metric"] == "won_revenue")
    assert won["actual"] == "123.45" and won["target"] == "500.00"
    r = api_for(p.rep).get("/plans/leaderboard", period=month.key)
    assert r.status_code == 200 and r.json()["team_id"] == p.team_a.pk
    assert next(row["user_id"] for row in r.json()["rows"]) == p.rep.pk
    assert api_for(p.rep).get("/plans/attainment", node="company").status_code in (400, 404)


@pytest.mark.parametrize(
    "path,body",
    [
        ("/plans/", {"year": 10**30}),
        ("/plans/", {"year": "NaN"}),
        ("/plans/", {"year": 2026, "extra": 1}),
        (
            "/plans/versions/{v}/targets",
            {"metric": "won_revenue", "cells": [{"node": "company", "period": "2026-99", "value": "1"}]},
        ),
        (
            "/plans/versions/{v}/targets",
            {"metric": "won_revenue", "cells": [{"node": "x" * 50000, "period": "2026", "value": "1"}]},
        ),
        (
            "/plans/versions/{v}/targets",
            {"metric": "won_revenue", "cells": [{"node": "company", "period": "2026", "value": "NaN"}]},
        ),
        (
            "/plans/versions/{v}/targets",
            {"metric": "won_revenue", "cells": [{"node": "company\x00", "period": "2026", "value": "1"}]},
        ),
        ("/plans/versions/{v}/targets", {"metric": "nope", "cells": []}),
        ("/plans/versions/{v}/allocate", {"metric": "won_revenue", "node": "team:abc", "period": "2026"}),
        ("/plans/versions/{v}/seasonality", {"node": "company", "weights": [1] * 11}),
        ("/plans/versions/{v}/seasonality", {"node": "company", "weights": [10**30] * 12}),
    ],
)
def test_api_refuses_hostile_input(personas, api_for, path, body) -> None:  # type: ignore[no-untyped-def]
    p = personas
    version = _version(p)
    before = list(Target.objects.values_list("node_key", "period_key", "value"))
    r = (
        api_for(p.admin).put(path.format(v=version.pk), body)
        if path.endswith("targets")
        else api_for(p.admin).post(path.format(v=version.pk), body)
    )
    assert 400 <= r.status_code < 500, r.content[:300]
    assert set(r.json()) == {"detail", "code", "errors"}
    assert list(Target.objects.values_list("node_key", "period_key", "value")) == before


def test_api_bad_queries(personas, api_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    admin = api_for(p.admin)
    for params in ({"period": "2026-Q9"}, {"node": "team:abc"}, {"metric": "lost_deals"}, {"period": "\x00"}):
        r = admin.get("/plans/attainment", **params)
        assert r.status_code in (400, 404), (params, r.content[:200])
    assert admin.get("/plans/versions/999999").status_code == 404
    assert admin.get("/plans/leaderboard", team_id="99999999").status_code == 404
    assert admin.get("/plans/leaderboard", team_id="x").status_code == 404
    _version(p)
    assert api_for(p.rep).post("/plans/", {"year": 2031}).status_code == 403
    assert date.today()
