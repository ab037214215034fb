"""Test data for customer protection: list rows, a loaded list, records made through services."""

from __future__ import annotations

from typing import Any

from salesflow.leads.models import Lead
from salesflow.leads.services import lead_create
from salesflow.parties.choices import SourceChannel
from salesflow.parties.models import Account
from salesflow.parties.services import account_create
from salesflow.protection.models import KnownCustomerLoad
from salesflow.protection.services import known_customers_load
from salesflow.users.models import User

TEST_OPTIONS = {"duplicate_reason": "test"}


def load_list(actor: User, rows: list[dict[str, Any]], source: str = "ERP") -> KnownCustomerLoad:
    return known_customers_load(actor=actor, source_system=source, rows=rows)


def new_lead(actor: User, owner: User | None, **fields: Any) -> Lead:
    values: dict[str, Any] = {"name": "王先生", "source_channel": SourceChannel.INBOUND, "mobile": "13900001111"}
    values.update(fields)
    options = values.pop("intake_options", TEST_OPTIONS)
    return lead_create(actor=actor, owner=owner, intake_options=options, **values)


def new_account(actor: User, owner: User, name: str, **fields: Any) -> Account:
    options = fields.pop("intake_options", TEST_OPTIONS)
    return account_create(actor=actor, owner=owner, name=name, intake_options=options, **fields)
