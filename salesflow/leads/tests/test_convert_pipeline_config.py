"""Lead conversion survives pipeline configuration changes (issue 5, part "pipeline")."""

from __future__ import annotations

import pytest
from django.utils import translation

from salesflow.core.errors import ValidationFailed
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.selectors import open_stages
from salesflow.leads.services import lead_convert
from salesflow.leads.tests.factories import qualified_lead
from salesflow.sales.config_services import stage_update
from salesflow.sales.models import Opportunity, Pipeline, Stage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def test_convert_without_default_row_uses_an_active_pipeline(personas):
    Pipeline.objects.update(is_default=False)
    result = lead_convert(actor=personas.rep, lead=qualified_lead(owner=personas.rep))
    assert result.opportunity is not None
    assert result.opportunity.pipeline.code == "b2b"


def test_convert_without_active_pipeline_is_a_validation_error(personas):
    Pipeline.objects.update(is_active=False)
    lead = qualified_lead(owner=personas.rep)
    with pytest.raises(ValidationFailed) as exc:
        lead_convert(actor=personas.rep, lead=lead)
    assert exc.value.field_errors == {"pipeline": ["No active pipeline."]}
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.QUALIFIED
    assert not Opportunity.objects.exists()


def test_hidden_stages_are_not_offered_and_refused(personas):
    needs = Stage.objects.get(pipeline__code="b2b", code="needs")
    stage_update(actor=personas.admin, stage=needs, is_active=False)
    assert "needs" not in [s.code for s in open_stages()]
    lead = qualified_lead(owner=personas.rep)
    with pytest.raises(ValidationFailed) as exc:
        lead_convert(actor=personas.rep, lead=lead, stage=needs)
    assert exc.value.field_errors == {"stage": ["This stage is hidden and takes no deals."]}
    assert not Opportunity.objects.exists()
