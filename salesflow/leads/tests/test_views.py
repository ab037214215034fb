"""The lead pages: persona matrix, forms, workflow actions, conversion, htmx partials."""

from __future__ import annotations

from datetime import date

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from salesflow.leads.choices import BantAnswer, LeadStatus
from salesflow.leads.forms import LEAD_FORM_FIELDS
from salesflow.leads.models import Lead
from salesflow.leads.services import EDITABLE_FIELDS
from salesflow.leads.tests.factories import credit_code, make_account, make_lead, make_leads, qualified_lead
from salesflow.parties.models import Account, Contact
from salesflow.sales.models import Opportunity
from salesflow.users.testing import REP_RECORD_ACCESS, expected_denial

pytestmark = pytest.mark.django_db

READERS = {who: 200 if read else 404 for who, (read, _write) in REP_RECORD_ACCESS.items()}
WRITERS = {who: write for who, (_read, write) in REP_RECORD_ACCESS.items()}
DENIED_WRITE = {who: expected_denial(who, write=True) for who in REP_RECORD_ACCESS if not WRITERS[who]}


def row(lead):
    return model_to_dict(Lead.objects.get(pk=lead.pk))


def test_form_fields_match_the_service():
    assert set(LEAD_FORM_FIELDS) == EDITABLE_FIELDS


@pytest.mark.parametrize("who", list(READERS))
def test_detail_and_list_visibility(personas, client_for, who):
    lead = make_lead(owner=personas.rep, name="可见性测试")
    client = client_for(getattr(personas, who))
    assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == READERS[who]
    listed = client.get(reverse("leads:list"))
    assert listed.status_code == 200
    assert ("可见性测试" in listed.content.decode()) is (READERS[who] == 200)


@pytest.mark.parametrize("who", list(READERS))
def test_unassigned_leads_are_for_managers_and_admins(personas, client_for, who):
    lead = make_lead(owner=None, name="无人认领")
    client = client_for(getattr(personas, who))
    expected = 200 if who in ("manager", "other_manager", "admin") else 404
    assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == expected
    assert ("无人认领" in client.get(reverse("leads:list")).content.decode()) is (expected == 200)


@pytest.mark.parametrize("who", list(WRITERS))
def test_edit_matrix(personas, client_for, who):
    lead = make_lead(owner=personas.rep, name="原名")
    before = row(lead)
    client = client_for(getattr(personas, who))
    url = reverse("leads:edit", args=[lead.pk])
    data = {**{k: v for k, v in before.items() if k in LEAD_FORM_FIELDS and v is not None}, "name": "新名字"}
    data["owner"] = personas.rep.pk
    response = client.post(url, data)
    if WRITERS[who]:
        assert response.status_code == 302, response.content.decode()[:2000]
        assert Lead.objects.get(pk=lead.pk).name == "新名字"
        assert client.get(url).status_code == 200
    else:
        assert response.status_code == DENIED_WRITE[who]
        assert client.get(url).status_code == DENIED_WRITE[who]
        assert row(lead) == before


@pytest.mark.parametrize("who", list(WRITERS))
def test_qualify_matrix(personas, client_for, who):
    lead = make_lead(owner=personas.rep)
    before = row(lead)
    response = client_for(getattr(personas, who)).post(
        reverse("leads:qualify", args=[lead.pk]),
        {
            "bant-budget_status": "yes",
            "bant-budget_amount": "50000",
            "bant-authority_status": "yes",
            "bant-need": "需要CRM",
            "bant-timeline": "2030-03-01",
        },
    )
    if WRITERS[who]:
        assert response.status_code == 302
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.QUALIFIED
    else:
        assert response.status_code == DENIED_WRITE[who]
        assert row(lead) == before


@pytest.mark.parametrize("who", list(WRITERS))
def test_convert_matrix(personas, client_for, who):
    lead = qualified_lead(owner=personas.rep)
    before = row(lead)
    client = client_for(getattr(personas, who))
    url = reverse("leads:convert", args=[lead.pk])
    response = client.post(
        url,
        {"account_mode": "new", "create_contact": "on", "contact_role": "decision_maker", "create_opportunity": "on"},
    )
    if WRITERS[who]:
        opp = Opportunity.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("opportunities:detail", args=[opp.pk])
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CONVERTED
    else:
        assert response.status_code == DENIED_WRITE[who]
        assert client.get(url).status_code == DENIED_WRITE[who]
        assert row(lead) == before
        assert (Account.objects.count(), Contact.objects.count(), Opportunity.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize("who", list(WRITERS))
def test_delete_and_disqualify_matrix(personas, client_for, who):
    lead = make_lead(owner=personas.rep)
    before = row(lead)
    client = client_for(getattr(personas, who))
    disq = client.post(reverse("leads:disqualify", args=[lead.pk]), {"dq-reason": "no_need", "dq-note": ""})
    if WRITERS[who]:
        assert disq.status_code == 302
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.DISQUALIFIED
        assert client.post(reverse("leads:delete", args=[lead.pk])).status_code == 302
        assert not Lead.objects.filter(pk=lead.pk).exists()
    else:
        assert disq.status_code == DENIED_WRITE[who]
        assert client.post(reverse("leads:delete", args=[lead.pk])).status_code == DENIED_WRITE[who]
        assert row(lead) == before


def test_support_cannot_open_create(personas, client_for):
    assert client_for(personas.support).get(reverse("leads:create")).status_code == 403
    assert client_for(personas.support).post(reverse("leads:create"), {"name": "x"}).status_code == 403
    assert not Lead.objects.exists()


class TestCreatePage:
    def test_get_defaults_owner_to_me(self, personas, client_for):
        response = client_for(personas.rep).get(reverse("leads:create"))
        assert response.status_code == 200
        assert 'data-testid="lead-form"' in response.content.decode()
        assert response.context["form"].initial["owner"] == personas.rep.pk

    def test_post_creates_normalised_lead(self, personas, client_for):
        response = client_for(personas.rep).post(
            reverse("leads:create"),
            {
                "name": "王芳",
                "mobile": "+86 139-0000-1111",
                "email": "Wang.Fang@Example.com",
                "company_name": "杭州示例有限公司",
                "credit_code": credit_code().lower(),
                "source_channel": "outbound",
                "budget_status": "unknown",
                "authority_status": "unknown",
                "owner": personas.rep.pk,
            },
        )
        lead = Lead.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("leads:detail", args=[lead.pk])
        assert (lead.mobile, lead.email, lead.owner) == ("13900001111", "wang.fang@example.com", personas.rep)

    def test_invalid_input_shows_field_errors_and_writes_nothing(self, personas, client_for):
        response = client_for(personas.rep).post(
            reverse("leads:create"),
            {
                "name": "王芳",
                "mobile": "12345",
                "source_channel": "outbound",
                "budget_status": "unknown",
                "authority_status": "unknown",
                "owner": personas.rep.pk,
            },
        )
        assert response.status_code == 400
        assert "Enter a valid mainland mobile number" in response.content.decode()
        assert response.context["form"].errors["mobile"]
        assert not Lead.objects.exists()

    def test_rep_cannot_assign_to_a_teammate(self, personas, client_for):
        response = client_for(personas.rep).post(
            reverse("leads:create"),
            {
                "name": "王芳",
                "mobile": "13900001111",
                "source_channel": "outbound",
                "budget_status": "unknown",
                "authority_status": "unknown",
                "owner": personas.teammate.pk,
            },
        )
        assert response.status_code == 400
        assert "owner" in response.context["form"].errors
        assert not Lead.objects.exists()

    def test_manager_may_leave_unassigned(self, personas, client_for):
        response = client_for(personas.manager).post(
            reverse("leads:create"),
            {
                "name": "王芳",
                "wechat": "wf",
                "source_channel": "inbound",
                "budget_status": "unknown",
                "authority_status": "unknown",
                "owner": "",
            },
        )
        assert response.status_code == 302
        assert Lead.objects.get().owner is None


class TestListPage:
    def test_filters_search_and_sort(self, personas, client_for):
        make_lead(owner=personas.rep, name="Alpha", mobile="13811112222", source_channel="inbound")
        make_lead(
            owner=personas.rep,
            name="Bravo",
            company_name="Zeta Ltd",
            source_channel="referral",
            status=LeadStatus.QUALIFIED,
        )
        make_lead(owner=personas.teammate, name="Charlie")
        make_lead(owner=None, name="Delta")
        rep = client_for(personas.rep)

        def names(client, **params):
            response = client.get(reverse("leads:list"), params)
            assert response.status_code == 200
            return [lead.name for lead in response.context["leads"]]

        assert names(rep, sort="name") == ["Alpha", "Bravo"]
        assert names(rep, sort="-name") == ["Bravo", "Alpha"]
        assert names(rep, q="138 1111") == ["Alpha"]
        assert names(rep, q="zeta") == ["Bravo"]
        assert names(rep, status="qualified") == ["Bravo"]
        assert names(rep, channel="referral") == ["Bravo"]
        assert names(rep, status="bogus") == []
        manager = client_for(personas.manager)
        assert names(manager, sort="name") == ["Alpha", "Bravo", "Charlie", "Delta"]
        assert names(manager, owner="none") == ["Delta"]
        assert names(manager, owner=str(personas.teammate.pk)) == ["Charlie"]
        assert names(manager, owner="me") == []
        assert names(manager, sort="unindexed_column") == names(manager)

    def test_htmx_returns_the_table_only(self, personas, client_for):
        make_lead(owner=personas.rep, name="Alpha")
        response = client_for(personas.rep).get(reverse("leads:list"), {"q": "Alp"}, HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert html.lstrip().startswith('<div id="lead-results">')
        assert "Alpha" in html and "<html" not in html

    def test_pagination(self, personas, client_for):
        make_leads(30, owner=personas.rep)
        client = client_for(personas.rep)
        first = client.get(reverse("leads:list"))
        second = client.get(reverse("leads:list"), {"page": 2})
        assert len(first.context["leads"]) == 25 and first.context["page"].has_next
        assert len(second.context["leads"]) == 5 and not second.context["page"].has_next

    def test_chinese_ui(self, personas, client_for):
        make_lead(owner=personas.rep)
        html = client_for(personas.rep, language="zh-hans").get(reverse("leads:list")).content.decode()
        assert "新建线索" in html and "全部渠道" in html


class TestDetailPage:
    def test_cards_actions_and_panel(self, personas, client_for):
        lead = make_lead(owner=personas.rep)
        html = client_for(personas.rep).get(reverse("leads:detail", args=[lead.pk])).content.decode()
        for testid in (
            "lead-person-card",
            "lead-company-card",
            "lead-source-card",
            "qualify-form",
            "lead-edit",
            "lead-disqualify",
            "disqualify-form",
            "lead-delete",
            "timeline",
        ):
            assert testid in html
        assert f"{reverse('activities:panel')}?lead={lead.pk}" in html
        assert "lead-convert" not in html

    def test_support_sees_no_actions(self, personas, client_for):
        lead = make_lead(owner=personas.rep)
        html = client_for(personas.support).get(reverse("leads:detail", args=[lead.pk])).content.decode()
        assert "qualify-form" not in html and "lead-edit" not in html and "lead-convert" not in html

    def test_converted_lead_links_to_what_it_became(self, personas, client_for):
        lead = qualified_lead(owner=personas.rep)
        client = client_for(personas.rep)
        client.post(
            reverse("leads:convert", args=[lead.pk]),
            {"account_mode": "new", "create_contact": "on", "contact_role": "user", "create_opportunity": "on"},
        )
        html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
        opp = Opportunity.objects.get()
        assert reverse("opportunities:detail", args=[opp.pk]) in html
        assert reverse("accounts:detail", args=[opp.account_id]) in html
        assert reverse("contacts:detail", args=[Contact.objects.get().pk]) in html
        assert "lead-edit" not in html and "lead-delete" not in html
        assert client.get(reverse("leads:edit", args=[lead.pk])).status_code == 302

    def test_chinese_detail(self, personas, client_for):
        lead = make_lead(owner=personas.rep)
        html = (
            client_for(personas.rep, language="zh-hans").get(reverse("leads:detail", args=[lead.pk])).content.decode()
        )
        assert "资格确认" in html and "来源渠道" in html


class TestQualifyPage:
    def test_incomplete_bant_rerenders_with_errors(self, personas, client_for):
        lead = make_lead(owner=personas.rep)
        response = client_for(personas.rep).post(
            reverse("leads:qualify", args=[lead.pk]),
            {"bant-budget_status": "yes", "bant-authority_status": "unknown", "bant-need": "", "bant-timeline": ""},
        )
        assert response.status_code == 400
        html = response.content.decode()
        assert "The BANT is incomplete" in html
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW
        assert Lead.objects.get(pk=lead.pk).budget_status == BantAnswer.UNKNOWN

    def test_htmx_error_returns_the_card_and_success_redirects(self, personas, client_for):
        lead = make_lead(owner=personas.rep)
        client = client_for(personas.rep)
        url = reverse("leads:qualify", args=[lead.pk])
        bad = client.post(
            url, {"bant-budget_status": "unknown", "bant-authority_status": "unknown"}, HTTP_HX_REQUEST="true"
        )
        assert bad.content.decode().lstrip().startswith('<div class="card" id="bant-card"')
        good = client.post(
            url,
            {
                "bant-budget_status": "no",
                "bant-authority_status": "yes",
                "bant-need": "x",
                "bant-timeline": date(2030, 1, 1).isoformat(),
            },
            HTTP_HX_REQUEST="true",
        )
        assert good["HX-Redirect"] == reverse("leads:detail", args=[lead.pk])
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.QUALIFIED


class TestWorkflowPages:
    def test_disqualify_page_and_reopen(self, personas, client_for):
        lead = make_lead(owner=personas.rep)
        client = client_for(personas.rep)
        page = client.get(reverse("leads:disqualify", args=[lead.pk]))
        assert page.status_code == 200 and 'data-testid="disqualify-form"' in page.content.decode()
        missing_note = client.post(reverse("leads:disqualify", args=[lead.pk]), {"dq-reason": "other"})
        assert missing_note.status_code == 200 and missing_note.context["form"].errors["note"]
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW
        client.post(reverse("leads:disqualify", args=[lead.pk]), {"dq-reason": "duplicate"})
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.DISQUALIFIED
        client.post(reverse("leads:reopen", args=[lead.pk]))
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CONTACTED

    def test_delete_confirm_page(self, personas, client_for):
        lead = make_lead(owner=personas.rep)
        page = client_for(personas.rep).get(reverse("leads:delete", args=[lead.pk]))
        assert page.status_code == 200 and 'data-testid="delete-form"' in page.content.decode()
        assert Lead.objects.filter(pk=lead.pk).exists()

    def test_converted_lead_cannot_be_deleted(self, personas, client_for):
        lead = make_lead(owner=personas.rep, status=LeadStatus.CONVERTED)
        response = client_for(personas.rep).post(reverse("leads:delete", args=[lead.pk]))
        assert response.status_code == 302
        assert Lead.objects.filter(pk=lead.pk).exists()


class TestConvertPage:
    def test_get_shows_the_form_with_defaults(self, personas, client_for):
        lead = qualified_lead(owner=personas.rep)
        response = client_for(personas.rep).get(reverse("leads:convert", args=[lead.pk]))
        html = response.content.decode()
        assert 'data-testid="convert-form"' in html and 'data-testid="convert-submit"' in html
        form = response.context["form"]
        assert form.initial["contact_role"] == "decision_maker"
        assert form.initial["amount"] == lead.budget_amount

    def test_not_qualified_redirects_to_the_lead(self, personas, client_for):
        lead = make_lead(owner=personas.rep)
        client = client_for(personas.rep)
        response = client.get(reverse("leads:convert", args=[lead.pk]))
        assert response.status_code == 302
        assert response["Location"] == reverse("leads:detail", args=[lead.pk])
        client.post(reverse("leads:convert", args=[lead.pk]), {"account_mode": "new", "contact_role": "user"})
        assert Account.objects.count() == 0

    def test_link_existing_account(self, personas, client_for):
        account = make_account(owner=personas.rep, name="老客户有限公司")
        lead = qualified_lead(owner=personas.rep, company_name="老客户")
        client = client_for(personas.rep)
        page = client.get(reverse("leads:convert", args=[lead.pk]))
        assert "老客户有限公司" in page.content.decode()  # suggested by company name
        response = client.post(
            reverse("leads:convert", args=[lead.pk]),
            {
                "account_mode": "existing",
                "account": account.pk,
                "create_contact": "on",
                "contact_role": "user",
                "create_opportunity": "on",
                "opportunity_name": "扩容项目",
                "amount": "10000",
            },
        )
        opp = Opportunity.objects.get()
        assert response["Location"] == reverse("opportunities:detail", args=[opp.pk])
        assert (opp.account, opp.name, Account.objects.count()) == (account, "扩容项目", 1)

    def test_link_to_unseen_account_is_refused(self, personas, client_for):
        foreign = make_account(owner=personas.outsider)
        lead = qualified_lead(owner=personas.rep)
        response = client_for(personas.rep).post(
            reverse("leads:convert", args=[lead.pk]),
            {"account_mode": "existing", "account": foreign.pk, "contact_role": "user"},
        )
        assert response.status_code == 400
        assert response.context["form"].errors["account"]
        assert foreign.name not in response.content.decode()
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.QUALIFIED
        assert Opportunity.objects.count() == 0

    def test_negative_amount_error_on_the_form(self, personas, client_for):
        lead = qualified_lead(owner=personas.rep)
        response = client_for(personas.rep).post(
            reverse("leads:convert", args=[lead.pk]),
            {"account_mode": "new", "create_opportunity": "on", "contact_role": "user", "amount": "-10"},
        )
        assert response.status_code == 400
        assert response.context["form"].errors["amount"]
        assert Account.objects.count() == 0

    def test_without_opportunity_goes_to_the_account(self, personas, client_for):
        lead = qualified_lead(owner=personas.rep)
        response = client_for(personas.rep).post(
            reverse("leads:convert", args=[lead.pk]), {"account_mode": "new", "contact_role": "user"}
        )
        account = Account.objects.get()
        assert response["Location"] == reverse("accounts:detail", args=[account.pk])
        assert Contact.objects.count() == 0

    def test_hidden_credit_code_match_warns_without_name(self, personas, client_for):
        code = credit_code()
        make_account(owner=personas.outsider, credit_code=code, name="保密公司")
        lead = qualified_lead(owner=personas.rep, credit_code=code)
        html = client_for(personas.rep).get(reverse("leads:convert", args=[lead.pk])).content.decode()
        assert "convert-match-hidden" in html and "保密公司" not in html

    def test_account_search_returns_writable_accounts_only(self, personas, client_for):
        make_account(owner=personas.rep, name="华东精密")
        make_account(owner=personas.teammate, name="华东物流")
        lead = qualified_lead(owner=personas.rep)
        data = client_for(personas.rep).get(reverse("leads:convert_accounts", args=[lead.pk]), {"q": "华东"}).json()
        assert [r["text"] for r in data["results"]] == ["华东精密"]
        assert client_for(personas.support).get(reverse("leads:convert_accounts", args=[lead.pk])).status_code == 403
