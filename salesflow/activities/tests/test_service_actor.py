"""Every business write service checks its actor itself (issue 5, §2).

For each service and persona, on records owned by ``rep``: allowed personas succeed;
the others get ``Forbidden`` and nothing changes (rows and audit trail). Owner choices
outside the actor's scope are refused as well, and the system actor may do everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from salesflow.activities.models import Activity
from salesflow.activities.services import activity_complete, activity_create, activity_delete, activity_update
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.leads.models import DisqualifyReason, Lead
from salesflow.leads.services import (
    lead_convert,
    lead_create,
    lead_delete,
    lead_disqualify,
    lead_mark_contacted,
    lead_qualify,
    lead_reopen,
    lead_update,
)
from salesflow.leads.tests.factories import make_lead, qualified_lead
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import (
    account_create,
    account_delete,
    account_update,
    contact_create,
    contact_delete,
    contact_update,
)
from salesflow.sales.models import LostReason, Opportunity
from salesflow.sales.services import (
    opportunity_close,
    opportunity_create,
    opportunity_delete,
    opportunity_move_stage,
    opportunity_reopen,
    opportunity_update,
)
from salesflow.sales.tests.factories import stage
from salesflow.users.models import User
from salesflow.users.services import system_actor
from salesflow.users.testing import PERSONA_NAMES, REP_RECORD_WRITERS

# issue 7: these tests log done calls without an outcome (the rules: test_follow_up_rules.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_completion_rules")]


@dataclass
class Records:
    account: Account
    empty_account: Account
    contact: Contact
    loose_contact: Contact
    deal: Opportunity
    lost_deal: Opportunity
    lead: Lead
    qualified: Lead
    disqualified: Lead
    activity: Activity


@pytest.fixture
def recs(personas) -> Records:  # type: ignore[no-untyped-def]
    rep = personas.rep
    account = Account.objects.create(owner=rep, name="星云智能科技")
    empty = Account.objects.create(owner=rep, name="空客户")
    contact = Contact.objects.create(account=account, name="王磊")
    loose = Contact.objects.create(account=account, name="赵敏")
    deal = opportunity_create(actor=rep, account=account, owner=rep, name="ERP 项目")
    lost = opportunity_create(actor=rep, account=account, owner=rep, name="旧项目")
    opportunity_close(actor=rep, opportunity=lost, outcome="lost", lost_reason=LostReason.objects.first())
    reason = DisqualifyReason.objects.get(code="no_budget")
    return Records(
        account=account,
        empty_account=empty,
        contact=contact,
        loose_contact=loose,
        deal=deal,
        lost_deal=lost,
        lead=make_lead(owner=rep),
        qualified=qualified_lead(owner=rep, company_name="新公司"),
        disqualified=make_lead(owner=rep, status="disqualified", disqualify_reason=reason),
        activity=Activity.objects.create(owner=rep, kind="call", subject="电话", account=account),
    )


def _state() -> list[Any]:
    """Every business row and the audit trail, to prove a refusal changed nothing."""
    return [
        list(model.objects.order_by("pk").values())
        for model in (Account, Contact, Opportunity, Lead, Activity, AuditEvent)
    ]


# service name → call on rep's records
CALLS: dict[str, Callable[[User, Records], object]] = {
    "account_update": lambda a, r: account_update(actor=a, account=r.account, phone="021-1234 5678"),
    "account_delete": lambda a, r: account_delete(actor=a, account=r.empty_account),
    "contact_create": lambda a, r: contact_create(actor=a, account=r.account, name="新联系人"),
    "contact_update": lambda a, r: contact_update(actor=a, contact=r.contact, title="CEO"),
    "contact_delete": lambda a, r: contact_delete(actor=a, contact=r.loose_contact),
    "opportunity_create": lambda a, r: opportunity_create(
        actor=a, account=r.account, owner=r.account.owner or a, name="新商机"
    ),
    "opportunity_update": lambda a, r: opportunity_update(actor=a, opportunity=r.deal, next_step="报价"),
    "opportunity_move_stage": lambda a, r: opportunity_move_stage(
        actor=a, opportunity=r.deal, stage=stage("qualification")
    ),
    "opportunity_close": lambda a, r: opportunity_close(
        actor=a, opportunity=r.deal, outcome="paused", resume_date=date.today() + timedelta(days=30)
    ),
    "opportunity_reopen": lambda a, r: opportunity_reopen(actor=a, opportunity=r.lost_deal),
    "opportunity_delete": lambda a, r: opportunity_delete(actor=a, opportunity=r.deal),
    "lead_update": lambda a, r: lead_update(actor=a, lead=r.lead, title="总监"),
    "lead_delete": lambda a, r: lead_delete(actor=a, lead=r.lead),
    "lead_qualify": lambda a, r: lead_qualify(
        actor=a,
        lead=r.lead,
        budget_status="yes",
        authority_status="yes",
        need="ERP",
        timeline=date.today() + timedelta(days=30),
    ),
    "lead_disqualify": lambda a, r: lead_disqualify(
        actor=a, lead=r.lead, reason=DisqualifyReason.objects.get(code="no_budget")
    ),
    "lead_reopen": lambda a, r: lead_reopen(actor=a, lead=r.disqualified),
    "lead_mark_contacted": lambda a, r: lead_mark_contacted(actor=a, lead=r.lead),
    "lead_convert": lambda a, r: lead_convert(actor=a, lead=r.qualified),
    "activity_update": lambda a, r: activity_update(actor=a, activity=r.activity, subject="改"),
    "activity_complete": lambda a, r: activity_complete(actor=a, activity=r.activity, outcome="好"),
    "activity_delete": lambda a, r: activity_delete(actor=a, activity=r.activity),
}


@pytest.mark.parametrize("persona", PERSONA_NAMES)
@pytest.mark.parametrize("service", list(CALLS))
def test_service_refuses_actors_who_may_not_write(personas, recs, service: str, persona: str) -> None:
    actor = personas.all()[persona]
    if persona in REP_RECORD_WRITERS:
        CALLS[service](actor, recs)
        return
    before = _state()
    with pytest.raises((Forbidden, ValidationFailed)) as exc:
        CALLS[service](actor, recs)
    if service != "contact_create":  # the target account is an input: a field error
        assert isinstance(exc.value, Forbidden)
    assert _state() == before


@pytest.mark.parametrize("service", list(CALLS))
def test_system_actor_may_do_everything(personas, recs, service: str) -> None:
    CALLS[service](system_actor(), recs)


@pytest.mark.parametrize(
    ("persona", "owner"), [("rep", "teammate"), ("assistant", "outsider"), ("manager", "other_manager")]
)
@pytest.mark.parametrize("kind", ["account", "opportunity", "lead", "activity"])
def test_owner_outside_the_scope_is_refused(personas, recs, persona: str, owner: str, kind: str) -> None:
    actor, new_owner = personas.all()[persona], personas.all()[owner]
    before = _state()
    creates: dict[str, Callable[[], object]] = {
        "account": lambda: account_create(actor=actor, owner=new_owner, name="他人的客户"),
        "opportunity": lambda: opportunity_create(actor=actor, account=recs.account, owner=new_owner, name="x"),
        "lead": lambda: lead_create(actor=actor, owner=new_owner, name="x", source_channel="inbound", email="a@b.cn"),
        "activity": lambda: activity_create(actor=actor, kind="call", subject="x", owner=new_owner),
    }
    updates: dict[str, Callable[[], object]] = {
        "account": lambda: account_update(actor=actor, account=recs.account, owner=new_owner),
        "opportunity": lambda: opportunity_update(actor=actor, opportunity=recs.deal, owner=new_owner),
        "lead": lambda: lead_update(actor=actor, lead=recs.lead, owner=new_owner),
        "activity": lambda: activity_update(actor=actor, activity=recs.activity, owner=new_owner),
    }
    for call in (creates[kind], updates[kind]):
        with pytest.raises(ValidationFailed) as exc:
            call()
        assert "owner" in exc.value.field_errors
        assert _state() == before


def test_support_and_inactive_users_create_nothing(personas, recs) -> None:
    before = _state()
    with pytest.raises(Forbidden):
        account_create(actor=personas.support, owner=personas.rep, name="x")
    with pytest.raises(Forbidden):
        lead_create(actor=personas.support, owner=personas.rep, name="x", source_channel="inbound", email="a@b.cn")
    personas.rep.is_active = False
    personas.rep.save()
    gone = User.objects.get(pk=personas.rep.pk)
    with pytest.raises(Forbidden):
        activity_create(actor=gone, kind="call", subject="x")
    with pytest.raises(Forbidden):
        account_update(actor=gone, account=recs.account, phone="1")
    assert _state() == before


def test_support_logs_activities_on_records_they_read_and_nothing_else(personas, recs) -> None:
    activity = activity_create(actor=personas.support, kind="call", subject="技术答疑", account=recs.account)
    assert activity.owner == personas.support
    activity_update(actor=personas.support, activity=activity, subject="技术答疑（已回访）")
    other = Account.objects.create(owner=personas.outsider, name="南方贸易")
    before = _state()
    with pytest.raises(Forbidden):
        activity_create(actor=personas.support, kind="call", subject="x", account=other)
    assert _state() == before
