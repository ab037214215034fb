"""Billing around the contract's end and the reminder settings:

- a terminated contract's plan: instalments due after the termination date are voided
  (unpaid) or cut to what was paid; those due until then stay open (the remaining
  receivable), shown on the plan panel; the plan takes no new instalments;
- the reminder settings (page and API, administrators, audited, hostile values a 400 naming
  the field and nothing written) and the reminder job reading them (run twice)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from salesflow.billing.models import Instalment, ReminderRule
from salesflow.billing.services import (
    InstalmentInput,
    instalment_add,
    instalment_void,
    payment_record,
    plan_create,
    reminder_settings,
    reminder_settings_save,
)
from salesflow.billing.tests.factories import make_contract
from salesflow.contracts.models import ContractSettings, ContractStatus
from salesflow.contracts.services import contract_terminate
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.parties.tests.factories import make_account

pytestmark = pytest.mark.django_db


def _terminated_world(personas: Any) -> tuple[Any, Any]:
    """A 100,000 contract signed 100 days ago with four instalments (due 60 days ago, 10
    days ago, in 20 and in 50 days); 30,000 received (the first paid, 5,000 on the third)."""
    today = timezone.localdate()
    account = make_account(personas.rep)
    contract = make_contract(
        personas.rep,
        account,
        start_date=today - dt.timedelta(days=100),
        signed_on=today - dt.timedelta(days=100),
        end_date=today + dt.timedelta(days=300),
    )
    rows = [
        InstalmentInput(amount="25000", due_date=today - dt.timedelta(days=60), label="预付款"),
        InstalmentInput(amount="25000", due_date=today - dt.timedelta(days=10), label="到货款"),
        InstalmentInput(amount="25000", due_date=today + dt.timedelta(days=20), label="验收款"),
        InstalmentInput(amount="25000", due_date=today + dt.timedelta(days=50), label="质保金"),
    ]
    plan = plan_create(actor=personas.rep, kind="contract", document_id=contract.pk, instalments=rows)
    first, _second, third, _fourth = list(Instalment.objects.filter(plan=plan).order_by("position"))
    from salesflow.billing.services import AllocationInput

    payment_record(
        actor=personas.rep,
        amount="30000",
        received_on=today,
        kind="contract",
        document_id=contract.pk,
        allocate="manual",
        allocations=[AllocationInput(first.pk, "25000"), AllocationInput(third.pk, "5000")],
    )
    return contract, plan


def test_termination_cancels_what_falls_due_after_it_and_keeps_the_receivable(personas, client_for):
    contract, plan = _terminated_world(personas)
    today = timezone.localdate()
    contract_terminate(actor=personas.manager, contract=contract, terminated_on=today, reason="客户破产")
    rows = list(Instalment.objects.filter(plan=plan).order_by("position"))
    assert [(r.amount, r.paid, r.is_open, r.voided_at is not None) for r in rows] == [
        (Decimal("25000.00"), Decimal("25000.00"), False, False),  # paid
        (Decimal("25000.00"), Decimal("0.00"), True, False),  # due before: still owed
        (Decimal("5000.00"), Decimal("5000.00"), False, False),  # partly paid, cut to what was paid
        (Decimal("25000.00"), Decimal("0.00"), False, True),  # unpaid after the date: voided
    ]
    assert rows[3].void_reason == f"Contract terminated on {today.isoformat()}"
    event = AuditEvent.objects.get(verb="billing.plan.terminated")
    assert (event.target_id, event.actor_id) == (plan.pk, personas.manager.pk)
    assert event.data == {
        "contract_id": contract.pk,
        "terminated_on": today.isoformat(),
        "voided": 1,
        "reduced": 1,
        "cancelled": "45000.00",
        "remaining": "25000.00",
    }
    with pytest.raises(Conflict) as exc:
        instalment_add(actor=personas.manager, plan=plan, amount="100", due_date=today)
    assert exc.value.code == "document_terminated"
    # the panel on the contract page shows the remaining receivable, in both languages
    html = client_for(personas.rep).get(f"/billing/panel/contract/{contract.pk}/").content.decode()
    assert 'data-testid="billing-terminated-note"' in html and "25,000.00" in html
    assert 'data-testid="billing-add-instalment"' not in html
    zh = client_for(personas.rep, "zh-hans").get(f"/billing/panel/contract/{contract.pk}/").content.decode()
    assert "剩余应收" in zh
    # support sees the note but no money
    support = client_for(personas.support).get(f"/billing/panel/contract/{contract.pk}/").content.decode()
    assert 'data-testid="billing-terminated-note"' in support and 'data-testid="billing-remaining"' not in support


def test_a_refused_termination_leaves_the_plan_alone(personas):
    contract, plan = _terminated_world(personas)
    before = list(Instalment.objects.filter(plan=plan).order_by("pk").values_list("amount", "paid", "is_open"))
    with pytest.raises(Forbidden):
        contract_terminate(actor=personas.assistant, contract=contract, terminated_on=timezone.localdate(), reason="x")
    assert list(Instalment.objects.filter(plan=plan).order_by("pk").values_list("amount", "paid", "is_open")) == before
    assert not AuditEvent.objects.filter(verb="billing.plan.terminated").exists()
    assert type(contract).objects.get(pk=contract.pk).status == ContractStatus.SIGNED


# --- reminder settings --------------------------------------------------------------------------


def _rules() -> dict[int, bool]:
    return dict(ReminderRule.objects.values_list("days", "active"))


def test_settings_start_from_the_seeded_rules(personas):
    current = reminder_settings()
    assert (current.payment_days_before, current.payment_days_after, current.renewal_reminder_days) == (
        [7, 1],
        [1, 7, 30],
        60,
    )


def test_saving_the_settings_switches_rules_and_is_audited(personas):
    saved = reminder_settings_save(
        actor=personas.admin, payment_days_before="3, 14", payment_days_after=[5, 30], renewal_reminder_days=45
    )
    assert (saved.payment_days_before, saved.payment_days_after, saved.renewal_reminder_days) == ([14, 3], [5, 30], 45)
    assert _rules() == {-14: True, -7: False, -3: True, -1: False, 1: False, 5: True, 7: False, 30: True}
    changed = {
        e.data["days"]: e.data["changes"]["active"]
        for e in AuditEvent.objects.filter(verb="billing.reminder_rule.changed")
    }
    assert changed == {
        -14: [None, True],
        -7: [True, False],
        -3: [None, True],
        -1: [True, False],
        1: [True, False],
        5: [None, True],
        7: [True, False],
    }
    assert AuditEvent.objects.get(verb="contracts.settings.updated").data == {
        "changes": {"renewal_reminder_days": [60, 45]}
    }
    # a field left out keeps its value; saving the same again writes nothing more
    count = AuditEvent.objects.count()
    reminder_settings_save(actor=personas.admin, payment_days_after="30, 5")
    assert AuditEvent.objects.count() == count
    assert reminder_settings().payment_days_before == [14, 3]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("payment_days_before", "-3"),
        ("payment_days_before", "0"),
        ("payment_days_before", "366"),
        ("payment_days_before", "nan"),
        ("payment_days_before", "1.5"),
        ("payment_days_before", [float("nan")]),
        ("payment_days_before", [10**40]),
        ("payment_days_after", "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"),
        ("payment_days_after", "inf"),
        ("payment_days_after", [True]),
        ("payment_days_after", 7),
        ("renewal_reminder_days", "-1"),
        ("renewal_reminder_days", 99999999999),
        ("renewal_reminder_days", "NaN"),
        ("renewal_reminder_days", float("inf")),
    ],
)
def test_hostile_days_name_the_field_and_write_nothing(personas, field, value):
    rules, events = _rules(), AuditEvent.objects.count()
    values: dict[str, object] = {"payment_days_before": "2", "payment_days_after": "2", field: value}
    with pytest.raises(ValidationFailed) as exc:
        reminder_settings_save(actor=personas.admin, **values)
    assert field in exc.value.field_errors
    assert _rules() == rules and AuditEvent.objects.count() == events
    assert not ContractSettings.objects.exists()


@pytest.mark.parametrize("persona", ["manager", "rep", "assistant", "support", "outsider"])
def test_only_administrators_change_the_settings(personas, persona):
    with pytest.raises(Forbidden):
        reminder_settings_save(actor=getattr(personas, persona), payment_days_after="2")
    assert _rules() == {-7: True, -1: True, 1: True, 7: True, 30: True}


def test_the_reminder_job_reads_the_settings_and_runs_twice_harmlessly(personas):
    from salesflow.billing.tasks import payment_reminders as job

    today = timezone.localdate()
    account = make_account(personas.rep)
    contract = make_contract(personas.rep, account)
    plan_create(
        actor=personas.rep,
        kind="contract",
        document_id=contract.pk,
        instalments=[InstalmentInput(amount="1000", due_date=today + dt.timedelta(days=3))],
    )
    assert job.call(slot=today.isoformat()) == 0  # seeded: 7 and 1 days before
    reminder_settings_save(actor=personas.admin, payment_days_before="3")
    assert job.call(slot=today.isoformat()) == 1
    assert job.call(slot=today.isoformat()) == 0
    assert AuditEvent.objects.get(verb="billing.instalment.reminder").data["days"] == -3


def test_the_settings_page(personas, client_for):
    admin = client_for(personas.admin)
    page = admin.get("/billing/settings/reminders/")
    assert page.status_code == 200 and 'value="7, 1"' in page.content.decode()
    assert "提醒设置" in client_for(personas.admin, "zh-hans").get("/billing/settings/reminders/").content.decode()
    assert client_for(personas.manager).get("/billing/settings/reminders/").status_code == 403
    bad = admin.post(
        "/billing/settings/reminders/",
        {"payment_days_before": "7, -1", "payment_days_after": "1", "renewal_reminder_days": "nan"},
    )
    assert bad.status_code == 400
    html = bad.content.decode()
    assert html.count("invalid-feedback") == 2 and "1 to 365" in html and "1 to 3650" in html
    assert _rules() == {-7: True, -1: True, 1: True, 7: True, 30: True}
    done = admin.post(
        "/billing/settings/reminders/",
        {"payment_days_before": "5", "payment_days_after": "", "renewal_reminder_days": "90"},
    )
    assert done.status_code == 302
    assert reminder_settings().payment_days_before == [5] and reminder_settings().payment_days_after == []
    assert reminder_settings().renewal_reminder_days == 90
    assert 'data-testid="reminder-settings-link"' in admin.get("/").content.decode()


def test_the_settings_api(personas, api_for):
    api = api_for(personas.admin)
    assert api.get("/billing/reminder-settings").json() == {
        "payment_days_before": [7, 1],
        "payment_days_after": [1, 7, 30],
        "renewal_reminder_days": 60,
    }
    assert api_for(personas.manager).get("/billing/reminder-settings").status_code == 403
    assert api_for(personas.manager).put("/billing/reminder-settings", {"renewal_reminder_days": 9}).status_code == 403
    for body, field in (
        ({"payment_days_before": [-1]}, "payment_days_before"),
        ({"payment_days_after": [1000]}, "payment_days_after"),
        ({"renewal_reminder_days": -5}, "renewal_reminder_days"),
        ({"renewal_reminder_days": 10**12}, "renewal_reminder_days"),
        ({"renewal_reminder_days": "abc"}, "renewal_reminder_days"),
        ({"renewal_reminder_days": 1.5}, "renewal_reminder_days"),
        ({"renewal_reminder_days": "NaN"}, "renewal_reminder_days"),
        ({"payment_days_before": ["nan"]}, "payment_days_before"),
        ({"payment_days_after": list(range(1, 13))}, "payment_days_after"),
        ({"unknown": 1}, "unknown"),
    ):
        response = api.put("/billing/reminder-settings", body)
        assert response.status_code == 400, (body, response.content)
        assert [key.split(".")[0] for key in response.json()["errors"]] == [field], response.json()
    # a bare NaN is not JSON: the malformed body is a 400 too
    raw = api.client.put(
        "/api/v1/billing/reminder-settings", '{"renewal_reminder_days": NaN}', content_type="application/json"
    )
    assert raw.status_code == 400, raw.content
    assert raw.json()["code"] == "malformed_json"
    assert _rules() == {-7: True, -1: True, 1: True, 7: True, 30: True}
    assert not ContractSettings.objects.exists()
    response = api.put("/billing/reminder-settings", {"payment_days_after": [2], "renewal_reminder_days": 30})
    assert response.status_code == 200
    assert response.json() == {"payment_days_before": [7, 1], "payment_days_after": [2], "renewal_reminder_days": 30}


def _figure(html: str, testid: str) -> str | None:
    match = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    return match.group(1).strip() if match else None


def test_the_panel_adds_up_planned_voided_and_not_yet_planned(personas, client_for):
    """planned + voided by termination + not yet planned = the contract total, before and
    after the termination (the voided instalment and the cut of the partly paid one)."""
    contract, plan = _terminated_world(personas)
    today = timezone.localdate()
    fourth = Instalment.objects.get(plan=plan, position=4)
    instalment_void(actor=personas.rep, instalment=fourth, reason="改期")  # a manual void: to be planned again
    url = f"/billing/panel/contract/{contract.pk}/"
    html = client_for(personas.rep).get(url).content.decode()
    assert (_figure(html, "billing-planned"), _figure(html, "billing-voided"), _figure(html, "billing-unplanned")) == (
        "¥75,000.00",
        None,
        "¥25,000.00",
    )
    instalment_add(actor=personas.rep, plan=plan, amount="25000", due_date=today + dt.timedelta(days=80))
    html = client_for(personas.rep).get(url).content.decode()
    assert (_figure(html, "billing-planned"), _figure(html, "billing-voided"), _figure(html, "billing-unplanned")) == (
        "¥100,000.00",
        None,
        None,
    )
    contract_terminate(actor=personas.manager, contract=contract, terminated_on=today, reason="客户破产")
    html = client_for(personas.rep).get(url).content.decode()
    # kept: 25,000 paid + 25,000 owed + 5,000 (the third cut to what was paid); voided: 20,000 + 25,000
    assert (_figure(html, "billing-planned"), _figure(html, "billing-voided"), _figure(html, "billing-unplanned")) == (
        "¥55,000.00",
        "¥45,000.00",
        None,
    )
    assert "Voided by termination" in html
    zh = client_for(personas.rep, "zh-hans").get(url).content.decode()
    assert "因终止作废" in zh and _figure(zh, "billing-voided") == "¥45,000.00"
    support = client_for(personas.support).get(url).content.decode()
    assert _figure(support, "billing-voided") is None and _figure(support, "billing-planned") is None
