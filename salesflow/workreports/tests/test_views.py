"""The pages: My reports, a report (persona matrix), the team page (htmx comment, constant
queries), hostile form input, and the team page's export."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.testing import Personas
from salesflow.workreports.models import WorkReport, WorkReportComment
from salesflow.workreports.services import report_comment, report_get_or_create_draft, report_submit, report_update
from salesflow.workreports.tests.factories import done_activity

pytestmark = pytest.mark.django_db

#: persona → (reads a report of ``rep``, comments on it)
READ_COMMENT = {
    "rep": (True, False),
    "teammate": (False, False),
    "manager": (True, True),
    "outsider": (False, False),
    "other_manager": (False, False),
    "assistant": (True, False),
    "support": (False, False),
    "admin": (True, True),
}


def _submitted(personas: Personas, plans: str = "明天去星云报价") -> WorkReport:
    report, _created = report_get_or_create_draft(actor=personas.rep, kind="daily", day=timezone.localdate())
    report_update(actor=personas.rep, report=report, summary="拜访两家客户", plans=plans)
    return report_submit(actor=personas.rep, report=report)


def test_rep_writes_and_submits_through_the_pages(personas: Personas, client_for: Callable[..., Client]) -> None:
    rep = personas.rep
    done_activity(rep, timezone.now() - timedelta(minutes=3), "visit")
    client = client_for(rep)
    page = client.get("/work-reports/")
    assert page.status_code == 200 and b'data-testid="current-daily"' in page.content
    response = client.post("/work-reports/open/", {"kind": "daily"})
    report = WorkReport.objects.get(author=rep)
    assert response.status_code == 302 and response["Location"] == f"/work-reports/{report.pk}/"
    # the draft is written on My reports too (the form posts to the report page)
    assert b'data-testid="current-daily-form"' in client.get("/work-reports/").content
    detail = client.get(response["Location"])
    assert b'data-testid="facts-activity"' in detail.content and b'data-testid="report-form"' in detail.content

    # submitting without plans: the form says why, nothing is submitted
    bad = client.post(f"/work-reports/{report.pk}/", {"summary": "总结", "plans": "", "action": "submit"})
    assert bad.status_code == 400 and b"is-invalid" in bad.content
    report.refresh_from_db()
    assert report.status == "draft" and report.summary == "总结"  # the draft was saved

    ok = client.post(f"/work-reports/{report.pk}/", {"summary": "总结", "plans": "明天报价", "action": "submit"})
    assert ok.status_code == 302
    report.refresh_from_db()
    assert report.status == "submitted" and report.plans == "明天报价"
    again = client.post(f"/work-reports/{report.pk}/", {"summary": "再改", "plans": "x", "action": "submit"})
    assert again.status_code == 302
    report.refresh_from_db()
    assert report.summary == "总结"
    assert client.get(f"/work-reports/{report.pk}/").status_code == 200


@pytest.mark.parametrize("bad", ["a\x00b", "x" * 50_000], ids=["nul", "50k"])
def test_hostile_form_input_is_a_400_and_writes_nothing(
    personas: Personas, client_for: Callable[..., Client], bad: str
) -> None:
    report, _created = report_get_or_create_draft(actor=personas.rep, kind="daily", day=timezone.localdate())
    client = client_for(personas.rep)
    response = client.post(f"/work-reports/{report.pk}/", {"summary": bad, "plans": "计划", "action": "submit"})
    assert response.status_code == 400
    report.refresh_from_db()
    assert report.summary == "" and report.status == "draft"
    for data in ({"kind": bad}, {"kind": "daily", "date": bad}, {"kind": "daily", "date": "2099-01-01"}):
        assert client.post("/work-reports/open/", data).status_code == 302
    assert WorkReport.objects.count() == 1
    _submitted_report = report_update(actor=personas.rep, report=report, plans="计划")
    report_submit(actor=personas.rep, report=report)
    manager = client_for(personas.manager)
    response = manager.post(f"/work-reports/{report.pk}/comment/", {"body": bad}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and not WorkReportComment.objects.exists()
    for path in ("/work-reports/team/", "/work-reports/"):
        assert manager.get(path, {"date": bad, "kind": bad}).status_code in (200, 400)


@pytest.mark.parametrize("who", list(READ_COMMENT))
def test_report_page_per_persona(personas: Personas, client_for: Callable[..., Client], who: str) -> None:
    report = _submitted(personas)
    read, comment = READ_COMMENT[who]
    client = client_for(personas.all()[who])
    page = client.get(f"/work-reports/{report.pk}/")
    assert page.status_code == (200 if read else 404)
    if read:
        assert (b'data-testid="comment-form"' in page.content) == comment
        assert b'data-testid="report-form"' not in page.content  # submitted: read-only for everyone
    response = client.post(f"/work-reports/{report.pk}/comment/", {"body": "收到"})
    assert response.status_code == (302 if comment else 403 if read else 404)
    assert WorkReportComment.objects.count() == (1 if comment else 0)
    edit = client.post(f"/work-reports/{report.pk}/", {"summary": "代改", "plans": "x", "action": "save"})
    report.refresh_from_db()
    assert report.summary == "拜访两家客户"
    assert edit.status_code in ((302,) if who == "rep" else (403,) if read else (404,))


def test_team_page_comments_inline_with_htmx(personas: Personas, client_for: Callable[..., Client]) -> None:
    report = _submitted(personas)
    client = client_for(personas.manager)
    page = client.get("/work-reports/team/")
    assert page.status_code == 200
    rows = page.context["rows"]
    assert {r.person.username: r.state for r in rows} == {"rep": "submitted", "teammate": "missing"}
    assert "明天去星云报价" in page.content.decode()
    response = client.post(
        f"/work-reports/{report.pk}/comment/", {"body": "很好，继续跟进"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and b"report-comment-body" in response.content
    assert "很好，继续跟进" in response.content.decode()
    report.refresh_from_db()
    assert report.status == "commented"
    # the rep sees the comment on the report page
    assert "很好，继续跟进" in client_for(personas.rep).get(f"/work-reports/{report.pk}/").content.decode()


def test_team_page_navigation_and_scope(personas: Personas, client_for: Callable[..., Client]) -> None:
    today = timezone.localdate()
    client = client_for(personas.manager)
    yesterday = client.get("/work-reports/team/", {"kind": "daily", "date": (today - timedelta(days=1)).isoformat()})
    assert yesterday.context["next"] == today and yesterday.context["prev"] == today - timedelta(days=2)
    assert client.get("/work-reports/team/").context["next"] is None  # no future periods
    week = client.get("/work-reports/team/", {"kind": "weekly", "date": today.isoformat()})
    assert week.context["start"].weekday() == 0 and week.context["kind"] == "weekly"
    # assistants see their delegated reps; reps and support have no team page
    assistant_rows = client_for(personas.assistant).get("/work-reports/team/").context["rows"]
    assert [r.person.username for r in assistant_rows] == ["rep"]
    admin_rows = client_for(personas.admin).get("/work-reports/team/").context["rows"]
    assert {r.person.username for r in admin_rows} == {"rep", "teammate", "outsider"}
    for who in ("rep", "support", "outsider"):
        assert client_for(personas.all()[who]).get("/work-reports/team/").status_code == 404


def test_team_page_query_count_does_not_grow_with_people(
    personas: Personas, client_for: Callable[..., Client], django_assert_max_num_queries: Any
) -> None:
    client = client_for(personas.manager)
    _submitted(personas)
    report_comment(actor=personas.manager, report=WorkReport.objects.get(), body="好")
    client.get("/work-reports/team/")
    with django_assert_max_num_queries(100) as few:
        client.get("/work-reports/team/")
    for n in range(6):
        rep = User.objects.create(username=f"more{n}", role=Role.REP, team=personas.team_a)
        done_activity(rep, timezone.now() - timedelta(minutes=1))
        report, _created = report_get_or_create_draft(actor=rep, kind="daily", day=timezone.localdate())
        report_update(actor=rep, report=report, plans="计划")
        report_submit(actor=rep, report=report)
        # a fresh manager object: the scope is cached per request on the user
        report_comment(actor=User.objects.get(pk=personas.manager.pk), report=report, body="好")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/work-reports/team/")
    assert len(response.context["rows"]) == 8


def test_my_reports_and_detail_query_counts_are_constant(
    personas: Personas, client_for: Callable[..., Client], django_assert_max_num_queries: Any
) -> None:
    client = client_for(personas.rep)
    report = _submitted(personas)
    report_comment(actor=personas.manager, report=report, body="一")
    client.get("/work-reports/")
    with django_assert_max_num_queries(100) as few:
        client.get("/work-reports/")
        client.get(f"/work-reports/{report.pk}/")
    today = timezone.localdate()
    for n in range(1, 6):
        report_get_or_create_draft(actor=personas.rep, kind="daily", day=today - timedelta(days=n))
        done_activity(personas.rep, timezone.now() - timedelta(days=n))
    for n in range(4):
        report_comment(actor=personas.admin, report=report, body=f"评论 {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/work-reports/")
        client.get(f"/work-reports/{report.pk}/")


def test_team_page_export_has_one_row_per_person(personas: Personas, client_for: Callable[..., Client]) -> None:
    report = _submitted(personas, plans='=HYPERLINK("http://evil")')
    report_comment(actor=personas.manager, report=report, body="好")
    client = client_for(personas.manager)
    response = client.post(
        "/exports/", {"list": "work_reports", "format": "xlsx", "query": f"kind=daily&date={timezone.localdate()}"}
    )
    assert response.status_code == 200
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    rows = [
        list(r) for r in load_workbook(io.BytesIO(content), read_only=True).worksheets[0].iter_rows(values_only=True)
    ]
    header, *body = rows
    assert header[:4] == ["Person", "Team", "Period", "Status"]
    by_person = {r[0]: r for r in body}
    assert set(by_person) == {"张伟", "李娜"}
    mine = by_person["张伟"]
    assert mine[3] == "Commented" and mine[header.index("Plans for the next period")] == '\'=HYPERLINK("http://evil")'
    assert mine[header.index("Comments")] == "王经理: 好"
    assert by_person["李娜"][3] == "Missing"
    # a rep exports only what the (empty) team page shows
    theirs = client_for(personas.rep).post(
        "/exports/", {"list": "work_reports", "format": "csv", "query": "kind=weekly"}
    )
    text = b"".join(theirs.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert text.strip().count("\n") == 0
