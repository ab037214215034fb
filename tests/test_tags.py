"""Tags (salesflow.tags): management by administrators, the inline creation setting, tagging
through the record's write policy, audit on the record's timeline, list filters and API output.

Here rather than in salesflow/tags/tests because it needs records of the apps above tags."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.parties.tests.factories import make_account
from salesflow.sales.tests.factories import make_opportunity
from salesflow.tags.models import Tag, TaggedItem
from salesflow.tags.permissions import current_settings
from salesflow.tags.services import (
    tag_add,
    tag_add_by_name,
    tag_create,
    tag_delete,
    tag_remove,
    tag_settings_update,
    tag_update,
)
from salesflow.users.testing import REP_RECORD_ACCESS

pytestmark = pytest.mark.django_db


def test_admin_creates_renames_recolours_and_deletes(personas):
    tag = tag_create(actor=personas.admin, name="  重点客户 ", colour="red")
    assert (tag.name, tag.colour, tag.created_by) == ("重点客户", "red", personas.admin)
    tag_update(actor=personas.admin, tag=tag, name="战略客户", colour="orange")
    tag.refresh_from_db()
    assert (tag.name, tag.colour) == ("战略客户", "orange")
    account = make_account(personas.rep)
    tag_add(actor=personas.rep, record=account, tag=tag)
    tag_delete(actor=personas.admin, tag=tag)
    assert not Tag.objects.exists() and not TaggedItem.objects.exists()
    verbs = list(AuditEvent.objects.filter(verb__startswith="tags.tag.").values_list("verb", flat=True))
    assert sorted(verbs) == ["tags.tag.created", "tags.tag.deleted", "tags.tag.updated"]


def test_names_are_unique_regardless_of_case(personas):
    tag_create(actor=personas.admin, name="VIP")
    with pytest.raises(ValidationFailed) as exc:
        tag_create(actor=personas.admin, name="vip")
    assert "name" in exc.value.field_errors
    other = tag_create(actor=personas.admin, name="续约")
    with pytest.raises(ValidationFailed) as exc:
        tag_update(actor=personas.admin, tag=other, name="Vip")
    assert "name" in exc.value.field_errors
    other.refresh_from_db()
    assert other.name == "续约"


@pytest.mark.parametrize("name", ["", "   ", "x" * 41, "a\x00b"])
def test_bad_names_and_colours_are_refused(personas, name):
    with pytest.raises(ValidationFailed) as exc:
        tag_create(actor=personas.admin, name=name)
    assert "name" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        tag_create(actor=personas.admin, name="ok", colour="#ff0000")
    assert "colour" in exc.value.field_errors
    assert not Tag.objects.exists()


def test_inline_creation_follows_the_setting(personas):
    assert current_settings().inline_create is True
    account = make_account(personas.rep)
    tag = tag_add_by_name(actor=personas.rep, record=account, name="渠道")
    assert tag.created_by == personas.rep
    tag_settings_update(actor=personas.admin, inline_create=False)
    with pytest.raises(Forbidden):
        tag_add_by_name(actor=personas.rep, record=account, name="新标签")
    # an existing tag (any case) is still usable
    assert tag_add_by_name(actor=personas.rep, record=make_account(personas.rep), name="渠道") == tag
    with pytest.raises(Forbidden):
        tag_settings_update(actor=personas.manager, inline_create=True)
    with pytest.raises(Forbidden):
        tag_update(actor=personas.rep, tag=tag, name="x")
    with pytest.raises(Forbidden):
        tag_delete(actor=personas.manager, tag=tag)
    assert Tag.objects.get().name == "渠道"


@pytest.mark.parametrize("persona", list(REP_RECORD_ACCESS))
def test_tagging_needs_write_access_to_the_record(personas, persona):
    """Every persona against a deal of ``rep``: tagging succeeds exactly for its writers."""
    deal = make_opportunity(personas.rep)
    tag = tag_create(actor=personas.admin, name="政府项目")
    actor = getattr(personas, persona)
    may_write = REP_RECORD_ACCESS[persona][1]
    if may_write:
        assert tag_add(actor=actor, record=deal, tag=tag) is True
        assert tag_add(actor=actor, record=deal, tag=tag) is False  # idempotent, no second event
        assert tag_remove(actor=actor, record=deal, tag=tag) is True
    else:
        with pytest.raises(Forbidden):
            tag_add(actor=actor, record=deal, tag=tag)
        assert not TaggedItem.objects.exists()


def test_tagging_is_audited_on_the_record(personas, client_for):
    deal = make_opportunity(personas.rep)
    tag = tag_create(actor=personas.admin, name="续约")
    tag_add(actor=personas.rep, record=deal, tag=tag)
    tag_remove(actor=personas.rep, record=deal, tag=tag)
    ct = ContentType.objects.get_for_model(deal)
    events = AuditEvent.objects.filter(target_type=ct, target_id=deal.pk, verb__startswith="tags.record.")
    assert sorted(e.verb for e in events) == ["tags.record.tagged", "tags.record.untagged"]
    page = client_for(personas.rep).get(f"/opportunities/{deal.pk}/")
    assert "added a tag" in page.content.decode()


def test_tag_card_adds_and_removes_through_the_ui(personas, client_for):
    account = make_account(personas.rep)
    tag = tag_create(actor=personas.admin, name="重点客户", colour="red")
    client = client_for(personas.rep)
    response = client.post(f"/tags/record/account/{account.pk}/", {"tag": tag.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "重点客户" in response.content.decode()
    assert TaggedItem.objects.filter(object_id=account.pk, tag=tag).exists()
    response = client.post(f"/tags/record/account/{account.pk}/", {"name": "新客户"}, headers={"HX-Request": "true"})
    assert Tag.objects.filter(name="新客户").exists()
    response = client.post(f"/tags/record/account/{account.pk}/{tag.pk}/remove/")
    assert response.status_code == 200
    assert not TaggedItem.objects.filter(object_id=account.pk, tag=tag).exists()
    # unseen record → 404, readable but not writable → 403, nothing written
    assert client_for(personas.outsider).post(f"/tags/record/account/{account.pk}/", {"tag": tag.pk}).status_code == 404
    assert client_for(personas.support).post(f"/tags/record/account/{account.pk}/", {"tag": tag.pk}).status_code == 403
    assert not TaggedItem.objects.filter(object_id=account.pk, tag=tag).exists()


def test_settings_page_is_for_administrators(personas, client_for):
    assert client_for(personas.manager).get("/tags/").status_code == 403
    client = client_for(personas.admin)
    response = client.post("/tags/", {"new-name": "渠道", "new-colour": "teal"})
    assert response.status_code == 302 and Tag.objects.filter(name="渠道", colour="teal").exists()
    response = client.post("/tags/", {"new-name": "渠道", "new-colour": "teal"})
    assert response.status_code == 200 and "already exists" in response.content.decode()
    client.post("/tags/", {"settings-submit": "1"})
    assert current_settings().inline_create is False


@pytest.mark.parametrize(
    ("url", "make"),
    [
        ("/accounts/", lambda p: make_account(p.rep)),
        ("/opportunities/", lambda p: make_opportunity(p.rep)),
    ],
)
def test_list_tag_filter_and_chips_with_bounded_queries(personas, client_for, url, make):
    tag = tag_create(actor=personas.admin, name="重点客户")
    other = tag_create(actor=personas.admin, name="续约")
    client = client_for(personas.manager)

    def seed(n: int) -> list[Any]:
        rows = [make(personas) for _ in range(n)]
        for i, row in enumerate(rows):
            tag_add(actor=personas.rep, record=row, tag=tag if i % 2 == 0 else other)
            tag_add(actor=personas.rep, record=row, tag=other)
        return rows

    rows = seed(3)
    with CaptureQueriesContext(connection) as few:
        response = client.get(url, {"tag": tag.pk})
    html = response.content.decode()
    assert response.status_code == 200 and "重点客户" in html
    seed(20)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, {"tag": tag.pk})
    assert len(many.captured_queries) == len(few.captured_queries)
    html = response.content.decode()
    assert f'data-testid="bulk-select-{rows[0].pk}"' in html
    assert f'data-testid="bulk-select-{rows[1].pk}"' not in html  # carries only the other tag


def test_api_tags_crud_filter_and_output(personas, api_for):
    admin, rep = api_for(personas.admin), api_for(personas.rep)
    created = admin.post("/tags", {"name": "政府项目", "colour": "red"})
    assert created.status_code == 201
    tag_id = created.json()["id"]
    assert admin.post("/tags", {"name": "政府项目"}).json()["errors"].keys() == {"name"}
    assert rep.patch(f"/tags/{tag_id}", {"name": "x"}).status_code == 403
    assert admin.patch(f"/tags/{tag_id}", {"colour": "green"}).json()["colour"] == "green"
    assert admin.post("/tags", {"name": "x", "colour": "plaid"}).status_code == 400
    assert [t["name"] for t in rep.get("/tags").json()] == ["政府项目"]

    deal = make_opportunity(personas.rep)
    other = make_opportunity(personas.rep)
    response = rep.post(f"/tags/{tag_id}/records", {"kind": "opportunity", "record_id": deal.pk})
    assert response.status_code == 200 and response.json() == {"added": True}
    hidden = make_opportunity(personas.outsider)
    response = rep.post(f"/tags/{tag_id}/records", {"kind": "opportunity", "record_id": hidden.pk})
    assert response.status_code == 400 and "record_id" in response.json()["errors"]

    page = rep.get("/opportunities", tag_id=tag_id).json()
    assert [item["id"] for item in page["items"]] == [deal.pk]
    assert page["items"][0]["tags"] == [{"id": tag_id, "name": "政府项目", "colour": "green"}]
    assert rep.get(f"/opportunities/{other.pk}").json()["tags"] == []
    account = rep.get(f"/accounts/{deal.account_id}").json()
    assert account["tags"] == []

    assert rep.delete(f"/tags/{tag_id}/records/opportunity/{deal.pk}").status_code == 204
    assert rep.get("/opportunities", tag_id=tag_id).json()["items"] == []
    assert rep.delete(f"/tags/{tag_id}").status_code == 403
    assert admin.delete(f"/tags/{tag_id}").status_code == 204
