"""Services: validation (nothing written on error), updates with changed_fields, guarded deletes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from salesflow.core.errors import Conflict, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.core.normalize import credit_code_is_valid, normalize_credit_code
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import (
    account_create,
    account_delete,
    account_update,
    contact_create,
    contact_delete,
    contact_update,
)
from salesflow.parties.tests.conftest import account_state, contact_state, make_activity, make_opportunity
from salesflow.parties.tests.factories import make_account, make_contact, valid_credit_code

pytestmark = pytest.mark.django_db


def _events(verb: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(verb=verb).order_by("id"))


# --- credit codes ----------------------------------------------------------------------------------


def test_credit_code_check_character():
    code = valid_credit_code("91310000MA1FL0000")
    assert code == "91310000MA1FL0000N"
    assert credit_code_is_valid(code)
    assert not credit_code_is_valid("91310000MA1FL0000A")  # wrong check character
    assert not credit_code_is_valid("91310000MA1FL000")  # too short
    assert normalize_credit_code(" 9131-0000 ma1fl0000n ") == "91310000MA1FL0000N"


# --- account_create --------------------------------------------------------------------------------


def test_account_create_normalises_and_audits(personas):
    account = account_create(
        actor=personas.rep, owner=personas.rep, name="  星云智能 ", credit_code="9131 0000 ma1fl0000n"
    )
    assert (account.name, account.credit_code, account.owner_id) == ("星云智能", "91310000MA1FL0000N", personas.rep.pk)
    [event] = _events("parties.account.created")
    assert (event.actor_id, event.target_id) == (personas.rep.pk, account.pk)


@pytest.mark.parametrize("code", ["91310000MA1FL0000A", "12345", "91310000MA1FL0000N0"])
def test_account_create_rejects_invalid_credit_code(personas, code):
    with pytest.raises(ValidationFailed) as exc:
        account_create(actor=personas.rep, owner=personas.rep, name="星云智能", credit_code=code)
    assert list(exc.value.field_errors) == ["credit_code"]
    assert Account.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_account_create_rejects_duplicate_credit_code_and_blank_name(personas):
    code = valid_credit_code()
    make_account(personas.outsider, credit_code=code)
    with pytest.raises(ValidationFailed) as exc:
        account_create(actor=personas.rep, owner=personas.rep, name="  ", credit_code=code.lower())
    assert exc.value.field_errors == {
        "name": ["This field is required."],
        "credit_code": ["Another account already has this credit code."],
    }
    assert Account.objects.count() == 1
    assert AuditEvent.objects.count() == 0


# --- account_update --------------------------------------------------------------------------------


def test_account_update_changes_fields_and_audits_changed_fields(personas, rep_account):
    old_name = rep_account.name
    account_update(
        actor=personas.rep,
        account=rep_account,
        name=" 星云智能（上海） ",
        grade="A",
        credit_code=rep_account.credit_code,
    )
    rep_account.refresh_from_db()
    assert (rep_account.name, rep_account.grade) == ("星云智能（上海）", "A")
    [event] = _events("parties.account.updated")
    assert event.data == {"changes": {"name": [old_name, "星云智能（上海）"], "grade": ["", "A"]}}
    assert event.actor_id == personas.rep.pk


def test_account_update_without_changes_writes_nothing(personas, rep_account):
    before = account_state(rep_account.pk)
    account_update(actor=personas.rep, account=rep_account, name=rep_account.name, lifecycle=rep_account.lifecycle)
    assert account_state(rep_account.pk) == before
    assert _events("parties.account.updated") == []


def test_account_update_rejects_duplicate_credit_code_of_another_account(personas, rep_account):
    other = make_account(personas.outsider, credit_code=valid_credit_code())
    before = account_state(rep_account.pk)
    with pytest.raises(ValidationFailed) as exc:
        account_update(actor=personas.rep, account=rep_account, name="新名称", credit_code=other.credit_code)
    assert exc.value.field_errors == {"credit_code": ["Another account already has this credit code."]}
    assert account_state(rep_account.pk) == before
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"credit_code": "91310000MA1FL0000A"}, "credit_code"),
        ({"industry": "mining"}, "industry"),
        ({"lifecycle": ""}, "lifecycle"),
        ({"grade": "E"}, "grade"),
        ({"phone": "1" * 41}, "phone"),
    ],
)
def test_account_update_validates(personas, rep_account, changes, field):
    before = account_state(rep_account.pk)
    with pytest.raises(ValidationFailed) as exc:
        account_update(actor=personas.rep, account=rep_account, **changes)
    assert list(exc.value.field_errors) == [field]
    assert account_state(rep_account.pk) == before


def test_account_update_owner_must_be_assignable_by_actor(personas, rep_account):
    before = account_state(rep_account.pk)
    with pytest.raises(ValidationFailed) as exc:
        account_update(actor=personas.rep, account=rep_account, owner=personas.teammate)
    assert exc.value.field_errors == {"owner": ["You may not assign records to this user."]}
    assert account_state(rep_account.pk) == before
    # a manager may hand the account to anyone in the team subtree
    account_update(actor=personas.manager, account=rep_account, owner=personas.teammate)
    rep_account.refresh_from_db()
    assert rep_account.owner_id == personas.teammate.pk
    [event] = _events("parties.account.updated")
    assert event.data == {"changes": {"owner": [personas.rep.pk, personas.teammate.pk]}}


def test_account_update_rejects_unknown_fields(personas, rep_account):
    before = account_state(rep_account.pk)
    with pytest.raises(ValidationFailed) as exc:
        account_update(actor=personas.rep, account=rep_account, grade="A", created_at=timezone.now())  # type: ignore[call-arg]
    assert exc.value.field_errors == {"created_at": ["This field cannot be changed here."]}
    assert account_state(rep_account.pk) == before


# --- account_delete --------------------------------------------------------------------------------


def test_account_delete_removes_and_audits(personas, rep_account):
    pk, name = rep_account.pk, rep_account.name
    account_delete(actor=personas.rep, account=rep_account)
    assert not Account.objects.filter(pk=pk).exists()
    [event] = _events("parties.account.deleted")
    assert (event.target_id, event.target_repr, event.data["name"]) == (pk, name, name)


def test_account_delete_refused_while_contacts_exist(personas, rep_account, rep_contact):
    before = account_state(rep_account.pk)
    with pytest.raises(Conflict) as exc:
        account_delete(actor=personas.rep, account=rep_account)
    assert exc.value.code == "in_use"
    assert "contacts: 1" in str(exc.value.message)
    assert account_state(rep_account.pk) == before
    assert contact_state(rep_contact.pk)["name"] == "王磊"
    assert AuditEvent.objects.filter(verb="parties.account.deleted").count() == 0


def test_account_delete_refused_while_opportunities_or_activities_exist(personas, rep_account):
    make_opportunity(rep_account, personas.rep)
    make_activity(personas.rep, account=rep_account)
    with pytest.raises(Conflict) as exc:
        account_delete(actor=personas.rep, account=rep_account)
    assert "opportunities: 1" in str(exc.value.message)
    assert "activities: 1" in str(exc.value.message)
    assert Account.objects.filter(pk=rep_account.pk).exists()


# --- contacts --------------------------------------------------------------------------------------


def test_contact_add_with_archive(personas, rep_account):
    contact = contact_create(
        actor=personas.rep,
        account=rep_account,
        name=" 李静 ",
        buying_role="decision_maker",
        email=" Li.Jing@Example.COM ",
        birthday=date(1980, 5, 1),
        hobbies="羽毛球、茶",
        education="复旦大学 MBA",
        achievements="主导了集团 ERP 升级",
        places="上海、苏州",
        family="已婚，一个女儿",
        cultural_background="江浙",
    )
    contact.refresh_from_db()
    assert (contact.name, contact.email, contact.birthday, contact.hobbies) == (
        "李静",
        "li.jing@example.com",
        date(1980, 5, 1),
        "羽毛球、茶",
    )
    assert contact.cultural_background == "江浙"
    [event] = _events("parties.contact.created")
    assert {(link.content_type.model, link.object_id) for link in event.links.all()} == {
        ("contact", contact.pk),
        ("account", rep_account.pk),
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": " "}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"birthday": timezone.localdate() + timedelta(days=1)}, "birthday"),
        ({"buying_role": "boss"}, "buying_role"),
        ({"hobbies": "x" * 301}, "hobbies"),
    ],
)
def test_contact_add_validates_and_writes_nothing(personas, rep_account, fields, field):
    data = {"name": "李静", **fields}
    with pytest.raises(ValidationFailed) as exc:
        contact_create(actor=personas.rep, account=rep_account, **data)
    assert list(exc.value.field_errors) == [field]
    assert Contact.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_contact_add_requires_writable_account(personas, rep_account):
    with pytest.raises(ValidationFailed) as exc:
        contact_create(actor=personas.support, account=rep_account, name="李静")
    assert list(exc.value.field_errors) == ["account"]
    assert Contact.objects.count() == 0


def test_contact_update_archive_and_audit(personas, rep_contact):
    contact_update(
        actor=personas.rep, contact=rep_contact, hobbies="围棋、钓鱼", birthday=date(1975, 3, 9), title="CTO"
    )
    rep_contact.refresh_from_db()
    assert (rep_contact.hobbies, rep_contact.birthday) == ("围棋、钓鱼", date(1975, 3, 9))
    [event] = _events("parties.contact.updated")
    # the audit keeps that archive fields changed, never their values
    assert event.data == {"changes": {"hobbies": [None, None], "birthday": [None, None], "title": ["", "CTO"]}}


def test_contact_move_to_writable_account_is_on_both_timelines(personas, rep_contact, rep_account):
    target = make_account(personas.rep, name="星云二厂")
    contact_update(actor=personas.rep, contact=rep_contact, account=target)
    rep_contact.refresh_from_db()
    assert rep_contact.account_id == target.pk
    [event] = _events("parties.contact.updated")
    assert event.data == {"changes": {"account": [rep_account.pk, target.pk]}}
    linked = {(link.content_type.model, link.object_id) for link in event.links.all()}
    assert linked == {("contact", rep_contact.pk), ("account", target.pk), ("account", rep_account.pk)}


def test_contact_move_to_unwritable_account_refused(personas, rep_contact, outsider_account):
    before = contact_state(rep_contact.pk)
    with pytest.raises(ValidationFailed) as exc:
        contact_update(actor=personas.rep, contact=rep_contact, account=outsider_account, name="王磊磊")
    assert exc.value.field_errors == {"account": ["You may not move contacts to this account."]}
    assert contact_state(rep_contact.pk) == before


def test_contact_move_refused_while_on_opportunities(personas, rep_account, rep_contact):
    make_opportunity(rep_account, personas.rep, contact=rep_contact)
    target = make_account(personas.rep, name="星云二厂")
    with pytest.raises(ValidationFailed) as exc:
        contact_update(actor=personas.rep, contact=rep_contact, account=target)
    assert list(exc.value.field_errors) == ["account"]
    assert contact_state(rep_contact.pk)["account_id"] == rep_account.pk


@pytest.mark.parametrize(("fields", "field"), [({"name": ""}, "name"), ({"email": "@@"}, "email")])
def test_contact_update_validates(personas, rep_contact, fields, field):
    before = contact_state(rep_contact.pk)
    with pytest.raises(ValidationFailed) as exc:
        contact_update(actor=personas.rep, contact=rep_contact, **fields)
    assert list(exc.value.field_errors) == [field]
    assert contact_state(rep_contact.pk) == before


def test_contact_delete_and_refusal(personas, rep_account):
    free = make_contact(rep_account, name="张三")
    busy = make_contact(rep_account, name="李四")
    make_opportunity(rep_account, personas.rep, contact=busy)
    activity = make_activity(personas.rep, account=rep_account, contact=free)

    contact_delete(actor=personas.rep, contact=free)
    assert not Contact.objects.filter(pk=free.pk).exists()
    activity.refresh_from_db()
    assert (activity.contact_id, activity.account_id) == (None, rep_account.pk)
    [event] = _events("parties.contact.deleted")
    assert event.data == {"name": "张三", "account": rep_account.pk}

    with pytest.raises(Conflict) as exc:
        contact_delete(actor=personas.rep, contact=busy)
    assert "opportunity contacts: 1" in str(exc.value.message)
    assert Contact.objects.filter(pk=busy.pk).exists()


def test_account_update_credit_code_race_is_a_validation_error(personas, rep_account, monkeypatch):
    """The unique constraint backs up the check when another transaction wins the race."""
    other = make_account(personas.outsider, credit_code=valid_credit_code())
    monkeypatch.setattr("salesflow.parties.services.validate_credit_code", lambda code, exclude_pk=None: [])
    before = account_state(rep_account.pk)
    with pytest.raises(ValidationFailed) as exc:
        account_update(
            actor=personas.rep,
            account=rep_account,
            credit_code=other.credit_code,
            grade="A",
            intake_options={"duplicate_reason": "test: past the duplicate warning, into the race"},  # issue 8
        )
    assert list(exc.value.field_errors) == ["credit_code"]
    assert (rep_account.credit_code, rep_account.grade) == (before["credit_code"], before["grade"])
    assert account_state(rep_account.pk) == before
    assert _events("parties.account.updated") == []
