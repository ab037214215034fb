"""Stall detection on the pages and the API: badges with their basis, the ``stalled``
filter (list, export, API), and "where is each rep stuck" (page, API, visibility, queries)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesflow.sales.services import default_pipeline
from salesflow.sales.tests.factories import make_opportunity, make_pipeline
from salesflow.sales.tests.test_stall import age, team_history

pytestmark = pytest.mark.django_db


def test_list_filter_badge_and_hover_text(personas, client_for):
    team_history(personas, 41, p80_days=8)
    by_team = age(make_opportunity(personas.rep, stage_code="prospect", name="按团队停滞"), 9)
    by_stage = age(make_opportunity(personas.outsider, stage_code="prospect", name="按阶段停滞"), 15)
    fresh = make_opportunity(personas.rep, stage_code="prospect", name="新商机")
    client = client_for(personas.admin)
    html = client.get("/opportunities/?stalled=1").content.decode()
    assert f'data-testid="opportunity-row-{by_team.pk}"' in html
    assert f'data-testid="opportunity-row-{by_stage.pk}"' in html
    assert f'data-testid="opportunity-row-{fresh.pk}"' not in html
    assert "9 days in stage; team's 80th percentile 8 days from 41 deals" in html
    assert "15 days in stage; stage threshold 14 days" in html
    assert f'data-testid="stalled-{by_team.pk}" data-stall-basis="team_p80"' in html
    # the export reads the same filter
    from django.http import QueryDict

    from salesflow.sales.exports import opportunity_rows

    rows = opportunity_rows(personas.admin, QueryDict("stalled=1"))
    assert {o.pk for o in rows} == {by_team.pk, by_stage.pk}
    zh = client_for(personas.admin, "zh-hans").get("/opportunities/?stalled=1").content.decode()
    assert "团队第 80 百分位" in zh


def test_board_and_detail_show_the_basis(personas, client_for):
    team_history(personas, 30, p80_days=8)
    deal = age(make_opportunity(personas.rep, stage_code="prospect"), 9)
    client = client_for(personas.rep)
    board_html = client.get("/opportunities/board/").content.decode()
    assert f'data-testid="stalled-marker-{deal.pk}" data-stall-basis="team_p80"' in board_html
    assert "team's 80th percentile 8 days from 30 deals" in board_html
    detail = client.get(f"/opportunities/{deal.pk}/").content.decode()
    assert 'data-testid="stalled-badge"' in detail
    assert "8 days · team's 80th percentile from 30 deals" in detail


def test_api_fields_and_filter(personas, api_for):
    team_history(personas, 30, p80_days=8)
    deal = age(make_opportunity(personas.rep, stage_code="prospect"), 9)
    make_opportunity(personas.rep, stage_code="prospect")
    api = api_for(personas.rep)
    body = api.get(f"/opportunities/{deal.pk}").json()
    assert (
        body["stalled"],
        body["days_in_stage"],
        body["stall_threshold_days"],
        body["stall_basis"],
        body["stall_sample_size"],
    ) == (True, 9, 8, "team_p80", 30)
    items = api.get("/opportunities", stalled="true").json()["items"]
    assert [i["id"] for i in items] == [deal.pk]
    assert api.get("/opportunities", stalled="maybe").status_code == 400


def test_stuck_page_cells_link_to_the_filtered_list(personas, client_for):
    deal = age(make_opportunity(personas.rep, stage_code="demo", amount="1234.56"), 40)
    make_opportunity(personas.outsider, stage_code="demo")  # another tree: not on the manager's page
    make_pipeline()
    client = client_for(personas.manager)
    response = client.get("/opportunities/stuck/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-testid="stuck-row-{personas.rep.pk}"' in html
    assert f'data-testid="stuck-row-{personas.outsider.pk}"' not in html
    stage_id = deal.stage_id
    assert f'href="/opportunities/?owner={personas.rep.pk}&amp;stage={stage_id}&amp;outcome=open"' in html
    assert f'href="/opportunities/?owner={personas.rep.pk}&amp;stage={stage_id}&amp;outcome=open&amp;stalled=1"' in html
    assert "¥1,234.56" in html
    assert 'data-testid="stuck-pipeline-b2c"' in html
    listed = client.get(f"/opportunities/?owner={personas.rep.pk}&stage={stage_id}&outcome=open&stalled=1")
    assert f'data-testid="opportunity-row-{deal.pk}"' in listed.content.decode()
    assert client.get("/opportunities/stuck/?pipeline=b2c").status_code == 200
    assert client.get("/opportunities/stuck/?pipeline=nope").status_code == 200  # unknown: the default
    assert client.get("/opportunities/stuck/?pipeline=%00").status_code == 400  # refused by the query guard
    assert (
        "每位销售代表卡在哪里" in client_for(personas.manager, "zh-hans").get("/opportunities/stuck/").content.decode()
    )


@pytest.mark.parametrize("persona", ["rep", "manager", "admin"])
def test_stuck_page_query_count_is_constant(personas, client_for, persona):
    user = getattr(personas, persona)
    make_opportunity(personas.rep, stage_code="demo", currency="USD")  # the rates query runs from the start
    client = client_for(user)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/opportunities/stuck/").status_code == 200
    baseline = len(ctx.captured_queries)
    for owner in (personas.rep, personas.teammate, personas.outsider):
        for code in ("prospect", "needs", "proposal"):
            age(make_opportunity(owner, stage_code=code, currency="USD"), 20)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/opportunities/stuck/").status_code == 200
    assert len(ctx.captured_queries) <= baseline


def test_stuck_api(personas, api_for):
    deal = age(make_opportunity(personas.rep, stage_code="demo", amount="100"), 30)
    age(make_opportunity(personas.rep, stage_code="demo", amount="50"), 10)
    body = api_for(personas.rep).get("/opportunities/stuck").json()
    assert body["pipeline_id"] == default_pipeline().pk
    assert [r["owner_id"] for r in body["rows"]] == [personas.rep.pk]
    cell = next(c for c in body["rows"][0]["cells"] if c["stage_code"] == "demo")
    assert (cell["count"], cell["amount"], cell["median_days"], cell["worst_days"], cell["stalled"]) == (
        2,
        "150.00",
        "20",
        30,
        1,
    )
    assert deal.stage.code == "demo"
    api = api_for(personas.admin)
    assert api.get("/opportunities/stuck", pipeline="nope").status_code == 400
    assert api.get("/opportunities/stuck", pipeline="x" * 500).status_code == 400


@pytest.mark.parametrize(
    ("persona", "shown", "hidden"),
    [
        ("rep", ["rep"], 0),
        ("manager", ["rep", "teammate"], 2),  # the manager and the assistant have no open deals
        ("admin", ["outsider", "rep", "teammate"], 4),  # nor admin and other_manager
    ],
)
def test_stuck_page_hides_people_without_open_deals(personas, client_for, persona, shown, hidden):
    for owner in (personas.rep, personas.teammate, personas.outsider):
        make_opportunity(owner, stage_code="demo")
    everyone = {
        "rep": ["rep"],
        "manager": ["assistant", "manager", "rep", "teammate"],
        "admin": ["admin", "assistant", "manager", "other_manager", "outsider", "rep", "teammate"],
    }[persona]
    by_pk = {getattr(personas, name).pk: name for name in everyone}

    def rows(html: str) -> list[str]:
        return sorted(name for pk, name in by_pk.items() if f'data-testid="stuck-row-{pk}"' in html)

    client = client_for(getattr(personas, persona))
    html = client.get("/opportunities/stuck/").content.decode()
    assert rows(html) == shown
    pipeline = default_pipeline().pk
    if hidden:
        line = f"{hidden} people with no open deals are hidden · "
        assert line in html
        assert f'href="?pipeline={pipeline}&amp;include_empty=1" data-testid="stuck-show-empty">show them</a>' in html
        zh = client_for(getattr(personas, persona), "zh-hans").get("/opportunities/stuck/").content.decode()
        assert f"已隐藏 {hidden} 位没有进行中商机的人员" in zh
    else:
        assert 'data-testid="stuck-hidden"' not in html
    html = client.get("/opportunities/stuck/?include_empty=1").content.decode()
    assert rows(html) == everyone
    assert "are hidden" not in html
    assert f'href="?pipeline={pipeline}" data-testid="stuck-hide-empty"' in html


@pytest.mark.parametrize("persona", ["rep", "manager", "admin"])
def test_stuck_page_toggle_runs_the_same_queries(personas, client_for, persona):
    make_opportunity(personas.rep, stage_code="demo", currency="USD")
    client = client_for(getattr(personas, persona))
    counts = []
    for query in ("", "?include_empty=1"):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/opportunities/stuck/{query}").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_stuck_api_hides_people_without_open_deals(personas, api_for):
    make_opportunity(personas.rep, stage_code="demo")
    api = api_for(personas.manager)
    body = api.get("/opportunities/stuck").json()
    assert ([r["owner_id"] for r in body["rows"]], body["hidden"]) == ([personas.rep.pk], 3)
    body = api.get("/opportunities/stuck", include_empty="true").json()
    assert (len(body["rows"]), body["hidden"]) == (4, 0)
    assert {r["owner_id"] for r in body["rows"]} == {
        personas.manager.pk,
        personas.rep.pk,
        personas.teammate.pk,
        personas.assistant.pk,
    }
    assert api.get("/opportunities/stuck", include_empty="maybe").status_code == 400
