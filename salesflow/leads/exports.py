"""The lead list as an export and saved view (``core.exports``): rows built exactly as the
list page builds them (same parameters, selector and sort), so an export applies the list's
filter, sort and visibility."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.exports import Column, ListSpec
from salesflow.leads.choices import LeadStage, LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.selectors import lead_list, lead_list_filters, lead_order
from salesflow.parties.choices import SourceChannel
from salesflow.tags.selectors import parse_tag_id, tag_step
from salesflow.users.models import User

#: The list page's query-string parameters (``channel`` is the source channel).
LEAD_PARAMS = frozenset({"q", "status", "channel", "owner", "tag", "stage", "sla"})  # sla: routing's filter


def lead_rows(user: User, params: QueryDict) -> QuerySet[Lead]:
    """What ``leads:list`` shows for ``params``."""
    sort_key, _order = lead_order(params.get("sort"))
    rows = lead_list(
        user,
        sort=sort_key,
        q=params.get("q", "").strip(),
        status=params.get("status", ""),
        source_channel=params.get("channel", ""),
        owner=params.get("owner", ""),
        stage=params.get("stage", ""),
        extra={f.param: params.get(f.param, "")[:40] for f in lead_list_filters()},
    )
    return tag_step(rows, parse_tag_id(params.get("tag")))  # salesflow.tags


LEAD_COLUMNS = [
    Column("id", _("ID"), lambda lead: lead.pk),
    Column("name", pgettext_lazy("person", "Name"), lambda lead: lead.name),
    Column("company", _("Company"), lambda lead: lead.company_name),
    Column("title", _("Position"), lambda lead: lead.title),
    Column("mobile", _("Mobile"), lambda lead: lead.mobile),
    Column("email", _("Email"), lambda lead: lead.email),
    Column("status", _("Status"), lambda lead: lead.status, LeadStatus.choices),
    Column("stage", _("Stage"), lambda lead: lead.stage, LeadStage.choices),
    Column("score", _("Lead score"), lambda lead: lead.score),
    Column("source_channel", _("Source channel"), lambda lead: lead.source_channel, SourceChannel.choices),
    Column("owner", _("Owner"), lambda lead: str(lead.owner) if lead.owner_id else ""),
    Column("created_at", _("Created"), lambda lead: lead.created_at),
]


def register() -> None:
    from salesflow.core.exports import register_list

    register_list(
        ListSpec(
            key="leads",
            label=_("Leads"),
            url_name="leads:list",
            params=LEAD_PARAMS,
            build=lead_rows,
            columns=LEAD_COLUMNS,
        )
    )
