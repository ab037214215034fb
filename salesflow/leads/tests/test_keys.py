"""Lead duplicate-detection keys: mobile and email are stored normalised, the company key is
derived by the services and backfilled by the migration."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from salesflow.leads.models import Lead
from salesflow.leads.services import lead_create, lead_update
from salesflow.leads.tests.factories import make_lead
from salesflow.parties.services import account_create

pytestmark = pytest.mark.django_db


def test_create_stores_normalised_keys(personas):
    lead = lead_create(
        actor=personas.rep,
        owner=personas.rep,
        name="张伟",
        source_channel="inbound",
        mobile="+86 138 1234 5678",
        email=" Zhang.Wei@Example.COM",
        company_name="上海星云智能科技有限公司",
    )
    stored = Lead.objects.filter(pk=lead.pk).values("mobile", "email", "company_key").get()
    assert stored == {"mobile": "13812345678", "email": "zhang.wei@example.com", "company_key": "上海星云智能科技"}


def test_update_rewrites_the_company_key(personas):
    lead = lead_create(
        actor=personas.rep, owner=personas.rep, name="张伟", source_channel="inbound", mobile="13812345678"
    )
    assert Lead.objects.get(pk=lead.pk).company_key == ""
    lead_update(actor=personas.rep, lead=lead, company_name="星云集团股份有限公司")
    assert (lead.company_key, Lead.objects.get(pk=lead.pk).company_key) == ("星云", "星云")


def test_lead_and_account_keys_match_for_one_company(personas):
    lead = lead_create(
        actor=personas.rep,
        owner=personas.rep,
        name="张伟",
        source_channel="inbound",
        mobile="13812345678",
        company_name="星云（上海）有限公司",
    )
    account = account_create(
        actor=personas.rep,
        owner=personas.rep,
        name="星云 (上海) 股份有限公司",
        intake_options={"duplicate_reason": "test: the lead's company on purpose"},  # issue 8
    )
    assert lead.company_key == account.name_key == "星云上海"


def test_migration_backfills_the_company_key(personas):
    lead = make_lead(owner=personas.rep, company_name="北京华为科技有限公司")  # written directly: no key
    assert Lead.objects.get(pk=lead.pk).company_key == ""
    importlib.import_module("salesflow.leads.migrations.0007_backfill_company_key").backfill(apps, None)
    assert Lead.objects.get(pk=lead.pk).company_key == "北京华为科技"
