"""The second persona matrix: access that crosses records (deal owner on someone else's
account, reassigned accounts, timelines, converted-lead card, unrelated lead links).

It lives in the top app because it uses accounts, deals, leads and activities together.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.utils import translation

from salesflow.activities.models import Activity
from salesflow.activities.services import activity_create
from salesflow.activities.tests.factories import make_account, make_contact, make_lead
from salesflow.core.errors import ValidationFailed
from salesflow.leads.choices import LeadStatus
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import ARCHIVE_FIELDS
from salesflow.parties.services import account_update
from salesflow.sales.models import LostReason
from salesflow.sales.services import opportunity_close, opportunity_create
from salesflow.users.models import User
from salesflow.users.services import share_grant
from salesflow.users.testing import PERSONA_NAMES, REP_ARCHIVE_READERS

# issue 7: these tests log done calls without an outcome (the rules: test_follow_up_rules.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_completion_rules")]


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


@pytest.fixture
def setup(personas):  # type: ignore[no-untyped-def]
    """rep's account with a contact; manager gives a deal on it to teammate; rep has a deal of their own."""
    account = make_account(personas.rep, "星云智能科技")
    contact = make_contact(account, "王磊")
    deal_b = opportunity_create(actor=personas.manager, account=account, owner=personas.teammate, name="B的商机")
    deal_rep = opportunity_create(actor=personas.rep, account=account, owner=personas.rep, name="机密扩容项目")
    return {"account": account, "contact": contact, "deal_b": deal_b, "deal_rep": deal_rep}


def test_deal_owner_reads_account_and_contacts_but_cannot_change_them(personas, setup, client_for, api_for):
    account, contact = setup["account"], setup["contact"]
    web = client_for(personas.teammate)
    assert web.get(f"/accounts/{account.pk}/").status_code == 200
    assert web.get(f"/contacts/{contact.pk}/").status_code == 200
    assert web.get(f"/accounts/{account.pk}/edit/").status_code == 403
    assert web.get(f"/contacts/{contact.pk}/edit/").status_code == 403
    api = api_for(personas.teammate)
    assert api.get(f"/accounts/{account.pk}").status_code == 200
    assert api.get(f"/contacts/{contact.pk}").status_code == 200
    before = Account.objects.values().get(pk=account.pk)
    assert api.patch(f"/accounts/{account.pk}", {"name": "改名"}).status_code == 403
    assert Account.objects.values().get(pk=account.pk) == before
    assert account.pk in [row["id"] for row in api.get("/accounts").json()["items"]]
    # the rest of the organisation still cannot
    assert api_for(personas.outsider).get(f"/accounts/{account.pk}").status_code == 404
    assert client_for(personas.outsider).get(f"/contacts/{contact.pk}/").status_code == 404


def test_reassigned_account_stays_readable_for_deal_owners(personas, setup, api_for):
    account, contact = setup["account"], setup["contact"]
    account_update(actor=personas.admin, account=account, owner=personas.outsider)
    api = api_for(personas.rep)
    assert api.get(f"/accounts/{account.pk}").status_code == 200
    assert api.get(f"/contacts/{contact.pk}").status_code == 200
    assert api.patch(f"/contacts/{contact.pk}", {"title": "CEO"}).status_code == 403
    # teammate's deal keeps the account open for teammate too
    assert api_for(personas.teammate).get(f"/contacts/{contact.pk}").status_code == 200


def test_account_timeline_hides_events_of_deals_the_reader_cannot_open(personas, setup, client_for):
    reason = LostReason.objects.filter(is_active=True).first()
    assert reason is not None
    opportunity_close(actor=personas.rep, opportunity=setup["deal_rep"], outcome="lost", lost_reason=reason)
    activity_create(
        actor=personas.rep, kind="visit", subject="拜访采购总监谈价格", opportunity=setup["deal_rep"], done=True
    )
    page = client_for(personas.teammate).get(f"/accounts/{setup['account'].pk}/").content.decode()
    assert "B的商机" in page
    assert "机密扩容项目" not in page and "拜访采购总监谈价格" not in page
    owner_page = client_for(personas.rep).get(f"/accounts/{setup['account'].pk}/").content.decode()
    assert "机密扩容项目" in owner_page and "拜访采购总监谈价格" in owner_page


def test_converted_lead_card_names_only_readable_records(personas, client_for):
    account = make_account(personas.teammate, "远方客户")
    contact = make_contact(account, "李四")
    deal = opportunity_create(actor=personas.teammate, account=account, owner=personas.teammate, name="不可见商机")
    lead = make_lead(
        personas.rep,
        status=LeadStatus.CONVERTED,
        converted_account=account,
        converted_contact=contact,
        converted_opportunity=deal,
    )
    page = client_for(personas.rep).get(f"/leads/{lead.pk}/").content.decode()
    # the lead's reader may read the account and contact it became (access follows the work)…
    assert "远方客户" in page and "李四" in page
    # …but not the deal, now someone else's
    assert "不可见商机" not in page and 'data-testid="converted-opportunity"' not in page
    assert (
        'data-testid="converted-opportunity"' in client_for(personas.manager).get(f"/leads/{lead.pk}/").content.decode()
    )


def test_activity_refuses_a_lead_unrelated_to_its_account(personas):
    account = make_account(personas.rep, "星云智能科技")
    unrelated = make_lead(personas.rep, company_name="另一家公司")
    count = Activity.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        activity_create(actor=personas.rep, kind="call", subject="电话", account=account, lead=unrelated)
    assert "lead" in exc.value.field_errors
    assert Activity.objects.count() == count
    related = make_lead(personas.rep, company_name="星云智能科技")
    activity_create(actor=personas.rep, kind="call", subject="电话", account=account, lead=related)
    assert Activity.objects.count() == count + 1


# --- field-level protection: the contact's sales archive ---------------------------------------


@pytest.fixture
def archived(personas):  # type: ignore[no-untyped-def]
    """rep's contact with a sales archive, a deal on it owned by teammate, shared with outsider."""
    account = make_account(personas.rep, "星云智能科技")
    contact = make_contact(account, "王磊")
    Contact.objects.filter(pk=contact.pk).update(hobbies="围棋", family="两个孩子", birthday=date(1980, 5, 1))
    opportunity_create(actor=personas.manager, account=account, owner=personas.teammate, name="B的商机")
    share_grant(actor=personas.rep, target=account, grantee_user=personas.outsider, access="write")
    return contact


ARCHIVE_READERS = REP_ARCHIVE_READERS


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_archive_is_shown_only_to_owner_managers_and_admins(personas, archived, client_for, api_for, persona):
    user = personas.all()[persona]
    page = client_for(user).get(f"/contacts/{archived.pk}/")
    body = api_for(user).get(f"/contacts/{archived.pk}")
    if persona == "other_manager":  # reads nothing of it
        assert page.status_code == 404 and body.status_code == 404
        return
    assert page.status_code == 200 and body.status_code == 200
    reads = persona in ARCHIVE_READERS
    assert ("围棋" in page.content.decode()) is reads
    data = body.json()
    if reads:
        assert (data["hobbies"], data["family"], data["birthday"]) == ("围棋", "两个孩子", "1980-05-01")
    else:  # hidden fields are null, never left out
        assert all(data[name] is None for name in ARCHIVE_FIELDS)
    listed = api_for(user).get("/contacts", account=archived.account_id).json()["items"]
    expected: list[str | None] = ["围棋"] if reads else [None]
    assert [row["hobbies"] for row in listed] == expected


def test_personal_data_permission_opens_the_archive_except_for_support(personas, archived, api_for):
    for persona in ("teammate", "outsider", "support"):
        user = personas.all()[persona]
        user.can_view_personal_data = True
        user.save()
        hobbies = api_for(User.objects.get(pk=user.pk)).get(f"/contacts/{archived.pk}").json()["hobbies"]
        assert hobbies == (None if persona == "support" else "围棋")


def test_write_share_does_not_open_the_archive_for_writing(personas, archived, api_for, client_for):
    api = api_for(personas.outsider)  # read-write share on the account
    assert api.patch(f"/contacts/{archived.pk}", {"title": "CTO"}).status_code == 200
    before = Contact.objects.values().get(pk=archived.pk)
    assert api.patch(f"/contacts/{archived.pk}", {"hobbies": "钓鱼"}).status_code == 403
    assert Contact.objects.values().get(pk=archived.pk) == before
    form = client_for(personas.outsider).get(f"/contacts/{archived.pk}/edit/").content.decode()
    assert 'data-testid="contact-archive-fields"' not in form and "围棋" not in form


def test_admin_user_page_offers_the_personal_data_permission(personas, client_for):
    page = client_for(personas.admin).get(f"/admin/users/user/{personas.rep.pk}/change/").content.decode()
    assert 'name="can_view_personal_data"' in page


# --- the matrix: every persona on rep's account, which teammate works through a deal and which is
# shared with team_b (outsider, other_manager) -----------------------------------------------------

#: persona → (reads the account, writes it) when the team share is read-only / read-write
CROSS_ACCESS: dict[str, dict[str, tuple[bool, bool]]] = {
    "read": {
        "rep": (True, True),
        "teammate": (True, False),  # access follows the work: the deal on the account
        "manager": (True, True),
        "outsider": (True, False),  # team share, read-only
        "other_manager": (True, False),
        "assistant": (True, True),
        "support": (True, False),
        "admin": (True, True),
    },
}
CROSS_ACCESS["write"] = {
    **CROSS_ACCESS["read"],
    "outsider": (True, True),
    "other_manager": (True, True),
}
#: who may open the rep's own deal on that account (and so see its events on the account's timeline)
DEAL_READERS = {"rep", "manager", "assistant", "support", "admin"}


@pytest.mark.parametrize("persona", PERSONA_NAMES)
@pytest.mark.parametrize("access", ["read", "write"])
def test_cross_record_matrix(personas, setup, client_for, api_for, access: str, persona: str) -> None:
    account, contact = setup["account"], setup["contact"]
    share_grant(actor=personas.rep, target=account, grantee_team=personas.team_b, access=access)
    user = personas.all()[persona]
    reads, writes = CROSS_ACCESS[access][persona]
    web, api = client_for(user), api_for(user)
    page = web.get(f"/accounts/{account.pk}/")
    assert page.status_code == (200 if reads else 404)
    assert web.get(f"/contacts/{contact.pk}/").status_code == (200 if reads else 404)
    assert api.get(f"/accounts/{account.pk}").status_code == (200 if reads else 404)
    assert (account.pk in [row["id"] for row in api.get("/accounts").json()["items"]]) is reads
    assert web.get(f"/accounts/{account.pk}/edit/").status_code == (200 if writes else 403 if reads else 404)
    before = Account.objects.values().get(pk=account.pk)
    response = api.patch(f"/accounts/{account.pk}", {"phone": "021-8888 0000"})
    assert response.status_code == (200 if writes else 403 if reads else 404)
    if not writes:
        assert Account.objects.values().get(pk=account.pk) == before
    # deleting or reassigning never comes with a share
    if persona in ("outsider", "other_manager"):
        before = Account.objects.values().get(pk=account.pk)
        assert api.delete(f"/accounts/{account.pk}").status_code == 403
        assert api.patch(f"/accounts/{account.pk}", {"owner_id": user.pk}).status_code in (400, 403)
        assert Account.objects.values().get(pk=account.pk) == before
    # the account's timeline names the rep's own deal only to those who may open it
    if reads:
        assert ("机密扩容项目" in page.content.decode()) is (persona in DEAL_READERS)


def test_trace_of_a_deleted_deal_stays_for_the_accounts_owner_side_only(personas, setup, client_for):
    from salesflow.sales.services import opportunity_delete

    opportunity_delete(actor=personas.rep, opportunity=setup["deal_rep"])
    url = f"/accounts/{setup['account'].pk}/"
    assert "机密扩容项目" in client_for(personas.rep).get(url).content.decode()
    assert "机密扩容项目" in client_for(personas.manager).get(url).content.decode()
    assert "机密扩容项目" not in client_for(personas.teammate).get(url).content.decode()
