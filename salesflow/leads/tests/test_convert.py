"""``lead_convert``: one transaction creating or linking account, contact and opportunity."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from salesflow.core.errors import Conflict, ValidationFailed
from salesflow.core.models import AuditEvent, AuditLink
from salesflow.leads import services
from salesflow.leads.choices import BantAnswer, LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_convert
from salesflow.leads.tests.factories import credit_code, make_account, make_lead, qualified_lead
from salesflow.parties.choices import BuyingRole
from salesflow.parties.models import Account, Contact
from salesflow.sales.models import Opportunity, OpportunityContact, Stage, StageChange
from salesflow.sales.services import default_pipeline, first_open_stage

pytestmark = pytest.mark.django_db


def counts():
    return (Account.objects.count(), Contact.objects.count(), Opportunity.objects.count(), StageChange.objects.count())


def test_creates_account_contact_and_opportunity(personas):
    lead = qualified_lead(owner=personas.rep, industry="manufacturing", phone="02168888888", wechat="zw88")
    result = lead_convert(actor=personas.rep, lead=lead)

    assert counts() == (1, 1, 1, 1)
    account = Account.objects.get()
    assert result.account == account and result.account_created
    assert account.name == lead.company_name
    assert account.credit_code == lead.credit_code
    assert account.industry == "manufacturing"
    assert account.owner == personas.rep
    assert account.source == "inbound"

    contact = Contact.objects.get()
    assert result.contact == contact and result.contact_created
    assert (contact.account, contact.name, contact.title) == (account, lead.name, lead.title)
    assert (contact.mobile, contact.phone, contact.email, contact.wechat) == (
        lead.mobile,
        "02168888888",
        lead.email,
        "zw88",
    )
    assert contact.buying_role == BuyingRole.DECISION_MAKER

    opp = Opportunity.objects.get()
    assert result.opportunity == opp
    assert opp.name == f"{lead.company_name} – 替换旧的ERP系统"
    assert opp.amount == Decimal("250000.00")
    assert opp.expected_close_date == lead.timeline
    assert opp.owner == personas.rep
    assert opp.account == account
    # complete BANT: the stage after the B2B pipeline's BANT stage (qualification), not 10 %
    assert opp.stage.code == "needs"
    assert list(OpportunityContact.objects.values_list("contact_id", "role")) == [
        (contact.pk, BuyingRole.DECISION_MAKER)
    ]
    change = StageChange.objects.get()
    assert (change.opportunity, change.from_stage, change.to_stage) == (opp, None, opp.stage)

    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert lead.converted_at is not None
    assert (lead.converted_account, lead.converted_contact, lead.converted_opportunity) == (account, contact, opp)

    event = AuditEvent.objects.get(verb="leads.lead.converted")
    linked = {(link.content_type.model, link.object_id) for link in AuditLink.objects.filter(event=event)}
    assert linked == {("lead", lead.pk), ("account", account.pk), ("contact", contact.pk), ("opportunity", opp.pk)}


def test_user_choices_override_defaults(personas):
    lead = qualified_lead(owner=personas.rep, authority_status=BantAnswer.NO)
    stage = Stage.objects.filter(pipeline=default_pipeline(), kind="open").order_by("position")[2]
    result = lead_convert(
        actor=personas.rep,
        lead=lead,
        contact_role=BuyingRole.INFLUENCER,
        opportunity_name="  年度框架合同 ",
        amount="99000.5",
        expected_close_date=date(2035, 3, 31),
        stage=stage,
    )
    opp = result.opportunity
    assert opp is not None
    assert (opp.name, opp.amount, opp.stage) == ("年度框架合同", Decimal("99000.50"), stage)
    assert opp.expected_close_date == date(2035, 3, 31)
    assert OpportunityContact.objects.get().role == BuyingRole.INFLUENCER


def test_default_role_without_authority_is_other(personas):
    lead = qualified_lead(owner=personas.rep, authority_status=BantAnswer.NO)
    result = lead_convert(actor=personas.rep, lead=lead)
    assert result.contact is not None and result.contact.buying_role == BuyingRole.OTHER


def test_without_contact_and_opportunity(personas):
    lead = qualified_lead(owner=personas.rep)
    result = lead_convert(actor=personas.rep, lead=lead, create_contact=False, create_opportunity=False)
    assert counts() == (1, 0, 0, 0)
    assert result.contact is None and result.opportunity is None
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_account == result.account


def test_links_an_existing_account(personas):
    account = make_account(owner=personas.rep)
    lead = qualified_lead(owner=personas.rep)
    result = lead_convert(actor=personas.rep, lead=lead, account=account)
    assert not result.account_created
    assert counts() == (1, 1, 1, 1)
    assert result.contact is not None and result.contact.account == account
    assert result.opportunity is not None and result.opportunity.account == account


def test_linking_reuses_a_contact_with_the_same_mobile(personas):
    account = make_account(owner=personas.rep)
    lead = qualified_lead(owner=personas.rep)
    existing = Contact.objects.create(account=account, name=lead.name, mobile=lead.mobile)
    result = lead_convert(actor=personas.rep, lead=lead, account=account)
    assert result.contact == existing and not result.contact_created
    assert Contact.objects.count() == 1
    assert OpportunityContact.objects.get().contact == existing


def test_links_the_visible_account_with_the_same_credit_code(personas):
    code = credit_code()
    account = make_account(owner=personas.rep, credit_code=code)
    lead = qualified_lead(owner=personas.rep, credit_code=code)
    result = lead_convert(actor=personas.rep, lead=lead)
    assert result.account == account and not result.account_created
    assert Account.objects.count() == 1


def test_refuses_when_the_same_credit_code_belongs_to_someone_unseen(personas):
    code = credit_code()
    make_account(owner=personas.outsider, credit_code=code, name="华南机密客户")
    lead = qualified_lead(owner=personas.rep, credit_code=code)
    with pytest.raises(ValidationFailed) as exc:
        lead_convert(actor=personas.rep, lead=lead)
    message = " ".join(exc.value.field_errors["account"])
    assert "华南机密客户" not in message and "already exists" in message
    assert counts() == (1, 0, 0, 0)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED


def test_needs_a_company_name_to_create_an_account(personas):
    lead = qualified_lead(owner=personas.rep, company_name="", credit_code="")
    with pytest.raises(ValidationFailed) as exc:
        lead_convert(actor=personas.rep, lead=lead)
    assert "account" in exc.value.field_errors
    assert counts() == (0, 0, 0, 0)


def test_refuses_an_account_the_actor_cannot_write(personas):
    account = make_account(owner=personas.teammate)
    lead = qualified_lead(owner=personas.rep)
    with pytest.raises(ValidationFailed):
        lead_convert(actor=personas.rep, lead=lead, account=account)
    assert counts() == (1, 0, 0, 0)


@pytest.mark.parametrize("status", [LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.DISQUALIFIED])
def test_only_qualified_leads_convert(personas, status):
    lead = qualified_lead(owner=personas.rep, status=status)
    with translation.override("en"), pytest.raises(Conflict) as exc:
        lead_convert(actor=personas.rep, lead=lead)
    assert exc.value.code == "not_qualified"
    assert "qualif" in str(exc.value.message)
    assert counts() == (0, 0, 0, 0)
    lead.refresh_from_db()
    assert lead.status == status


def test_double_convert_is_a_conflict_and_creates_one_opportunity(personas):
    lead = qualified_lead(owner=personas.rep)
    stale_copy = Lead.objects.get(pk=lead.pk)
    lead_convert(actor=personas.rep, lead=lead)
    with pytest.raises(Conflict) as exc:
        lead_convert(actor=personas.rep, lead=stale_copy)
    assert exc.value.code == "already_converted"
    assert counts() == (1, 1, 1, 1)
    assert AuditEvent.objects.filter(verb="leads.lead.converted").count() == 1


def test_negative_amount_writes_nothing(personas):
    lead = qualified_lead(owner=personas.rep)
    with pytest.raises(ValidationFailed) as exc:
        lead_convert(actor=personas.rep, lead=lead, amount="-1")
    assert "amount" in exc.value.field_errors
    assert counts() == (0, 0, 0, 0)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED


def test_failure_after_account_and_contact_rolls_everything_back(personas, monkeypatch):
    """The opportunity step fails after the account and contact rows were inserted."""
    from salesflow.sales.services import opportunity_create as real_create

    def failing_create(**kwargs):
        assert Account.objects.count() == 1 and Contact.objects.count() == 1  # really written …
        return real_create(**{**kwargs, "amount": Decimal("-5")})  # … then the sales service refuses

    monkeypatch.setattr(services, "opportunity_create", failing_create)
    lead = qualified_lead(owner=personas.rep)
    with pytest.raises(ValidationFailed) as exc:
        lead_convert(actor=personas.rep, lead=lead)
    assert "amount" in exc.value.field_errors
    assert counts() == (0, 0, 0, 0)
    assert not AuditEvent.objects.filter(verb__in=["parties.account.created", "parties.contact.created"]).exists()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED
    assert lead.converted_account_id is None


def test_unassigned_lead_converted_by_manager_is_owned_by_the_manager(personas):
    lead = qualified_lead(owner=None)
    result = lead_convert(actor=personas.manager, lead=lead)
    assert result.account.owner == personas.manager
    assert result.opportunity is not None and result.opportunity.owner == personas.manager


def test_lead_owner_owns_what_the_manager_converts(personas):
    lead = qualified_lead(owner=personas.rep)
    result = lead_convert(actor=personas.manager, lead=lead)
    assert result.account.owner == personas.rep
    assert result.opportunity is not None and result.opportunity.owner == personas.rep


def test_closed_stage_is_refused(personas):
    lead = qualified_lead(owner=personas.rep)
    won = Stage.objects.filter(kind="won").first()
    with pytest.raises(ValidationFailed) as exc:
        lead_convert(actor=personas.rep, lead=lead, stage=won)
    assert "stage" in exc.value.field_errors
    assert counts() == (0, 0, 0, 0)


def test_default_name_without_need_is_the_company(personas):
    lead = make_lead(owner=personas.rep, status=LeadStatus.QUALIFIED, need="")
    assert services.default_opportunity_name(lead) == lead.company_name


def test_complete_bant_starts_after_the_bant_stage_incomplete_at_the_first_stage(personas):
    """Defect 7: a lead converted with a complete BANT does not start at the 10 % stage."""
    complete = lead_convert(actor=personas.rep, lead=qualified_lead(owner=personas.rep)).opportunity
    assert complete is not None and complete.stage.code == "needs"
    # a qualified lead whose need was cleared afterwards: BANT incomplete, first open stage
    lead = qualified_lead(owner=personas.rep)
    Lead.objects.filter(pk=lead.pk).update(need="")
    lead.refresh_from_db()
    incomplete = lead_convert(actor=personas.rep, lead=lead, opportunity_name="不完整").opportunity
    assert incomplete is not None and incomplete.stage == first_open_stage(default_pipeline())
    # no BANT stage configured: the first open stage, as before
    Stage.objects.filter(is_bant_gate=True).update(is_bant_gate=False)
    plain = lead_convert(actor=personas.rep, lead=qualified_lead(owner=personas.rep)).opportunity
    assert plain is not None and plain.stage == first_open_stage(default_pipeline())
