"""Shared fixtures for the parties tests: the persona matrix and records owned by ``rep``."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.utils import translation

from salesflow.parties.models import Account, Contact
from salesflow.parties.tests.factories import make_account, make_contact, valid_credit_code
from salesflow.users.testing import REP_RECORD_ACCESS

# persona → (may read the rep's records, may write them)
MATRIX: dict[str, tuple[bool, bool]] = REP_RECORD_ACCESS
PERSONAS = list(MATRIX)


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Service messages are asserted in the source language."""
    with translation.override("en"):
        yield


@pytest.fixture
def rep_account(personas) -> Account:
    return make_account(personas.rep, name="星云智能科技", credit_code=valid_credit_code(), phone="021-5555 0101")


@pytest.fixture
def outsider_account(personas) -> Account:
    return make_account(personas.outsider, name="南方贸易有限公司")


@pytest.fixture
def rep_contact(rep_account) -> Contact:
    return make_contact(rep_account, name="王磊", mobile="13800000001", email="wang.lei@example.com", hobbies="围棋")


def account_state(pk: int) -> dict[str, Any]:
    """The stored row, to compare before and after a refused action."""
    return dict(Account.objects.filter(pk=pk).values().first() or {})


def contact_state(pk: int) -> dict[str, Any]:
    return dict(Contact.objects.filter(pk=pk).values().first() or {})


def make_opportunity(account: Account, owner: Any, *, contact: Contact | None = None) -> Any:
    """An opportunity on ``account`` built through the model registry (parties may not import sales)."""
    pipeline = apps.get_model("sales", "Pipeline").objects.get(is_default=True)
    stage = pipeline.stages.filter(kind="open").order_by("position").first()
    opportunity = apps.get_model("sales", "Opportunity").objects.create(
        name="年度框架采购", account=account, owner=owner, pipeline=pipeline, stage=stage, probability=stage.probability
    )
    if contact is not None:
        apps.get_model("sales", "OpportunityContact").objects.create(opportunity=opportunity, contact=contact)
    return opportunity


def make_activity(owner: Any, **links: Any) -> Any:
    return apps.get_model("activities", "Activity").objects.create(
        kind="call", subject="电话沟通", owner=owner, **links
    )
