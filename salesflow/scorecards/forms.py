"""Forms of ``salesflow.scorecards``: the analysis filters (``analytics.forms``) plus the gap
of funnel math, and the appraisal form."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.analytics.forms import AnalysisFilterForm, AnalysisFilters
from salesflow.core.errors import ValidationFailed
from salesflow.core.money import AmountError, parse_amount
from salesflow.scorecards.choices import Rating
from salesflow.scorecards.models import COMMENT_MAX_LENGTH
from salesflow.users.models import User


def analysis_or_error(data: Mapping[str, Any], user: User) -> tuple[AnalysisFilterForm, AnalysisFilters]:
    """The cleaned analysis filters; ``ValidationFailed`` naming each bad field (``Http404``
    for a node ``user`` may not see)."""
    form = AnalysisFilterForm(
        {
            k: data.get(k)
            for k in ("period", "node", "pipeline", "product_line", "region", "source")
            if data.get(k) is not None
        },
        user=user,
    )
    if not form.is_valid():
        raise ValidationFailed(
            str(_("Check the filters.")), field_errors={k: [str(e) for e in v] for k, v in form.errors.items()}
        )
    return form, form.analysis()


def parse_gap(value: Any) -> Decimal | None:
    """The gap typed for funnel math (company currency, ≥ 0); ``None`` when empty;
    ``ValidationFailed`` on ``gap`` otherwise."""
    if value is None or value == "":
        return None
    try:
        return parse_amount(value)
    except (AmountError, ValueError):
        raise ValidationFailed(
            str(_("Check the filters.")),
            field_errors={"gap": [str(_("Enter an amount such as 500000 or 500000.00."))]},
        ) from None


class AppraisalForm(forms.Form):
    rating = forms.ChoiceField(label=_("Rating"), choices=Rating.choices)
    comment = forms.CharField(
        label=_("Manager's comment"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
