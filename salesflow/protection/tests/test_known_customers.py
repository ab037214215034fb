"""The known-customer list: loading (idempotent, bad rows), routing, refusal, conversion."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps

from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.leads.services import lead_convert
from salesflow.leads.tests.factories import credit_code, qualified_lead
from salesflow.protection import services
from salesflow.protection.choices import LoadStatus
from salesflow.protection.models import KnownCustomer, KnownCustomerLoad, KnownCustomerMatch
from salesflow.protection.services import known_customers_load_run
from salesflow.protection.tests.factories import load_list, new_account, new_lead

pytestmark = pytest.mark.django_db

# notifications sit above this app: reach the model by name
Notification = apps.get_model("notifications", "Notification")


def _rows(personas: Any, code: str) -> list[dict[str, Any]]:
    return [
        {
            "company_name": "上海星河科技有限公司",
            "credit_code": code,
            "owner": "teammate",
            "sales_office": "华东销售处",
        },
        {"company_name": "北京远山贸易有限公司", "owner": "李娜", "external_id": "C-2"},
        {"company_name": "广州南海物流有限公司", "owner": "某离职员工", "sales_office": "华南销售处"},
        {"company_name": "", "credit_code": ""},
        {"company_name": "坏代码公司", "credit_code": "91310000123456789X"},
        {"company_name": "空字符\x00公司"},
        {"company_name": "重复公司", "external_id": "C-2"},
    ]


def test_load_creates_rows_matches_owners_and_rejects_bad_rows(personas) -> None:
    code = credit_code()
    load = load_list(personas.admin, _rows(personas, code))
    assert load.status == LoadStatus.DONE
    assert (load.total, load.created, load.updated, load.rejected) == (7, 3, 0, 4)
    reasons = {(e["row"], e["field"]) for e in load.errors}
    assert reasons == {(4, "company_name"), (5, "credit_code"), (6, "company_name"), (7, "external_id")}
    star = KnownCustomer.objects.get(credit_code=code)
    assert star.owner == personas.teammate and star.sales_office == "华东销售处"
    assert star.name_key and star.external_id == f"code:{code}"
    assert KnownCustomer.objects.get(external_id="C-2").owner == personas.teammate  # by display name
    gone = KnownCustomer.objects.get(company_name="广州南海物流有限公司")
    assert gone.owner is None and gone.owner_name == "某离职员工"
    assert AuditEvent.objects.filter(verb="protection.list.loaded", target_id=load.pk).count() == 1


def test_reloading_the_same_list_updates_instead_of_duplicating(personas) -> None:
    code = credit_code()
    load_list(personas.admin, _rows(personas, code))
    rows = _rows(personas, code)
    rows[0]["owner"] = "rep"
    again = load_list(personas.admin, rows)
    assert (again.created, again.updated, again.rejected) == (0, 3, 4)
    assert KnownCustomer.objects.count() == 3
    assert KnownCustomer.objects.get(credit_code=code).owner == personas.rep
    # another source system keeps its own rows
    other = load_list(personas.admin, rows[:1], source="财务")
    assert other.created == 1 and KnownCustomer.objects.count() == 4


def test_a_load_flags_the_leads_and_accounts_already_entered(personas) -> None:
    """Records entered before the list arrived are flagged by the load (credit code, else
    company name key); their owners stay; converted leads and unrelated records are not
    flagged; loading again adds nothing."""
    from salesflow.leads.models import Lead

    code = credit_code()
    by_code = new_account(personas.rep, personas.rep, "星河科技（上海）", credit_code=code)
    by_name = new_lead(personas.rep, personas.rep, company_name="北京远山贸易有限公司", mobile="13900002222")
    closed = new_lead(personas.rep, personas.rep, company_name="北京远山贸易有限公司", mobile="13900003333")
    Lead.objects.filter(pk=closed.pk).update(status="converted")
    other = new_account(personas.rep, personas.rep, "完全无关的公司")
    load = load_list(personas.admin, _rows(personas, code))
    flagged = set(KnownCustomerMatch.objects.values_list("record_kind", "record_id", "matched_by"))
    assert flagged == {("account", by_code.pk, "credit_code"), ("lead", by_name.pk, "name")}
    assert ("account", other.pk) not in {(k, i) for k, i, _m in flagged}
    event = AuditEvent.objects.get(verb="protection.list.loaded", target_id=load.pk)
    assert event.data["flagged"] == 2
    by_code.refresh_from_db()
    assert by_code.owner == personas.rep  # flagged, not taken away
    again = load_list(personas.admin, _rows(personas, code))
    assert KnownCustomerMatch.objects.count() == 2
    assert AuditEvent.objects.get(verb="protection.list.loaded", target_id=again.pk).data["flagged"] == 0


def test_only_administrators_load_lists(personas) -> None:
    for who in ("manager", "rep"):
        with pytest.raises(Forbidden):
            load_list(getattr(personas, who), [{"company_name": "某公司"}])
    assert not KnownCustomerLoad.objects.exists()


def test_rows_with_unknown_fields_or_no_rows_are_refused(personas) -> None:
    with pytest.raises(ValidationFailed) as exc:
        load_list(personas.admin, [{"company_name": "A", "hack": "x"}])
    assert "rows" in exc.value.field_errors
    with pytest.raises(ValidationFailed):
        load_list(personas.admin, [])
    with pytest.raises(ValidationFailed) as exc:
        services.known_customers_load(actor=personas.admin, source_system="x" * 51, rows=[{"company_name": "A"}])
    assert "source_system" in exc.value.field_errors


def test_a_large_list_is_loaded_by_the_task(personas, committed, monkeypatch) -> None:
    monkeypatch.setattr(services, "INLINE_ROWS", 2)
    rows = [{"company_name": f"批量客户{i}有限公司"} for i in range(5)]
    with committed():
        load = load_list(personas.admin, rows)
        assert load.status == LoadStatus.QUEUED
    load.refresh_from_db()
    assert load.status == LoadStatus.DONE and load.created == 5 and load.rows == []
    # running it again does nothing
    assert known_customers_load_run(load_id=load.pk) is not None
    assert KnownCustomer.objects.count() == 5


# --- the intake check --------------------------------------------------------------------


def test_a_reps_lead_of_a_known_customer_is_routed_to_its_owner(personas, committed) -> None:
    code = credit_code()
    load_list(personas.admin, _rows(personas, code))
    with committed():
        lead = new_lead(personas.rep, personas.rep, company_name="上海星河科技", email="a@example.com")
    assert lead.owner == personas.teammate
    match = KnownCustomerMatch.objects.get(record_kind="lead", record_id=lead.pk)
    assert match.known_customer.credit_code == code and match.matched_by == "name"
    assert AuditEvent.objects.filter(verb="protection.known_customer.routed", target_id=lead.pk).exists()
    note = Notification.objects.get(recipient=personas.teammate, kind="protection.known_customer.routed")
    assert "上海星河科技" in str(note.summary)


def test_credit_code_matches_before_the_name(personas) -> None:
    code = credit_code()
    load_list(personas.admin, _rows(personas, code))
    lead = new_lead(personas.rep, personas.rep, company_name="完全不同的名字", credit_code=code)
    assert lead.owner == personas.teammate
    assert KnownCustomerMatch.objects.get(record_id=lead.pk).matched_by == "credit_code"


def test_a_lead_without_an_owner_user_is_refused_naming_owner_and_office(personas) -> None:
    load_list(personas.admin, _rows(personas, credit_code()))
    with pytest.raises(Conflict) as exc:
        new_lead(personas.rep, personas.rep, company_name="广州南海物流")
    assert exc.value.code == "known_customer"
    assert str(exc.value.message) == "This company is an existing customer of 华南销售处 — owner 某离职员工."


def test_an_account_of_someone_elses_customer_is_refused_naming_the_owner(personas) -> None:
    load_list(personas.admin, _rows(personas, credit_code()))
    with pytest.raises(Conflict) as exc:
        new_account(personas.rep, personas.rep, "上海星河科技股份有限公司")
    assert exc.value.code == "known_customer"
    assert "华东销售处" in str(exc.value.message) and "李娜" in str(exc.value.message)


def test_the_owner_and_administrators_are_not_blocked(personas) -> None:
    load_list(personas.admin, _rows(personas, credit_code()))
    mine = new_account(personas.teammate, personas.teammate, "上海星河科技")
    assert KnownCustomerMatch.objects.filter(record_kind="account", record_id=mine.pk).exists()
    by_admin = new_lead(personas.admin, personas.rep, company_name="上海星河科技", mobile="13900002222")
    assert by_admin.owner == personas.rep
    assert KnownCustomerMatch.objects.filter(record_kind="lead", record_id=by_admin.pk).exists()


def test_converting_a_lead_of_someone_elses_customer_is_refused(personas) -> None:
    lead = qualified_lead(owner=personas.rep, company_name="上海星河科技有限公司", credit_code="")
    load_list(personas.admin, _rows(personas, credit_code()))
    with pytest.raises(Conflict) as exc:
        lead_convert(actor=personas.rep, lead=lead)
    assert exc.value.code == "known_customer" and "李娜" in str(exc.value.message)
    lead.refresh_from_db()
    assert lead.status == "qualified"


def test_the_owner_converts_their_customers_lead(personas) -> None:
    lead = qualified_lead(owner=personas.teammate, company_name="上海星河科技有限公司", credit_code="")
    load_list(personas.admin, _rows(personas, credit_code()))
    result = lead_convert(actor=personas.teammate, lead=lead)
    assert result.account.owner == personas.teammate
    assert KnownCustomerMatch.objects.filter(record_kind="account", record_id=result.account.pk).exists()
