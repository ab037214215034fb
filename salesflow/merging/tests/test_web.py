"""Pages and API of the duplicate warning, access requests, merges and undo."""

from __future__ import annotations

from typing import Any

import pytest

from salesflow.core.models import AuditEvent
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_create
from salesflow.merging.models import AccessRequest, AccessStatus, MergeRecord
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import account_create
from salesflow.parties.tests.factories import make_account, make_contact
from salesflow.users.models import Share

pytestmark = pytest.mark.django_db

REASON = {"duplicate_reason": "测试"}


def _lead(owner: Any, **fields: Any) -> Lead:
    return lead_create(actor=owner, owner=owner, source_channel="inbound", intake_options=REASON, **fields)


def _lead_form(**extra: str) -> dict[str, str]:
    return {
        "name": "王磊",
        "mobile": "13800138000",
        "source_channel": "inbound",
        "budget_status": "unknown",
        "authority_status": "unknown",
        "budget_currency": "CNY",
        **extra,
    }


# --- forms -------------------------------------------------------------------------------------


def test_lead_form_shows_the_panel_then_saves_anyway(personas, client_for) -> None:
    existing = _lead(personas.rep, name="王磊", mobile="13800138000")
    # another name but the same mobile and email: the matcher takes it for the same person
    hidden = _lead(personas.outsider, name="不可见", mobile="13800138000", email="wl@example.cn")
    client = client_for(personas.rep)
    response = client.post("/leads/create/", _lead_form(owner=str(personas.rep.pk), email="wl@example.cn"))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="possible-duplicates"' in html
    assert f"/leads/{existing.pk}/" in html and "不可见" not in html
    assert f"/duplicates/access-requests/new/?kind=lead&amp;id={hidden.pk}" in html
    assert Lead.objects.count() == 2
    response = client.post(
        "/leads/create/", _lead_form(owner=str(personas.rep.pk), email="wl@example.cn", duplicate_reason="另一个人")
    )
    assert response.status_code == 302
    created = Lead.objects.latest("pk")
    event = AuditEvent.objects.get(verb="merging.duplicate.saved_anyway", target_id=created.pk)
    assert event.data["reason"] == "另一个人"


def test_lead_panel_in_chinese(personas, client_for) -> None:
    _lead(personas.rep, name="王磊", mobile="13800138000")
    response = client_for(personas.rep, language="zh-hans").post(
        "/leads/create/", _lead_form(owner=str(personas.rep.pk))
    )
    html = response.content.decode()
    assert "疑似重复" in html and "仍然保存" in html


def test_account_and_contact_forms_show_the_panel(personas, client_for) -> None:
    account = account_create(actor=personas.rep, owner=personas.rep, name="上海星云智能科技有限公司")
    make_contact(account, name="王磊", mobile="13700137000")
    client = client_for(personas.rep)
    response = client.post(
        "/accounts/create/", {"name": "上海星云智能科技有限公司", "owner": personas.rep.pk, "lifecycle": "prospect"}
    )
    assert 'data-testid="possible-duplicates"' in response.content.decode()
    assert Account.objects.count() == 1
    response = client.post(
        "/contacts/create/", {"account": account.pk, "name": "王磊二", "mobile": "13700137000", "buying_role": "other"}
    )
    assert 'data-testid="possible-duplicates"' in response.content.decode()
    assert Contact.objects.count() == 1


# --- API ---------------------------------------------------------------------------------------


def test_api_returns_409_with_duplicates_then_accepts_a_reason(personas, api_for) -> None:
    existing = _lead(personas.rep, name="王磊", mobile="13800138000")
    api = api_for(personas.rep)
    body = {"name": "王磊", "source_channel": "inbound", "mobile": "13800138000"}
    response = api.post("/leads", body)
    assert response.status_code == 409
    data = response.json()
    assert data["code"] == "possible_duplicates" and data["duplicates"][0]["id"] == existing.pk
    assert api.post("/leads", {**body, "duplicate_reason": "a\x00"}).status_code == 400
    assert api.post("/leads", {**body, "duplicate_reason": "x" * 2001}).status_code == 400
    assert api.post("/leads", {**body, "duplicate_reason": "另一个人\n第二行"}).status_code == 201
    other = Lead.objects.latest("pk")
    patched = api.patch(f"/leads/{other.pk}", {"email": "w@x.cn", "duplicate_reason": "ok"})
    assert patched.status_code == 200


def test_api_accounts_and_contacts(personas, api_for) -> None:
    api = api_for(personas.rep)
    assert api.post("/accounts", {"name": "上海星云智能科技有限公司"}).status_code == 201
    refused = api.post("/accounts", {"name": "上海星云智能科技"})
    assert refused.status_code == 409 and refused.json()["duplicates"][0]["kind"] == "account"
    made = api.post("/accounts", {"name": "上海星云智能科技", "duplicate_reason": "分公司"})
    assert made.status_code == 201
    account_id = made.json()["id"]
    assert api.post("/contacts", {"account_id": account_id, "name": "甲", "mobile": "13700137000"}).status_code == 201
    contact = api.post("/contacts", {"account_id": account_id, "name": "乙", "mobile": "13700137000"})
    assert contact.status_code == 409
    assert api.post("/contacts", {"account_id": account_id, "name": "乙", "bogus": 1}).status_code == 400


def test_api_access_request_flow(personas, api_for) -> None:
    lead = _lead(personas.outsider, name="秘密", mobile="13900139000")
    rep_api, owner_api = api_for(personas.rep), api_for(personas.outsider)
    created = rep_api.post("/access-requests", {"kind": "lead", "object_id": lead.pk, "message": "请共享\n谢谢"})
    assert created.status_code == 201
    request_id = created.json()["id"]
    assert rep_api.post("/access-requests", {"kind": "lead", "object_id": lead.pk}).status_code == 409
    assert rep_api.post("/access-requests", {"kind": "nope", "object_id": lead.pk}).status_code == 400
    assert rep_api.post("/access-requests", {"kind": "lead", "object_id": 10**15}).status_code == 404
    assert rep_api.post(f"/access-requests/{request_id}/grant").status_code == 404  # not theirs to decide
    listed = owner_api.get("/access-requests", box="to_me").json()
    assert [r["id"] for r in listed["items"]] == [request_id]
    granted = owner_api.post(f"/access-requests/{request_id}/grant")
    assert granted.status_code == 200 and granted.json()["status"] == "granted"
    assert Share.objects.filter(grantee_user=personas.rep, object_id=lead.pk).exists()
    assert rep_api.get(f"/leads/{lead.pk}").status_code == 200
    assert rep_api.get("/access-requests", box="mine").json()["items"][0]["status"] == "granted"


def test_api_merge_and_undo(personas, api_for) -> None:
    # the same name and mobile: duplicates (different names with one mobile are not)
    a = _lead(personas.rep, name="王磊", mobile="13800138000")
    b = _lead(personas.rep, name="王磊", mobile="13800138000", email="b@x.cn")
    hidden = _lead(personas.outsider, name="王磊", mobile="13800138000")
    _lead(personas.rep, name="丙", mobile="13800138000")  # another person sharing the number
    api = api_for(personas.rep)
    candidates = api.get(f"/merges/candidates/lead/{a.pk}").json()
    assert {c["id"] for c in candidates} == {b.pk, hidden.pk}
    assert next(c for c in candidates if c["id"] == hidden.pk)["label"] is None
    assert api.post("/merges", {"kind": "lead", "survivor_id": a.pk, "loser_id": hidden.pk}).status_code == 404
    assert api.post("/merges", {"kind": "lead", "survivor_id": a.pk, "loser_id": a.pk}).status_code == 400
    assert api.post("/merges", {"kind": "deal", "survivor_id": a.pk, "loser_id": b.pk}).status_code == 400
    assert api.post("/merges", {"kind": "lead", "survivor_id": a.pk, "loser_id": b.pk, "x": 1}).status_code == 400
    merged = api.post(
        "/merges", {"kind": "lead", "survivor_id": a.pk, "loser_id": b.pk, "field_choices": {"email": "loser"}}
    )
    assert merged.status_code == 201
    assert merged.json()["changed_fields"] == ["email"]
    assert Lead.objects.get(pk=a.pk).email == "b@x.cn" and not Lead.objects.filter(pk=b.pk).exists()
    merge_id = merged.json()["id"]
    assert api_for(personas.outsider).get(f"/merges/{merge_id}").status_code == 404
    undone = api.post(f"/merges/{merge_id}/undo")
    assert undone.status_code == 200 and undone.json()["undone_at"]
    assert Lead.objects.filter(pk=b.pk).exists()
    assert api.post(f"/merges/{merge_id}/undo").status_code == 409


# --- pages -------------------------------------------------------------------------------------


def test_merge_page_merges_with_picked_values_and_undo_button(
    personas, client_for, django_assert_max_num_queries
) -> None:
    a = _lead(personas.rep, name="甲", mobile="13800138000", company_name="星云")
    b = _lead(personas.rep, name="乙", mobile="13800138000", company_name="星云科技", email="b@x.cn")
    client = client_for(personas.rep)
    with django_assert_max_num_queries(20):
        page = client.get(f"/duplicates/merge/lead/{a.pk}/{b.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="field_email"' in html and 'name="field_mobile"' not in html
    response = client.post(
        f"/duplicates/merge/lead/{a.pk}/{b.pk}/", {"survivor": "b", "field_name": "a", "field_email": "b"}
    )
    merge = MergeRecord.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/duplicates/merges/{merge.pk}/"
    survivor = Lead.objects.get(pk=b.pk)
    assert survivor.name == "甲" and survivor.email == "b@x.cn" and not Lead.objects.filter(pk=a.pk).exists()
    result = client.get(response["Location"]).content.decode()
    assert 'data-testid="merge-undo"' in result
    client.post(f"/duplicates/merges/{merge.pk}/undo/")
    assert Lead.objects.filter(pk=a.pk).exists() and Lead.objects.get(pk=b.pk).name == "乙"


def test_merge_page_query_count_does_not_grow_with_related_rows(
    personas, client_for, django_assert_max_num_queries
) -> None:
    a, b = make_account(personas.rep, name="甲公司"), make_account(personas.rep, name="甲公司 ")
    for _ in range(15):
        make_contact(b)
    with django_assert_max_num_queries(25):
        assert client_for(personas.rep).get(f"/duplicates/merge/account/{a.pk}/{b.pk}/").status_code == 200


def test_merge_page_refusals(personas, client_for) -> None:
    mine = _lead(personas.rep, name="甲", mobile="13800138000")
    theirs = _lead(personas.outsider, name="乙", mobile="13800138000")
    client = client_for(personas.rep)
    assert client.get(f"/duplicates/merge/lead/{mine.pk}/{theirs.pk}/").status_code == 404
    assert client.get(f"/duplicates/merge/deal/{mine.pk}/{mine.pk}/").status_code == 404
    assert client.get(f"/duplicates/merge/lead/{mine.pk}/{mine.pk}/").status_code == 404
    other = _lead(personas.rep, name="丙", mobile="13800138000")
    assert client_for(personas.support).get(f"/duplicates/merge/lead/{mine.pk}/{other.pk}/").status_code == 403
    assert client_for(personas.teammate).get(f"/duplicates/merge/lead/{mine.pk}/{other.pk}/").status_code == 404


def test_duplicates_of_page_links_merge_only_for_writable(personas, client_for) -> None:
    a = _lead(personas.rep, name="王磊", mobile="13800138000", email="wl@example.cn")
    b = _lead(personas.rep, name="王磊", mobile="13800138000")
    c = _lead(personas.outsider, name="机密", mobile="13800138000", email="wl@example.cn")
    html = client_for(personas.rep).get(f"/duplicates/of/lead/{a.pk}/").content.decode()
    assert f"/duplicates/merge/lead/{a.pk}/{b.pk}/" in html
    assert f'data-kind="lead" data-id="{c.pk}"' in html  # listed, as a record they cannot open
    assert f"/duplicates/access-requests/new/?kind=lead&amp;id={c.pk}" in html
    assert f"/duplicates/merge/lead/{a.pk}/{c.pk}/" not in html and "机密" not in html


def test_access_request_pages(personas, client_for) -> None:
    lead = _lead(personas.outsider, name="秘密", mobile="13900139000")
    rep = client_for(personas.rep)
    form = rep.get(f"/duplicates/access-requests/new/?kind=lead&id={lead.pk}")
    assert form.status_code == 200 and "秘密" not in form.content.decode()
    assert rep.get("/duplicates/access-requests/new/?kind=lead&id=abc").status_code == 404
    sent = rep.post("/duplicates/access-requests/new/", {"kind": "lead", "id": lead.pk, "message": "请"})
    assert sent.status_code == 302
    request = AccessRequest.objects.get()
    owner = client_for(personas.outsider)
    assert 'data-testid="request-grant"' in owner.get("/duplicates/access-requests/").content.decode()
    assert rep.post(f"/duplicates/access-requests/{request.pk}/decide/", {"decision": "grant"}).status_code == 404
    owner.post(f"/duplicates/access-requests/{request.pk}/decide/", {"decision": "decline"})
    request.refresh_from_db()
    assert request.status == AccessStatus.DECLINED
