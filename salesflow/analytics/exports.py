"""Each report as a registered list (``core.exports.register_list``), so ``users.SavedView``
(the saved-views picker) saves and reopens a report's filters and dimension by name.

The list key is ``report_<name>``, its URL the report page, its parameters the analysis
filters and ``dimension``. ``build`` returns the *records behind* the report (won deals,
lost or closed deals, activities done) for the same filters, through the reader's
visibility policy, so the generic list export (``/exports/``) of a report key exports those
records; the report's own table is exported by ``analytics:export``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.utils.translation import gettext_lazy as _

from salesflow.analytics.forms import PARAMS, ReportFilterForm
from salesflow.analytics.reports import REPORTS, report_records
from salesflow.core.exports import Column, ListSpec, model_label
from salesflow.users.models import User

LIST_PREFIX = "report_"


def _records(name: str) -> Any:
    def build(user: User, params: QueryDict) -> QuerySet[Any]:
        report = REPORTS[name]
        form = ReportFilterForm(params, user=user, dimensions=report.dimensions)
        if not form.is_valid():
            form = ReportFilterForm({}, user=user, dimensions=report.dimensions)
            form.is_valid()
        try:
            analysis = form.analysis()
        except Http404:
            return _visible(report.record_kind, user).none()
        qs = report_records(name, analysis, form.cleaned_data["dimension"])
        visible = _visible(report.record_kind, user)
        return qs.filter(pk__in=visible.values("pk")).select_related("owner").order_by("pk")

    return build


def _visible(kind: str, user: User) -> QuerySet[Any]:
    if kind == "activity":
        from salesflow.activities.permissions import activities_visible_to

        return activities_visible_to(user)
    from salesflow.sales.permissions import opportunities_visible_to

    return opportunities_visible_to(user)


DEAL_COLUMNS = [
    Column("id", _("ID"), lambda o: o.pk),
    Column("name", _("Name"), lambda o: o.name),
    Column("owner", _("Owner"), lambda o: model_label(o.owner)),
    Column("outcome", _("Outcome"), lambda o: o.outcome),
    Column("amount", _("Amount"), lambda o: o.amount),
    Column("currency", _("Currency"), lambda o: o.currency),
    Column("closed_on", _("Close date"), lambda o: o.closed_on),
]
ACTIVITY_COLUMNS = [
    Column("id", _("ID"), lambda a: a.pk),
    Column("subject", _("Subject"), lambda a: a.subject),
    Column("kind", _("Type"), lambda a: a.kind),
    Column("owner", _("Owner"), lambda a: model_label(a.owner)),
    Column("done_at", _("Done at"), lambda a: a.done_at),
]


def register_report_lists() -> None:
    from salesflow.activities.choices import ActivityKind
    from salesflow.core.exports import register_list
    from salesflow.sales.choices import Outcome

    for name, report in REPORTS.items():
        columns = ACTIVITY_COLUMNS if report.record_kind == "activity" else DEAL_COLUMNS
        columns = [
            Column(c.key, c.label, c.get, choices=ActivityKind.choices if c.key == "kind" else Outcome.choices)
            if c.key in ("kind", "outcome")
            else c
            for c in columns
        ]
        register_list(
            ListSpec(
                key=f"{LIST_PREFIX}{name}",
                label=report.title,
                url_name=f"analytics:{name}",
                params=frozenset({*PARAMS, "dimension"}),
                build=_records(name),
                columns=columns,
            )
        )
