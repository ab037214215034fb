"""Test data for accounts and contacts."""

from __future__ import annotations

import itertools
from typing import Any

from salesflow.core.normalize import credit_check_char, credit_code_is_valid
from salesflow.parties.models import Account, Contact
from salesflow.search.testing import indexed
from salesflow.users.models import User

_serial = itertools.count(1)


def valid_credit_code(body: str | None = None) -> str:
    """A credit code with a correct check character (GB 32100-2015).

    ``body`` is the first 17 characters; by default a fresh one per call.
    """
    if body is None:
        body = f"91310000MA1{next(_serial):06d}"
    assert len(body) == 17
    code = body + credit_check_char(body)
    assert credit_code_is_valid(code)
    return code


def make_account(owner: User, **fields: Any) -> Account:
    n = next(_serial)
    fields.setdefault("name", f"测试客户 {n:04d}")
    return indexed(Account.objects.create(owner=owner, **fields))


def make_contact(account: Account, **fields: Any) -> Contact:
    n = next(_serial)
    fields.setdefault("name", f"联系人 {n:04d}")
    return indexed(Contact.objects.create(account=account, **fields))
