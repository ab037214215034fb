"""Create, update, delete and the qualify / disqualify / reopen workflow."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.leads.choices import BantAnswer, LeadStatus
from salesflow.leads.models import DisqualifyReason, Lead
from salesflow.leads.services import (
    lead_create,
    lead_delete,
    lead_disqualify,
    lead_mark_contacted,
    lead_qualify,
    lead_reopen,
    lead_update,
)
from salesflow.leads.tests.factories import credit_code, make_lead, qualified_lead
from salesflow.users.models import Territory
from salesflow.users.services import system_actor

pytestmark = pytest.mark.django_db


def create(actor, **kwargs):
    values = {"owner": actor, "name": "张伟", "source_channel": "inbound", "mobile": "13812345678"}
    # issue 8: these tests create the same person on purpose, past the duplicate warning
    values["intake_options"] = {"duplicate_reason": "test: the same person on purpose"}
    values.update(kwargs)
    return lead_create(actor=actor, **values)


def events(verb):
    return list(AuditEvent.objects.filter(verb=verb))


class TestCreate:
    def test_normalises_and_audits(self, personas):
        code = credit_code()
        region = Territory.objects.get(code="shanghai")
        lead = create(
            personas.rep,
            name="  张伟 ",
            mobile="+86 138-1234-5678",
            phone="021 6888 8888",
            email=" Zhang.Wei@Example.COM ",
            credit_code=f" {code[:6]}-{code[6:]} ".lower(),
            company_name="上海云启科技有限公司",
            region=region,
            budget_amount="120000",
        )
        lead.refresh_from_db()
        assert lead.name == "张伟"
        assert lead.mobile == "13812345678"
        assert lead.phone == "02168888888"
        assert lead.email == "zhang.wei@example.com"
        assert lead.credit_code == code
        assert lead.budget_amount == Decimal("120000.00")
        assert lead.status == LeadStatus.NEW
        assert lead.owner == personas.rep
        assert lead.region == region
        [event] = events("leads.lead.created")
        assert event.actor == personas.rep
        assert event.target_id == lead.pk

    def test_credit_code_is_not_unique_on_leads(self, personas):
        code = credit_code()
        create(personas.rep, credit_code=code)
        create(personas.rep, credit_code=code, mobile="13912345678")
        assert Lead.objects.filter(credit_code=code).count() == 2

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"name": "  "}, "name"),
            ({"source_channel": ""}, "source_channel"),
            ({"source_channel": "carrier_pigeon"}, "source_channel"),
            ({"mobile": "12812345678"}, "mobile"),
            ({"mobile": "", "phone": "call me"}, "phone"),
            ({"email": "not-an-email"}, "email"),
            ({"credit_code": "91310000123456789X"}, "credit_code"),
            ({"budget_amount": "-1"}, "budget_amount"),
            ({"budget_amount": "lots"}, "budget_amount"),
            ({"industry": "alchemy"}, "industry"),
            ({"sub_channel": "telepathy"}, "sub_channel"),
            # the sub-channel must belong to the source channel (主动来询 + 客户转介绍 is refused)
            ({"source_channel": "inbound", "sub_channel": "customer_referral"}, "sub_channel"),
            ({"source_channel": "partner", "sub_channel": "website"}, "sub_channel"),
            ({"budget_status": "maybe"}, "budget_status"),
            ({"name": "x" * 101}, "name"),
        ],
    )
    def test_bad_input_writes_nothing(self, personas, kwargs, field):
        with pytest.raises(ValidationFailed) as exc:
            create(personas.rep, **kwargs)
        assert field in exc.value.field_errors
        assert Lead.objects.count() == 0
        assert AuditEvent.objects.filter(verb__startswith="leads.").count() == 0

    def test_needs_a_way_to_reach_the_person(self, personas):
        with pytest.raises(ValidationFailed) as exc:
            create(personas.rep, mobile="", phone="", email="", wechat="")
        assert exc.value.field_errors == {
            "mobile": ["Give at least one way to reach this person: mobile, phone, email or WeChat ID."]
        }
        assert create(personas.rep, mobile="", wechat="zhangwei_88").wechat == "zhangwei_88"

    def test_reports_every_problem_at_once(self, personas):
        with pytest.raises(ValidationFailed) as exc:
            create(personas.rep, name="", source_channel="", mobile="123", email="x")
        assert set(exc.value.field_errors) == {"name", "source_channel", "mobile", "email"}

    def test_unassigned_only_for_managers_and_admins(self, personas):
        assert create(personas.manager, owner=None).owner is None
        assert create(personas.admin, owner=None).owner is None
        with pytest.raises(ValidationFailed) as exc:
            create(personas.rep, owner=None)
        assert "owner" in exc.value.field_errors
        assert Lead.objects.count() == 2

    def test_owner_must_be_assignable(self, personas):
        with pytest.raises(ValidationFailed) as exc:
            create(personas.rep, owner=personas.teammate)
        assert exc.value.field_errors["owner"] == ["You cannot assign leads to this user."]
        assert create(personas.manager, owner=personas.teammate).owner == personas.teammate
        assert create(personas.assistant, owner=personas.rep).owner == personas.rep
        with pytest.raises(ValidationFailed):
            create(personas.manager, owner=personas.outsider)

    def test_support_may_not_create(self, personas):
        with pytest.raises(Forbidden):
            create(personas.support, owner=personas.rep)
        assert Lead.objects.count() == 0

    def test_system_capture_by_the_system_actor(self, personas):
        system = system_actor()
        lead = lead_create(actor=system, owner=None, name="Web visitor", source_channel="inbound", email="a@b.cn")
        assert lead.owner is None
        assert events("leads.lead.created")[0].actor == system


class TestUpdate:
    def test_changes_fields_and_audits_the_diff(self, personas):
        lead = create(personas.rep)
        lead_update(actor=personas.rep, lead=lead, mobile="139 1234 5678", email="A@B.CN")
        lead.refresh_from_db()
        assert (lead.mobile, lead.email) == ("13912345678", "a@b.cn")
        [event] = events("leads.lead.updated")
        assert event.data["changes"] == {"mobile": ["13812345678", "13912345678"], "email": ["", "a@b.cn"]}

    def test_no_change_no_event(self, personas):
        lead = create(personas.rep)
        lead_update(actor=personas.rep, lead=lead, mobile="138 1234 5678")
        assert events("leads.lead.updated") == []

    def test_invalid_update_writes_nothing(self, personas):
        lead = create(personas.rep, email="a@b.cn")
        with pytest.raises(ValidationFailed) as exc:
            lead_update(actor=personas.rep, lead=lead, mobile="", email="", name="新名字")
        assert "mobile" in exc.value.field_errors
        lead.refresh_from_db()
        assert (lead.name, lead.mobile, lead.email) == ("张伟", "13812345678", "a@b.cn")

    def test_unknown_fields_are_refused(self, personas):
        lead = create(personas.rep)
        with pytest.raises(ValidationFailed) as exc:
            lead_update(actor=personas.rep, lead=lead, status="converted")  # type: ignore[call-arg]
        assert "status" in exc.value.field_errors
        lead.refresh_from_db()
        assert lead.status == LeadStatus.NEW

    def test_reassign_checks_the_new_owner(self, personas):
        lead = create(personas.rep)
        with pytest.raises(ValidationFailed):
            lead_update(actor=personas.rep, lead=lead, owner=personas.teammate)
        lead_update(actor=personas.manager, lead=lead, owner=personas.teammate)
        lead.refresh_from_db()
        assert lead.owner == personas.teammate

    def test_converted_lead_is_read_only(self, personas):
        lead = make_lead(owner=personas.rep, status=LeadStatus.CONVERTED)
        with pytest.raises(Conflict):
            lead_update(actor=personas.rep, lead=lead, name="改名")
        lead.refresh_from_db()
        assert lead.name != "改名"


class TestDelete:
    def test_delete(self, personas):
        lead = create(personas.rep)
        lead_delete(actor=personas.rep, lead=lead)
        assert not Lead.objects.exists()
        assert len(events("leads.lead.deleted")) == 1

    def test_converted_cannot_be_deleted(self, personas):
        lead = make_lead(owner=personas.rep, status=LeadStatus.CONVERTED)
        with pytest.raises(Conflict):
            lead_delete(actor=personas.rep, lead=lead)
        assert Lead.objects.filter(pk=lead.pk).exists()


class TestQualify:
    def test_records_answers_and_qualifies(self, personas):
        lead = create(personas.rep)
        lead_qualify(
            actor=personas.rep,
            lead=lead,
            budget_status=BantAnswer.YES,
            budget_amount="80000",
            authority_status=BantAnswer.NO,
            need="CRM for 30 reps",
            timeline=date(2030, 6, 30),
        )
        lead.refresh_from_db()
        assert lead.status == LeadStatus.QUALIFIED
        assert lead.budget_amount == Decimal("80000.00")
        assert lead.authority_status == BantAnswer.NO
        assert lead.bant_missing == []
        [event] = events("leads.lead.qualified")
        assert event.data["from"] == "new"
        assert event.data["to"] == "qualified"

    def test_incomplete_bant_is_refused_and_nothing_saved(self, personas):
        lead = create(personas.rep)
        with pytest.raises(ValidationFailed) as exc:
            lead_qualify(actor=personas.rep, lead=lead, budget_status=BantAnswer.YES, need="CRM")
        assert exc.value.code == "bant_incomplete"
        assert set(exc.value.field_errors) == {"authority_status", "timeline"}
        assert "authority" in str(exc.value.message) and "timeline" in str(exc.value.message)
        lead.refresh_from_db()
        assert lead.status == LeadStatus.NEW
        assert lead.budget_status == BantAnswer.UNKNOWN
        assert lead.need == ""
        assert events("leads.lead.qualified") == []

    def test_uses_stored_answers(self, personas):
        lead = create(
            personas.rep,
            budget_status=BantAnswer.YES,
            authority_status=BantAnswer.YES,
            need="x",
            timeline=date(2030, 1, 1),
        )
        lead_qualify(actor=personas.rep, lead=lead)
        assert lead.status == LeadStatus.QUALIFIED

    @pytest.mark.parametrize("status", [LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED, LeadStatus.CONVERTED])
    def test_only_from_new_or_contacted(self, personas, status):
        lead = qualified_lead(owner=personas.rep, status=status)
        with pytest.raises(Conflict):
            lead_qualify(actor=personas.rep, lead=lead)
        lead.refresh_from_db()
        assert lead.status == status

    def test_from_contacted(self, personas):
        lead = qualified_lead(owner=personas.rep, status=LeadStatus.NEW)
        lead_mark_contacted(actor=personas.rep, lead=lead)
        lead_qualify(actor=personas.rep, lead=lead)
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.QUALIFIED


class TestDisqualifyAndReopen:
    def test_disqualify_and_reopen(self, personas):
        lead = create(personas.rep)
        reason = DisqualifyReason.objects.get(code="no_budget")
        lead_disqualify(actor=personas.rep, lead=lead, reason=reason, note="  预算明年才批 ")
        lead.refresh_from_db()
        assert lead.status == LeadStatus.DISQUALIFIED
        assert lead.disqualify_reason == reason
        assert lead.disqualify_note == "预算明年才批"
        assert events("leads.lead.disqualified")[0].data["reason"] == "no_budget"
        lead_reopen(actor=personas.rep, lead=lead)
        lead.refresh_from_db()
        assert lead.status == LeadStatus.CONTACTED
        assert lead.disqualify_reason is None
        assert events("leads.lead.reopened")[0].data["reason"] == "no_budget"

    def test_other_needs_a_note(self, personas):
        lead = create(personas.rep)
        with pytest.raises(ValidationFailed) as exc:
            lead_disqualify(actor=personas.rep, lead=lead, reason=DisqualifyReason.objects.get(code="other"))
        assert "note" in exc.value.field_errors
        lead.refresh_from_db()
        assert lead.status == LeadStatus.NEW

    def test_inactive_reason_refused(self, personas):
        lead = create(personas.rep)
        reason = DisqualifyReason.objects.get(code="duplicate")
        reason.is_active = False
        reason.save()
        with pytest.raises(ValidationFailed):
            lead_disqualify(actor=personas.rep, lead=lead, reason=reason)

    @pytest.mark.parametrize("status", [LeadStatus.DISQUALIFIED, LeadStatus.CONVERTED])
    def test_disqualify_refused_from_final_states(self, personas, status):
        lead = make_lead(owner=personas.rep, status=status)
        with pytest.raises(Conflict):
            lead_disqualify(actor=personas.rep, lead=lead, reason=DisqualifyReason.objects.get(code="no_need"))
        lead.refresh_from_db()
        assert lead.status == status

    def test_reopen_only_disqualified(self, personas):
        lead = create(personas.rep)
        with pytest.raises(Conflict):
            lead_reopen(actor=personas.rep, lead=lead)
