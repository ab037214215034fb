"""Normalised duplicate-detection keys: written by the services, backfilled by the migration."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from salesflow.parties.models import Account, Contact
from salesflow.parties.services import account_create, account_update, contact_update
from salesflow.parties.tests.factories import make_account, make_contact

pytestmark = pytest.mark.django_db


def test_account_create_stores_the_name_key(personas):
    account = account_create(actor=personas.rep, owner=personas.rep, name="上海星云智能科技有限公司")
    assert Account.objects.get(pk=account.pk).name_key == "上海星云智能科技"


def test_account_update_rewrites_the_name_key_with_the_name(personas):
    account = account_create(actor=personas.rep, owner=personas.rep, name="星云科技有限公司")
    account_update(actor=personas.rep, account=account, grade="A")
    assert Account.objects.get(pk=account.pk).name_key == "星云科技"
    account_update(actor=personas.rep, account=account, name="ＮＥＢＵＬＡ Co., Ltd.")
    assert account.name_key == "nebula"
    assert Account.objects.get(pk=account.pk).name_key == "nebula"


def test_same_company_written_differently_shares_the_key(personas):
    a = account_create(actor=personas.rep, owner=personas.rep, name="星云（上海）股份有限公司")
    b = account_create(
        actor=personas.rep,
        owner=personas.rep,
        name="星云 (上海) 有限公司",
        intake_options={"duplicate_reason": "test: the same company on purpose"},  # issue 8
    )
    assert list(Account.objects.filter(name_key=a.name_key).order_by("pk")) == [a, b]


def test_contact_update_normalises_the_mobile(personas):
    contact = make_contact(make_account(personas.rep), mobile="")
    contact_update(actor=personas.rep, contact=contact, mobile="+86 138 0000 2222", email="A@B.CN")
    assert Contact.objects.filter(mobile="13800002222", email="a@b.cn").get() == contact


def test_migration_backfills_keys_and_normalises_contacts(personas):
    account = make_account(personas.rep, name="星云智能科技有限公司")  # written directly: no key yet
    contact = make_contact(account, mobile="+86 138-0000-3333", email=" Wang@Example.COM")
    untouched = make_contact(account, mobile="13800004444", email="")
    assert Account.objects.get(pk=account.pk).name_key == ""
    migration = importlib.import_module("salesflow.parties.migrations.0004_backfill_name_key_and_contact_normalised")
    migration.backfill(apps, None)
    assert Account.objects.get(pk=account.pk).name_key == "星云智能科技"
    assert Contact.objects.filter(pk=contact.pk).values_list("mobile", "email").get() == (
        "13800003333",
        "wang@example.com",
    )
    assert Contact.objects.filter(pk=untouched.pk).values_list("mobile", "email").get() == ("13800004444", "")
