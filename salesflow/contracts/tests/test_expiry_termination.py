"""Contracts end: the daily expiry job (run twice: idempotent), early termination by a
manager, an administrator or the owner (personas, hostile input, nothing written on a
refusal, read-only afterwards), renewal reminders ignoring terminated contracts, the
settings of the renewal reminder days, and the page, list filter and API."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from salesflow.contracts.models import Contract, ContractSettings, ContractStatus
from salesflow.contracts.services import (
    amendment_create,
    contract_renew,
    contract_settings_save,
    contract_terminate,
    contracts_expire_run,
    renewal_reminders_run,
)
from salesflow.contracts.tests.conftest import World
from salesflow.contracts.tests.test_services import make_direct, signed
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.users.models import User

pytestmark = pytest.mark.django_db


def running(world: World, *, days_left: int = 120) -> Contract:
    """A signed contract that started 200 days ago, signed 190 days ago, ending in ``days_left``."""
    contract = signed(world)
    today = timezone.localdate()
    Contract.objects.filter(pk=contract.pk).update(
        start_date=today - timedelta(days=200),
        signed_on=today - timedelta(days=190),
        end_date=today + timedelta(days=days_left),
    )
    contract.refresh_from_db()
    return contract


def _state(contract: Contract) -> tuple[Any, ...]:
    row = Contract.objects.get(pk=contract.pk)
    return (row.status, row.terminated_on, row.termination_reason, row.terminated_by_id, row.updated_at)


# ------------------------------------------------------------------------------ expiry


def test_the_expiry_job_expires_signed_contracts_past_their_end_once(world: World, no_engine: None) -> None:
    from salesflow.contracts.tasks import expire_contracts

    today = timezone.localdate()
    ended = running(world, days_left=-1)
    ends_today = running(world, days_left=0)
    draft = make_direct(world)
    Contract.objects.filter(pk=draft.pk).update(end_date=today - timedelta(days=10))
    terminated = running(world)
    contract_terminate(actor=world.personas.manager, contract=terminated, terminated_on=today, reason="客户破产")
    Contract.objects.filter(pk=terminated.pk).update(end_date=today - timedelta(days=3))

    assert expire_contracts.call(slot=today.isoformat()) == 1
    assert expire_contracts.call(slot=today.isoformat()) == 0  # twice: nothing more
    statuses = dict(Contract.objects.values_list("pk", "status"))
    assert statuses[ended.pk] == ContractStatus.EXPIRED
    assert statuses[ends_today.pk] == ContractStatus.SIGNED  # its last day is still running
    assert statuses[draft.pk] == ContractStatus.DRAFT
    assert statuses[terminated.pk] == ContractStatus.TERMINATED
    assert Contract.objects.get(pk=ended.pk).expired_on == today
    event = AuditEvent.objects.get(verb="contracts.contract.expired")
    assert (event.target_id, event.actor_id, event.data) == (
        ended.pk,
        None,
        {"end_date": (today - timedelta(days=1)).isoformat()},
    )
    # tomorrow the contract that ended today expires; the rest stay
    assert contracts_expire_run(today=today + timedelta(days=1)) == 1
    assert contracts_expire_run(today=today + timedelta(days=1)) == 0


def test_an_expired_contract_is_read_only_but_renewable(world: World, no_engine: None) -> None:
    contract = running(world, days_left=-5)
    contracts_expire_run()
    contract.refresh_from_db()
    with pytest.raises(Conflict):
        amendment_create(actor=world.personas.rep, contract=contract, reason="加一台网关")
    with pytest.raises(Conflict):
        contract_terminate(actor=world.personas.manager, contract=contract, terminated_on=date.today(), reason="x")
    opportunity = contract_renew(actor=world.personas.rep, contract=contract)
    assert Contract.objects.get(pk=contract.pk).renewal_opportunity_id == opportunity.pk


# ------------------------------------------------------------------------------ termination


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("rep", True),  # the owner
        ("manager", True),
        ("admin", True),
        ("assistant", False),  # writes the rep's paperwork, but ending a contract is not paperwork
        ("teammate", False),
        ("support", False),
        ("other_manager", False),
        ("outsider", False),
    ],
)
def test_who_may_terminate(world: World, no_engine: None, persona: str, allowed: bool) -> None:
    contract = running(world)
    actor = getattr(world.personas, persona)
    day = timezone.localdate() - timedelta(days=3)
    if not allowed:
        before = _state(contract)
        with pytest.raises(Forbidden):
            contract_terminate(actor=actor, contract=contract, terminated_on=day, reason="客户要求提前终止")
        assert _state(contract) == before
        assert not AuditEvent.objects.filter(verb="contracts.contract.terminated").exists()
        return
    result = contract_terminate(actor=actor, contract=contract, terminated_on=day, reason="客户要求提前终止")
    row = Contract.objects.get(pk=contract.pk)
    assert (row.status, row.terminated_on, row.termination_reason, row.terminated_by_id) == (
        ContractStatus.TERMINATED,
        day,
        "客户要求提前终止",
        actor.pk,
    )
    assert result.status == ContractStatus.TERMINATED and row.terminated_at is not None
    event = AuditEvent.objects.get(verb="contracts.contract.terminated")
    assert (event.target_id, event.actor_id) == (contract.pk, actor.pk)
    assert event.data == {
        "terminated_on": day.isoformat(),
        "reason": "客户要求提前终止",
        "end_date": contract.end_date.isoformat() if contract.end_date else None,
    }


@pytest.mark.parametrize(
    ("terminated_on", "reason", "field"),
    [
        (None, "原因", "terminated_on"),
        ("", "原因", "terminated_on"),
        ("2026-02-30", "原因", "terminated_on"),
        ("not a date", "原因", "terminated_on"),
        ("FUTURE", "原因", "terminated_on"),
        ("BEFORE_SIGNING", "原因", "terminated_on"),
        ("AFTER_END", "原因", "terminated_on"),
        ("TODAY", "", "reason"),
        ("TODAY", "   ", "reason"),
        ("TODAY", "x" * 2001, "reason"),
        ("TODAY", "原因\x00", "reason"),
        ("TODAY", 12, "reason"),
    ],
)
def test_hostile_termination_input_names_the_field_and_writes_nothing(
    world: World, no_engine: None, terminated_on: object, reason: object, field: str
) -> None:
    contract = running(world, days_left=120)
    today = timezone.localdate()
    special = {
        "FUTURE": today + timedelta(days=1),
        "BEFORE_SIGNING": today - timedelta(days=191),
        "TODAY": today,
    }
    if terminated_on == "AFTER_END":
        Contract.objects.filter(pk=contract.pk).update(end_date=today - timedelta(days=1))
        contract.refresh_from_db()
        terminated_on = today
    value = special.get(terminated_on, terminated_on) if isinstance(terminated_on, str) else terminated_on
    before = _state(contract)
    with pytest.raises(ValidationFailed) as exc:
        contract_terminate(actor=world.personas.manager, contract=contract, terminated_on=value, reason=reason)
    assert field in exc.value.field_errors
    assert _state(contract) == before
    assert not AuditEvent.objects.filter(verb="contracts.contract.terminated").exists()


def test_only_a_signed_contract_is_terminated_and_then_it_is_read_only(world: World, no_engine: None) -> None:
    draft = make_direct(world)
    with pytest.raises(Conflict) as exc:
        contract_terminate(actor=world.personas.manager, contract=draft, terminated_on=date(2026, 1, 1), reason="x")
    assert exc.value.code == "not_signed"
    contract = running(world)
    today = timezone.localdate()
    contract_terminate(actor=world.personas.manager, contract=contract, terminated_on=today, reason="违约")
    contract.refresh_from_db()
    with pytest.raises(Conflict) as again:
        contract_terminate(actor=world.personas.manager, contract=contract, terminated_on=today, reason="再次")
    assert again.value.code == "not_signed"
    with pytest.raises(Conflict):
        amendment_create(actor=world.personas.rep, contract=contract, reason="加一台网关")
    with pytest.raises(Conflict):
        contract_renew(actor=world.personas.rep, contract=contract)
    from salesflow.attachments.services import attachment_add

    upload = SimpleUploadedFile("补充.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    with pytest.raises(Forbidden):
        attachment_add(actor=world.personas.rep, record=contract, upload=upload, kind="contract")
    assert AuditEvent.objects.filter(verb="contracts.contract.terminated").count() == 1


def test_a_change_order_under_approval_blocks_termination(world: World, no_engine: None) -> None:
    contract = running(world)
    version = amendment_create(actor=world.personas.rep, contract=contract, reason="加一台网关")
    type(version).objects.filter(pk=version.pk).update(status=ContractStatus.PENDING_APPROVAL)
    with pytest.raises(Conflict) as exc:
        contract_terminate(
            actor=world.personas.manager, contract=contract, terminated_on=timezone.localdate(), reason="x"
        )
    assert exc.value.code == "amendment_pending"
    assert Contract.objects.get(pk=contract.pk).status == ContractStatus.SIGNED


def test_a_draft_change_order_is_frozen_by_the_termination(world: World, no_engine: None) -> None:
    from salesflow.contracts.services import amendment_update

    contract = running(world)
    version = amendment_create(actor=world.personas.rep, contract=contract, reason="加一台网关")
    contract_terminate(actor=world.personas.rep, contract=contract, terminated_on=timezone.localdate(), reason="x")
    with pytest.raises(Conflict) as exc:
        amendment_update(actor=world.personas.rep, version=version, changes={"reason": "改"})
    assert exc.value.code == "contract_ended"


def test_renewal_reminders_ignore_terminated_contracts(world: World, no_engine: None) -> None:
    today = timezone.localdate()
    kept = running(world, days_left=30)
    ended = running(world, days_left=30)
    contract_terminate(actor=world.personas.manager, contract=ended, terminated_on=today, reason="客户破产")
    assert renewal_reminders_run(today=today, days_before=60) == 1
    assert renewal_reminders_run(today=today, days_before=60) == 0
    assert list(
        AuditEvent.objects.filter(verb="contracts.contract.renewal_due").values_list("target_id", flat=True)
    ) == [kept.pk]


def test_the_renewal_job_reads_the_settings(world: World, no_engine: None) -> None:
    from salesflow.contracts.tasks import renewal_reminders as job

    today = timezone.localdate()
    running(world, days_left=45)
    contract_settings_save(actor=world.personas.admin, renewal_reminder_days=30)
    assert job.call(slot=today.isoformat()) == 0  # 45 days left, reminders at 30
    contract_settings_save(actor=world.personas.admin, renewal_reminder_days=50)
    assert job.call(slot=today.isoformat()) == 1
    assert job.call(slot=today.isoformat()) == 0


@pytest.mark.parametrize(
    "value", [-1, 0, 3651, 10**30, "nan", "NaN", "inf", float("nan"), 1.5, "12.5", "", None, True, "十"]
)
def test_renewal_days_settings_refuse_hostile_values(personas: Any, value: object) -> None:
    with pytest.raises(ValidationFailed) as exc:
        contract_settings_save(actor=personas.admin, renewal_reminder_days=value)
    assert list(exc.value.field_errors) == ["renewal_reminder_days"]
    assert not ContractSettings.objects.exists()


def test_renewal_days_settings_are_for_administrators_and_audited(personas: Any) -> None:
    for name in ("manager", "rep", "assistant", "support"):
        with pytest.raises(Forbidden):
            contract_settings_save(actor=getattr(personas, name), renewal_reminder_days=30)
    assert not ContractSettings.objects.exists()
    contract_settings_save(actor=personas.admin, renewal_reminder_days="45")
    contract_settings_save(actor=personas.admin, renewal_reminder_days=45)  # unchanged: no event
    assert ContractSettings.objects.get().renewal_reminder_days == 45
    event = AuditEvent.objects.get(verb="contracts.settings.updated")
    assert (event.actor_id, event.data) == (personas.admin.pk, {"changes": {"renewal_reminder_days": [60, 45]}})


# ------------------------------------------------------------------------------ page, list, API


def test_the_page_terminates_and_shows_the_status(
    world: World, no_engine: None, client_for: Callable[..., Any]
) -> None:
    contract = running(world)
    manager = client_for(world.personas.manager)
    page = manager.get(f"/contracts/{contract.pk}/")
    assert b'data-testid="terminate-form"' in page.content
    # the terminate form sits beside the change-order form: every element id is unique
    ids = re.findall(r'\sid="([^"]+)"', page.content.decode())
    assert "terminate_reason" in ids and "id_reason" in ids
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []
    assert (
        b'data-testid="terminate-form"'
        not in client_for(world.personas.assistant).get(f"/contracts/{contract.pk}/").content
    )
    bad = manager.post(f"/contracts/{contract.pk}/terminate/", {"terminated_on": "2099-01-01", "reason": "x"})
    assert bad.status_code == 400 and b"future" in bad.content
    assert Contract.objects.get(pk=contract.pk).status == ContractStatus.SIGNED
    day = timezone.localdate()
    done = manager.post(
        f"/contracts/{contract.pk}/terminate/", {"terminated_on": day.isoformat(), "reason": "客户破产"}
    )
    assert done.status_code == 302
    page = client_for(world.personas.rep).get(f"/contracts/{contract.pk}/")
    assert b'data-testid="terminated-note"' in page.content and "客户破产" in page.content.decode()
    assert b'data-testid="status-terminated"' in page.content
    assert b'data-testid="terminate-form"' not in page.content and b'data-testid="amend-form"' not in page.content
    zh = client_for(world.personas.rep, "zh-hans").get(f"/contracts/{contract.pk}/").content.decode()
    assert "已终止" in zh and "终止原因" in zh


def test_the_list_filters_by_status_in_constant_queries(
    world: World, no_engine: None, client_for: Callable[[User], Any], django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    today = timezone.localdate()
    first = running(world)
    contract_terminate(actor=world.personas.manager, contract=first, terminated_on=today, reason="x")
    expired = running(world, days_left=-1)
    contracts_expire_run()
    kept = running(world)
    client = client_for(world.personas.manager)
    client.get("/contracts/")
    page = client.get("/contracts/", {"status": "terminated"}).content.decode()
    assert first.number in page and kept.number not in page and expired.number not in page
    page = client.get("/contracts/", {"status": "expired"}).content.decode()
    assert expired.number in page and first.number not in page
    with CaptureQueriesContext(connection) as few:
        client.get("/contracts/", {"status": "terminated"})
    for _i in range(5):
        extra = running(world)
        contract_terminate(actor=world.personas.manager, contract=extra, terminated_on=today, reason="x")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/contracts/", {"status": "terminated"})


def test_the_api_terminates_with_fields_and_errors(
    world: World, no_engine: None, api_for: Callable[[User], Any]
) -> None:
    contract = running(world)
    day = timezone.localdate().isoformat()
    api = api_for(world.personas.manager)
    for payload, field in (
        ({"terminated_on": day}, "reason"),
        ({"reason": "x"}, "terminated_on"),
        ({"terminated_on": "yesterday", "reason": "x"}, "terminated_on"),
        ({"terminated_on": day, "reason": "x", "status": "draft"}, "status"),
        ({"terminated_on": "2099-01-01", "reason": "x"}, "terminated_on"),
        ({"terminated_on": day, "reason": "a\x00b"}, "reason"),
    ):
        response = api.post(f"/contracts/{contract.pk}/terminate", payload)
        assert response.status_code == 400, (payload, response.content)
        assert field in response.json()["errors"], response.json()
    assert Contract.objects.get(pk=contract.pk).status == ContractStatus.SIGNED
    assert (
        api_for(world.personas.support)
        .post(f"/contracts/{contract.pk}/terminate", {"terminated_on": day, "reason": "x"})
        .status_code
        == 403
    )
    assert (
        api_for(world.personas.outsider)
        .post(f"/contracts/{contract.pk}/terminate", {"terminated_on": day, "reason": "x"})
        .status_code
        == 404
    )
    response = api.post(f"/contracts/{contract.pk}/terminate", {"terminated_on": day, "reason": "客户破产"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["terminated_on"], body["termination_reason"], body["terminated_by_id"]) == (
        "terminated",
        day,
        "客户破产",
        world.personas.manager.pk,
    )
    assert api.post(f"/contracts/{contract.pk}/terminate", {"terminated_on": day, "reason": "x"}).status_code == 409
    listed = api.get("/contracts", status="terminated").json()
    assert [item["id"] for item in listed["items"]] == [contract.pk]
