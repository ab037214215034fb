"""Two transactions creating accounts with one credit code: the loser gets a field error, not a 500."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.utils import translation

from salesflow.core.errors import ValidationFailed
from salesflow.parties.models import Account
from salesflow.parties.services import account_create
from salesflow.parties.tests.factories import valid_credit_code
from salesflow.users.testing import make_personas

DUPLICATE = {"credit_code": ["Another account already has this credit code."]}


@pytest.mark.django_db
def test_unique_constraint_behind_the_check_is_a_validation_error(personas, monkeypatch):
    """When the check misses a row (another transaction inserted it meanwhile), the constraint
    decides and the service still answers with the field error; the transaction stays usable."""
    code = valid_credit_code()
    account_create(actor=personas.rep, owner=personas.rep, name="甲公司", credit_code=code)
    monkeypatch.setattr("salesflow.parties.services.validate_credit_code", lambda code, exclude_pk=None: [])
    with pytest.raises(ValidationFailed) as exc:
        account_create(
            actor=personas.rep,
            owner=personas.rep,
            name="乙公司",
            credit_code=code,
            intake_options={"duplicate_reason": "test: past the duplicate warning, into the race"},  # issue 8
        )
    assert exc.value.field_errors == DUPLICATE
    assert list(Account.objects.values_list("name", flat=True)) == ["甲公司"]


@pytest.mark.django_db
def test_api_answers_400_for_a_duplicate_credit_code(personas, api_for, monkeypatch):
    code = valid_credit_code()
    account_create(actor=personas.rep, owner=personas.rep, name="甲公司", credit_code=code)
    monkeypatch.setattr("salesflow.parties.services.validate_credit_code", lambda code, exclude_pk=None: [])
    body = {"name": "乙公司", "credit_code": code, "duplicate_reason": "test: into the race"}  # issue 8
    response = api_for(personas.rep).post("/accounts/", body)
    assert response.status_code == 400
    assert response.json()["errors"] == DUPLICATE
    assert Account.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: the insert cannot race")
def test_concurrent_creation_with_one_credit_code_creates_one_account():
    personas = make_personas()
    code = valid_credit_code()
    first_inserted = threading.Event()
    outcomes: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                account_create(actor=personas.rep, owner=personas.rep, name="甲公司", credit_code=code)
                first_inserted.set()
                # keep the row uncommitted while the second transaction checks and inserts
                time.sleep(0.5)
            outcomes["first"] = "created"
        finally:
            connections.close_all()

    def second() -> None:
        try:
            first_inserted.wait(10)
            # the uncommitted row is invisible to the check, so the insert waits on the
            # unique index and fails once the first transaction commits
            with translation.override("en"):  # threads do not inherit the test's language
                account_create(actor=personas.rep, owner=personas.rep, name="乙公司", credit_code=code)
            outcomes["second"] = "created"
        except ValidationFailed as exc:
            outcomes["second"] = exc.field_errors
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == {"first": "created", "second": DUPLICATE}
    assert list(Account.objects.values_list("name", flat=True)) == ["甲公司"]
