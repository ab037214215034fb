"""API (/api/v1/commissions) and pages: one service, two interfaces; hostile input; query counts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from salesflow.commissions import selectors
from salesflow.commissions.choices import Basis, StatementStatus
from salesflow.commissions.models import CommissionPlan, CommissionRule, CommissionStatement
from salesflow.commissions.selectors import TargetInfo
from salesflow.commissions.tests.util import plan, rule, won
from salesflow.sales.models import Opportunity

pytestmark = pytest.mark.django_db
YEAR = timezone.localdate().year - 1
BASE = "/commissions"


@pytest.fixture
def world(personas, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(selectors, "rep_target", lambda rep, metric, period: TargetInfo(None, None, None))
    pl = plan(YEAR)
    rule(pl, Basis.WON, "3.00")
    for day in range(1, 11):
        won(personas.rep, f"{1000 * day}.00", date(YEAR, 3, day))
    return pl


def _state() -> tuple[object, ...]:
    return (
        list(CommissionPlan.objects.values_list("pk", "name", "active")),
        list(CommissionRule.objects.values_list("pk", "name", "rate")),
        list(CommissionStatement.objects.values_list("pk", "status", "commission_total")),
    )


def test_rules_api_admin_writes_others_read(personas, api_for, world) -> None:  # type: ignore[no-untyped-def]
    admin, rep = api_for(personas.admin), api_for(personas.rep)
    assert rep.get(f"{BASE}/plans").status_code == 200
    before = _state()
    body = {"name": "2030", "valid_from": "2030-01-01", "valid_to": "2030-12-31"}
    assert rep.post(f"{BASE}/plans", body).status_code == 403
    rule_body = {"name": "r", "basis": "collected", "rate": "1", "tiers": [{"threshold": "100", "multiplier": "1.2"}]}
    assert rep.post(f"{BASE}/plans/{world.pk}/rules", rule_body).status_code == 403
    assert _state() == before
    created = admin.post(f"{BASE}/plans", body)
    assert created.status_code == 201, created.json()
    plan_id = created.json()["id"]
    r = admin.post(f"{BASE}/plans/{plan_id}/rules", rule_body)
    assert r.status_code == 201 and r.json()["tiers"] == [{"threshold": "100.00", "multiplier": "1.200"}]
    rule_id = r.json()["id"]
    r = admin.patch(f"{BASE}/rules/{rule_id}", {"rate": "1.5", "tiers": []})
    assert r.status_code == 200 and r.json()["rate"] == "1.50" and r.json()["tiers"] == []
    assert admin.patch(f"{BASE}/plans/{plan_id}", {"active": False}).json()["active"] is False
    assert admin.delete(f"{BASE}/rules/{rule_id}").status_code == 204
    assert admin.delete(f"{BASE}/plans/{plan_id}").status_code == 204


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "r", "basis": "won", "rate": "NaN"}, "rate"),
        ({"name": "r", "basis": "won", "rate": "1e400"}, "rate"),
        ({"name": "r", "basis": "won", "rate": "3", "tiers": [{"threshold": "1" * 30, "multiplier": "2"}]}, "tiers"),
        ({"name": "r", "basis": "won", "rate": "3", "tiers": [{"threshold": "100", "multiplier": "0"}]}, "tiers"),
        ({"name": "r", "basis": "sideways", "rate": "3"}, "basis"),
        ({"name": "r", "basis": "collected", "rate": "3", "product_line_id": 10**30}, "product_line_id"),
        ({"name": "r\x00", "basis": "won", "rate": "3"}, "name"),
        ({"name": "r", "basis": "won", "rate": "3", "extra": 1}, "extra"),
    ],
)
def test_rule_api_refuses_hostile_input(personas, api_for, world, body, field) -> None:  # type: ignore[no-untyped-def]
    before = _state()
    r = api_for(personas.admin).post(f"{BASE}/plans/{world.pk}/rules", body)
    assert r.status_code == 400, r.json()
    assert any(field in key for key in r.json()["errors"]), r.json()
    assert _state() == before


def test_statements_api_flow(personas, api_for, world) -> None:  # type: ignore[no-untyped-def]
    manager, rep, admin = api_for(personas.manager), api_for(personas.rep), api_for(personas.admin)
    assert (
        rep.post(f"{BASE}/statements/generate", {"rep_id": personas.rep.pk, "period": f"{YEAR}-03"}).status_code == 403
    )
    assert (
        api_for(personas.outsider)
        .post(f"{BASE}/statements/generate", {"rep_id": personas.rep.pk, "period": f"{YEAR}-03"})
        .status_code
        == 404
    )
    r = manager.post(f"{BASE}/statements/generate", {"rep_id": personas.rep.pk, "period": f"{YEAR}-03"})
    assert r.status_code == 201, r.json()
    data = r.json()
    expected = sum((Decimal(1000 * d) for d in range(1, 11)), Decimal(0)) * Decimal("0.03")
    assert Decimal(data["commission_total"]) == expected == sum(Decimal(ln["commission"]) for ln in data["lines"])
    owned = set(Opportunity.objects.filter(owner=personas.rep).values_list("pk", flat=True))
    assert {ln["opportunity_id"] for ln in data["lines"]} == owned
    sid = data["id"]
    assert rep.get(f"{BASE}/statements").json()["count"] == 1
    assert api_for(personas.teammate).get(f"{BASE}/statements").json()["count"] == 0
    assert api_for(personas.teammate).get(f"{BASE}/statements/{sid}").status_code == 404
    assert rep.post(f"{BASE}/statements/{sid}/approve").status_code == 403
    assert rep.post(f"{BASE}/statements/{sid}/submit").json()["status"] == "submitted"
    assert rep.post(f"{BASE}/statements/{sid}/approve").status_code == 403
    assert manager.post(f"{BASE}/statements/{sid}/approve").json()["status"] == "approved"
    assert manager.post(f"{BASE}/statements/{sid}/lock").status_code == 403
    assert admin.post(f"{BASE}/statements/{sid}/lock").json()["status"] == "locked"
    assert CommissionStatement.objects.get(pk=sid).status == StatementStatus.LOCKED
    csv = rep.get(f"{BASE}/statements/{sid}/export", format="csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert rep.get(f"{BASE}/statements/{sid}/export", format="pdf").status_code == 400
    r = manager.post(f"{BASE}/statements/{sid}/correct")
    assert r.status_code == 201 and r.json()["sequence"] == 2 and Decimal(r.json()["commission_total"]) == 0


@pytest.mark.parametrize(
    "query",
    [
        {"period": "2026-13"},
        {"period": "x" * 50},
        {"period": "2026"},
        {"status": "gone"},
        {"rep_id": -1},
        {"limit": 10**30},
    ],
)
def test_statement_list_refuses_bad_filters(personas, api_for, world, query) -> None:  # type: ignore[no-untyped-def]
    r = api_for(personas.manager).get(f"{BASE}/statements", **query)
    assert r.status_code == 400 and r.json()["errors"], r.content


@pytest.mark.parametrize("period", ["2026-13", f"{YEAR}", "\x00", "x" * 5000, f"{YEAR + 4}-01"])
def test_generate_refuses_bad_periods(personas, api_for, world, period) -> None:  # type: ignore[no-untyped-def]
    r = api_for(personas.admin).post(f"{BASE}/statements/generate", {"rep_id": personas.rep.pk, "period": period})
    assert r.status_code == 400 and "period" in r.json()["errors"]
    assert CommissionStatement.objects.count() == 0


def test_pages_by_persona(personas, client_for, world) -> None:  # type: ignore[no-untyped-def]
    admin, rep = client_for(personas.admin), client_for(personas.rep)
    r = admin.post(reverse("commissions:generate"), {"rep": personas.rep.pk, "period": f"{YEAR}-03"})
    s = CommissionStatement.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("commissions:statement", args=[s.pk])
    page = rep.get(reverse("commissions:statement", args=[s.pk]))
    assert page.status_code == 200 and "commissions-submit" in page.content.decode()
    assert "commissions-approve" not in page.content.decode()
    assert client_for(personas.teammate).get(reverse("commissions:statement", args=[s.pk])).status_code == 404
    assert rep.post(reverse("commissions:statement_action", args=[s.pk, "approve"])).status_code == 302
    assert CommissionStatement.objects.get().status == StatementStatus.DRAFT  # refused, nothing changed
    rep.post(reverse("commissions:statement_action", args=[s.pk, "submit"]))
    client_for(personas.manager).post(reverse("commissions:statement_action", args=[s.pk, "approve"]))
    assert CommissionStatement.objects.get().status == StatementStatus.APPROVED
    assert rep.get(reverse("commissions:rules")).status_code == 200
    assert rep.get(reverse("commissions:plan_new")).status_code == 403
    assert rep.post(reverse("commissions:rule_delete", args=[CommissionRule.objects.get().pk])).status_code == 403
    assert CommissionRule.objects.count() == 1
    xlsx = rep.get(reverse("commissions:statement_export", args=[s.pk]), {"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    zh = client_for(personas.manager, "zh-hans").get(reverse("commissions:statement", args=[s.pk]))
    assert "提成" in zh.content.decode()


def test_rule_form_pages(personas, client_for, world) -> None:  # type: ignore[no-untyped-def]
    admin = client_for(personas.admin)
    r = admin.post(
        reverse("commissions:rule_new", args=[world.pk]),
        {"name": "回款提成", "basis": "collected", "role": "", "rate": "1", "threshold_0": "100", "multiplier_0": "x"},
    )
    assert r.status_code == 200 and "multiplier_0" in r.context["form"].errors
    r = admin.post(
        reverse("commissions:rule_new", args=[world.pk]),
        {
            "name": "回款提成",
            "basis": "collected",
            "role": "",
            "rate": "1",
            "threshold_0": "100",
            "multiplier_0": "1.2",
        },
    )
    assert r.status_code == 302
    created = CommissionRule.objects.get(name="回款提成")
    assert [(t.threshold_bp, t.multiplier_milli) for t in created.tiers.all()] == [(10000, 1200)]
    assert admin.get(reverse("commissions:rule_edit", args=[created.pk])).status_code == 200
    r = admin.post(
        reverse("commissions:plan_new"),
        {"name": "x", "valid_from": f"{YEAR}-02-01", "valid_to": f"{YEAR}-03-01", "active": "on"},
    )
    assert r.status_code == 200 and "valid_from" in r.context["form"].errors


def test_query_counts_are_bounded(
    personas, client_for, world, django_assert_max_num_queries, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from salesflow.core.testing import run_worker

    admin = client_for(personas.admin)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("commissions:generate"), {"rep": "", "period": f"{YEAR}-03"})
    run_worker()
    s = CommissionStatement.objects.get(rep=personas.rep)
    assert s.lines.count() == 10
    with django_assert_max_num_queries(20):
        assert admin.get(reverse("commissions:statements")).status_code == 200
    with django_assert_max_num_queries(20):
        assert admin.get(reverse("commissions:statement", args=[s.pk])).status_code == 200
    with django_assert_max_num_queries(20):
        assert admin.get(reverse("commissions:rules")).status_code == 200
