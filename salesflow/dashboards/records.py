"""The records behind a figure (issue 10 item 5 drill-down): the rows a chart's bar or slice
counts, narrowed to what the reader may see.

``figure`` names a registry metric (``won_deals``, ``activities``…, whose ``records(query)``
the figure counts) or one of the dashboard's own figures: ``open_deals`` (open deals of the
node's current members, optionally of one ``stage``) and ``entered_stage`` (deals created in
the period that entered ``stage``). Extra narrowing: ``day_from``/``day_to`` (inside the
period's metric days), ``owner`` (one person of the node), ``activity_kind``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from salesflow.activities.choices import ActivityKind
from salesflow.activities.permissions import activities_visible_to
from salesflow.analytics.forms import AnalysisFilters
from salesflow.analytics.selectors import analysis_pipeline, closed_deals_qs, open_deals_qs, stage_entries_qs
from salesflow.billing.permissions import payments_visible_to
from salesflow.catalogue.models import OpportunityLine
from salesflow.core.metrics import FactQuery, OwnerWindow, get_metric
from salesflow.dashboards.charts import fact_query
from salesflow.parties.choices import SourceChannel
from salesflow.parties.permissions import accounts_visible_to
from salesflow.sales.models import Opportunity, StageChange
from salesflow.sales.permissions import opportunities_visible_to
from salesflow.users.models import User

OWN_FIGURES = {"open_deals": "opportunity", "entered_stage": "opportunity", "closed_deals": "opportunity"}
#: ``group`` narrowing of a report row (``<dimension>:<key>``, an empty key = not set) → how
#: the row's deals are told apart; activities only by ``owner`` and days
GROUPS = ("customer", "region", "source", "product", "product_line", "no_lines", "lost_reason", "lost_to", "competitor")


class RecordsForm(forms.Form):
    """The drill-down parameters besides the analysis filters."""

    metric = forms.CharField(max_length=40)
    day_from = forms.DateField(required=False)
    day_to = forms.DateField(required=False)
    owner = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    stage = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    activity_kind = forms.ChoiceField(required=False, choices=[("", ""), *ActivityKind.choices])
    group = forms.CharField(required=False, max_length=60)

    def clean_group(self) -> tuple[str, str] | None:
        raw = str(self.cleaned_data.get("group") or "").strip()
        if not raw:
            return None
        dimension, sep, key = raw.partition(":")
        valid = sep and dimension in GROUPS
        if valid and dimension == "source":
            valid = key == "" or key in SourceChannel.values
        elif valid and dimension == "no_lines":
            valid = key == ""
        elif valid:
            valid = key == "" or (key.isdigit() and 0 < int(key) < 2**31)
        if not valid:
            raise forms.ValidationError(_("Unknown row."), code="group")
        return dimension, key

    def clean_metric(self) -> str:
        key = str(self.cleaned_data["metric"]).strip()
        if key in OWN_FIGURES:
            return key
        try:
            get_metric(key)
        except KeyError:
            raise forms.ValidationError(_("Unknown figure."), code="metric") from None
        return key


@dataclass
class Behind:
    kind: str  # opportunity, activity, payment, account
    label: str
    qs: QuerySet[Any]


def visible(kind: str, user: User) -> QuerySet[Any]:
    if kind == "opportunity":
        return opportunities_visible_to(user)
    if kind == "activity":
        return activities_visible_to(user)
    if kind == "payment":
        return payments_visible_to(user)
    if kind == "account":
        return accounts_visible_to(user)
    raise ValueError(kind)


def group_q(dimension: str, key: str) -> Q:
    """The deals of one report row: ``key`` the row's id (empty: the "not set" row)."""
    if dimension == "no_lines":
        return Q(lines__isnull=True)
    if dimension in ("product", "product_line"):
        field = "product_id" if dimension == "product" else "product__category_id"
        lines = OpportunityLine.objects.filter(opportunity_id=OuterRef("pk"))
        lines = lines.filter(Q(**{f"{field}__isnull": True}) if key == "" else Q(**{field: int(key)}))
        return Q(Exists(lines))
    if dimension == "source":
        return Q(account__source=key)
    if dimension == "competitor":
        through = Opportunity.competitors.through
        return Q(Exists(through.objects.filter(opportunity_id=OuterRef("pk"), competitor_id=int(key or 0))))
    field = {
        "customer": "account_id",
        "region": "account__region_id",
        "lost_reason": "lost_reason_id",
        "lost_to": "lost_to_id",
    }[dimension]
    return Q(**{f"{field}__isnull": True}) if key == "" else Q(**{field: int(key)})


def records_behind(user: User, a: AnalysisFilters, params: dict[str, Any], today: date) -> Behind:
    """The records behind the figure ``params['metric']`` for the node and filters of ``a``."""
    key = params["metric"]
    if key == "open_deals":
        qs: QuerySet[Any] = open_deals_qs(a)
        if params.get("stage"):
            qs = qs.filter(stage_id=params["stage"])
        kind, label = "opportunity", str(_("Open deals"))
    elif key == "entered_stage":
        pipeline = analysis_pipeline(a)
        entries = stage_entries_qs(a, pipeline) if pipeline is not None else StageChange.objects.none()
        if params.get("stage"):
            entries = entries.filter(to_stage_id=params["stage"])
        qs = Opportunity.objects.filter(pk__in=entries.values("opportunity_id"))
        kind, label = "opportunity", str(_("Deals entered the stage"))
    else:
        metric = get_metric("won_deals" if key == "closed_deals" else key)
        # a bar's own days (a month of the won/lost chart may lie before the period), same node
        start = params.get("day_from") or a.period.start
        end = params.get("day_to") or a.period.end
        query = fact_query(a, start, end)
        if params.get("owner"):
            windows = query.windows
            owner = params["owner"]
            if windows is None:
                windows = (OwnerWindow(owner, start, end),)
            else:
                windows = tuple(w for w in windows if w.owner_id == owner)
            query = FactQuery(start=query.start, end=query.end, windows=windows, filters=query.filters)
        qs = cast(QuerySet[Any], closed_deals_qs(query)) if key == "closed_deals" else metric.records(query)
        if params.get("activity_kind") and metric.record_kind == "activity":
            qs = qs.filter(kind=params["activity_kind"])
        kind, label = metric.record_kind, str(_("Closed deals") if key == "closed_deals" else metric.label)
    if params.get("group") and kind == "opportunity":
        qs = qs.filter(group_q(*params["group"]))
    return Behind(kind=kind, label=label, qs=qs.filter(pk__in=visible(kind, user).values("pk")))
