"""Accounts and contacts imported a batch at a time (``parties.services.account_create_many``
/ ``contact_create_many`` through ``imports.rows.write_rows``): rows written, duplicates
flagged, events and search rows, a refused row in valid-rows mode, all-or-nothing rollback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.intake import Intake, IntakeCheck, register_intake_check, unregister_intake_check
from salesflow.core.models import AuditEvent, AuditLink
from salesflow.imports.choices import ImportStatus, RowState
from salesflow.imports.models import ImportRow
from salesflow.imports.selectors import preview
from salesflow.imports.services import import_rollback
from salesflow.imports.tests.factories import csv_bytes, run, upload
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import account_create, account_create_many, contact_create_many, follow_up_due_for
from salesflow.search.models import SearchEntry

pytestmark = pytest.mark.django_db

ACCOUNT_HEADERS = ["客户名称", "统一社会信用代码", "电话", "客户等级"]
CODE = "91350100M000100Y43"  # a valid unified social credit code


@pytest.fixture
def refuse_blocked_accounts() -> Iterator[None]:
    """A real intake check refusing accounts whose name contains 禁止, as a known-customer or
    collision rule refuses a row the file checks could not see."""

    def before(intake: Intake) -> None:
        if "禁止" in intake.values["name"]:
            raise ValidationFailed("refused", field_errors={"name": ["belongs to a known customer"]})

    register_intake_check(IntakeCheck(code="test_refuse_account", order=5, kinds=frozenset({"account"}), before=before))
    yield
    unregister_intake_check("test_refuse_account")


def _accounts_file() -> bytes:
    return csv_bytes(
        [
            ACCOUNT_HEADERS,
            ["东方精密机械有限公司", CODE, "021-68880001", "A"],
            ["禁止贸易有限公司", "", "", "B"],
            ["南方物流有限公司", "", "", ""],
            ["西部能源有限公司", "", "021-68880002", "C"],
        ]
    )


def test_accounts_land_in_one_batch_with_events_and_search_rows(personas, refuse_blocked_accounts) -> None:
    job = run(personas.rep, upload(personas.rep, "account", _accounts_file()))
    assert (job.status, job.created_count, job.rejected_count) == (ImportStatus.DONE, 3, 1)
    accounts = Account.objects.order_by("pk")
    assert [a.name for a in accounts] == ["东方精密机械有限公司", "南方物流有限公司", "西部能源有限公司"]
    first = accounts[0]
    assert (first.credit_code, first.grade, first.owner, first.phone_key) == (
        CODE,
        "A",
        personas.rep,
        "+862168880001",
    )
    assert first.next_follow_up_due == follow_up_due_for("A", None)
    rejected = ImportRow.objects.get(job=job, state=RowState.REJECTED)
    assert (rejected.row_number, rejected.errors) == (3, [["客户名称", "belongs to a known customer"]])
    created = ImportRow.objects.filter(job=job, state=RowState.CREATED)
    assert sorted(int(r or 0) for r in created.values_list("record_id", flat=True)) == [a.pk for a in accounts]
    events = AuditEvent.objects.filter(verb="parties.account.created")
    assert sorted(events.values_list("target_id", flat=True)) == [a.pk for a in accounts]
    assert {e.data["owner"] for e in events} == {personas.rep.pk}
    assert SearchEntry.objects.filter(kind="account", object_id__in=[a.pk for a in accounts]).count() == 3
    # re-importing the file creates nothing; rollback deletes exactly the three
    again = run(personas.rep, upload(personas.rep, "account", _accounts_file()))
    assert (again.created_count, again.skipped_count, again.rejected_count) == (0, 3, 1)
    assert import_rollback(actor=personas.rep, job=job)["deleted"] == 3
    assert Account.objects.count() == 0


def test_accounts_all_or_nothing_rolls_back_everything(personas, refuse_blocked_accounts) -> None:
    job = run(personas.rep, upload(personas.rep, "account", _accounts_file()), "all_or_nothing")
    assert job.status == ImportStatus.FAILED and "Row 3 was refused" in job.error
    assert Account.objects.count() == 0
    assert not AuditEvent.objects.filter(verb="parties.account.created").exists()
    assert not SearchEntry.objects.filter(kind="account").exists()
    assert list(ImportRow.objects.filter(job=job).values_list("row_number", "state")) == [(3, RowState.REJECTED)]


def test_account_duplicates_are_flagged_in_the_preview(personas) -> None:
    account_create(actor=personas.manager, owner=personas.manager, name="星云科技有限公司")
    job = upload(
        personas.rep, "account", csv_bytes([["公司名称"], ["上海星云科技发展有限公司"], ["完全不同咨询有限公司"]])
    )
    shown = preview(job)
    flagged = [(row.number, [(d["kind"], d["label"]) for d in row.duplicates]) for row in shown.rows]
    assert flagged == [(2, [("account", "a record of another owner")]), (3, [])]


def test_contacts_land_in_one_batch_with_events_on_the_account(personas) -> None:
    acme = account_create(actor=personas.rep, owner=personas.rep, name="Acme Trading Co., Ltd.")
    data = csv_bytes(
        [
            ["Account", "Contact name", "Mobile", "Email", "Title"],
            ["Acme Trading", "Tom Lee", "", "tom@acme.example", "CTO"],
            ["Acme Trading", "Bad Mail", "", "not-an-email", ""],
            ["Acme Trading", "Ann Wu", "13611112222", "", "Buyer"],
        ]
    )
    job = run(personas.rep, upload(personas.rep, "contact", data))
    assert (job.status, job.created_count, job.rejected_count) == (ImportStatus.DONE, 2, 1)
    contacts = list(Contact.objects.order_by("pk"))
    assert [(c.name, c.account_id, c.mobile, c.email) for c in contacts] == [
        ("Tom Lee", acme.pk, "", "tom@acme.example"),
        ("Ann Wu", acme.pk, "13611112222", ""),
    ]
    rejected = ImportRow.objects.get(job=job, state=RowState.REJECTED)
    assert (rejected.row_number, rejected.errors) == (3, [["Email", "Enter a valid email address."]])
    for contact in contacts:
        event = AuditEvent.objects.get(verb="parties.contact.created", target_id=contact.pk)
        links = set(AuditLink.objects.filter(event=event).values_list("object_id", flat=True))
        assert links == {contact.pk, acme.pk}
    assert SearchEntry.objects.filter(kind="contact").count() == 2


# ----------------------------------------------------------------------------- the services


def _account_row(owner: Any, **fields: Any) -> dict[str, Any]:
    return {"owner": owner, "name": "北辰重工有限公司", **fields}


def test_account_create_many_refuses_bad_rows_alone(personas) -> None:
    account_create(actor=personas.rep, owner=personas.rep, name="已有公司", credit_code=CODE)
    done = account_create_many(
        actor=personas.rep,
        rows=[
            _account_row(personas.rep),
            _account_row(personas.rep, name="  "),
            _account_row(personas.rep, name="甲", credit_code=CODE),
            _account_row(personas.outsider, name="乙"),
            _account_row(personas.rep, name="丙", created_at=timezone.now() + timedelta(days=1)),
            _account_row(personas.rep, name="丁", credit_code="123"),
        ],
    )
    assert done[0].error is None and done[0].record.name == "北辰重工有限公司"
    assert [sorted((d.error.field_errors or {}).keys()) for d in done[1:]] == [  # type: ignore[union-attr]
        ["name"],
        ["credit_code"],
        ["owner"],
        ["created_at"],
        ["credit_code"],
    ]
    assert all(d.record is None for d in done[1:])
    assert Account.objects.count() == 2


def test_account_create_many_refuses_a_credit_code_twice_in_one_call(personas) -> None:
    done = account_create_many(
        actor=personas.rep,
        rows=[_account_row(personas.rep, credit_code=CODE), _account_row(personas.rep, name="二号", credit_code=CODE)],
    )
    assert done[0].record is not None and done[1].record is None
    assert done[1].error is not None and done[1].error.field_errors == {
        "credit_code": ["Another account already has this credit code."]
    }


def test_account_create_many_needs_a_writer(personas) -> None:
    with pytest.raises(Forbidden):
        account_create_many(actor=personas.support, rows=[_account_row(personas.rep)])


def test_contact_create_many_checks_the_account_and_the_archive(personas) -> None:
    mine = account_create(actor=personas.rep, owner=personas.rep, name="我的客户")
    theirs = account_create(actor=personas.other_manager, owner=personas.other_manager, name="别人的客户")
    done = contact_create_many(
        actor=personas.rep,
        rows=[
            {"account": mine, "name": "甲", "hobbies": "golf"},
            {"account": theirs, "name": "乙"},
            {"account": mine, "name": "丙", "mobile": "123"},
        ],
    )
    assert done[0].record is not None and done[0].record.hobbies == "golf"
    assert done[1].error is not None and set(done[1].error.field_errors or {}) == {"account"}
    assert done[2].error is not None and set(done[2].error.field_errors or {}) == {"mobile"}
    assert Contact.objects.count() == 1
