"""API for accounts and contacts: persona matrix, pagination, partial updates, error envelope."""

from __future__ import annotations

import pytest

from salesflow.core.models import AuditEvent
from salesflow.parties.models import Account, Contact
from salesflow.parties.tests.conftest import MATRIX, PERSONAS, account_state, contact_state, make_opportunity
from salesflow.parties.tests.factories import make_account, make_contact, valid_credit_code
from salesflow.users.models import Territory

pytestmark = pytest.mark.django_db


def _expected(persona: str, *, write: bool) -> int:
    can_read, can_write = MATRIX[persona]
    if not can_read:
        return 404
    if write and not can_write:
        return 403
    return 200


# --- accounts: persona matrix --------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_account_list_and_detail(personas, api_for, rep_account, outsider_account, persona):
    api = api_for(getattr(personas, persona))
    body = api.get("/accounts/").json()
    can_read, _ = MATRIX[persona]
    expected = {rep_account.pk} if can_read else set()
    if persona in ("outsider", "other_manager", "admin"):
        expected.add(outsider_account.pk)
    assert {item["id"] for item in body["items"]} == expected
    assert body["count"] == len(expected)

    response = api.get(f"/accounts/{rep_account.pk}")
    assert response.status_code == _expected(persona, write=False)
    if response.status_code == 404:
        assert response.json() == {"detail": "Not found.", "code": "not_found", "errors": {}}


@pytest.mark.parametrize("persona", PERSONAS)
def test_account_patch(personas, api_for, rep_account, persona):
    before = account_state(rep_account.pk)
    response = api_for(getattr(personas, persona)).patch(f"/accounts/{rep_account.pk}", {"grade": "A"})
    assert response.status_code == _expected(persona, write=True)
    if response.status_code == 200:
        assert response.json()["grade"] == "A"
        rep_account.refresh_from_db()
        assert (rep_account.grade, rep_account.name) == ("A", before["name"])
    else:
        assert response.json()["code"] in ("forbidden", "not_found")
        assert account_state(rep_account.pk) == before
        assert not AuditEvent.objects.filter(verb__startswith="parties.").exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_account_delete(personas, api_for, rep_account, persona):
    before = account_state(rep_account.pk)
    response = api_for(getattr(personas, persona)).delete(f"/accounts/{rep_account.pk}")
    expected = _expected(persona, write=True)
    assert response.status_code == (204 if expected == 200 else expected)
    if expected == 200:
        assert not Account.objects.filter(pk=rep_account.pk).exists()
    else:
        assert account_state(rep_account.pk) == before


# --- accounts: behaviour -------------------------------------------------------------------------


def test_account_get_serialises(personas, api_for, rep_account):
    rep_account.region = Territory.objects.get(code="shanghai")
    rep_account.save()
    body = api_for(personas.rep).get(f"/accounts/{rep_account.pk}").json()
    assert body["id"] == rep_account.pk
    assert body["credit_code"] == rep_account.credit_code
    assert (body["owner_id"], body["owner_name"]) == (personas.rep.pk, "张伟")
    assert (body["region_id"], body["region_name"]) == (rep_account.region_id, "上海")
    assert body["created_at"].startswith(str(rep_account.created_at.year))


def test_account_create(personas, api_for):
    code = valid_credit_code()
    api = api_for(personas.manager)
    response = api.post(
        "/accounts/",
        {"name": "华东精密制造", "credit_code": code.lower(), "industry": "manufacturing", "owner_id": personas.rep.pk},
    )
    assert response.status_code == 201
    body = response.json()
    account = Account.objects.get(pk=body["id"])
    assert (account.owner_id, account.credit_code, account.industry, account.lifecycle) == (
        personas.rep.pk,
        code,
        "manufacturing",
        "prospect",
    )
    assert body["owner_name"] == "张伟"
    # default owner: the caller
    response = api_for(personas.rep).post("/accounts/", {"name": "自己的客户"})
    assert response.status_code == 201
    assert response.json()["owner_id"] == personas.rep.pk


def test_account_create_errors(personas, api_for):
    taken = make_account(personas.outsider, credit_code=valid_credit_code())
    api = api_for(personas.rep)
    response = api.post("/accounts/", {"name": " ", "credit_code": taken.credit_code})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The account could not be saved.",
        "code": "validation_error",
        "errors": {
            "name": ["This field is required."],
            "credit_code": ["Another account already has this credit code."],
        },
    }
    response = api.post("/accounts/", {"name": "x", "industry": "mining", "lifecycle": "dead", "phone": "1" * 41})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"industry", "lifecycle", "phone"}
    response = api.post("/accounts/", {"name": "x", "owner_id": personas.teammate.pk})
    assert response.status_code == 400
    assert response.json()["errors"] == {"owner_id": ["You may not assign records to this user."]}
    response = api.post("/accounts/", {"name": "x", "region_id": 999999})
    assert response.json()["errors"] == {"region_id": ["Select a valid region."]}
    response = api.post("/accounts/", {})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["name"]
    assert Account.objects.count() == 1
    assert api_for(personas.support).post("/accounts/", {"name": "x"}).status_code == 403
    assert Account.objects.count() == 1


def test_account_patch_is_partial_and_validated(personas, api_for, rep_account):
    api = api_for(personas.rep)
    before = account_state(rep_account.pk)
    for body, field in [
        ({"name": None}, "name"),
        ({"credit_code": "91310000MA1FL0000A"}, "credit_code"),
        ({"owner_id": personas.teammate.pk}, "owner_id"),
        ({"grade": "Z"}, "grade"),
    ]:
        response = api.patch(f"/accounts/{rep_account.pk}", body)
        assert response.status_code == 400, body
        assert list(response.json()["errors"]) == [field]
    assert account_state(rep_account.pk) == before

    shanghai = Territory.objects.get(code="shanghai")
    response = api.patch(f"/accounts/{rep_account.pk}", {"region_id": shanghai.pk, "lifecycle": "customer"})
    assert response.status_code == 200
    assert (response.json()["region_name"], response.json()["name"]) == ("上海", rep_account.name)
    response = api.patch(f"/accounts/{rep_account.pk}", {"region_id": None})
    assert response.json()["region_id"] is None
    rep_account.refresh_from_db()
    assert (rep_account.region_id, rep_account.lifecycle, rep_account.credit_code) == (
        None,
        "customer",
        before["credit_code"],
    )
    api.patch(f"/accounts/{rep_account.pk}", {"grade": "B", "industry": "it"})
    response = api.patch(f"/accounts/{rep_account.pk}", {"grade": "", "industry": None})
    assert (response.json()["grade"], response.json()["industry"]) == ("", "")
    # the manager reassigns within the team
    response = api_for(personas.manager).patch(f"/accounts/{rep_account.pk}", {"owner_id": personas.teammate.pk})
    assert response.json()["owner_id"] == personas.teammate.pk


def test_account_delete_conflict(personas, api_for, rep_account):
    make_opportunity(rep_account, personas.rep)
    response = api_for(personas.rep).delete(f"/accounts/{rep_account.pk}")
    assert response.status_code == 409
    assert response.json()["code"] == "in_use"
    assert "opportunities: 1" in response.json()["detail"]
    assert Account.objects.filter(pk=rep_account.pk).exists()


def test_account_list_filters_and_pagination(personas, api_for):
    for i in range(7):
        make_account(personas.rep, name=f"客户 {i}", lifecycle="customer" if i % 2 else "prospect")
    api = api_for(personas.rep)
    body = api.get("/accounts/", limit=3, offset=3).json()
    assert body["count"] == 7
    assert [a["name"] for a in body["items"]] == ["客户 3", "客户 4", "客户 5"]
    body = api.get("/accounts/", lifecycle="customer", sort="-name").json()
    assert [a["name"] for a in body["items"]] == ["客户 5", "客户 3", "客户 1"]
    assert api.get("/accounts/", q="客户 6").json()["count"] == 1
    response = api.get("/accounts/", limit=0, sort="secret")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"limit", "sort"}


# --- contacts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_contact_list_and_detail(personas, api_for, rep_contact, outsider_account, persona):
    other = make_contact(outsider_account, name="陈晨")
    api = api_for(getattr(personas, persona))
    body = api.get("/contacts/").json()
    can_read, _ = MATRIX[persona]
    expected = {rep_contact.pk} if can_read else set()
    if persona in ("outsider", "other_manager", "admin"):
        expected.add(other.pk)
    assert {item["id"] for item in body["items"]} == expected
    assert body["count"] == len(expected)
    response = api.get(f"/contacts/{rep_contact.pk}")
    assert response.status_code == _expected(persona, write=False)


@pytest.mark.parametrize("persona", PERSONAS)
def test_contact_patch(personas, api_for, rep_contact, persona):
    before = contact_state(rep_contact.pk)
    response = api_for(getattr(personas, persona)).patch(
        f"/contacts/{rep_contact.pk}", {"hobbies": "钓鱼", "birthday": "1970-01-31"}
    )
    # field-level protection: the assistant may edit the contact but not its sales archive
    expected = 403 if persona == "assistant" else _expected(persona, write=True)
    assert response.status_code == expected
    if response.status_code == 200:
        assert (response.json()["hobbies"], response.json()["birthday"]) == ("钓鱼", "1970-01-31")
        assert contact_state(rep_contact.pk)["name"] == before["name"]
    else:
        assert contact_state(rep_contact.pk) == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_contact_delete(personas, api_for, rep_contact, persona):
    before = contact_state(rep_contact.pk)
    response = api_for(getattr(personas, persona)).delete(f"/contacts/{rep_contact.pk}")
    expected = _expected(persona, write=True)
    assert response.status_code == (204 if expected == 200 else expected)
    if expected == 200:
        assert not Contact.objects.filter(pk=rep_contact.pk).exists()
    else:
        assert contact_state(rep_contact.pk) == before


def test_contact_create_with_archive(personas, api_for, rep_account):
    payload = {
        "account_id": rep_account.pk,
        "name": "李静",
        "buying_role": "decision_maker",
        "email": "Li.Jing@Example.com",
        "birthday": "1982-07-15",
        "education": "清华大学",
        "family": "两个孩子",
    }
    # the assistant may add contacts to the rep's account, but not write their personal data
    refused = api_for(personas.assistant).post("/contacts/", payload)
    assert refused.status_code == 403 and set(refused.json()["errors"]) == {"birthday", "education", "family"}
    assert not Contact.objects.filter(name="李静").exists()
    response = api_for(personas.rep).post("/contacts/", payload)
    assert response.status_code == 201
    body = response.json()
    assert (body["account_id"], body["account_name"], body["email"], body["birthday"]) == (
        rep_account.pk,
        rep_account.name,
        "li.jing@example.com",
        "1982-07-15",
    )
    contact = Contact.objects.get(pk=body["id"])
    assert (contact.education, contact.family) == ("清华大学", "两个孩子")


def test_contact_create_errors(personas, api_for, rep_account, outsider_account):
    api = api_for(personas.rep)
    response = api.post("/contacts/", {"account_id": outsider_account.pk, "name": "x"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"account_id": ["Select a valid account."]}
    response = api.post(
        "/contacts/", {"account_id": rep_account.pk, "name": "x", "email": "bad", "birthday": "2999-01-01"}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "email": ["Enter a valid email address."],
        "birthday": ["The birthday cannot be in the future."],
    }
    response = api.post("/contacts/", {"account_id": rep_account.pk, "name": "x", "birthday": "31/01/1970"})
    assert list(response.json()["errors"]) == ["birthday"]
    assert api_for(personas.support).post("/contacts/", {"account_id": rep_account.pk, "name": "x"}).status_code == 403
    assert not Contact.objects.exists()


def test_contact_move_via_api(personas, api_for, rep_contact, outsider_account):
    api = api_for(personas.rep)
    before = contact_state(rep_contact.pk)
    response = api.patch(f"/contacts/{rep_contact.pk}", {"account_id": outsider_account.pk})
    assert response.status_code == 400
    assert response.json()["errors"] == {"account_id": ["Select a valid account."]}
    assert contact_state(rep_contact.pk) == before
    target = make_account(personas.rep, name="星云二厂")
    response = api.patch(f"/contacts/{rep_contact.pk}", {"account_id": target.pk})
    assert response.status_code == 200
    assert (response.json()["account_id"], response.json()["account_name"]) == (target.pk, "星云二厂")


def test_contact_list_filters(personas, api_for, rep_account):
    make_contact(rep_account, name="A 决策人", buying_role="decision_maker")
    make_contact(rep_account, name="B 用户", buying_role="user")
    other = make_account(personas.rep, name="另一家")
    make_contact(other, name="C 采购", buying_role="purchaser")
    api = api_for(personas.rep)
    assert [c["name"] for c in api.get("/contacts/", account_id=rep_account.pk).json()["items"]] == [
        "A 决策人",
        "B 用户",
    ]
    assert [c["name"] for c in api.get("/contacts/", buying_role="purchaser").json()["items"]] == ["C 采购"]
    body = api.get("/contacts/", limit=1, offset=1, sort="-name").json()
    assert (body["count"], [c["name"] for c in body["items"]]) == (3, ["B 用户"])
