"""The record-kind registry that generic features (tags, attachments, search) rely on."""

from __future__ import annotations

import pytest
from django.http import Http404

from salesflow.core.errors import Forbidden
from salesflow.core.visibility import can_write_record, get_record_for_user, kind_of, model_for_kind, record_kinds
from salesflow.parties.models import Account
from salesflow.parties.tests.factories import make_account
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


def test_every_business_kind_is_registered() -> None:
    # issue 9: documents register too (signed contracts and delivery files are attachments)
    assert set(record_kinds()) - {"contract", "order"} == {"account", "contact", "lead", "opportunity", "activity"}
    assert {"contract", "order"} <= set(record_kinds())
    assert model_for_kind("account") is Account
    assert kind_of(Account) == "account"
    assert model_for_kind("user") is None


def test_get_record_for_user_applies_the_policy(personas: Personas) -> None:
    account = make_account(personas.rep)
    assert get_record_for_user(personas.rep, "account", account.pk, write=True) == account
    assert get_record_for_user(personas.manager, "account", str(account.pk)) == account
    with pytest.raises(Http404):
        get_record_for_user(personas.outsider, "account", account.pk)
    with pytest.raises(Forbidden):
        get_record_for_user(personas.support, "account", account.pk, write=True)
    for bad_kind, bad_pk in [("nope", account.pk), ("account", "x"), ("account", 2**70), ("account", None)]:
        with pytest.raises(Http404):
            get_record_for_user(personas.admin, bad_kind, bad_pk)
    assert can_write_record(personas.rep, account)
    assert not can_write_record(personas.support, account)
