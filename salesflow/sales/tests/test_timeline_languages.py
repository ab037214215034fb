"""Timeline summaries are stored in every UI language, so a deal's history reads in the
reader's language, not in the language of whoever made the change."""

from __future__ import annotations

import pytest
from django.utils import translation

from salesflow.core.models import AuditEvent
from salesflow.sales.models import LostReason
from salesflow.sales.services import opportunity_close, opportunity_move_stage
from salesflow.sales.tests.factories import make_opportunity, stage

pytestmark = pytest.mark.django_db


def test_stage_change_summary_in_both_languages_and_shown_in_the_readers(personas, client_for):
    opp = make_opportunity(personas.rep)
    with translation.override("zh-hans"):  # a Chinese-speaking rep makes the change
        opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("qualification"))
    event = AuditEvent.objects.get(verb="sales.opportunity.stage_changed", target_id=opp.pk)
    assert event.data["summary"] == {
        "zh-hans": "潜在客户与初次接触 → 资格确认（BANT）",
        "en": "Prospect & first contact → Qualification (BANT)",
    }
    english = client_for(personas.manager, language="en").get(f"/opportunities/{opp.pk}/").content.decode()
    assert "Prospect &amp; first contact → Qualification (BANT)" in english
    chinese = client_for(personas.manager, language="zh-hans").get(f"/opportunities/{opp.pk}/").content.decode()
    assert "潜在客户与初次接触 → 资格确认（BANT）" in chinese


def test_lost_summary_names_the_reason_in_each_language(personas):
    opp = make_opportunity(personas.rep)
    with translation.override("en"):
        opportunity_close(
            actor=personas.rep,
            opportunity=opp,
            outcome="lost",
            lost_reason=LostReason.objects.get(code="price"),
            note="预算被砍",
        )
    event = AuditEvent.objects.get(verb="sales.opportunity.lost", target_id=opp.pk)
    assert event.data["summary"] == {"zh-hans": "价格过高 · 预算被砍", "en": "Price too high · 预算被砍"}
