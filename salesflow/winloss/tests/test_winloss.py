"""Win/loss drivers (issue 11 item 6): every figure against an independent computation on
constructed deals (hand-counted win rates, the Wilson formula written out, scipy's chi-square
for the two-proportion p-value, numpy's percentiles for the stage quartiles, scikit-learn's
L2 logistic regression for the model's own Newton–Raphson fit), visibility by persona in the page and the
API, hostile query strings, both languages and bounded query counts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.db import transaction
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult
from scipy import stats as sps

from salesflow.activities.tests.factories import local_dt, make_activity
from salesflow.analytics.forms import AnalysisFilterForm
from salesflow.catalogue.models import OpportunityLine
from salesflow.core.testing import run_worker
from salesflow.objections.models import DealObjection, Objection, ObjectionCategory
from salesflow.sales.choices import Outcome
from salesflow.sales.models import LostReason, StageChange
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_account, make_opportunity, stage
from salesflow.users.testing import Personas, make_personas
from salesflow.winloss import model as wl_model
from salesflow.winloss.cache import SNAPSHOT_MAX_AGE
from salesflow.winloss.labels import model_note
from salesflow.winloss.models import WinLossSnapshot
from salesflow.winloss.selectors import load_deals, win_loss

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 10)
PERIOD = "2026-11"
Z = 1.959963984540054  # the 97.5th normal percentile, written out


def _deal(owner, *, won: bool, source: str, industry: str, size: str, days: float, day: date = DAY):  # type: ignore[no-untyped-def]
    account = make_account(owner)
    account.source, account.industry, account.size = source, industry, size
    account.save(update_fields=["source", "industry", "size"])
    opp = make_opportunity(owner, account=account, amount="1000.00")
    reason = None if won else LostReason.objects.filter(is_active=True).first()
    opp = opportunity_close(
        actor=owner, opportunity=opp, outcome=Outcome.WON if won else Outcome.LOST, closed_on=day, lost_reason=reason
    )
    # the one exit of "prospect" (to won/lost): its time in the stage
    StageChange.objects.filter(opportunity=opp).update(duration_seconds=int(days * 86400))
    return opp


def _line(opp, gross: str, discount: str) -> None:  # type: ignore[no-untyped-def]
    OpportunityLine.objects.create(
        opportunity=opp,
        name_zh="产品",
        quantity=Decimal("1.000"),
        unit_price=Decimal(gross),
        gross=Decimal(gross),
        discount=Decimal(discount),
        net=Decimal(gross) - Decimal(discount),
        total=Decimal(gross) - Decimal(discount),
    )


def _build(personas: Personas) -> dict[str, Any]:
    """Rep: group A (referral, IT, large; 3 activities, lines without discount; 1–20 days in
    prospect) 20 deals, 15 won; group B (outbound, retail, small; one price objection, 25%
    discount; 21–40 days) 20 deals, 5 won; group C (nothing recorded, no lines; 50 days) 4
    deals, 2 won. Outsider (another team): 6 referral deals, all lost. One deal of the rep
    closed in October (outside the period)."""
    p = personas
    category, _c = ObjectionCategory.objects.get_or_create(
        code="price", defaults={"name_en": "Price", "name_zh": "价格", "position": 1}
    )
    objection = Objection.objects.create(category=category, text_zh="太贵了", text_en="Too expensive")
    a_deals, b_deals, c_deals = [], [], []
    for i in range(20):
        opp = _deal(p.rep, won=i < 15, source="referral", industry="it", size="large", days=i + 1)
        for _k in range(3):
            make_activity(p.rep, opportunity=opp, done=True, done_at=local_dt(DAY, 9))
        _line(opp, "1000.00", "0.00")
        a_deals.append(opp)
    for i in range(20):
        opp = _deal(p.rep, won=i < 5, source="outbound", industry="retail", size="small", days=i + 21)
        DealObjection.objects.create(opportunity=opp, objection=objection, stage=stage("prospect"))
        _line(opp, "800.00", "200.00")
        _line(opp, "200.00", "50.00")
        b_deals.append(opp)
    for i in range(4):
        c_deals.append(_deal(p.rep, won=i < 2, source="", industry="", size="", days=50))
    # an open activity and a done activity on no deal do not count
    make_activity(p.rep, opportunity=a_deals[0], done=False)
    for _i in range(6):
        _deal(p.outsider, won=False, source="referral", industry="it", size="large", days=5)
    _deal(p.rep, won=True, source="referral", industry="it", size="large", days=5, day=date(2026, 10, 20))
    return {"a": a_deals, "b": b_deals, "c": c_deals}


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[tuple[Personas, dict[str, Any]]]:
    """The personas and the deals, built once for the module inside a transaction that is
    rolled back at the end (each test runs in its own savepoint on top, like Django's
    ``TestCase.setUpTestData``)."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            p = make_personas()
            yield p, _build(p)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def personas(world: tuple[Personas, dict[str, Any]]) -> Personas:
    return world[0]


@pytest.fixture
def data(world: tuple[Personas, dict[str, Any]]) -> dict[str, Any]:
    return world[1]


def _analysis(user, **params: str):  # type: ignore[no-untyped-def]
    form = AnalysisFilterForm({"period": PERIOD, **params}, user=user)
    assert form.is_valid(), form.errors
    return form.analysis()


def _wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


def _value(result, driver_key: str, value_key: str):  # type: ignore[no-untyped-def]
    driver = next(d for d in result.drivers if d.key == driver_key)
    return next(v for v in driver.values if v.key == value_key)


def test_win_rates_intervals_and_tests_match_independent_computations(personas, data) -> None:  # type: ignore[no-untyped-def]
    result = win_loss(_analysis(personas.rep, node=f"rep:{personas.rep.pk}"), with_model=False)
    assert (result.closed, result.won) == (44, 22)  # the October deal and the outsider's are out
    assert result.win_rate == pytest.approx(0.5)
    referral = _value(result, "source", "referral")
    assert (referral.closed, referral.won, referral.rest_closed, referral.rest_won) == (20, 15, 24, 7)
    assert referral.win_rate == pytest.approx(15 / 20)
    lo, hi = _wilson(15, 20)
    assert (referral.ci_low, referral.ci_high) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    assert (round(lo, 4), round(hi, 4)) == (0.5313, 0.8881)  # worked by hand
    # the pooled z-test p-value is the uncorrected chi-square of the 2×2 table
    chi2 = sps.chi2_contingency(np.array([[15, 5], [7, 17]]), correction=False)
    assert referral.p_value == pytest.approx(float(chi2.pvalue), rel=1e-9)
    assert referral.difference == pytest.approx(15 / 20 - 7 / 24)
    se = math.sqrt(0.75 * 0.25 / 20 + (7 / 24) * (17 / 24) / 24)
    assert referral.diff_low == pytest.approx(15 / 20 - 7 / 24 - Z * se)
    assert referral.verdict == "significant"
    # four deals without a source: too few cases, whatever the p-value
    blank = _value(result, "source", "")
    assert (blank.closed, blank.won, blank.verdict) == (4, 2, "too_few")
    # industry and size follow the same groups
    assert (_value(result, "industry", "retail").closed, _value(result, "industry", "retail").won) == (20, 5)
    assert _value(result, "size", "large").won == 15


def test_activity_objection_and_discount_bins(personas, data) -> None:  # type: ignore[no-untyped-def]
    result = win_loss(_analysis(personas.rep, node=f"rep:{personas.rep.pk}"), with_model=False)
    three = _value(result, "activities", "3-5")
    none = _value(result, "activities", "0-0")
    assert (three.closed, three.won) == (20, 15)  # the undone activity is not counted
    assert (none.closed, none.won) == (24, 7)
    assert _value(result, "objections", "1-1").closed == 20
    assert _value(result, "objections", "1-1").won == 5
    assert _value(result, "objections", "0-0").closed == 24
    kind = next(d for d in result.drivers if d.key == "objection_kinds").values[0]
    assert (kind.closed, kind.won, kind.rest_closed) == (20, 5, 24)
    # discount = (200 + 50) ÷ (800 + 200) = 25 % → "more than 20 %"; group A none; C no lines
    assert (_value(result, "discount", "more").closed, _value(result, "discount", "more").won) == (20, 5)
    assert (_value(result, "discount", "0").closed, _value(result, "discount", "0").won) == (20, 15)
    assert (_value(result, "discount", "none").closed, _value(result, "discount", "none").won) == (4, 2)
    frame = load_deals(_analysis(personas.rep, node=f"rep:{personas.rep.pk}"))
    assert np.nanmax(frame.discount) == pytest.approx(0.25)


def test_stage_time_quartiles_against_numpy(personas, data) -> None:  # type: ignore[no-untyped-def]
    result = win_loss(_analysis(personas.rep, node=f"rep:{personas.rep.pk}"), with_model=False)
    prospect = stage("prospect")
    driver = next(d for d in result.drivers if d.key == f"stage:{prospect.pk}")
    days = np.array([i + 1 for i in range(20)] + [i + 21 for i in range(20)] + [50] * 4, dtype=float)
    won = np.array([i < 15 for i in range(20)] + [i < 5 for i in range(20)] + [True, True, False, False])
    q1, q2, q3 = np.percentile(days, [25, 50, 75])
    masks = [days <= q1, (days > q1) & (days <= q2), (days > q2) & (days <= q3), days > q3]
    assert [(v.closed, v.won) for v in driver.values] == [(int(m.sum()), int(won[m].sum())) for m in masks]
    assert driver.population == 44


def test_visibility_by_persona(personas, data, client_for, api_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    admin = win_loss(_analysis(p.admin, node="company"), with_model=False)
    assert (admin.closed, admin.won) == (50, 22)
    team = win_loss(_analysis(p.manager, node=f"team:{p.department.pk}"), with_model=False)
    assert team.closed == 44
    other = win_loss(_analysis(p.other_manager, node=f"team:{p.team_b.pk}"), with_model=False)
    assert (other.closed, other.won) == (6, 0)
    # unseen nodes: 404 on the page, the panel and the API
    for user, node in (
        (p.rep, f"team:{p.team_a.pk}"),
        (p.rep, f"rep:{p.outsider.pk}"),
        (p.rep, "company"),
        (p.manager, f"team:{p.team_b.pk}"),
        (p.manager, "company"),
        (p.other_manager, f"rep:{p.rep.pk}"),
        (p.support, f"rep:{p.rep.pk}"),
    ):
        client = client_for(user)
        assert client.get("/winloss/", {"node": node, "period": PERIOD}).status_code == 404
        assert client.get("/winloss/panel/", {"node": node, "period": PERIOD}).status_code == 404
        assert api_for(user).get("/winloss/drivers", node=node, period=PERIOD).status_code == 404
    # a rep's default is themself
    body = api_for(p.rep).get("/winloss/drivers", period=PERIOD).json()
    assert body["node"] == f"rep:{p.rep.pk}" and body["closed"] == 44
    assert api_for(p.admin).get("/winloss/drivers", period=PERIOD).json()["closed"] == 50
    assert api_for(p.outsider).get("/winloss/drivers", period=PERIOD).json()["closed"] == 6


def test_api_matches_the_page_and_says_what_is_not_significant(personas, data, client_for, api_for) -> None:  # type: ignore[no-untyped-def]
    node = f"rep:{personas.rep.pk}"
    body = api_for(personas.rep).get("/winloss/drivers", node=node, period=PERIOD).json()
    source = next(d for d in body["drivers"] if d["key"] == "source")
    referral = next(v for v in source["values"] if v["key"] == "referral")
    assert (referral["closed"], referral["won"], referral["verdict"], referral["significant"]) == (
        20,
        15,
        "significant",
        True,
    )
    assert next(v for v in source["values"] if v["key"] == "")["verdict"] == "too_few"
    page = _panel(client_for(personas.rep), node=node, period=PERIOD)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Too few cases" in html and "Significant" in html and "Referral" in html
    chart = next(c for c in page.context["charts"] if c["chart"]["key"] == "source")["chart"]
    row = next(r for r in chart["rows"] if r[0] == "Referral")
    assert row[1:4] == [20, 15, "75.0"]
    assert row[4] == "53.1 – 88.8"
    zh = _panel(client_for(personas.rep, "zh-hans"), node=node, period=PERIOD)
    text = zh.content.decode()
    assert "样本太少" in text and "差异显著" in text and "转介绍" in text
    shell = client_for(personas.rep, "zh-hans").get("/winloss/", {"node": node, "period": PERIOD})
    assert shell.status_code == 200 and "赢单因素" in shell.content.decode()


def test_model_coefficients_match_scikit_learn_and_intervals_are_honest(personas, data) -> None:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    frame = load_deals(_analysis(personas.rep, node=f"rep:{personas.rep.pk}"))
    x, meta = wl_model.design(frame)
    assert not any(key.startswith("stage:") for key, *_rest in meta)  # reaching a stage is not a driver
    reference = LogisticRegression(C=wl_model.PENALTY_C, tol=1e-10, max_iter=10_000).fit(x, frame.won.astype(int))
    expected = reference.coef_[0]
    model = wl_model.fit_model(frame)
    assert model.n == 44 and model.won == 22 and model.bootstrap == wl_model.BOOTSTRAP
    by_feature = {t.feature: t for t in model.terms}
    for j, (key, *_rest) in enumerate(meta):
        assert by_feature[key].coefficient == pytest.approx(expected[j], abs=2e-3)
        assert by_feature[key].odds_ratio == pytest.approx(math.exp(expected[j]), rel=5e-3)
    for t in model.terms:
        assert t.or_low is not None and t.or_high is not None and t.or_low <= t.or_high
        assert t.significant == (t.or_low > 1 or t.or_high < 1)
    # referral against outbound (the reference: the most frequent, ties by key) goes with winning
    assert by_feature["source=referral"].odds_ratio > 1
    referral = by_feature["source=referral"]
    assert (referral.attribute, referral.value, referral.reference) == ("source", "referral", "outbound")


def test_model_needs_enough_deals(personas, data) -> None:  # type: ignore[no-untyped-def]
    frame = load_deals(_analysis(personas.other_manager, node=f"team:{personas.team_b.pk}"))
    model = wl_model.fit_model(frame)
    assert model.terms == [] and model.note_code == "too_few_deals"
    assert model.note_params == {"n": 6, "won": 0, "min": wl_model.MIN_DEALS, "each": wl_model.MIN_EACH}
    with translation.override("en"):
        assert model_note(model.note_code, model.note_params) == (
            "Too few closed deals for a model (6 closed, 0 won): it needs 40, with at least 10 won and 10 lost."
        )
    with translation.override("zh-hans"):
        assert "Too few" not in model_note(model.note_code, model.note_params)


def test_hostile_filters_are_400_naming_the_field(personas, data, client_for, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(personas.admin)
    for params, field in (
        ({"period": "2026-13"}, "period"),
        ({"period": "x" * 21}, "period"),
        ({"pipeline": "abc"}, "pipeline"),
        ({"source": "nonsense"}, "source"),
        ({"refresh": "maybe"}, "refresh"),
        ({"region": "9" * 13}, "region"),
    ):
        response = api.get("/winloss/drivers", **params)
        assert response.status_code == 400, (params, response.content)
        assert field in response.content.decode()
    assert api.get("/winloss/drivers", node="team:99999999").status_code == 404
    assert api.get("/winloss/drivers", node="rep:1e9").status_code == 404
    client = client_for(personas.admin)
    assert client.get("/winloss/", {"period": "2026-13"}).status_code == 400
    assert client.get("/winloss/", {"node": "company\x00"}).status_code in (400, 404)
    assert client.get("/winloss/panel/", {"pipeline": "NaN"}).status_code == 400
    assert WinLossSnapshot.objects.count() == 0


def _panel(client, **params: str):  # type: ignore[no-untyped-def]
    """The figures' fragment; when it says "computing", run the enqueued refresh and ask again
    (what the page's polling does)."""
    response = client.get("/winloss/panel/", params)
    if b"winloss-computing" in response.content:
        assert run_worker() >= 1
        response = client.get("/winloss/panel/", params)
    return response


def _refresh_tasks() -> int:
    return DBTaskResult.objects.filter(task_path="salesflow.winloss.tasks.refresh_view").count()


def test_panel_computing_then_fresh_then_stale_never_computes_in_the_request(  # type: ignore[no-untyped-def]
    personas, data, client_for, django_assert_max_num_queries
) -> None:
    query = {"node": "company", "period": PERIOD}
    first, second = client_for(personas.admin), client_for(personas.admin)
    # no snapshot: both readers see "computing" (polling the fragment); ONE refresh is enqueued
    for client in (first, second):
        with django_assert_max_num_queries(18):  # the snapshot, the enqueue (or its refusal)
            response = client.get("/winloss/panel/", query)
        html = response.content.decode()
        assert response.status_code == 200 and 'data-testid="winloss-computing"' in html
        assert 'hx-trigger="every 3s"' in html and "/winloss/panel/?" in html
    assert WinLossSnapshot.objects.count() == 0 and _refresh_tasks() == 1
    assert run_worker() == 1
    assert WinLossSnapshot.objects.count() == 1
    with django_assert_max_num_queries(12):  # from the snapshot
        response = first.get("/winloss/panel/", query)
    html = response.content.decode()
    assert "Figures computed at" in html and "winloss-stale" not in html and "winloss-computing" not in html
    assert _refresh_tasks() == 1  # fresh: nothing enqueued
    # stale: the old figures, marked with their computed time, and ONE refresh for both readers
    old = timezone.now() - SNAPSHOT_MAX_AGE - timedelta(minutes=5)
    stale = WinLossSnapshot.objects.get()
    stale.computed_at, stale.data = old, {**stale.data, "computed_at": old.isoformat()}
    stale.save()
    at = timezone.localtime(old).strftime("%Y-%m-%d %H:%M")
    for client in (first, second):
        with django_assert_max_num_queries(18):
            response = client.get("/winloss/panel/", query)
        html = response.content.decode()
        assert 'data-testid="winloss-stale"' in html and at in html and "winloss-figures" in html
    assert _refresh_tasks() == 2
    assert run_worker() == 1
    snap = WinLossSnapshot.objects.get()
    assert snap.computed_at > old + SNAPSHOT_MAX_AGE
    assert "winloss-stale" not in first.get("/winloss/panel/", query).content.decode()
    # "Refresh figures" still recomputes at once
    assert first.post(f"/winloss/refresh/?node=company&period={PERIOD}").status_code == 302
    assert WinLossSnapshot.objects.get().computed_at >= snap.computed_at
    with django_assert_max_num_queries(12):
        assert first.get("/winloss/", query).status_code == 200


def test_refresh_view_task_runs_twice_and_skips_a_vanished_node(personas, data) -> None:  # type: ignore[no-untyped-def]
    from salesflow.winloss.tasks import refresh_view

    params = dict(_analysis(personas.admin, node="company").params)
    assert refresh_view.call(params, "2026-11-20") is True
    assert refresh_view.call(params, "2026-11-20") is True
    # a refresh enqueued before the snapshots became language-neutral (with a language) still runs
    assert refresh_view.call(params=params, language="zh-hans", today="2026-11-20") is True
    assert WinLossSnapshot.objects.count() == 1
    assert refresh_view.call({**params, "node": "team:99999999"}, "2026-11-20") is False
    assert WinLossSnapshot.objects.count() == 1


def test_refresh_task_computes_the_default_views(personas, data) -> None:  # type: ignore[no-untyped-def]
    from salesflow.winloss.cache import refresh_defaults

    n = refresh_defaults(date(2026, 11, 20))
    assert n > 0 and WinLossSnapshot.objects.count() == n


def test_one_snapshot_serves_both_languages(personas, data, client_for, api_for) -> None:  # type: ignore[no-untyped-def]
    """One computation (in Chinese), then the fragment in Chinese and in English: each language's
    labels from the same row, which holds no label at all."""
    node = f"rep:{personas.rep.pk}"
    zh_client, en_client = client_for(personas.rep, "zh-hans"), client_for(personas.rep)
    zh = _panel(zh_client, node=node, period=PERIOD)
    assert WinLossSnapshot.objects.count() == 1
    stored = WinLossSnapshot.objects.get()
    en = en_client.get("/winloss/panel/", {"node": node, "period": PERIOD})
    assert WinLossSnapshot.objects.count() == 1 and _refresh_tasks() == 1  # no recomputation for English
    assert WinLossSnapshot.objects.get().computed_at == stored.computed_at
    # the stored figures are codes and numbers only
    raw = str(stored.data)
    for word in ("Referral", "转介绍", "Not recorded", "未填写", "Source", "来源", "Too few", "or more"):
        assert word not in raw, word
    source = next(d for d in stored.data["drivers"] if d["key"] == "source")
    assert [v["key"] for v in source["values"]] == ["outbound", "referral", ""]
    assert "label" not in source["values"][0] and "title" not in source
    prospect = stage("prospect")
    stage_driver = next(d for d in stored.data["drivers"] if d["key"] == f"stage:{prospect.pk}")
    assert stage_driver["values"][0]["lower"] is None and stage_driver["values"][-1]["upper"] is None

    def chart(response, key: str):  # type: ignore[no-untyped-def]
        return next(c["chart"] for c in response.context["charts"] if c["chart"]["key"] == key)

    zh_source, en_source = chart(zh, "source"), chart(en, "source")
    assert (zh_source["title"], en_source["title"]) == ("来源", "Source")
    assert [r[0] for r in en_source["rows"]] == ["Outbound", "Referral", "Not recorded"]
    assert [r[0] for r in zh_source["rows"]] == ["主动开发（拓客）", "转介绍", "未填写"]
    assert [r[1:4] for r in zh_source["rows"]] == [r[1:4] for r in en_source["rows"]]
    assert (zh_source["rows"][2][-1], en_source["rows"][2][-1]) == ("样本太少", "Too few cases")
    # the series and categories are labelled too (what ECharts draws)
    assert en_source["categories"] == ["Outbound", "Referral", "Not recorded"]
    assert en_source["series"][0]["name"] == "Significant" and zh_source["series"][0]["name"] == "差异显著"
    # bins, stage names, objection kinds, notes and the model's terms
    assert [r[0] for r in chart(en, "activities")["rows"]] == ["0", "3–5"]
    en_stage, zh_stage = chart(en, f"stage-{prospect.pk}"), chart(zh, f"stage-{prospect.pk}")
    assert en_stage["title"] == f"Time in stage: {prospect.name_en}"
    assert zh_stage["title"] == f"阶段停留时间：{prospect.name_zh}"
    assert en_stage["rows"][0][0].startswith("up to ") and en_stage["rows"][-1][0].startswith("more than ")
    assert [r[0] for r in chart(en, "objection_kinds")["rows"]] == ["Price"]
    assert [r[0] for r in chart(zh, "objection_kinds")["rows"]] == ["价格"]
    assert chart(en, "discount")["note"].startswith("Discount = ")
    en_terms = [r[0] for r in en.context["model_chart"]["chart"]["rows"]]
    zh_terms = [r[0] for r in zh.context["model_chart"]["chart"]["rows"]]
    assert "Source: Referral (against Outbound)" in en_terms
    assert len(zh_terms) == len(en_terms) and not set(zh_terms) & set(en_terms)
    # the API: the same numbers in both languages, each language's labels
    api = api_for(personas.rep)
    en_body = api.get("/winloss/drivers", node=node, period=PERIOD).json()
    zh_body = api.client.get(
        "/api/v1/winloss/drivers", {"node": node, "period": PERIOD}, headers={"accept-language": "zh-hans"}
    ).json()
    assert WinLossSnapshot.objects.count() == 1
    assert numbers(en_body) == numbers(zh_body)
    assert en_body["computed_at"] == zh_body["computed_at"] == stored.data["computed_at"]
    en_values = next(d for d in en_body["drivers"] if d["key"] == "source")["values"]
    zh_values = next(d for d in zh_body["drivers"] if d["key"] == "source")["values"]
    assert (en_values[1]["label"], zh_values[1]["label"]) == ("Referral", "转介绍")


def numbers(body: Any) -> Any:
    """``body`` without its labels (``label``, ``title``, ``note``): the keys, codes and figures."""
    if isinstance(body, dict):
        return {k: numbers(v) for k, v in body.items() if k not in {"label", "title", "note"}}
    if isinstance(body, list):
        return [numbers(v) for v in body]
    return body


def test_labels_of_codes_in_both_languages(personas, data) -> None:  # type: ignore[no-untyped-def]
    """Each stored code's label, in English and Chinese; a stage or category deleted since the
    computation and a code outside the choices are named by their code, never an error."""
    from salesflow.winloss.labels import localize, value_label

    stored: dict[str, Any] = {
        "drivers": [
            {"key": "activities", "values": [{"key": "11-", "lower": 11, "upper": None}]},
            {"key": "discount", "values": [{"key": "none"}, {"key": "more"}]},
            {"key": "source", "values": [{"key": "carrier_pigeon"}, {"key": ""}]},
            {"key": "stage:99999999", "values": [{"key": "q1", "lower": None, "upper": 2.5}]},
            {"key": "objection_kinds", "values": [{"key": "99999999"}]},
        ],
        "model": {
            "terms": [{"attribute": "discount", "value": "more", "reference": "0"}],
            "note_code": "sampled",
            "note_params": {"n": 3000, "total": 4100},
        },
    }
    with translation.override("en"):
        en = localize(stored)
    with translation.override("zh-hans"):
        zh = localize(stored)
    assert "label" not in stored["drivers"][0]["values"][0]  # the stored figures are not changed
    labels = [[v["label"] for v in d["values"]] for d in en["drivers"]]
    assert labels == [
        ["11 or more"],
        ["No product lines", "More than 20%"],
        ["carrier_pigeon", "Not recorded"],
        ["up to 2.5 d"],
        ["99999999"],
    ]
    assert [d["title"] for d in en["drivers"]][3:] == ["Time in stage: 99999999", "Objection raised, by kind"]
    assert en["model"]["terms"][0]["label"] == "Discount: More than 20% (against No discount)"
    assert en["model"]["note"] == "Fitted on a random sample of 3000 of the 4100 closed deals."
    assert zh["drivers"][2]["values"][1]["label"] == "未填写"
    assert zh["model"]["note"] != en["model"]["note"] and "3000" in zh["model"]["note"]
    with translation.override("en"):
        assert value_label("stage:1", "q2", 2.5, 7.0) == "2.5 d–7 d"
        assert value_label("stage:1", "q4", 7.0, None) == "more than 7 d"
        assert value_label("objections", "1-1", 1, 1) == "1"


def test_migration_discards_the_per_language_snapshots(personas, data) -> None:  # type: ignore[no-untyped-def]
    import importlib

    from django.apps import apps

    migration = importlib.import_module("salesflow.winloss.migrations.0002_language_neutral_snapshots")
    WinLossSnapshot.objects.create(key="x" * 64, data={"drivers": [], "closed": 0}, computed_at=timezone.now())
    migration.discard_old_snapshots(apps, None)
    assert WinLossSnapshot.objects.count() == 0
