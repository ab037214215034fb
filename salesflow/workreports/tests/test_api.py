"""``/api/v1/work-reports``: open, patch, submit (409 twice), comment, list filters, and
hostile input (400 naming the field, nothing written)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from salesflow.users.testing import Personas
from salesflow.workreports.models import WorkReport, WorkReportComment
from salesflow.workreports.tests.factories import done_activity

pytestmark = pytest.mark.django_db


def test_the_api_walks_the_whole_life(personas: Personas, api_for: Callable[..., Any]) -> None:
    rep, manager = api_for(personas.rep), api_for(personas.manager)
    done_activity(personas.rep, timezone.now() - timedelta(minutes=2), "demo")
    opened = rep.post("/work-reports", {"kind": "daily"})
    assert opened.status_code == 201, opened.content
    body = opened.json()
    pk = body["id"]
    assert body["status"] == "draft" and body["facts"]["counts"]["activities"] == 1
    assert rep.post("/work-reports", {"kind": "daily", "date": str(timezone.localdate())}).status_code == 200

    patched = rep.patch(f"/work-reports/{pk}", {"summary": "演示顺利\n客户满意", "plans": "发报价"})
    assert patched.status_code == 200 and patched.json()["summary"] == "演示顺利\n客户满意"
    assert manager.patch(f"/work-reports/{pk}", {"summary": "x"}).status_code == 403
    assert manager.post(f"/work-reports/{pk}/comments", {"body": "早了"}).status_code == 409

    submitted = rep.post(f"/work-reports/{pk}/submit")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert submitted.json()["manager"] == {"id": personas.manager.pk, "name": "王经理"}
    again = rep.post(f"/work-reports/{pk}/submit")
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert rep.patch(f"/work-reports/{pk}", {"plans": "改"}).status_code == 409

    comment = manager.post(f"/work-reports/{pk}/comments", {"body": "好，周五前发出"})
    assert comment.status_code == 201 and comment.json()["author"]["id"] == personas.manager.pk
    assert rep.post(f"/work-reports/{pk}/comments", {"body": "自评"}).status_code == 403
    read = rep.get(f"/work-reports/{pk}").json()
    assert read["status"] == "commented" and [c["body"] for c in read["comments"]] == ["好，周五前发出"]
    for who in ("teammate", "support", "outsider", "other_manager"):
        assert api_for(personas.all()[who]).get(f"/work-reports/{pk}").status_code == 404
    assert api_for(personas.assistant).get(f"/work-reports/{pk}").status_code == 200


def test_list_filters_and_visibility(personas: Personas, api_for: Callable[..., Any]) -> None:
    today = timezone.localdate()
    rep, teammate = api_for(personas.rep), api_for(personas.teammate)
    rep.post("/work-reports", {"kind": "daily", "date": str(today)})
    rep.post("/work-reports", {"kind": "daily", "date": str(today - timedelta(days=1))})
    rep.post("/work-reports", {"kind": "weekly", "date": str(today)})
    teammate.post("/work-reports", {"kind": "daily", "date": str(today)})

    def ids(client: Any, **params: Any) -> list[tuple[str, str]]:
        response = client.get("/work-reports", **params)
        assert response.status_code == 200, response.content
        return [(r["author"]["name"], r["kind"]) for r in response.json()["items"]]

    assert len(ids(rep)) == 3
    assert ids(rep, kind="weekly") == [("张伟", "weekly")]
    assert sorted(ids(api_for(personas.manager), date=str(today), kind="daily")) == [
        ("张伟", "daily"),
        ("李娜", "daily"),
    ]
    assert ids(api_for(personas.manager), user_id=personas.teammate.pk) == [("李娜", "daily")]
    assert ids(api_for(personas.outsider)) == []
    assert ids(rep, status="submitted") == []
    page = api_for(personas.manager).get("/work-reports", limit=2).json()
    assert page["count"] == 4 and len(page["items"]) == 2 and page["next_cursor"]
    rest = api_for(personas.manager).get("/work-reports", limit=2, cursor=page["next_cursor"]).json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("path", "method", "body", "field"),
    [
        ("/work-reports", "post", {"kind": "monthly"}, "kind"),
        ("/work-reports", "post", {"kind": "daily", "date": "2026-02-30"}, "date"),
        ("/work-reports", "post", {"kind": "daily", "date": "2999-01-01"}, "date"),
        ("/work-reports", "post", {"kind": "daily", "date": "not a date"}, "date"),
        ("/work-reports", "post", {"kind": "daily", "author_id": 1}, "author_id"),
        ("{report}", "patch", {"summary": "a\x00b"}, "summary"),
        ("{report}", "patch", {"plans": "x" * 50_000}, "plans"),
        ("{report}", "patch", {"status": "submitted"}, "status"),
        ("{report}", "patch", {"facts": {"counts": {}}}, "facts"),
        ("{report}/comments", "post", {"body": "a\x00b"}, "body"),
        ("{report}/comments", "post", {"body": "x" * 50_000}, "body"),
        ("{report}/comments", "post", {"body": "ok", "author_id": 1}, "author_id"),
    ],
    ids=[
        "kind",
        "feb-30",
        "future",
        "not-a-date",
        "unknown-field",
        "nul",
        "50k",
        "status",
        "facts",
        "comment-nul",
        "comment-50k",
        "comment-unknown",
    ],
)
def test_hostile_input_is_a_400_naming_the_field(
    personas: Personas, api_for: Callable[..., Any], path: str, method: str, body: dict[str, Any], field: str
) -> None:
    rep = api_for(personas.rep)
    pk = rep.post("/work-reports", {"kind": "daily"}).json()["id"]
    rep.patch(f"/work-reports/{pk}", {"plans": "计划"})
    rep.post(f"/work-reports/{pk}/submit")
    before = list(WorkReport.objects.values_list("id", "summary", "plans", "status"))
    client = api_for(personas.manager) if "comments" in path else rep
    if method == "patch":  # patching needs a draft of one's own
        pk = rep.post("/work-reports", {"kind": "weekly"}).json()["id"]
        before = list(WorkReport.objects.values_list("id", "summary", "plans", "status"))
    url = path.replace("{report}", f"/work-reports/{pk}")
    response = getattr(client, method)(url, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert list(WorkReport.objects.values_list("id", "summary", "plans", "status")) == before
    assert not WorkReportComment.objects.exists()


def test_bad_list_filters_are_400s(personas: Personas, api_for: Callable[..., Any]) -> None:
    rep = api_for(personas.rep)
    for params, field in (({"kind": "x"}, "kind"), ({"status": "x"}, "status"), ({"date": "2026-13-01"}, "date")):
        response = rep.get("/work-reports", **params)
        assert response.status_code == 400 and field in response.json()["errors"]
