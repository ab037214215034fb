"""The opportunity list as an export and saved view (``core.exports``): rows built with the
list page's own filter form and selector, so an export applies exactly the list's filter,
sort and visibility."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from salesflow.core.exports import Column, ListSpec
from salesflow.sales.choices import Outcome
from salesflow.sales.forms import OpportunityFilterForm
from salesflow.sales.models import Opportunity
from salesflow.sales.selectors import (
    active_pipelines,
    active_stages,
    opportunity_list,
    opportunity_totals,
    order_by_for,
)
from salesflow.tags.selectors import parse_tag_id, tag_step
from salesflow.users.models import User

#: Query-string parameters of the list page besides the form's fields.
EXTRA_PARAMS = frozenset({"account"})


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def opportunity_rows(user: User, params: QueryDict) -> QuerySet[Opportunity]:
    """What ``opportunities:list`` shows for ``params`` (same form, selector and sort)."""
    form = OpportunityFilterForm(params or None, user=user, stages=active_stages(), pipelines=active_pipelines())
    filters: dict[str, Any] = form.values() if params else {}
    sort_key, _fields = order_by_for(params.get("sort"))
    rows = opportunity_list(
        user,
        q=filters.get("q"),
        stage=filters.get("stage") or None,
        outcome=filters.get("outcome") or None,
        owner=_int_or_none(filters.get("owner")),
        account=_int_or_none(params.get("account")),
        pipeline=filters.get("pipeline") or None,
        close_from=filters.get("close_from"),
        close_to=filters.get("close_to"),
        overdue=bool(filters.get("overdue")),
        stalled=bool(filters.get("stalled")),
        sort=sort_key,
    )
    return tag_step(rows, parse_tag_id(params.get("tag")))  # salesflow.tags


_USER_FIELDS = ("username", "display_name", "first_name", "last_name", "is_active", "password")


def opportunity_export_columns(qs: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
    """Only the exported columns (loading whole deals with six relations is most of an export's time)."""
    return (
        qs.select_related(None)
        .select_related("account", "owner", "pipeline", "stage")
        .only(
            "id",
            "name",
            "outcome",
            "amount",
            "currency",
            "probability",
            "expected_close_date",
            "created_at",
            "account__name",
            "pipeline__name_en",
            "pipeline__name_zh",
            "stage__name_en",
            "stage__name_zh",
            *(f"owner__{name}" for name in _USER_FIELDS),
        )
    )


def opportunity_summary(qs: QuerySet[Opportunity]) -> dict[str, Any]:
    """Count, Σ amount and weighted Σ of the filtered deals in the company currency."""
    return {"totals": opportunity_totals(qs)}


OPPORTUNITY_COLUMNS = [
    Column("id", _("ID"), lambda o: o.pk),
    Column("name", _("Name"), lambda o: o.name),
    Column("account", _("Account"), lambda o: o.account.name),
    Column("pipeline", _("Pipeline"), lambda o: o.pipeline.label),
    Column("stage", _("Stage"), lambda o: o.stage.label),
    Column("outcome", _("Outcome"), lambda o: o.outcome, Outcome.choices),
    Column("amount", _("Amount"), lambda o: o.amount),
    Column("currency", _("Currency"), lambda o: o.currency),
    Column("probability", _("Probability (%)"), lambda o: o.probability),
    Column("expected_close_date", _("Expected close date"), lambda o: o.expected_close_date),
    Column("owner", _("Owner"), lambda o: str(o.owner) if o.owner_id else ""),
    Column("created_at", _("Created"), lambda o: o.created_at),
]


def register() -> None:
    from salesflow.core.exports import register_list

    register_list(
        ListSpec(
            key="opportunities",
            label=_("Opportunities"),
            url_name="opportunities:list",
            params=frozenset(OpportunityFilterForm.base_fields) | EXTRA_PARAMS,
            build=opportunity_rows,
            columns=OPPORTUNITY_COLUMNS,
            summary=opportunity_summary,
            narrow=opportunity_export_columns,
        )
    )
