"""Imports through the services: each kind, headers in both languages, templates, preview
(validation per row and column, duplicate findings), both modes, re-import, cancel, crash
(kill) + resume + rollback, permissions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, cast

import pytest

from salesflow.core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from salesflow.core.intake import Intake, IntakeCheck, register_intake_check, unregister_intake_check
from salesflow.core.models import AuditEvent
from salesflow.imports import services
from salesflow.imports.choices import ImportStatus, RowState
from salesflow.imports.models import ImportJob, ImportRow
from salesflow.imports.selectors import preview
from salesflow.imports.services import (
    import_cancel,
    import_execute,
    import_resume,
    import_rollback,
    import_set_mapping,
    import_start,
    import_upload,
    template_save,
)
from salesflow.imports.tests.factories import (
    LEAD_HEADERS_EN,
    LEAD_HEADERS_ZH,
    csv_bytes,
    lead_rows,
    run,
    upload,
    xlsx_bytes,
)
from salesflow.leads.models import Lead
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import account_create, contact_create
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity

pytestmark = pytest.mark.django_db


def _account(owner: Any, name: str) -> Account:
    return account_create(actor=owner, owner=owner, name=name)


# ----------------------------------------------------------------------------- each kind


def test_leads_with_chinese_headers_land_with_their_history(personas) -> None:
    job = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(3)]))
    assert job.mapping == {
        "姓名": "name",
        "公司名称": "company_name",
        "手机": "mobile",
        "邮箱": "email",
        "线索来源": "source_channel",
        "负责人": "owner",
        "创建日期": "created_at",
    }
    job = run(personas.rep, job)
    assert (job.status, job.created_count, job.rejected_count) == (ImportStatus.DONE, 3, 0)
    leads = Lead.objects.order_by("mobile")
    assert [lead.mobile for lead in leads] == ["13900000000", "13900000001", "13900000002"]
    assert all(lead.owner == personas.rep and lead.created_at.date() == date(2024, 3, 1) for lead in leads)
    created = AuditEvent.objects.filter(verb="leads.lead.created").count()
    assert created == 3
    rows = list(ImportRow.objects.filter(job=job).order_by("row_number"))
    assert [(r.row_number, r.state, r.record_id) for r in rows] == [
        (n + 2, RowState.CREATED, lead.pk) for n, lead in enumerate(Lead.objects.order_by("mobile"))
    ]


def test_leads_from_an_english_xlsx(personas) -> None:
    data = xlsx_bytes([LEAD_HEADERS_EN, *lead_rows(2, owner="rep")])
    job = upload(personas.manager, "lead", data, "leads.xlsx")
    assert job.mapping["Mobile"] == "mobile" and job.mapping["Owner"] == "owner"
    job = run(personas.manager, job)
    assert job.created_count == 2
    assert set(Lead.objects.values_list("owner__username", flat=True)) == {"rep"}


def test_gbk_csv_is_read(personas) -> None:
    job = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(1)], encoding="gbk"))
    assert job.headers == LEAD_HEADERS_ZH
    assert run(personas.rep, job).created_count == 1
    assert Lead.objects.get().company_name == "测试公司0有限公司"


def test_accounts_and_contacts(personas) -> None:
    accounts = csv_bytes(
        [
            ["客户名称", "统一社会信用代码", "行业", "客户等级", "负责人"],
            ["华东精密机械有限公司", "", "制造业", "A", "rep"],
            ["Acme Trading Co., Ltd.", "", "Retail and consumer goods", "b", ""],
        ]
    )
    job = run(personas.rep, upload(personas.rep, "account", accounts))
    assert job.created_count == 2, list(ImportRow.objects.values_list("errors", flat=True))
    acme = Account.objects.get(name="Acme Trading Co., Ltd.")
    assert (acme.industry, acme.grade, acme.owner) == ("retail", "B", personas.rep)
    contacts = csv_bytes(
        [
            ["Account", "Contact name", "Mobile", "Email", "Title"],
            ["华东精密机械", "赵敏", "13611112222", "", "采购经理"],
            ["Acme Trading", "Tom Lee", "", "tom@acme.example", "CTO"],
            ["Nowhere Inc", "Ghost", "", "ghost@example.com", ""],
        ]
    )
    job = run(personas.rep, upload(personas.rep, "contact", contacts))
    assert (job.created_count, job.rejected_count) == (2, 1)
    assert Contact.objects.get(name="赵敏").account.name == "华东精密机械有限公司"
    rejected = ImportRow.objects.get(job=job, state=RowState.REJECTED)
    assert rejected.row_number == 4
    assert rejected.errors == [["Account", "No account with this name that you can see."]]


def test_opportunities_with_outcomes_amounts_owners_and_historical_dates(personas) -> None:
    _account(personas.rep, "上海示例科技有限公司")
    data = csv_bytes(
        [
            ["商机编号", "客户名称", "商机名称", "金额", "结果", "输单原因", "负责人", "创建日期", "成交日期"],
            ["D-1", "上海示例科技", "年度许可", "120,000.50", "赢单", "", "rep", "2023-09-01", "2023-12-20"],
            ["D-2", "上海示例科技", "实施服务", "45000", "lost", "价格过高", "", "2024-01-10", "2024-03-05"],
            ["D-3", "上海示例科技", "二期", "9.999", "open", "", "", "2024-05-01", ""],
            ["D-4", "上海示例科技", "三期", "1000", "won", "", "", "2024-05-01", ""],
        ]
    )
    job = run(personas.manager, upload(personas.manager, "opportunity", data))
    assert (job.created_count, job.rejected_count) == (2, 2)
    won = Opportunity.objects.get(name="年度许可")
    assert (won.outcome, won.amount, won.owner) == (Outcome.WON, Decimal("120000.50"), personas.rep)
    assert won.closed_on == date(2023, 12, 20) and won.close_date == date(2023, 12, 20)
    assert won.closed_at is not None and won.closed_at.date() == date(2023, 12, 20)
    assert won.created_at.date() == date(2023, 9, 1)
    lost = Opportunity.objects.get(name="实施服务")
    assert (lost.outcome, lost.lost_reason.code if lost.lost_reason else None) == (Outcome.LOST, "price")
    assert lost.close_date == date(2024, 3, 5) and lost.owner == personas.manager
    errors = dict(ImportRow.objects.filter(job=job, state=RowState.REJECTED).values_list("row_number", "errors"))
    assert errors[4][0][0] == "金额"  # three decimal places for CNY
    assert errors[5] == [["成交日期", "Say when the opportunity was closed."]]


def test_a_refused_close_leaves_no_half_opportunity(personas, monkeypatch) -> None:
    """The deal is created and closed in one savepoint: a refusal at the close removes it.
    Opportunities are written a batch at a time (``opportunity_create_many``); a row whose
    close the batch cannot take in bulk (a win into a stage with entry criteria) goes through
    the one-row services, whose refusal here is the close's."""
    _account(personas.rep, "Half Row Ltd")
    from salesflow.sales import services as sales_services
    from salesflow.sales.gate_services import stage_criterion_create
    from salesflow.sales.models import StageChange
    from salesflow.sales.tests.factories import stage

    stage_criterion_create(actor=personas.admin, stage=stage("won"), kind="decision_maker")

    def refuse(**kwargs: Any) -> None:
        raise ValidationFailed("no", field_errors={"outcome": ["refused at close"]})

    monkeypatch.setattr(sales_services, "opportunity_close", refuse)
    data = csv_bytes([["Account", "Name", "Outcome", "Closed"], ["Half Row", "Deal", "won", "2024-01-02"]])
    job = run(personas.rep, upload(personas.rep, "opportunity", data))
    assert job.rejected_count == 1 and Opportunity.objects.count() == 0
    assert ImportRow.objects.get(job=job).errors == [["Outcome", "refused at close"]]
    assert not StageChange.objects.exists()
    assert not AuditEvent.objects.filter(verb__startswith="sales.opportunity.").exists()


def test_a_win_refused_by_the_won_stage_entry_criteria_leaves_nothing(personas) -> None:
    """The same through the real close: the won stage asks for a decision maker, which a new
    deal has not; the row is rejected with the gate's refusal, the other rows are written."""
    _account(personas.rep, "Gate Row Ltd")
    from salesflow.sales.gate_services import stage_criterion_create
    from salesflow.sales.models import StageChange
    from salesflow.sales.tests.factories import stage

    stage_criterion_create(actor=personas.admin, stage=stage("won"), kind="decision_maker")
    data = csv_bytes(
        [
            ["Account", "Name", "Outcome", "Closed", "Lost reason"],
            ["Gate Row", "Won deal", "won", "2024-01-02", ""],
            ["Gate Row", "Lost deal", "lost", "2024-01-02", "price"],
            ["Gate Row", "Open deal", "open", "", ""],
        ]
    )
    job = run(personas.rep, upload(personas.rep, "opportunity", data))
    assert (job.created_count, job.rejected_count) == (2, 1)
    assert set(Opportunity.objects.values_list("name", "outcome")) == {("Lost deal", "lost"), ("Open deal", "open")}
    assert StageChange.objects.count() == 3
    rejected = ImportRow.objects.get(job=job, state=RowState.REJECTED)
    assert rejected.row_number == 2 and rejected.errors[0][0] == ""
    assert "are not met" in rejected.errors[0][1]


def test_a_rep_importing_deals_for_an_owner_they_may_not_assign_is_refused_per_row(personas) -> None:
    _account(personas.rep, "Owner Row Ltd")
    data = csv_bytes(
        [
            ["Account", "Name", "Owner"],
            ["Owner Row", "Mine", "rep"],
            ["Owner Row", "The manager's", "manager"],
            ["Owner Row", "Also mine", ""],
        ]
    )
    job = run(personas.rep, upload(personas.rep, "opportunity", data))
    assert (job.created_count, job.rejected_count) == (2, 1)
    assert set(Opportunity.objects.values_list("name", "owner")) == {
        ("Mine", personas.rep.pk),
        ("Also mine", personas.rep.pk),
    }
    rejected = ImportRow.objects.get(job=job, state=RowState.REJECTED)
    assert (rejected.row_number, rejected.errors) == (3, [["Owner", "You cannot assign records to this user."]])


# ----------------------------------------------------------------- mapping and templates


def test_mapping_is_editable_and_saved_as_a_reusable_template(personas) -> None:
    headers = ["Full name", "Cell", "Where from", "Mail"]
    data = csv_bytes([headers, ["A B", "13911112222", "inbound", "ab@example.com"]])
    job = upload(personas.rep, "lead", data)
    assert "Where from" not in job.mapping
    mapping = {"Full name": "name", "Cell": "mobile", "Where from": "source_channel", "Mail": ""}
    job = import_set_mapping(actor=personas.rep, job=job, mapping=mapping)
    assert job.mapping == {"Full name": "name", "Cell": "mobile", "Where from": "source_channel"}
    template = template_save(actor=personas.rep, kind="lead", name="CRM export", mapping=mapping)
    again = import_upload(actor=personas.rep, kind="lead", upload=_file(data), template=template)
    assert again.mapping == job.mapping
    with pytest.raises(ValidationFailed) as exc:
        import_set_mapping(actor=personas.rep, job=job, mapping={"Full name": "name", "Cell": "name"})
    assert "mapping" in exc.value.field_errors
    with pytest.raises(ValidationFailed):
        import_set_mapping(actor=personas.rep, job=job, mapping={"Nope": "name"})
    with pytest.raises(ValidationFailed) as exc:
        template_save(actor=personas.rep, kind="lead", name="x", mapping={}, shared=True)
    assert "shared" in exc.value.field_errors


def _file(data: bytes, name: str = "f.csv") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


# ----------------------------------------------------------------------- preview


def test_preview_names_the_column_and_reason_and_finds_duplicates(personas) -> None:
    existing = Lead.objects.create(
        owner=personas.teammate, name="Old", mobile="13900000001", source_channel="inbound", status="new"
    )
    account = _account(personas.rep, "重复测试有限公司")
    # row 4's person (same name and mobile) is already a contact, at a company the file names
    # differently: the fuzzy matcher finds it (a shared mobile alone, with another name and
    # company, is no duplicate)
    contact_create(actor=personas.rep, account=account, name="客户2", mobile="13900000002")
    rows = lead_rows(4)
    rows[0][3] = "not-an-email"
    rows[0][6] = "2024-13-45"
    rows[3][5] = "nobody-here"
    job = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *rows]))
    p = preview(job)
    by_row = {r.number: r for r in p.rows}
    assert by_row[2].state == RowState.REJECTED
    assert ("邮箱", "Enter a valid email address.") in by_row[2].errors
    assert ("创建日期", "Enter a date as YYYY-MM-DD.") in by_row[2].errors
    assert by_row[3].state == RowState.SKIPPED and "owner: " in by_row[3].exists
    assert existing.owner is not None and str(existing.owner) in by_row[3].exists
    assert by_row[4].state == RowState.CREATED
    assert by_row[4].duplicates and by_row[4].duplicates[0]["kind"] == "contact"
    assert "same mobile" in [str(r) for r in cast("list[str]", by_row[4].duplicates[0]["reasons"])]  # English UI
    assert by_row[4].duplicates[0]["label"] == "客户2"
    assert by_row[5].errors == [("负责人", "No active user has this username or name.")]
    assert (p.valid, p.rejected, p.skipped) == (1, 2, 1)
    # the service's own checks appear as row errors when the row is run
    job = run(personas.rep, job)
    rejected = dict(ImportRow.objects.filter(job=job, state=RowState.REJECTED).values_list("row_number", "errors"))
    assert ["创建日期", "Enter a date as YYYY-MM-DD."] in rejected[2]
    assert Lead.objects.count() == 2  # the existing one and row 4


def test_preview_queries_do_not_grow_with_rows(personas, django_assert_max_num_queries) -> None:
    small = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(5)]))
    large = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(200, start=100)]))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        preview(small)
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        preview(large)


# ------------------------------------------------------------------------ modes


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(personas) -> None:
    rows = lead_rows(5)
    rows[2][2] = "12345"  # not a mobile
    job = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *rows]))
    job = run(personas.rep, job, "all_or_nothing")
    assert job.status == ImportStatus.FAILED and Lead.objects.count() == 0
    assert job.rejected_count == 1 and "nothing was imported" in job.error
    # the same job may run again in the other mode: the valid rows land
    job = run(personas.rep, job, "valid_rows")
    assert (job.status, job.created_count, job.rejected_count) == (ImportStatus.DONE, 4, 1)
    assert ImportRow.objects.get(job=job, state=RowState.REJECTED).errors[0][0] == "手机"


@pytest.fixture
def refuse_third_mobile():
    """A real intake check (``core.intake``) that refuses the lead with mobile 13900000002,
    as a collision or known-customer rule refuses a row the file checks could not see."""

    def before(intake: Intake) -> None:
        if intake.values.get("mobile") == "13900000002":
            raise ValidationFailed("refused", field_errors={"mobile": ["taken by a colleague"]})

    register_intake_check(IntakeCheck(code="test_refuse", order=5, kinds=frozenset({"lead"}), before=before))
    yield
    unregister_intake_check("test_refuse")


def test_all_or_nothing_rolls_back_everything_when_a_service_refuses_a_row(personas, refuse_third_mobile) -> None:
    job = run(personas.rep, upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(5)])), "all_or_nothing")
    assert job.status == ImportStatus.FAILED and Lead.objects.count() == 0
    assert ImportRow.objects.get(job=job).errors == [["手机", "taken by a colleague"]]
    assert ImportRow.objects.get(job=job).row_number == 4  # the header is row 1
    assert not AuditEvent.objects.filter(verb="leads.lead.created").exists()


def test_valid_rows_rejects_only_the_row_a_service_refuses(personas, refuse_third_mobile) -> None:
    job = run(personas.rep, upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(5)])))
    assert (job.status, job.created_count, job.rejected_count) == (ImportStatus.DONE, 4, 1)
    assert sorted(Lead.objects.values_list("mobile", flat=True)) == [
        "13900000000",
        "13900000001",
        "13900000003",
        "13900000004",
    ]
    rejected = ImportRow.objects.get(job=job, state=RowState.REJECTED)
    assert (rejected.row_number, rejected.errors) == (4, [["手机", "taken by a colleague"]])
    created = ImportRow.objects.filter(job=job, state=RowState.CREATED)
    assert sorted(int(r or 0) for r in created.values_list("record_id", flat=True)) == sorted(
        Lead.objects.values_list("pk", flat=True)
    )
    assert AuditEvent.objects.filter(verb="leads.lead.created").count() == 4


def test_reimporting_the_same_file_creates_nothing_new(personas) -> None:
    data = csv_bytes([LEAD_HEADERS_ZH, *lead_rows(6)])
    first = run(personas.rep, upload(personas.rep, "lead", data))
    assert first.created_count == 6
    second = run(personas.rep, upload(personas.rep, "lead", data))
    assert (second.created_count, second.skipped_count) == (0, 6)
    assert Lead.objects.count() == 6
    reasons = set(ImportRow.objects.filter(job=second).values_list("reason", flat=True))
    assert reasons == {f"Already imported by import #{first.pk}."}
    # a file with the same people under other row numbers: recognised by their keys
    shuffled = csv_bytes([LEAD_HEADERS_ZH, *reversed(lead_rows(6))])
    third = run(personas.rep, upload(personas.rep, "lead", shuffled))
    assert third.created_count == 0 and Lead.objects.count() == 6
    # rows repeating an earlier row of the same file
    doubled = csv_bytes([LEAD_HEADERS_ZH, *lead_rows(1, start=50), *lead_rows(1, start=50)])
    fourth = run(personas.rep, upload(personas.rep, "lead", doubled))
    assert (fourth.created_count, fourth.skipped_count) == (1, 1)


def test_accounts_reimport_matches_by_name_key(personas) -> None:
    _account(personas.manager, "北京样例制造股份有限公司")
    job = run(personas.rep, upload(personas.rep, "account", csv_bytes([["公司名称"], ["北京样例制造"]])))
    assert job.skipped_count == 1 and Account.objects.count() == 1


# ------------------------------------------------------------ cancel, kill, resume, rollback


def test_cancel_stops_between_batches(personas, monkeypatch) -> None:
    job = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(12)]))
    import_start(actor=personas.rep, job=job, mode="valid_rows")

    def hook(number: int) -> None:
        if number == 3:
            ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)

    monkeypatch.setattr(services, "test_hook", hook)
    done = import_execute(job_id=job.pk, batch_size=5)
    assert done is not None and done.status == ImportStatus.CANCELLED
    assert Lead.objects.count() == 5 == done.created_count
    with pytest.raises(Conflict):
        import_cancel(actor=personas.rep, job=done)
    monkeypatch.setattr(services, "test_hook", None)
    import_resume(actor=personas.rep, job=done)
    assert import_execute(job_id=job.pk, batch_size=5) is not None
    assert Lead.objects.count() == 12


def test_cancel_a_queued_import_at_once(personas) -> None:
    job = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(2)]))
    import_start(actor=personas.rep, job=job, mode="all_or_nothing")
    assert import_cancel(actor=personas.rep, job=job).status == ImportStatus.CANCELLED
    assert import_execute(job_id=job.pk) is None and Lead.objects.count() == 0


class Killed(BaseException):
    """Like the process dying: not an Exception the code could handle."""


@pytest.mark.parametrize("mode", ["valid_rows", "all_or_nothing"])
def test_a_killed_import_leaves_whole_rows_then_resumes_and_rolls_back(personas, monkeypatch, mode) -> None:
    job = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(13)]))
    import_start(actor=personas.rep, job=job, mode=mode)

    def kill(number: int) -> None:
        if number == 9:  # the second batch of five is in flight
            raise Killed

    monkeypatch.setattr(services, "test_hook", kill)
    with pytest.raises(Killed):
        import_execute(job_id=job.pk, batch_size=5)
    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING  # as a killed worker leaves it
    landed = 5 if mode == "valid_rows" else 0
    assert Lead.objects.count() == landed
    recorded = ImportRow.objects.filter(job=job, state=RowState.CREATED)
    assert sorted(int(pk or 0) for pk in recorded.values_list("record_id", flat=True)) == sorted(
        Lead.objects.values_list("pk", flat=True)
    )
    with pytest.raises(Conflict):  # still "running" with a fresh heartbeat
        import_resume(actor=personas.rep, job=job)
    assert job.heartbeat_at is not None
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=job.heartbeat_at - services.STALE_AFTER * 2)
    monkeypatch.setattr(services, "test_hook", None)
    import_resume(actor=personas.rep, job=job)
    resumed = import_execute(job_id=job.pk, batch_size=5)
    assert resumed is not None and resumed.status == ImportStatus.DONE
    job = resumed
    assert Lead.objects.count() == 13 == job.created_count
    assert len(set(Lead.objects.values_list("mobile", flat=True))) == 13
    other = Lead.objects.create(owner=personas.rep, name="Not imported", mobile="13700000000", source_channel="inbound")
    result = import_rollback(actor=personas.rep, job=job)
    assert result == {"deleted": 13, "kept": []}
    assert list(Lead.objects.all()) == [other]
    job.refresh_from_db()
    assert job.status == ImportStatus.ROLLED_BACK
    assert AuditEvent.objects.filter(verb="leads.lead.deleted").count() == 13
    assert AuditEvent.objects.filter(verb="imports.job.rolled_back").count() == 1
    # rolled-back rows no longer count as imported: the file may be imported again
    again = run(personas.rep, upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(13)])))
    assert again.created_count == 13


def test_rollback_keeps_a_record_its_service_will_not_delete(personas) -> None:
    job = run(personas.rep, upload(personas.rep, "account", csv_bytes([["Account name"], ["Keep Me Ltd"], ["Go Ltd"]])))
    kept = Account.objects.get(name="Keep Me Ltd")
    contact_create(actor=personas.rep, account=kept, name="Someone", mobile="13912340000")
    result = import_rollback(actor=personas.rep, job=job)
    assert result["deleted"] == 1 and [k["row"] for k in result["kept"]] == [2]
    assert list(Account.objects.values_list("name", flat=True)) == ["Keep Me Ltd"]


# ------------------------------------------------------------------------ permissions


def test_owner_assignability_decides_per_row(personas) -> None:
    rows = [
        *lead_rows(1, owner="teammate"),
        *lead_rows(1, start=1, owner="rep"),
        *lead_rows(1, start=2, owner="outsider"),
    ]
    data = csv_bytes([LEAD_HEADERS_ZH, *rows])
    rep_job = run(personas.rep, upload(personas.rep, "lead", data))
    assert rep_job.created_count == 1
    errors = dict(ImportRow.objects.filter(job=rep_job, state=RowState.REJECTED).values_list("row_number", "errors"))
    assert errors == {
        2: [["负责人", "You cannot assign records to this user."]],
        4: [["负责人", "You cannot assign records to this user."]],
    }
    manager_job = run(personas.manager, upload(personas.manager, "lead", data))
    assert manager_job.created_count == 1  # teammate; rep's row exists; outsider is in another tree
    admin_job = run(personas.admin, upload(personas.admin, "lead", data))
    assert admin_job.created_count == 1 and admin_job.skipped_count == 2
    assert set(Lead.objects.values_list("owner__username", flat=True)) == {"rep", "teammate", "outsider"}


def test_who_may_import_and_see_jobs(personas) -> None:
    data = csv_bytes([LEAD_HEADERS_ZH, *lead_rows(1)])
    with pytest.raises(Forbidden):
        upload(personas.support, "lead", data)
    job = upload(personas.rep, "lead", data)
    from django.http import Http404

    from salesflow.imports.selectors import get_job_for_user

    with pytest.raises(Http404):
        get_job_for_user(personas.teammate, job.pk)
    assert get_job_for_user(personas.admin, job.pk) == job
    with pytest.raises(Forbidden):
        import_start(actor=personas.teammate, job=job, mode="valid_rows")


def test_service_refusals_reject_the_row_with_their_message(personas) -> None:
    from salesflow.core.intake import IntakeCheck, register_intake_check, unregister_intake_check

    def refuse(intake: Any) -> None:
        if intake.values.get("mobile") == "13900000001":
            raise Conflict("Existing customer — owner Someone.")

    register_intake_check(IntakeCheck(code="test_refuse", order=5, kinds=frozenset({"lead"}), before=refuse))
    try:
        job = run(personas.rep, upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(3)])))
    finally:
        unregister_intake_check("test_refuse")
    assert job.created_count == 2
    assert ImportRow.objects.get(job=job, state=RowState.REJECTED).errors == [
        ["", "Existing customer — owner Someone."]
    ]


def test_import_rows_pass_via_import_to_the_intake_checks(personas) -> None:
    from salesflow.core.intake import IntakeCheck, register_intake_check, unregister_intake_check

    seen: list[tuple[str, Any]] = []
    register_intake_check(
        IntakeCheck(
            code="test_seen",
            order=5,
            kinds=frozenset({"lead"}),
            before=lambda intake: seen.append((intake.action, intake.options.get("via"))),
        )
    )
    try:
        run(personas.rep, upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(1)])))
    finally:
        unregister_intake_check("test_seen")
    assert seen == [("import", "import")]


def test_start_refuses_a_mapping_without_a_name_column(personas) -> None:
    job = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(1)]))
    import_set_mapping(actor=personas.rep, job=job, mapping={"手机": "mobile"})
    with pytest.raises(ServiceError) as exc:
        import_start(actor=personas.rep, job=job, mode="valid_rows")
    assert "mapping" in exc.value.field_errors


def test_run_queries_are_a_fixed_cost_per_batch_plus_the_services_per_row(personas) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def measure(n: int, start: int) -> int:
        job = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(n, start=start)]))
        import_start(actor=personas.rep, job=job, mode="valid_rows")
        with CaptureQueriesContext(connection) as ctx:
            done = import_execute(job_id=job.pk, batch_size=200)
        assert done is not None and done.created_count == n
        return len(ctx.captured_queries)

    small, large = measure(5, 0), measure(45, 100)
    per_row = (large - small) / 40
    # Per created row (measured: 17), all through lead_create and the intake checks it runs:
    # - lead_create itself, 7: owner check, insert, search index (re-read, old title, insert),
    #   audit event and its link;
    # - 4 savepoint statements: the row's and the service's atomic blocks (SAVEPOINT/RELEASE);
    # - protection known-customer check, 1: the list entry by name key (a credit code adds one);
    # - protection collision check, 3: the matcher's candidate leads, contacts and accounts;
    # - routing assignment, 2: the assignment-history row and the first-response SLA lookup.
    # The duplicate warning is skipped for ``via=import`` (the preview reports duplicates) and
    # the score is recomputed after the commit (``scoring.hooks``), so neither costs a query here.
    assert per_row <= 17, per_row
    # the batch's lookups, states and progress (the matcher's three block-size counts included)
    assert small - 5 * per_row <= 43


def test_an_after_hook_refusing_one_row_falls_back_to_row_by_row(personas) -> None:
    """A follow-on (``after``) that refuses fails the whole batch in ``lead_create_many``;
    the batch is then written row by row, so only that row is rejected."""

    def after(intake: Intake, record: Any) -> None:
        if record.mobile == "13900000001":
            raise ValidationFailed("refused", field_errors={"mobile": ["follow-on refused"]})

    register_intake_check(IntakeCheck(code="test_after", order=95, kinds=frozenset({"lead"}), after=after))
    try:
        job = run(personas.rep, upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(4)])))
    finally:
        unregister_intake_check("test_after")
    assert (job.status, job.created_count, job.rejected_count) == (ImportStatus.DONE, 3, 1)
    assert "13900000001" not in set(Lead.objects.values_list("mobile", flat=True))
    assert Lead.objects.count() == 3 == AuditEvent.objects.filter(verb="leads.lead.created").count()
    assert ImportRow.objects.get(job=job, state=RowState.REJECTED).errors == [["手机", "follow-on refused"]]


def _import_queries(personas: Any, n: int, start: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(n, start=start)]))
    import_start(actor=personas.rep, job=job, mode="valid_rows")
    with CaptureQueriesContext(connection) as ctx:
        done = import_execute(job_id=job.pk, batch_size=50)
    assert done is not None and done.created_count == n
    return len(ctx.captured_queries)


def test_a_batch_of_lead_rows_is_written_with_a_fixed_number_of_queries(personas) -> None:
    """Leads go through ``lead_create_many``: 20 rows cost what 5 rows cost (one batch;
    20 rows still fit one INSERT under SQLite's 999 parameters)."""
    _import_queries(personas, 2, 900)  # warm the process-wide caches
    assert _import_queries(personas, 20, 100) == _import_queries(personas, 5, 0)


def _teammates_leads(personas: Any, n: int) -> list[Lead]:
    """The teammate's leads with the names and companies of ``lead_rows(n)`` but other
    mobiles and emails: each imported row is then a strong duplicate (same name and
    company) of another rep's lead, not an "already exists" row."""
    from salesflow.leads.services import lead_create

    return [
        lead_create(
            actor=personas.teammate,
            owner=personas.teammate,
            name=f"客户{i}",
            company_name=f"测试公司{i}有限公司",
            mobile=f"137{i:08d}",
            source_channel="inbound",
            intake_options={"duplicate_reason": "test"},
        )
        for i in range(n)
    ]


def test_rows_matching_another_reps_leads_open_their_collisions_a_batch_at_a_time(personas) -> None:
    """Every imported row that is a strong duplicate of the teammate's lead opens one
    collision (claimant the importer, holder the teammate, arbiter their manager, action
    ``import``) with one ``protection.collision.opened`` event on both leads' timelines;
    a batch of 20 such rows costs the queries of a batch of 5 (the collisions are opened
    in bulk, not ~6 queries each)."""
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from salesflow.core.models import AuditLink

    # protection is imports' sibling layer (import-linter): the model is looked up by name
    Collision = apps.get_model("protection", "Collision")

    held = _teammates_leads(personas, 25)

    def imported(n: int, start: int) -> tuple[ImportJob, int]:
        job = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(n, start=start)]))
        import_start(actor=personas.rep, job=job, mode="valid_rows")
        with CaptureQueriesContext(connection) as ctx:
            done = import_execute(job_id=job.pk, batch_size=50)
        assert done is not None and done.created_count == n
        return done, len(ctx.captured_queries)

    imported(2, 100)  # warm the process-wide caches
    five, five_queries = imported(5, 0)
    twenty, twenty_queries = imported(20, 5)
    assert twenty_queries == five_queries
    lead_type = ContentType.objects.get_for_model(Lead)
    for job, numbers in ((five, range(0, 5)), (twenty, range(5, 25))):
        rows = ImportRow.objects.filter(job=job).order_by("row_number")
        for row, i in zip(rows, numbers, strict=True):
            assert row.record_id is not None
            collision = Collision.objects.get(new_kind="lead", new_id=row.record_id)
            assert (collision.existing_kind, collision.existing_id) == ("lead", held[i].pk)
            assert (collision.claimant, collision.holder, collision.arbiter) == (
                personas.rep,
                personas.teammate,
                personas.manager,
            )
            assert collision.action == "import" and collision.reason_texts[:2] == [
                "same company name after removing suffixes",
                "same name",
            ]
            event = AuditEvent.objects.get(verb="protection.collision.opened", target_id=row.record_id)
            assert event.data["collision_id"] == collision.pk and event.actor == personas.rep
            linked = set(AuditLink.objects.filter(event=event).values_list("content_type", "object_id"))
            assert linked == {(lead_type.pk, row.record_id), (lead_type.pk, held[i].pk)}


def test_an_all_or_nothing_import_that_fails_leaves_no_collision(personas) -> None:
    """All-or-nothing: the collisions the first rows opened go with the rows when a later
    row's follow-on refuses (one transaction)."""
    from django.apps import apps

    Collision = apps.get_model("protection", "Collision")  # a sibling layer: by name

    _teammates_leads(personas, 4)

    def after(intake: Intake, record: Any) -> None:
        if record.mobile == "13900000003":
            raise ValidationFailed("refused", field_errors={"mobile": ["follow-on refused"]})

    register_intake_check(IntakeCheck(code="test_after", order=95, kinds=frozenset({"lead"}), after=after))
    try:
        job = run(
            personas.rep,
            upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(4)])),
            "all_or_nothing",
            batch_size=2,
        )
    finally:
        unregister_intake_check("test_after")
    assert job.status == ImportStatus.FAILED and job.created_count == 0
    assert not Collision.objects.filter(claimant=personas.rep).exists()
    assert not AuditEvent.objects.filter(verb="protection.collision.opened", actor=personas.rep).exists()
    # the same file without the refusal: four collisions
    job = run(personas.rep, upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(4)])), "all_or_nothing")
    assert job.created_count == 4 == Collision.objects.filter(claimant=personas.rep, action="import").count()
