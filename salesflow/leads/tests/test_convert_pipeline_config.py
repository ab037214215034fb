"""Lead conversion survives pipeline configuration changes (issue 5, part "pipeline")."""

from __future__ import annotations

import pytest

from salesflow.core.errors import ValidationFailed
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_convert
from salesflow.leads.tests.factories import qualified_lead
from salesflow.sales.models import Opportunity, Pipeline

pytestmark = pytest.mark.django_db


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
