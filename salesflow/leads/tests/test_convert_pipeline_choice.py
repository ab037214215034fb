"""Lead conversion chooses the deal's pipeline among those the owner's team uses (form, API, service)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from salesflow.leads.services import lead_convert
from salesflow.leads.tests.factories import make_lead
from salesflow.sales.config_services import pipeline_set_teams, pipeline_update
from salesflow.sales.models import Pipeline

pytestmark = pytest.mark.django_db


def turn_on(personas, code: str) -> Pipeline:  # type: ignore[no-untyped-def]
    pipeline = Pipeline.objects.get(code=code)
    pipeline_update(actor=personas.admin, pipeline=pipeline, is_active=True)
    return pipeline


def test_conversion_chooses_the_pipeline(personas, client_for, api_for):
    loan = turn_on(personas, "personal-loan")
    pipeline_set_teams(actor=personas.admin, pipeline=loan, teams=[personas.team_a])
    lead = make_lead(owner=personas.rep, status="qualified", company_name="贷款客户甲")
    result = lead_convert(actor=personas.rep, lead=lead, pipeline=loan)
    assert result.opportunity is not None and result.opportunity.stage.code == "intake"
    # the form
    lead2 = make_lead(owner=personas.rep, status="qualified", company_name="贷款客户乙")
    page = client_for(personas.rep).get(reverse("leads:convert", args=[lead2.pk])).content.decode()
    assert "Personal-loan sales" in page
    response = client_for(personas.rep).post(
        reverse("leads:convert", args=[lead2.pk]),
        {"account_mode": "new", "contact_role": "user", "create_opportunity": "on", "pipeline": loan.pk},
    )
    assert response.status_code == 302
    lead2.refresh_from_db()
    assert lead2.converted_opportunity is not None and lead2.converted_opportunity.pipeline == loan
    # the API; another team's pipeline is a 400 on "pipeline"
    pipeline_set_teams(actor=personas.admin, pipeline=loan, teams=[personas.team_b])
    lead3 = make_lead(owner=personas.rep, status="qualified", company_name="贷款客户丙")
    response = api_for(personas.rep).post(f"/leads/{lead3.pk}/convert", {"pipeline": "personal-loan"})
    assert response.status_code == 400 and "pipeline" in response.json()["errors"]
    lead3.refresh_from_db()
    assert lead3.status == "qualified"
