"""Sharing accounts, leads and deals with a user or a team, read-only or read-write:
who may share, what the grantee may then do (UI and API), revocation and the audit."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from salesflow.activities.tests.factories import make_account, make_contact, make_lead, make_opportunity
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.parties.models import Account
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_delete
from salesflow.users.models import Share
from salesflow.users.services import share_grant, share_revoke

# issue 7: these tests log done calls without an outcome (the rules: test_follow_up_rules.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_completion_rules")]


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("rep", True),
        ("manager", True),
        ("admin", True),
        ("teammate", False),
        ("assistant", False),
        ("support", False),
        ("outsider", False),
        ("other_manager", False),
    ],
)
def test_who_may_share(personas, persona: str, allowed: bool) -> None:
    account = make_account(personas.rep, "星云智能科技")
    actor = personas.all()[persona]
    if allowed:
        share = share_grant(actor=actor, target=account, grantee_user=personas.outsider)
        event = AuditEvent.objects.get(verb="users.share.granted")
        assert event.actor == actor and event.target_id == account.pk
        assert event.data == {
            "share_id": share.pk,
            "grantee_user_id": personas.outsider.pk,
            "grantee_team_id": None,
            "access": "read",
        }
        share_revoke(actor=actor, share=share)
        revoked = AuditEvent.objects.get(verb="users.share.revoked")
        assert revoked.data == event.data and not Share.objects.exists()
    else:
        with pytest.raises(Forbidden):
            share_grant(actor=actor, target=account, grantee_user=personas.outsider)
        assert not Share.objects.exists() and not AuditEvent.objects.filter(verb__startswith="users.share").exists()


def test_share_input_is_validated_and_regranting_changes_access(personas) -> None:
    account = make_account(personas.rep)
    for kwargs in (
        {},
        {"grantee_user": personas.outsider, "grantee_team": personas.team_b},
        {"grantee_user": personas.rep},
    ):
        with pytest.raises(ValidationFailed):
            share_grant(actor=personas.rep, target=account, **kwargs)
    with pytest.raises(ValidationFailed):
        share_grant(actor=personas.rep, target=account, grantee_user=personas.outsider, access="admin")
    assert not Share.objects.exists()
    first = share_grant(actor=personas.rep, target=account, grantee_team=personas.team_b)
    again = share_grant(actor=personas.rep, target=account, grantee_team=personas.team_b, access="write")
    assert first.pk == again.pk and Share.objects.get().access == "write"
    same = share_grant(actor=personas.rep, target=account, grantee_team=personas.team_b, access="write")
    assert same.pk == first.pk and AuditEvent.objects.filter(verb="users.share.granted").count() == 2


def test_read_share_by_user_opens_lists_search_detail_and_api_read_only(personas, client_for, api_for) -> None:
    account = make_account(personas.rep, "星云智能科技")
    contact = make_contact(account, "王磊")
    api = api_for(personas.outsider)
    assert api.get(f"/accounts/{account.pk}").status_code == 404
    share_grant(actor=personas.rep, target=account, grantee_user=personas.outsider)
    assert api.get(f"/accounts/{account.pk}").status_code == 200
    assert api.get(f"/contacts/{contact.pk}").status_code == 200
    assert [row["id"] for row in api.get("/accounts", q="星云").json()["items"]] == [account.pk]
    web = client_for(personas.outsider)
    assert "星云智能科技" in web.get(reverse("accounts:list"), {"q": "星云"}).content.decode()
    assert web.get(f"/accounts/{account.pk}/").status_code == 200
    before = Account.objects.values().get(pk=account.pk)
    assert web.get(f"/accounts/{account.pk}/edit/").status_code == 403
    assert api.patch(f"/accounts/{account.pk}", {"phone": "123"}).status_code == 403
    assert api.delete(f"/accounts/{account.pk}").status_code == 403
    assert Account.objects.values().get(pk=account.pk) == before


def test_write_share_by_team_lets_members_edit_but_not_delete_or_reassign(personas, client_for, api_for) -> None:
    deal = make_opportunity(make_account(personas.rep), name="ERP 项目")
    share = share_grant(actor=personas.manager, target=deal, grantee_team=personas.team_b, access="write")
    for member in (personas.outsider, personas.other_manager):
        api = api_for(member)
        assert api.get(f"/opportunities/{deal.pk}").status_code == 200
        assert deal.pk in [row["id"] for row in api.get("/opportunities").json()["items"]]
    api = api_for(personas.outsider)
    assert api.patch(f"/opportunities/{deal.pk}", {"next_step": "发报价"}).status_code == 200
    before = Opportunity.objects.values().get(pk=deal.pk)
    assert api.patch(f"/opportunities/{deal.pk}", {"owner_id": personas.outsider.pk}).status_code in (400, 403)
    assert api.delete(f"/opportunities/{deal.pk}").status_code == 403
    assert Opportunity.objects.values().get(pk=deal.pk) == before
    board = client_for(personas.outsider).get(reverse("opportunities:board")).content.decode()
    assert f'data-testid="board-card-{deal.pk}"' in board
    # not a member of the team: nothing
    assert api_for(personas.teammate).get(f"/opportunities/{deal.pk}").status_code == 404
    share_revoke(actor=personas.rep, share=share)
    assert api.get(f"/opportunities/{deal.pk}").status_code == 404


def test_support_stays_read_only_with_a_write_share(personas, api_for) -> None:
    lead = make_lead(personas.outsider, name="华南线索")
    share_grant(actor=personas.outsider, target=lead, grantee_user=personas.support, access="write")
    api = api_for(personas.support)
    assert api.get(f"/leads/{lead.pk}").status_code == 200
    assert api.patch(f"/leads/{lead.pk}", {"title": "CTO"}).status_code == 403


def test_deleting_a_record_removes_its_shares(personas) -> None:
    deal = make_opportunity(make_account(personas.rep))
    share_grant(actor=personas.rep, target=deal, grantee_user=personas.outsider)
    opportunity_delete(actor=personas.rep, opportunity=deal)
    assert not Share.objects.exists()


def test_share_card_lists_adds_and_revokes(personas, client_for) -> None:
    lead = make_lead(personas.rep, name="张三线索")
    url = reverse("share_card", args=["lead", lead.pk])
    owner = client_for(personas.rep)
    card = owner.get(url).content.decode()
    assert "Not shared with anyone." in card and 'data-testid="share-form"' in card
    response = owner.post(url, {"user": personas.outsider.pk, "access": "write"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "刘洋" in response.content.decode()
    share = Share.objects.get()
    assert share.access == "write" and share.created_by == personas.rep
    bad = owner.post(url, {"user": personas.outsider.pk, "team": personas.team_b.pk, "access": "read"})
    assert bad.status_code == 400 and "Choose a user or a team." in bad.content.decode()
    shown = owner.post(url, {"access": "read"}, HTTP_HX_REQUEST="true")
    assert shown.status_code == 200 and "Choose a user or a team." in shown.content.decode()
    assert Share.objects.count() == 1
    # the grantee sees the card, without the controls
    grantee_card = client_for(personas.outsider).get(url).content.decode()
    assert "刘洋" in grantee_card and 'data-testid="share-form"' not in grantee_card
    assert (
        client_for(personas.outsider).post(reverse("share_revoke", args=["lead", lead.pk, share.pk])).status_code == 403
    )
    assert client_for(personas.teammate).get(url).status_code == 404
    revoked = owner.post(reverse("share_revoke", args=["lead", lead.pk, share.pk]))
    assert revoked.status_code == 200 and not Share.objects.exists()
    assert client_for(personas.rep).get(reverse("share_card", args=["contact", 1])).status_code == 404


@pytest.mark.parametrize("kind", ["accounts", "leads", "opportunities"])
def test_shares_api(personas, api_for, kind: str) -> None:
    account = make_account(personas.rep)
    target = {
        "accounts": account,
        "leads": make_lead(personas.rep),
        "opportunities": make_opportunity(account),
    }[kind]
    api = api_for(personas.rep)
    assert api.get(f"/{kind}/{target.pk}/shares").json() == []
    created = api.post(f"/{kind}/{target.pk}/shares", {"team_id": personas.team_b.pk, "access": "write"})
    assert created.status_code == 201
    body = created.json()
    assert (body["grantee_team_id"], body["grantee_user_id"], body["access"]) == (personas.team_b.pk, None, "write")
    assert [s["id"] for s in api.get(f"/{kind}/{target.pk}/shares").json()] == [body["id"]]
    assert api.post(f"/{kind}/{target.pk}/shares", {"user_id": 999999}).status_code == 400
    assert api.post(f"/{kind}/{target.pk}/shares", {}).status_code == 400
    assert api_for(personas.teammate).get(f"/{kind}/{target.pk}/shares").status_code == 404
    assert api_for(personas.outsider).delete(f"/{kind}/{target.pk}/shares/{body['id']}").status_code == 403
    assert api.delete(f"/{kind}/{target.pk}/shares/{body['id']}").status_code == 204
    assert api.delete(f"/{kind}/{target.pk}/shares/{body['id']}").status_code == 404
    assert not Share.objects.exists()


def test_write_share_grantee_gets_no_delete_in_the_ui(personas, client_for) -> None:
    account = make_account(personas.rep, "星云智能科技")
    contact = make_contact(account, "王磊")
    deal = make_opportunity(account, name="ERP 项目")
    lead = make_lead(personas.rep, name="张三线索")
    for target in (account, deal, lead):
        share_grant(actor=personas.rep, target=target, grantee_user=personas.outsider, access="write")
    web = client_for(personas.outsider)
    pages = {
        f"/accounts/{account.pk}/": "account-delete",
        f"/contacts/{contact.pk}/": "contact-delete",
        f"/opportunities/{deal.pk}/": "opportunity-delete",
        f"/leads/{lead.pk}/": "lead-delete",
    }
    for url, testid in pages.items():
        html = web.get(url).content.decode()
        assert f'data-testid="{testid}"' not in html
        assert web.get(f"{url}delete/").status_code == 403
        assert web.post(f"{url}delete/").status_code == 403
        assert f'data-testid="{testid}"' in client_for(personas.rep).get(url).content.decode()
    assert Account.objects.filter(pk=account.pk).exists() and Opportunity.objects.filter(pk=deal.pk).exists()
