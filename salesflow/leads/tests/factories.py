"""Test data for leads: typed builders for leads and accounts, valid credit codes."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from salesflow.leads.choices import BantAnswer, LeadStatus
from salesflow.leads.models import Lead
from salesflow.parties.choices import SourceChannel
from salesflow.parties.models import Account
from salesflow.search.testing import indexed
from salesflow.users.models import User

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_codes = itertools.count(1)
_serial = itertools.count(0)


def credit_code(body: str | None = None) -> str:
    """A valid unified social credit code (GB 32100-2015 check character added)."""
    body = body or f"91310000{next(_codes):09d}"
    total = sum(_ALPHABET.index(ch) * w for ch, w in zip(body, _WEIGHTS, strict=True))
    return body + _ALPHABET[(31 - total % 31) % 31]


def make_lead(**fields: Any) -> Lead:
    """A stored lead (written directly, no service) with reachable person and a company."""
    n = next(_serial)
    values: dict[str, Any] = {
        "name": f"联系人{n}",
        "title": "采购经理",
        "mobile": f"138{n:08d}",
        "email": f"lead{n}@example.com",
        "company_name": f"上海测试科技有限公司{n}",
        "source_channel": SourceChannel.INBOUND,
        "status": LeadStatus.NEW,
    }
    values.update(fields)
    return indexed(Lead.objects.create(**values))


def make_leads(count: int, **fields: Any) -> list[Lead]:
    return [make_lead(**fields) for _ in range(count)]


def make_account(*, owner: User, **fields: Any) -> Account:
    fields.setdefault("name", f"客户公司{next(_serial)}")
    return indexed(Account.objects.create(owner=owner, **fields))


def qualified_lead(**fields: Any) -> Lead:
    """A lead with complete BANT in status qualified."""
    values: dict[str, Any] = {
        "status": LeadStatus.QUALIFIED,
        "budget_status": BantAnswer.YES,
        "budget_amount": Decimal("250000.00"),
        "authority_status": BantAnswer.YES,
        "need": "替换旧的ERP系统\n需要支持多工厂",
        "timeline": date.today() + timedelta(days=60),
        "credit_code": credit_code(),
    }
    values.update(fields)
    return make_lead(**values)
