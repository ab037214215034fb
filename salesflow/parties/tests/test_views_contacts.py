"""Contact pages: persona matrix, archive, pre-selected account, account choices."""

from __future__ import annotations

from datetime import date

import pytest

from salesflow.core.models import AuditEvent
from salesflow.parties.models import Contact
from salesflow.parties.tests.conftest import MATRIX, PERSONAS, contact_state, make_opportunity
from salesflow.parties.tests.factories import make_account, make_contact
from salesflow.users.testing import REP_ARCHIVE_READERS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_shows_only_contacts_of_visible_accounts(personas, client_for, rep_contact, outsider_account, persona):
    other = make_contact(outsider_account, name="陈晨")
    response = client_for(getattr(personas, persona)).get("/contacts/")
    assert response.status_code == 200
    can_read, _ = MATRIX[persona]
    expected = {rep_contact.name} if can_read else set()
    if persona in ("outsider", "other_manager", "admin"):
        expected.add(other.name)
    assert {c.name for c in response.context["page"].object_list} == expected


@pytest.mark.parametrize("persona", PERSONAS)
def test_detail_shows_archive(personas, client_for, rep_contact, persona):
    response = client_for(getattr(personas, persona)).get(f"/contacts/{rep_contact.pk}/")
    can_read, can_write = MATRIX[persona]
    assert response.status_code == (200 if can_read else 404)
    if can_read:
        html = response.content.decode()
        # field-level protection: owner, managers above and administrators read the archive
        reads_archive = persona in REP_ARCHIVE_READERS
        assert ('data-testid="contact-archive"' in html) is reads_archive
        assert ("围棋" in html) is reads_archive
        assert f'hx-get="/activities/panel/?contact={rep_contact.pk}"' in html
        assert ('data-testid="contact-edit"' in html) is can_write


def _post_data(contact, **over):
    data = {
        "account": contact.account_id,
        "name": contact.name,
        "buying_role": "decision_maker",
        "email": "wang.lei@example.com",
        "birthday": "1979-10-01",
        "hobbies": "围棋、徒步",
        "education": "浙江大学",
        "achievements": "",
        "places": "杭州",
        "family": "",
        "cultural_background": "",
        "notes": "",
    }
    data.update(over)
    return data


@pytest.mark.parametrize("persona", PERSONAS)
def test_edit(personas, client_for, rep_contact, persona):
    client = client_for(getattr(personas, persona))
    can_read, can_write = MATRIX[persona]
    expected = 200 if can_write else (403 if can_read else 404)
    assert client.get(f"/contacts/{rep_contact.pk}/edit/").status_code == expected
    before = contact_state(rep_contact.pk)
    response = client.post(f"/contacts/{rep_contact.pk}/edit/", _post_data(rep_contact))
    if can_write:
        assert response.status_code == 302
        rep_contact.refresh_from_db()
        archive = (rep_contact.birthday, rep_contact.hobbies, rep_contact.places)
        assert rep_contact.buying_role == "decision_maker"
        if persona == "assistant":  # no archive fields on the form: what was posted is ignored
            assert archive == (before["birthday"], before["hobbies"], before["places"])
        else:
            assert archive == (date(1979, 10, 1), "围棋、徒步", "杭州")
        assert rep_contact.mobile == ""  # sent empty: cleared
    else:
        assert response.status_code == expected
        assert contact_state(rep_contact.pk) == before
        assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_delete(personas, client_for, rep_contact, persona):
    client = client_for(getattr(personas, persona))
    can_read, can_write = MATRIX[persona]
    expected = 200 if can_write else (403 if can_read else 404)
    assert client.get(f"/contacts/{rep_contact.pk}/delete/").status_code == expected
    before = contact_state(rep_contact.pk)
    response = client.post(f"/contacts/{rep_contact.pk}/delete/")
    if can_write:
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/{rep_contact.account_id}/"
        assert not Contact.objects.filter(pk=rep_contact.pk).exists()
    else:
        assert response.status_code == expected
        assert contact_state(rep_contact.pk) == before


def test_delete_refused_while_on_opportunity(personas, client_for, rep_account, rep_contact):
    make_opportunity(rep_account, personas.rep, contact=rep_contact)
    response = client_for(personas.rep).post(f"/contacts/{rep_contact.pk}/delete/", follow=True)
    assert response.redirect_chain == [(f"/contacts/{rep_contact.pk}/", 302)]
    assert "This contact still has related records" in response.content.decode()
    assert Contact.objects.filter(pk=rep_contact.pk).exists()


def test_create_preselects_account_and_limits_choices(personas, client_for, rep_account, outsider_account):
    teammate_account = make_account(personas.teammate, name="李娜的客户")
    client = client_for(personas.rep)
    page = client.get(f"/contacts/create/?account={rep_account.pk}")
    assert page.status_code == 200
    form = page.context["form"]
    assert form["account"].value() == rep_account.pk
    offered = {pk for pk, _label in form.fields["account"].widget.choices if pk}
    assert offered == {rep_account.pk}
    # an account the rep cannot see: 404; visible but read-only (support): 403
    assert client.get(f"/contacts/create/?account={teammate_account.pk}").status_code == 404
    assert client_for(personas.support).get(f"/contacts/create/?account={rep_account.pk}").status_code == 403

    response = client.post(
        "/contacts/create/", {"account": outsider_account.pk, "name": "混进来的人", "buying_role": "other"}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["account"]
    assert not Contact.objects.exists()

    response = client.post(
        "/contacts/create/",
        {
            "account": rep_account.pk,
            "name": "李静",
            "buying_role": "influencer",
            "birthday": "1985-02-03",
            "hobbies": "茶",
        },
    )
    contact = Contact.objects.get(name="李静")
    assert response["Location"] == f"/contacts/{contact.pk}/"
    assert (contact.account_id, contact.birthday, contact.hobbies) == (rep_account.pk, date(1985, 2, 3), "茶")


def test_create_invalid_email_shows_error(personas, client_for, rep_account):
    response = client_for(personas.rep).post(
        "/contacts/create/", {"account": rep_account.pk, "name": "李静", "buying_role": "other", "email": "nope"}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["email"]
    assert not Contact.objects.exists()


def test_move_contact_to_other_writable_account(personas, client_for, rep_contact):
    target = make_account(personas.rep, name="星云二厂")
    response = client_for(personas.assistant).post(
        f"/contacts/{rep_contact.pk}/edit/", _post_data(rep_contact, account=target.pk)
    )
    assert response.status_code == 302
    rep_contact.refresh_from_db()
    assert rep_contact.account_id == target.pk


def test_list_search_and_account_filter(personas, client_for, rep_account):
    other_account = make_account(personas.rep, name="星云二厂")
    a = make_contact(rep_account, name="Alice 王", email="alice@example.com", mobile="13911112222")
    b = make_contact(other_account, name="Bob 李", wechat="bob_li", buying_role="decision_maker")
    client = client_for(personas.rep)

    def names(**params):
        return [c.name for c in client.get("/contacts/", params).context["page"].object_list]

    assert names() == [a.name, b.name]
    assert names(sort="-name") == [b.name, a.name]
    assert names(q="ALICE@") == [a.name]
    assert names(q="1391111") == [a.name]
    assert names(q="bob_li") == [b.name]
    assert names(buying_role="decision_maker") == [b.name]
    assert names(account=other_account.pk) == [b.name]
    html = client.get("/contacts/", {"account": other_account.pk}).content.decode()
    assert 'data-testid="contact-account-filter"' in html
    assert f"/contacts/create/?account={other_account.pk}" in html


def test_contact_pages_render_in_chinese(personas, client_for, rep_contact):
    html = client_for(personas.rep, language="zh-hans").get(f"/contacts/{rep_contact.pk}/").content.decode()
    assert "销售档案" in html
    assert "兴趣爱好" in html
