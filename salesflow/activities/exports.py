"""The activity list as an export and saved view (``core.exports``): rows built with the list
page's own filter form and selector; record filters (``lead``, ``account``, ``contact``,
``opportunity``) pass the same access functions as on the page (an unseen record → no rows)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.utils.translation import gettext_lazy as _

from salesflow.activities.choices import ActivityKind
from salesflow.activities.forms import ActivityFilterForm
from salesflow.activities.models import Activity
from salesflow.activities.selectors import activity_list, normalize_sort
from salesflow.core.exports import Column, ListSpec
from salesflow.leads.permissions import get_lead_for_user
from salesflow.parties.permissions import get_account_for_user, get_contact_for_user
from salesflow.sales.permissions import get_opportunity_for_user
from salesflow.users.models import User

LINK_PARAMS = ("lead", "account", "contact", "opportunity")
_GETTERS: dict[str, Any] = {
    "lead": get_lead_for_user,
    "account": get_account_for_user,
    "contact": get_contact_for_user,
    "opportunity": get_opportunity_for_user,
}


def activity_rows(user: User, params: QueryDict) -> QuerySet[Activity]:
    """What ``activities:list`` shows for ``params``."""
    links: dict[str, Any] = {}
    for name in LINK_PARAMS:
        if value := params.get(name, "").strip():
            try:
                links[name] = _GETTERS[name](user, value).pk
            except (Http404, ValueError):
                return Activity.objects.none()
    form = ActivityFilterForm(params or None, user=user)
    sort = normalize_sort(params.get("sort", ""))
    return activity_list(user, **form.filters(), sort=sort, **links)


ACTIVITY_COLUMNS = [
    Column("id", _("ID"), lambda a: a.pk),
    Column("kind", _("Type"), lambda a: a.kind, ActivityKind.choices),
    Column("subject", _("Subject"), lambda a: a.subject),
    Column("due_at", _("Due"), lambda a: a.due_at),
    Column("done", _("Done"), lambda a: a.done),
    Column("done_at", _("Done at"), lambda a: a.done_at),
    Column("owner", _("Owner"), lambda a: str(a.owner) if a.owner_id else ""),
    Column("account", _("Account"), lambda a: a.account.name if a.account_id else ""),
    Column("contact", _("Contact"), lambda a: a.contact.name if a.contact_id else ""),
    Column("opportunity", _("Opportunity"), lambda a: a.opportunity.name if a.opportunity_id else ""),
    Column("lead", _("Lead"), lambda a: a.lead.name if a.lead_id else ""),
    Column("outcome", _("Outcome"), lambda a: a.outcome),
]


def register() -> None:
    from salesflow.core.exports import register_list

    register_list(
        ListSpec(
            key="activities",
            label=_("Activities"),
            url_name="activities:list",
            params=frozenset(ActivityFilterForm.base_fields) | frozenset(LINK_PARAMS),
            build=activity_rows,
            columns=ACTIVITY_COLUMNS,
        )
    )
