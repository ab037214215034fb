"""Saved views of lists (issue 6): services (actor, validation, uniqueness, sharing with a
managed team, audit), the picker and its forms, and the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.users.models import SavedView
from salesflow.users.selectors import saved_views_for
from salesflow.users.services import saved_view_create, saved_view_delete, saved_view_update
from salesflow.users.testing import Personas


def test_create_checks_the_list_params_and_audits(personas: Personas) -> None:
    view = saved_view_create(
        actor=personas.rep,
        list_key="opportunities",
        name=" 本季度我的重点商机 ",
        query="?q=云&page=3&sort=-amount&stage=",
    )
    assert view.name == "本季度我的重点商机"
    assert view.query == "q=%E4%BA%91&sort=-amount"  # page and empty values dropped
    event = AuditEvent.objects.get(verb="users.saved_view.created")
    assert event.actor == personas.rep and event.data["list"] == "opportunities"
    for kwargs, field in [
        ({"list_key": "opportunities", "name": "x", "query": "evil=1"}, "query"),
        ({"list_key": "opportunities", "name": "x", "query": "q=" + "a" * 1001}, "query"),
        ({"list_key": "opportunities", "name": "", "query": ""}, "name"),
        ({"list_key": "opportunities", "name": "x" * 101, "query": ""}, "name"),
        ({"list_key": "nope", "name": "x", "query": ""}, "list"),
        ({"list_key": "opportunities", "name": "本季度我的重点商机", "query": ""}, "name"),  # taken
    ]:
        with pytest.raises(ValidationFailed) as exc:
            saved_view_create(actor=personas.rep, **kwargs)  # type: ignore[arg-type]
        assert field in exc.value.field_errors, kwargs
    assert SavedView.objects.count() == 1


def test_the_unique_race_is_a_field_error_not_a_500(personas: Personas) -> None:
    saved_view_create(actor=personas.rep, list_key="leads", name="A", query="")
    # the existence check passes (as for a concurrent request), the constraint refuses
    with mock.patch("salesflow.users.services.SavedView.objects.filter") as flt:
        flt.return_value.exists.return_value = False
        with pytest.raises(ValidationFailed) as exc:
            saved_view_create(actor=personas.rep, list_key="leads", name="A", query="")
    assert "name" in exc.value.field_errors
    assert SavedView.objects.count() == 1


def test_only_a_manager_shares_with_a_team_he_manages(personas: Personas) -> None:
    with pytest.raises(ValidationFailed) as exc:
        saved_view_create(actor=personas.rep, list_key="leads", name="A", query="", shared_team=personas.team_a)
    assert "shared_team_id" in exc.value.field_errors
    with pytest.raises(ValidationFailed):
        saved_view_create(actor=personas.manager, list_key="leads", name="A", query="", shared_team=personas.team_b)
    shared = saved_view_create(
        actor=personas.manager, list_key="leads", name="团队新线索", query="status=new", shared_team=personas.team_a
    )
    mine = saved_view_create(actor=personas.teammate, list_key="leads", name="我的", query="")
    assert [v.pk for v in saved_views_for(personas.teammate, "leads")] == [mine.pk, shared.pk]
    assert saved_views_for(personas.outsider, "leads") == []
    assert saved_views_for(personas.teammate, "accounts") == []
    # team members read it, never change it
    with pytest.raises(Forbidden):
        saved_view_update(actor=personas.teammate, view=shared, name="改名")
    with pytest.raises(Forbidden):
        saved_view_delete(actor=personas.teammate, view=shared)
    shared.refresh_from_db()
    assert shared.name == "团队新线索"


def test_update_records_changes_and_delete(personas: Personas) -> None:
    view = saved_view_create(actor=personas.manager, list_key="accounts", name="A", query="grade=a")
    saved_view_create(actor=personas.manager, list_key="accounts", name="B", query="")
    assert saved_view_update(actor=personas.manager, view=view, name="A") is view  # nothing changed
    assert not AuditEvent.objects.filter(verb="users.saved_view.updated").exists()
    with pytest.raises(ValidationFailed):
        saved_view_update(actor=personas.manager, view=view, name="B")
    saved_view_update(actor=personas.manager, view=view, name="重点客户", shared_team=personas.team_a)
    event = AuditEvent.objects.get(verb="users.saved_view.updated")
    assert event.data["changes"] == {"name": ["A", "重点客户"], "shared_team_id": [None, personas.team_a.pk]}
    saved_view_delete(actor=personas.manager, view=view)
    assert not SavedView.objects.filter(pk=view.pk).exists()
    assert AuditEvent.objects.filter(verb="users.saved_view.deleted").count() == 1


def test_picker_save_rename_and_delete_in_the_ui(personas: Personas, client_for: Callable[..., Client]) -> None:
    client = client_for(personas.manager)
    response = client.post(
        "/views/",
        {
            "list": "opportunities",
            "query": "q=云&sort=-amount",
            "name": "本季度我的重点商机",
            "shared_team": personas.team_a.pk,
        },
    )
    assert response.status_code == 302 and response["Location"].startswith("/opportunities/?q=")
    view = SavedView.objects.get()
    assert view.shared_team == personas.team_a
    picker = client.get("/views/picker/", {"list": "opportunities", "query": "q=云&sort=-amount"})
    assert "本季度我的重点商机" in picker.content.decode()
    assert b"saved-view-delete" in picker.content and b'name="shared_team"' in picker.content
    # the teammate sees it, read-only, and cannot share (no team to choose)
    mate = client_for(personas.teammate).get("/views/picker/", {"list": "opportunities"})
    assert "本季度我的重点商机" in mate.content.decode()
    assert b"saved-view-delete" not in mate.content and b'name="shared_team"' not in mate.content
    assert client_for(personas.teammate).post(f"/views/{view.pk}/delete/").status_code == 403
    assert client_for(personas.outsider).post(f"/views/{view.pk}/delete/").status_code == 404
    client.post(f"/views/{view.pk}/rename/", {"name": "重点"})
    view.refresh_from_db()
    assert view.name == "重点"
    client.post(f"/views/{view.pk}/delete/")
    assert not SavedView.objects.exists()
    assert client.get("/views/picker/", {"list": "nope"}).status_code == 404


def test_saved_views_api(personas: Personas, api_for: Callable[..., Any]) -> None:
    api = api_for(personas.manager)
    created = api.post(
        "/saved-views",
        {"list": "leads", "name": "团队新线索", "query": "status=new", "shared_team_id": personas.team_a.pk},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["mine"] is True and body["shared_team_id"] == personas.team_a.pk
    again = api.post("/saved-views", {"list": "leads", "name": "团队新线索"})
    assert again.status_code == 400 and "name" in again.json()["errors"]
    assert api.post("/saved-views", {"list": "leads", "name": "x", "query": "bad=1"}).status_code == 400
    assert api.post("/saved-views", {"list": "leads", "name": "x", "shared_team_id": 999999}).status_code == 400
    mate = api_for(personas.teammate)
    listed = mate.get("/saved-views", list="leads").json()
    assert [(v["name"], v["mine"]) for v in listed] == [("团队新线索", False)]
    assert mate.patch(f"/saved-views/{body['id']}", {"name": "x"}).status_code == 403
    assert api_for(personas.outsider).get(f"/saved-views/{body['id']}").status_code == 404
    patched = api.patch(f"/saved-views/{body['id']}", {"name": "新名字", "shared_team_id": None})
    assert patched.status_code == 200 and patched.json()["shared_team_id"] is None
    assert mate.get("/saved-views", list="leads").json() == []
    assert api.get("/saved-views", list="nope").status_code == 400
    assert api.delete(f"/saved-views/{body['id']}").status_code == 204
    assert not SavedView.objects.exists()
