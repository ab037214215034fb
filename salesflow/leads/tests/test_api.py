"""``/api/v1/leads``: persona matrix, filters and paging, workflow endpoints, error envelope."""

from __future__ import annotations

from datetime import date

import pytest
from django.forms.models import model_to_dict

from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.tests.factories import credit_code, make_account, make_lead, qualified_lead
from salesflow.parties.models import Account, Contact
from salesflow.sales.models import Opportunity, StageChange

pytestmark = pytest.mark.django_db

READ = {
    "rep": 200,
    "teammate": 404,
    "manager": 200,
    "outsider": 404,
    "other_manager": 404,
    "assistant": 200,
    "support": 200,
    "admin": 200,
}
WRITE = {
    "rep": 200,
    "teammate": 404,
    "manager": 200,
    "outsider": 404,
    "other_manager": 404,
    "assistant": 200,
    "support": 403,
    "admin": 200,
}


def row(lead):
    return model_to_dict(Lead.objects.get(pk=lead.pk))


@pytest.mark.parametrize("who", list(READ))
def test_read_matrix(personas, api_for, who):
    lead = make_lead(owner=personas.rep)
    api = api_for(getattr(personas, who))
    response = api.get(f"/leads/{lead.pk}")
    assert response.status_code == READ[who]
    listed = api.get("/leads").json()
    assert ([item["id"] for item in listed["items"]] == [lead.pk]) is (READ[who] == 200)
    assert listed["count"] == (1 if READ[who] == 200 else 0)
    if READ[who] == 404:
        assert response.json() == {"detail": "Not found.", "code": "not_found", "errors": {}}


@pytest.mark.parametrize("who", list(WRITE))
def test_patch_matrix(personas, api_for, who):
    lead = make_lead(owner=personas.rep)
    before = row(lead)
    response = api_for(getattr(personas, who)).patch(f"/leads/{lead.pk}", {"name": "改过的名字"})
    assert response.status_code == WRITE[who]
    if WRITE[who] == 200:
        assert response.json()["name"] == "改过的名字"
    else:
        assert row(lead) == before


@pytest.mark.parametrize("who", list(WRITE))
def test_qualify_matrix(personas, api_for, who):
    lead = make_lead(owner=personas.rep)
    before = row(lead)
    response = api_for(getattr(personas, who)).post(
        f"/leads/{lead.pk}/qualify",
        {"budget_status": "yes", "authority_status": "no", "need": "CRM", "timeline": "2030-01-31"},
    )
    assert response.status_code == WRITE[who]
    if WRITE[who] == 200:
        assert response.json()["status"] == "qualified"
        assert response.json()["bant_missing"] == []
    else:
        assert row(lead) == before


@pytest.mark.parametrize("who", list(WRITE))
def test_convert_matrix(personas, api_for, who):
    lead = qualified_lead(owner=personas.rep)
    before = row(lead)
    response = api_for(getattr(personas, who)).post(f"/leads/{lead.pk}/convert", {})
    assert response.status_code == WRITE[who]
    if WRITE[who] == 200:
        body = response.json()
        opp = Opportunity.objects.get()
        assert body == {
            "lead_id": lead.pk,
            "account_id": opp.account_id,
            "account_created": True,
            "contact_id": Contact.objects.get().pk,
            "contact_created": True,
            "opportunity_id": opp.pk,
        }
    else:
        assert row(lead) == before
        assert Opportunity.objects.count() == 0 and Account.objects.count() == 0


@pytest.mark.parametrize("who", list(WRITE))
def test_delete_and_disqualify_matrix(personas, api_for, who):
    lead = make_lead(owner=personas.rep)
    before = row(lead)
    api = api_for(getattr(personas, who))
    disq = api.post(f"/leads/{lead.pk}/disqualify", {"reason": "no_need", "note": "不需要"})
    deleted = api.delete(f"/leads/{lead.pk}")
    if WRITE[who] == 200:
        assert disq.status_code == 200 and disq.json()["disqualify_reason"] == "no_need"
        assert deleted.status_code == 204
        assert not Lead.objects.filter(pk=lead.pk).exists()
    else:
        assert (disq.status_code, deleted.status_code) == (WRITE[who], WRITE[who])
        assert row(lead) == before


@pytest.mark.parametrize("who", list(READ))
def test_unassigned_visibility(personas, api_for, who):
    lead = make_lead(owner=None)
    expected = 200 if who in ("manager", "other_manager", "admin") else 404
    assert api_for(getattr(personas, who)).get(f"/leads/{lead.pk}").status_code == expected


class TestCreate:
    def test_created_201_owned_by_caller(self, personas, api_for):
        response = api_for(personas.rep).post(
            "/leads",
            {
                "name": "李雷",
                "source_channel": "referral",
                "mobile": "+86 137 0000 0000",
                "email": "LI@X.CN",
                "credit_code": credit_code().lower(),
                "budget_amount": "1000.5",
            },
        )
        assert response.status_code == 201
        body = response.json()
        assert body["owner_id"] == personas.rep.pk
        assert body["owner_name"] == "张伟"
        assert (body["mobile"], body["email"], body["status"]) == ("13700000000", "li@x.cn", "new")
        assert body["budget_amount"] == "1000.50"
        assert set(body["bant_missing"]) == {"budget", "authority", "need", "timeline"}

    def test_validation_envelope_and_nothing_written(self, personas, api_for):
        response = api_for(personas.rep).post(
            "/leads", {"name": "", "source_channel": "tv", "mobile": "999", "credit_code": "123"}
        )
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "validation_error"
        assert body["detail"] == "The lead could not be saved."
        assert set(body["errors"]) == {"name", "source_channel", "mobile", "credit_code"}
        assert not Lead.objects.exists()

    def test_schema_errors_are_400(self, personas, api_for):
        response = api_for(personas.rep).post("/leads", {"source_channel": "inbound", "budget_amount": "lots"})
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "validation_error"
        assert {"name", "budget_amount"} <= set(body["errors"])
        assert not Lead.objects.exists()

    def test_null_owner_only_for_managers(self, personas, api_for):
        payload = {"name": "公海线索", "source_channel": "inbound", "wechat": "x"}
        refused = api_for(personas.rep).post("/leads", {**payload, "owner_id": None})
        assert refused.status_code == 400 and "owner_id" in refused.json()["errors"]
        created = api_for(personas.manager).post("/leads", {**payload, "owner_id": None})
        assert created.status_code == 201 and created.json()["owner_id"] is None

    def test_owner_outside_scope_is_refused(self, personas, api_for):
        response = api_for(personas.rep).post(
            "/leads", {"name": "x", "source_channel": "inbound", "wechat": "x", "owner_id": personas.outsider.pk}
        )
        assert response.status_code == 400
        assert response.json()["errors"]["owner_id"] == ["You cannot assign leads to this user."]
        assert not Lead.objects.exists()

    def test_support_gets_403(self, personas, api_for):
        response = api_for(personas.support).post("/leads", {"name": "x", "source_channel": "inbound", "wechat": "x"})
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
        assert not Lead.objects.exists()


class TestList:
    def test_filters_sort_and_paging(self, personas, api_for):
        for name in ["Echo", "Alpha", "Delta", "Bravo", "Charlie"]:
            make_lead(owner=personas.rep, name=name)
        make_lead(owner=personas.rep, name="Zulu", status=LeadStatus.DISQUALIFIED, company_name="Omega Corp")
        api = api_for(personas.rep)
        page = api.get("/leads", sort="name", limit=2, offset=1).json()
        assert page["count"] == 6
        assert [i["name"] for i in page["items"]] == ["Bravo", "Charlie"]
        assert [i["name"] for i in api.get("/leads", status="disqualified").json()["items"]] == ["Zulu"]
        assert [i["name"] for i in api.get("/leads", q="omega").json()["items"]] == ["Zulu"]
        assert api.get("/leads", status="open").json()["count"] == 5
        assert api.get("/leads", limit=1000).status_code == 400

    def test_disqualify_reasons(self, personas, api_for):
        body = api_for(personas.rep).get("/leads/disqualify-reasons").json()
        assert body[0] == {"code": "no_need", "name": "No need", "name_en": "No need", "name_zh": "无需求"}


class TestWorkflow:
    def test_patch_validation_and_converted_conflict(self, personas, api_for):
        lead = make_lead(owner=personas.rep, email="a@b.cn")
        api = api_for(personas.rep)
        bad = api.patch(f"/leads/{lead.pk}", {"email": "nope", "mobile": ""})
        assert bad.status_code == 400 and "email" in bad.json()["errors"]
        assert Lead.objects.get(pk=lead.pk).email == "a@b.cn"
        converted = make_lead(owner=personas.rep, status=LeadStatus.CONVERTED)
        conflict = api.patch(f"/leads/{converted.pk}", {"name": "x"})
        assert conflict.status_code == 409 and conflict.json()["code"] == "converted"
        assert api.delete(f"/leads/{converted.pk}").status_code == 409

    def test_qualify_incomplete_is_400_naming_the_gaps(self, personas, api_for):
        lead = make_lead(owner=personas.rep)
        response = api_for(personas.rep).post(f"/leads/{lead.pk}/qualify", {"budget_status": "yes"})
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "bant_incomplete"
        assert set(body["errors"]) == {"authority_status", "need", "timeline"}
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW

    def test_disqualify_unknown_reason(self, personas, api_for):
        lead = make_lead(owner=personas.rep)
        response = api_for(personas.rep).post(f"/leads/{lead.pk}/disqualify", {"reason": "bored"})
        assert response.status_code == 400 and "reason" in response.json()["errors"]
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW

    def test_reopen(self, personas, api_for):
        lead = make_lead(owner=personas.rep, status=LeadStatus.DISQUALIFIED)
        assert api_for(personas.rep).post(f"/leads/{lead.pk}/reopen").json()["status"] == "contacted"

    def test_convert_with_options_and_twice(self, personas, api_for):
        account = make_account(owner=personas.rep)
        lead = qualified_lead(owner=personas.rep)
        api = api_for(personas.rep)
        response = api.post(
            f"/leads/{lead.pk}/convert",
            {
                "account_id": account.pk,
                "contact_role": "purchaser",
                "opportunity_name": "二期",
                "amount": "5000",
                "expected_close_date": "2031-12-31",
            },
        )
        assert response.status_code == 200
        body = response.json()
        assert body["account_id"] == account.pk and body["account_created"] is False
        opp = Opportunity.objects.get(pk=body["opportunity_id"])
        assert (opp.name, str(opp.amount), opp.expected_close_date) == ("二期", "5000.00", date(2031, 12, 31))
        assert StageChange.objects.filter(opportunity=opp).count() == 1
        again = api.post(f"/leads/{lead.pk}/convert", {})
        assert again.status_code == 409 and again.json()["code"] == "already_converted"
        assert Opportunity.objects.count() == 1

    def test_convert_not_qualified_is_409(self, personas, api_for):
        lead = make_lead(owner=personas.rep)
        response = api_for(personas.rep).post(f"/leads/{lead.pk}/convert", {})
        assert response.status_code == 409 and response.json()["code"] == "not_qualified"

    def test_convert_to_unseen_account_is_400(self, personas, api_for):
        foreign = make_account(owner=personas.outsider)
        lead = qualified_lead(owner=personas.rep)
        response = api_for(personas.rep).post(f"/leads/{lead.pk}/convert", {"account_id": foreign.pk})
        assert response.status_code == 400
        assert response.json()["errors"] == {"account_id": ["Unknown account."]}
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.QUALIFIED

    def test_convert_negative_amount_writes_nothing(self, personas, api_for):
        lead = qualified_lead(owner=personas.rep)
        response = api_for(personas.rep).post(f"/leads/{lead.pk}/convert", {"amount": "-1"})
        assert response.status_code == 400 and "amount" in response.json()["errors"]
        assert (Account.objects.count(), Contact.objects.count(), Opportunity.objects.count()) == (0, 0, 0)
