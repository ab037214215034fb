"""Contact mobiles are normalised and validated like lead mobiles, in the service, the UI and the API."""

from __future__ import annotations

import pytest

from salesflow.core.errors import ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.parties.models import Contact
from salesflow.parties.selectors import contact_list
from salesflow.parties.services import contact_create, contact_update
from salesflow.parties.tests.conftest import contact_state

pytestmark = pytest.mark.django_db

INVALID = "Enter a valid mainland mobile number, e.g. 138 1234 5678."


def test_create_normalises_the_mobile_and_email(personas, rep_account):
    contact = contact_create(
        actor=personas.rep, account=rep_account, name="李娜", mobile="+86 138-1234-5678", email=" Li.Na@Example.COM "
    )
    contact.refresh_from_db()
    assert (contact.mobile, contact.email) == ("13812345678", "li.na@example.com")


@pytest.mark.parametrize("mobile", ["12345", "1381234567", "23812345678", "+8612345678901"])
def test_create_refuses_an_invalid_mobile(personas, rep_account, mobile):
    with pytest.raises(ValidationFailed) as exc:
        contact_create(actor=personas.rep, account=rep_account, name="李娜", mobile=mobile)
    assert exc.value.field_errors == {"mobile": [INVALID]}
    assert not Contact.objects.exists()
    assert not AuditEvent.objects.exists()


def test_international_mobiles_are_accepted(personas, rep_account):
    contact = contact_create(actor=personas.rep, account=rep_account, name="John", mobile="+44 7700 900123")
    assert contact.mobile == "+447700900123"


def test_update_refuses_an_invalid_mobile_and_changes_nothing(personas, rep_contact):
    before = contact_state(rep_contact.pk)
    with pytest.raises(ValidationFailed) as exc:
        contact_update(actor=personas.rep, contact=rep_contact, mobile="12345", title="CTO")
    assert exc.value.field_errors == {"mobile": [INVALID]}
    assert contact_state(rep_contact.pk) == before
    assert not AuditEvent.objects.exists()


def test_update_stores_the_normalised_mobile(personas, rep_contact):
    contact_update(actor=personas.rep, contact=rep_contact, mobile="139 0000 1111")
    assert contact_state(rep_contact.pk)["mobile"] == "13900001111"
    # the same number written differently is no change at all
    contact_update(actor=personas.rep, contact=rep_contact, mobile="+86 139-0000-1111")
    assert AuditEvent.objects.filter(verb="parties.contact.updated").count() == 1


def test_ui_shows_the_mobile_error(personas, client_for, rep_contact):
    before = contact_state(rep_contact.pk)
    data = {"account": rep_contact.account_id, "name": rep_contact.name, "buying_role": "other", "mobile": "12345"}
    response = client_for(personas.rep).post(f"/contacts/{rep_contact.pk}/edit/", data)
    assert response.status_code == 200
    assert response.context["form"].errors["mobile"] == [INVALID]
    assert contact_state(rep_contact.pk) == before

    response = client_for(personas.rep).post("/contacts/create/", data)
    assert response.status_code == 200
    assert response.context["form"].errors["mobile"] == [INVALID]
    assert Contact.objects.count() == 1


def test_api_answers_400_naming_the_mobile(personas, api_for, rep_account, rep_contact):
    api = api_for(personas.rep)
    response = api.post("/contacts/", {"account_id": rep_account.pk, "name": "x", "mobile": "12345"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"mobile": [INVALID]}
    assert Contact.objects.count() == 1

    before = contact_state(rep_contact.pk)
    response = api.patch(f"/contacts/{rep_contact.pk}", {"mobile": "12345"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"mobile": [INVALID]}
    assert contact_state(rep_contact.pk) == before


def test_search_finds_the_mobile_however_it_is_typed(personas, rep_account):
    contact = contact_create(actor=personas.rep, account=rep_account, name="李娜", mobile="13812345678")
    for typed in ("138 1234", "138-1234-5678", "１３８１２３４"):
        assert list(contact_list(personas.rep, q=typed)) == [contact]
