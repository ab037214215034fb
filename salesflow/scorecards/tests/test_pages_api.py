"""Scorecard and funnel pages and API: personas, hostile input, bounded query counts."""

from __future__ import annotations

import pytest

from salesflow.sales.tests.factories import make_opportunity

pytestmark = pytest.mark.django_db

HOSTILE = [
    {"period": "2026-Q9"},
    {"period": "x" * 50_000},
    {"period": "2026\x00"},
    {"node": "team:abc"},
    {"node": "rep:" + "9" * 30},
    {"pipeline": "NaN"},
    {"pipeline": "1" + "0" * 30},
    {"source": "nowhere"},
]


def test_team_page_for_a_manager_with_bounded_queries(personas, client_for, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    p = personas
    make_opportunity(p.rep, amount="1000.00")
    client = client_for(p.manager, "zh-hans")
    client.get("/scorecards/")  # warm caches (sessions, translations)
    with django_assert_max_num_queries(34):  # 48 before the organisation was read once per page
        response = client.get(f"/scorecards/?node=team:{p.team_a.pk}&period=2026-Q3")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="scorecards-row"') == 2  # the two reps; assistant and support do not sell
    assert f'data-user="{p.rep.pk}"' in html and f'data-user="{p.assistant.pk}"' not in html


def test_pages_for_every_persona(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    for who in ("admin", "manager", "rep", "teammate", "assistant", "support", "outsider", "other_manager"):
        client = client_for(getattr(p, who))
        assert client.get("/scorecards/").status_code == 200, who
        assert client.get("/scorecards/funnel/").status_code == 200, who
        assert client.get("/scorecards/appraisals/").status_code == 200, who
    # a team the user may not see is a 404
    # a node the user may not see is not among the form's choices: refused (never shown)
    assert client_for(p.rep).get(f"/scorecards/?node=team:{p.team_a.pk}").status_code in (400, 404)
    assert client_for(p.outsider).get(f"/scorecards/funnel/?node=rep:{p.rep.pk}").status_code in (400, 404)
    assert client_for(p.rep).get(f"/scorecards/rep/{p.teammate.pk}/").status_code == 404


def test_rep_and_funnel_pages_bounded(personas, client_for, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    p = personas
    client = client_for(p.manager)
    client.get("/scorecards/funnel/")
    # the rep's and the team's figures, the appraisals (66 and 39 before the team tree and the
    # team history were read once per page)
    with django_assert_max_num_queries(38):
        assert client.get(f"/scorecards/rep/{p.rep.pk}/?period=2026-Q3").status_code == 200
    with django_assert_max_num_queries(27):
        r = client.get(f"/scorecards/funnel/?node=team:{p.department.pk}&gap=500000")
    assert r.status_code == 200


def test_each_page_reads_the_team_history_once(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    p = personas
    make_opportunity(p.rep, amount="1000.00")
    client = client_for(p.manager)
    client.get("/scorecards/")
    for url in (
        f"/scorecards/?node=team:{p.team_a.pk}&period=2026-Q3",
        f"/scorecards/rep/{p.rep.pk}/?period=2026-Q3",
        f"/scorecards/funnel/?node=team:{p.department.pk}&gap=500000",
    ):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        history = [q for q in ctx.captured_queries if 'FROM "users_teammembership"' in q["sql"]]
        assert len(history) == 1, url
    # outside a page the memo is gone: a changed team is seen at once
    from salesflow.users.selectors import team_history

    before = team_history().rows
    from salesflow.users.services import user_change_team

    user_change_team(actor=p.admin, user=p.outsider, team=p.team_a)
    assert team_history().rows != before


GAPS = [{"gap": "NaN"}, {"gap": "1e30"}, {"gap": "-5"}, {"gap": "x" * 50_000}, {"gap": "1\x00"}]


@pytest.mark.parametrize("params", [*HOSTILE, *GAPS])
def test_hostile_query_strings_on_pages(personas, client_for, params) -> None:  # type: ignore[no-untyped-def]
    client = client_for(personas.manager)
    urls = ["/scorecards/funnel/"]
    if "gap" not in params:
        urls.append("/scorecards/")
        if "node" not in params:  # the rep page takes its node from the URL
            urls.append(f"/scorecards/rep/{personas.rep.pk}/")
    for url in urls:
        response = client.get(url, params)
        assert response.status_code in (400, 404), (url, params, response.status_code)
    assert client.get("/scorecards/appraisals/", {"period": params.get("period", "2026-Q9")}).status_code == 400


def test_page_queries_do_not_grow_with_the_team(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from salesflow.users.choices import Role
    from salesflow.users.models import User

    p = personas
    client = client_for(p.manager)
    urls = [
        f"/scorecards/?node=team:{p.department.pk}&period=2026-Q3",
        f"/scorecards/funnel/?node=team:{p.department.pk}&gap=500000",
    ]
    for url in urls:
        client.get(url)

    def counts() -> list[int]:
        out = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx.captured_queries))
        return out

    before = counts()
    for i in range(4):
        u = User.objects.create(username=f"more{i}", role=Role.REP, team=p.team_a, display_name=f"新人{i}")
        make_opportunity(u, amount="100.00")
    assert counts() == before


@pytest.mark.parametrize("params", HOSTILE)
def test_hostile_query_strings_on_the_api(personas, api_for, params) -> None:  # type: ignore[no-untyped-def]
    api = api_for(personas.manager)
    for path in ("/scorecards/scorecard", "/scorecards/funnel"):
        response = api.get(path, **params)
        assert response.status_code in (400, 404), (path, params, response.status_code)
        assert "detail" in response.json() or "error" in response.json() or response.json()


def test_api_scorecard_and_funnel(personas, api_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    api = api_for(p.manager)
    r = api.get("/scorecards/scorecard", node=f"team:{p.team_a.pk}", period="2026-Q3")
    assert r.status_code == 200, r.content
    body = r.json()
    assert {row["user_id"] for row in body["rows"]} == {p.rep.pk, p.teammate.pk}
    assert body["medians"]["won_amount"] == "0.00"
    f = api.get("/scorecards/funnel", node=f"team:{p.team_a.pk}", gap="100000")
    assert f.status_code == 200, f.content
    assert f.json()["team"]["remaining"] == "100000.00" and f.json()["team"]["deals_needed"] is None
    assert api.get("/scorecards/funnel", gap="abc").status_code == 400
    assert api_for(p.rep).get("/scorecards/scorecard", node=f"team:{p.team_a.pk}").status_code in (400, 404)
    assert api_for(p.rep).get("/scorecards/scorecard").json()["rows"][0]["user_id"] == p.rep.pk
