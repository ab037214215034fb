"""Test data for activities: accounts, contacts, deals and leads built through their services or the ORM."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from salesflow.activities.models import Activity
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import account_create, contact_create
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_create
from salesflow.search.testing import indexed
from salesflow.users.models import User
from salesflow.users.services import system_actor

_serial = itertools.count(1)


def make_account(owner: User, name: str | None = None) -> Account:
    return account_create(actor=owner, owner=owner, name=name or f"客户 {next(_serial):04d}")


def make_contact(account: Account, name: str | None = None) -> Contact:
    assert account.owner is not None
    return contact_create(actor=account.owner, account=account, name=name or f"联系人 {next(_serial):04d}")


def make_opportunity(account: Account, owner: User | None = None, **fields: Any) -> Opportunity:
    owner = owner or account.owner
    assert owner is not None
    fields.setdefault("name", f"商机 {next(_serial):04d}")
    fields.setdefault("next_step", "发送报价")
    fields.setdefault("next_step_date", date(2099, 1, 1))
    # a deal on someone else's account is set up as the system (its owner may not create it)
    actor = owner if owner == account.owner else system_actor()
    return opportunity_create(actor=actor, account=account, owner=owner, **fields)


def make_lead(owner: User | None, status: str = LeadStatus.NEW, **fields: Any) -> Lead:
    fields.setdefault("name", f"线索 {next(_serial):04d}")
    fields.setdefault("source_channel", "inbound")
    return indexed(Lead.objects.create(owner=owner, status=status, **fields))


def make_activity(owner: User, *, created_at: datetime | None = None, **fields: Any) -> Activity:
    """An activity written directly (no audit), for selector and permission set-ups."""
    fields.setdefault("kind", "call")
    fields.setdefault("subject", f"跟进 {next(_serial):04d}")
    if fields.get("done") and "done_at" not in fields:
        fields["done_at"] = timezone.now()
    if fields.get("contact") is not None and fields.get("account") is None:
        fields["account"] = fields["contact"].account
    if fields.get("opportunity") is not None and fields.get("account") is None:
        fields["account"] = fields["opportunity"].account
    activity = Activity.objects.create(owner=owner, **fields)
    if created_at is not None:
        Activity.objects.filter(pk=activity.pk).update(created_at=created_at)
        activity.created_at = created_at
    return activity


def local_dt(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))
