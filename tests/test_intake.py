"""The intake-check registry (``salesflow.core.intake``) as the record services run it:
a ``before`` check can refuse (nothing written) or re-route the owner; ``after`` hooks see
the saved record inside the same transaction; updates and conversions run them too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from salesflow.core.errors import Conflict
from salesflow.core.intake import Intake, IntakeCheck, register_intake_check, unregister_intake_check
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_convert, lead_create, lead_qualify, lead_update
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import account_create, account_update
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db

SEEN: list[tuple[str, str, str, Any]] = []


def _refuse_blocked(intake: Intake) -> None:
    name = intake.values.get("company_name") or intake.values.get("name") or ""
    if "BLOCKED" in str(name) and not intake.options.get("duplicate_reason"):
        raise Conflict("blocked by test check", code="test_blocked")


def _route(intake: Intake) -> None:
    target = intake.options.get("route_to")
    if target is not None:
        intake.values["owner"] = target
        intake.findings.append({"routed_to": target.pk})


def _after(intake: Intake, record: Any) -> None:
    SEEN.append((intake.kind, intake.action, intake.options.get("via", ""), record.pk))


@pytest.fixture
def checks() -> Iterator[None]:
    SEEN.clear()
    register_intake_check(
        IntakeCheck(code="t_refuse", order=1, kinds=frozenset({"lead", "account"}), before=_refuse_blocked)
    )
    register_intake_check(IntakeCheck(code="t_route", order=2, kinds=frozenset({"lead"}), before=_route))
    register_intake_check(
        IntakeCheck(code="t_after", order=3, kinds=frozenset({"lead", "account", "contact"}), after=_after)
    )
    yield
    for code in ("t_refuse", "t_route", "t_after"):
        unregister_intake_check(code)


def test_refusal_writes_nothing_and_reason_option_passes(checks: None, personas: Personas) -> None:
    with pytest.raises(Conflict):
        lead_create(
            actor=personas.rep,
            owner=personas.rep,
            name="A",
            mobile="13800000001",
            source_channel="inbound",
            company_name="BLOCKED Ltd",
        )
    assert not Lead.objects.filter(company_name="BLOCKED Ltd").exists()
    with pytest.raises(Conflict):
        account_create(actor=personas.rep, owner=personas.rep, name="BLOCKED Co")
    assert not Account.objects.filter(name="BLOCKED Co").exists()
    lead = lead_create(
        actor=personas.rep,
        owner=personas.rep,
        name="A",
        mobile="13800000001",
        source_channel="inbound",
        company_name="BLOCKED Ltd",
        intake_options={"duplicate_reason": "different branch"},
    )
    assert [("lead", "create", "", lead.pk)] == SEEN


def test_route_changes_owner_and_update_runs_checks(checks: None, personas: Personas) -> None:
    lead = lead_create(
        actor=personas.manager,
        owner=personas.rep,
        name="B",
        mobile="13800000002",
        source_channel="inbound",
        intake_options={"route_to": personas.teammate},
    )
    assert Lead.objects.get(pk=lead.pk).owner_id == personas.teammate.pk
    with pytest.raises(Conflict):
        lead_update(actor=personas.manager, lead=lead, company_name="BLOCKED again")
    assert Lead.objects.get(pk=lead.pk).company_name == ""
    account = account_create(actor=personas.rep, owner=personas.rep, name="Fine Co")
    with pytest.raises(Conflict):
        account_update(actor=personas.rep, account=account, name="BLOCKED now")
    assert Account.objects.get(pk=account.pk).name == "Fine Co"


def test_conversion_runs_lead_checks_and_tags_nested_creates(checks: None, personas: Personas) -> None:
    lead = lead_create(
        actor=personas.rep,
        owner=personas.rep,
        name="C",
        mobile="13800000003",
        source_channel="inbound",
        company_name="Acme 转化",
    )
    lead_qualify(
        actor=personas.rep, lead=lead, budget_status="yes", authority_status="yes", need="x", timeline=date(2027, 1, 1)
    )
    SEEN.clear()
    result = lead_convert(actor=personas.rep, lead=lead, create_opportunity=False)
    assert result.contact is not None
    assert [
        ("account", "create", "convert", result.account.pk),
        ("contact", "create", "convert", result.contact.pk),
        ("lead", "convert", "", lead.pk),
    ] == SEEN
    assert Contact.objects.filter(pk=result.contact.pk).exists()
