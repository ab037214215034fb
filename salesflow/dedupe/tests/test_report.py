"""The duplicate report: a background run over the database, pairs, dismissal carried over,
the admin-only page and API, and the visible-safe check endpoint with hostile input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from salesflow.core.errors import Conflict, Forbidden
from salesflow.core.models import AuditEvent
from salesflow.core.testing import run_worker
from salesflow.dedupe.models import DuplicatePair, PairStatus, ReportStatus
from salesflow.dedupe.services import pair_dismiss, report_run, report_start
from salesflow.leads.services import lead_create
from salesflow.parties.services import account_create, contact_create
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def duplicates(personas: Personas) -> dict[str, Any]:
    rep, teammate = personas.rep, personas.teammate
    # the second of each pair is a possible duplicate of the first: saved anyway, with a reason
    anyway = {"duplicate_reason": "test"}
    a1 = account_create(actor=rep, owner=rep, name="上海星云科技有限公司")
    a2 = account_create(actor=teammate, owner=teammate, name="星云科技（上海）有限公司", intake_options=anyway)
    account_create(actor=rep, owner=rep, name="北京星云科技有限公司")  # sister company: no warning
    l1 = lead_create(actor=rep, owner=rep, name="张伟", source_channel="inbound", mobile="13812345678")
    l2 = lead_create(
        actor=teammate, owner=teammate, name="Zhang Wei", source_channel="inbound", mobile="+86 138 1234 5678",
        intake_options=anyway,
    )  # fmt: skip
    c1 = contact_create(actor=rep, account=a1, name="王芳", email="wf@xingyun.cn")
    c2 = contact_create(actor=teammate, account=a2, name="王芳", email="WF@xingyun.cn", intake_options=anyway)
    return {"accounts": (a1, a2), "leads": (l1, l2), "contacts": (c1, c2)}


def test_a_run_finds_the_pairs_and_keeps_dismissals(personas, duplicates, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = report_start(actor=personas.admin)
    with pytest.raises(Conflict):
        report_start(actor=personas.admin)
    assert run_worker() == 1
    run.refresh_from_db()
    assert run.status == ReportStatus.DONE and run.progress == run.total == 7
    pairs = {(p.kind, p.pk_a, p.pk_b) for p in DuplicatePair.objects.filter(run=run)}
    a1, a2 = duplicates["accounts"]
    l1, l2 = duplicates["leads"]
    c1, c2 = duplicates["contacts"]
    assert pairs == {("account", a1.pk, a2.pk), ("lead", l1.pk, l2.pk), ("contact", c1.pk, c2.pk)}
    lead_pair = DuplicatePair.objects.get(kind="lead")
    assert lead_pair.reason_texts[0] == "same mobile"
    assert lead_pair.merge_url == f"/duplicates/merge/lead/{l1.pk}/{l2.pk}/"
    with pytest.raises(Forbidden):
        pair_dismiss(actor=personas.manager, pair=lead_pair)
    pair_dismiss(actor=personas.admin, pair=lead_pair)
    assert AuditEvent.objects.filter(verb="dedupe.pair.dismissed").count() == 1
    second = report_start(actor=personas.admin)
    report_run(run_id=second.pk)
    assert report_run(run_id=second.pk) is None  # idempotent
    assert DuplicatePair.objects.filter(run=run).count() == 0  # replaced by the newer run
    assert DuplicatePair.objects.get(run=second, kind="lead").status == PairStatus.DISMISSED
    assert DuplicatePair.objects.filter(run=second, status=PairStatus.OPEN).count() == 2


def test_only_administrators_start_a_report(personas):
    for who in ("manager", "rep", "support"):
        with pytest.raises(Forbidden):
            report_start(actor=getattr(personas, who))


def test_the_report_page(
    personas, duplicates, client_for, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    assert client_for(personas.manager).get("/duplicates/report/").status_code == 403
    admin = client_for(personas.admin)
    assert admin.get("/duplicates/report/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post("/duplicates/report/start/").status_code == 302
    assert run_worker() == 1
    with django_assert_max_num_queries(12):
        page = admin.get("/duplicates/report/")
    body = page.content.decode()
    assert page.status_code == 200 and body.count('data-testid="pair-row"') == 3
    l1, l2 = duplicates["leads"]
    assert f'href="/duplicates/merge/lead/{l1.pk}/{l2.pk}/"' in body
    only_leads = admin.get("/duplicates/report/", {"kind": "lead", "min_score": "0.9"}).content.decode()
    assert only_leads.count('data-testid="pair-row"') == 1
    hostile = admin.get("/duplicates/report/", {"kind": "x" * 5000, "min_score": "nan", "cursor": "bad"})
    assert hostile.status_code == 200
    assert admin.get("/duplicates/report/", {"cursor": "\x00"}).status_code == 400  # refused by the middleware
    pair = DuplicatePair.objects.get(kind="lead")
    assert client_for(personas.rep).post(f"/duplicates/report/pairs/{pair.pk}/dismiss/").status_code == 403
    assert admin.post(f"/duplicates/report/pairs/{pair.pk}/dismiss/").status_code == 302
    pair.refresh_from_db()
    assert pair.status == PairStatus.DISMISSED


def test_the_report_api(personas, duplicates, api_for: Callable[..., Any]):
    admin, manager = api_for(personas.admin), api_for(personas.manager)
    assert manager.post("/duplicates/report").status_code == 403
    assert manager.get("/duplicates/report").status_code == 403
    assert admin.get("/duplicates/report").json() == {"run": None}
    started = admin.post("/duplicates/report", {"min_score": 0.8})
    assert started.status_code == 202, started.content
    assert admin.post("/duplicates/report").status_code == 409
    assert admin.post("/duplicates/report", {"min_score": 2}).status_code == 400
    assert admin.post("/duplicates/report", {"bogus": 1}).status_code == 400
    report_run(run_id=started.json()["run"]["id"])
    assert admin.get("/duplicates/report").json()["run"]["status"] == "done"
    listed = admin.get("/duplicates/pairs", limit=2)
    assert listed.status_code == 200 and listed.json()["count"] == 3 and len(listed.json()["items"]) == 2
    rest = admin.get("/duplicates/pairs", limit=2, cursor=listed.json()["next_cursor"]).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert admin.get("/duplicates/pairs", kind="nope").status_code == 400
    assert admin.get("/duplicates/pairs", cursor="garbage").status_code == 400
    pair_id = listed.json()["items"][0]["id"]
    dismissed = admin.post(f"/duplicates/pairs/{pair_id}/dismiss")
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert admin.get("/duplicates/pairs").json()["count"] == 2
    assert manager.post(f"/duplicates/pairs/{pair_id}/dismiss").status_code == 403


def test_check_endpoint_hides_what_the_caller_cannot_see(personas, duplicates, api_for: Callable[..., Any]):
    outsider, rep = api_for(personas.outsider), api_for(personas.rep)
    mine = rep.get("/duplicates/check", kind="lead", name="张伟", mobile="138-1234-5678").json()["candidates"]
    l1, _l2 = duplicates["leads"]
    visible = {c["id"] for c in mine if c["visible"]}
    assert l1.pk in visible
    hidden = outsider.get("/duplicates/check", kind="lead", mobile="13812345678").json()["candidates"]
    assert hidden and all(not c["visible"] and c["id"] is None and c["label"] == "" for c in hidden)
    assert {c["owner_id"] for c in hidden} == {personas.rep.pk, personas.teammate.pk}
    assert "same mobile" not in str(hidden)


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "lead", "name": "x" * 50_000},
        {"kind": "lead", "mobile": "138\x0012345678"},
        {"kind": "lead", "email": "a@b.c" * 10_000},
        {"kind": "spaceship", "name": "x"},
        {},
    ],
)
def test_check_endpoint_hostile_input(personas, api_for: Callable[..., Any], params):
    response = api_for(personas.rep).get("/duplicates/check", **params)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json() == {"candidates": []}
