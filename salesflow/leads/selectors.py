"""Reads for leads: the filtered, visible, sorted list and the lookups the pages need.

Every queryset here starts from ``leads_visible_to`` (or the parties/sales access functions)
and loads what the templates and API schemas read, so rendering never queries per row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.functional import Promise

from salesflow.core.normalize import normalize_credit_code, normalize_phone
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import DisqualifyReason, Lead
from salesflow.leads.permissions import leads_visible_to
from salesflow.parties.models import Account
from salesflow.parties.permissions import (
    accounts_visible_to,
    accounts_writable_by,
    can_write_account,
    contacts_visible_to,
)
from salesflow.sales.choices import StageKind
from salesflow.sales.models import Stage
from salesflow.sales.permissions import opportunities_visible_to
from salesflow.search.selectors import filter_by_search
from salesflow.users.models import User
from salesflow.users.permissions import visible_owner_ids

# Public sort keys → ascending ``order_by``; each is served by an index on ``Lead``
# (lead_created_idx, lead_name_idx, lead_company_idx, lead_status_created_idx).
LEAD_SORTS: dict[str, Sequence[str]] = {
    "created": ("created_at", "id"),
    "name": ("name", "id"),
    "company": ("company_name", "id"),
    "status": ("status", "created_at"),
    "score": ("score", "id"),  # lead_score_idx (issue 8: the rule score, mirrored by scoring)
}
DEFAULT_LEAD_SORT = "-created"

OWNER_ME = "me"
OWNER_NONE = "none"


def lead_order(sort: str | None) -> tuple[str, list[str]]:
    """``sort`` (``name`` or ``-name``) checked against ``LEAD_SORTS`` → (key, order_by).

    Unknown keys fall back to ``DEFAULT_LEAD_SORT``.
    """
    key = sort or DEFAULT_LEAD_SORT
    desc = key.startswith("-")
    base = key.lstrip("-")
    if base not in LEAD_SORTS:
        key, desc, base = DEFAULT_LEAD_SORT, True, DEFAULT_LEAD_SORT.lstrip("-")
    fields = [("-" + f if desc else f) for f in LEAD_SORTS[base]]
    return key, fields


def lead_search_q(q: str) -> Q:
    """Name, company, email or phone containing ``q`` (phones compared normalised)."""
    q = q.strip()
    cond = Q(name__icontains=q) | Q(company_name__icontains=q) | Q(email__icontains=q.lower())
    digits = normalize_phone(q)
    if len(digits) >= 3 and digits.lstrip("+").isdigit():
        cond |= Q(mobile__contains=digits) | Q(phone__contains=digits)
    code = normalize_credit_code(q)
    if len(code) == 18:
        cond |= Q(credit_code=code)
    return cond


@dataclass(frozen=True)
class LeadListFilter:
    """A filter of the lead list contributed by an app above this one (the routing app's
    first-response SLA, ``sla``). ``choices`` are ``(value, label)`` pairs; ``apply`` narrows
    the list for one of those values and must return ``qs.none()`` for any other value, so
    a typo never widens a list. The page, the export and the API (``GET /leads?sla=``) use it."""

    param: str
    label: str | Promise
    choices: Callable[[], list[tuple[str, str]]]
    apply: Callable[[QuerySet[Lead], str], QuerySet[Lead]]


_LIST_FILTERS: dict[str, LeadListFilter] = {}


def register_lead_list_filter(extra: LeadListFilter) -> None:
    """Add (or replace) a lead-list filter; called from an app's ``ready``."""
    _LIST_FILTERS[extra.param] = extra


def lead_list_filters() -> list[LeadListFilter]:
    return list(_LIST_FILTERS.values())


def lead_list(
    user: User,
    *,
    q: str = "",
    status: str = "",
    source_channel: str = "",
    owner: str | int | None = None,
    sort: str | None = None,
    stage: str = "",
    extra: Mapping[str, str] | None = None,
) -> QuerySet[Lead]:
    """Leads ``user`` may see, filtered and sorted, with owner and region loaded.

    ``owner`` is a user id, ``"me"`` or ``"none"`` (unassigned); ``status`` also accepts
    ``"open"`` (new, contacted or qualified); ``extra`` holds the values of the registered
    ``LeadListFilter`` s by parameter (an unregistered parameter matches nothing). Unknown
    filter values match nothing rather than being ignored, so a typo never widens a list.
    """
    qs = leads_visible_to(user).select_related("owner", "region")
    qs = filter_by_search(qs, "lead", q)  # name, company, mobile, phone, email, credit code: the index
    if status == "open":
        qs = qs.filter(status__in=[LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED])
    elif status:
        qs = qs.filter(status=status)
    if source_channel:
        qs = qs.filter(source_channel=source_channel)
    if stage:  # mql or sql (issue 8: hand-off); anything else matches nothing
        qs = qs.filter(stage=stage)
    if owner == OWNER_ME:
        qs = qs.filter(owner_id=user.pk)
    elif owner == OWNER_NONE:
        qs = qs.filter(owner__isnull=True)
    elif owner not in (None, ""):
        try:
            qs = qs.filter(owner_id=int(str(owner)))
        except ValueError:
            qs = qs.none()
    for param, value in (extra or {}).items():
        if value:
            registered = _LIST_FILTERS.get(param)
            qs = registered.apply(qs, value) if registered is not None else qs.none()
    _key, order = lead_order(sort)
    return qs.order_by(*order)


def lead_owner_choices(user: User) -> QuerySet[User]:
    """People whose leads ``user`` can see, for the list's owner filter."""
    ids = visible_owner_ids(user)
    qs = User.objects.filter(is_active=True).only("id", "username", "display_name", "first_name", "last_name")
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.order_by("display_name", "username")


def disqualify_reasons() -> QuerySet[DisqualifyReason]:
    """Active disqualify reasons in their configured order."""
    return DisqualifyReason.objects.filter(is_active=True).order_by("position", "id")


def writable_accounts_for(user: User) -> QuerySet[Account]:
    """Accounts ``user`` may add contacts and deals to (targets for linking a lead)."""
    return accounts_writable_by(user).select_related("owner").order_by("name", "id")


def account_suggestions(user: User, lead: Lead, *, q: str = "", limit: int = 20) -> list[Account]:
    """Writable accounts to offer when converting ``lead``: those matching ``q`` (name or credit
    code), else those matching the lead's credit code or company name."""
    qs = writable_accounts_for(user)
    term = q.strip()
    if term:
        code = normalize_credit_code(term)
        cond = Q(name__icontains=term)
        if len(code) == 18:
            cond |= Q(credit_code=code)
        return list(qs.filter(cond)[:limit])
    cond = Q(pk__in=[])
    if lead.credit_code:
        cond |= Q(credit_code=lead.credit_code)
    if lead.company_name.strip():
        cond |= Q(name__icontains=lead.company_name.strip())
    return list(qs.filter(cond)[:limit])


def matching_account_for(user: User, lead: Lead) -> tuple[Account | None, bool]:
    """The account with the lead's credit code and whether ``user`` may link to it.

    Callers must not show the account when the flag is false (it belongs to someone else).
    """
    account = matching_account(lead)
    if account is None:
        return None, False
    usable = accounts_visible_to(user).filter(pk=account.pk).exists() and can_write_account(user, account)
    return account, usable


def open_stages() -> QuerySet[Stage]:
    """Active open stages of active pipelines, grouped by pipeline, for the convert form."""
    return (
        Stage.objects.filter(kind=StageKind.OPEN, is_active=True, pipeline__is_active=True)
        .select_related("pipeline")
        .order_by("pipeline__position", "pipeline_id", "position")
    )


def lead_detail_links(lead: Lead, user: User | None = None) -> Lead:
    """Load the records a converted lead points at (three joins in one query).

    With ``user``, a record the reader may not read is left out (``None``), so the
    converted-lead card never names it: the deal may have been given to someone else.
    """
    if lead.status != LeadStatus.CONVERTED:
        return lead
    qs = Lead.objects.select_related("converted_account", "converted_contact", "converted_opportunity")
    if user is not None:
        qs = qs.annotate(
            sees_account=Exists(accounts_visible_to(user).filter(pk=OuterRef("converted_account_id"))),
            sees_contact=Exists(contacts_visible_to(user).filter(pk=OuterRef("converted_contact_id"))),
            sees_opportunity=Exists(opportunities_visible_to(user).filter(pk=OuterRef("converted_opportunity_id"))),
        )
    loaded = qs.get(pk=lead.pk)
    visible = {
        name: user is None or bool(getattr(loaded, f"sees_{name}")) for name in ("account", "contact", "opportunity")
    }
    lead.converted_account = loaded.converted_account if visible["account"] else None
    lead.converted_contact = loaded.converted_contact if visible["contact"] else None
    lead.converted_opportunity = loaded.converted_opportunity if visible["opportunity"] else None
    return lead


def matching_account(lead: Lead) -> Account | None:
    """The account (any owner) that has the lead's normalised credit code, if one exists."""
    code = normalize_credit_code(lead.credit_code)
    if not code:
        return None
    return Account.objects.filter(credit_code=code).select_related("owner").first()


# --- the account page's leads panel ----------------------------------------------------------


def account_leads_q(account: Account) -> Q:
    """Leads that concern ``account``: converted into it, or — not converted — naming the same
    company (normalised credit code, or company-name key). The rule of
    ``activities.services._lead_related_to`` (which activities may link), as a filter."""
    same_company = Q(pk__in=[])
    if account.credit_code:
        same_company |= Q(credit_code=account.credit_code)
    if account.name_key:
        same_company |= Q(company_key=account.name_key)
    return Q(converted_account_id=account.pk) | (Q(converted_account__isnull=True) & same_company)


def leads_for_account(user: User, account: Account) -> QuerySet[Lead]:
    """The visible leads of ``account`` (``account_leads_q``), newest first, with their owner.
    Served by the converted-account foreign key index, lead_company_key_idx and
    lead_credit_code_idx."""
    return (
        leads_visible_to(user).filter(account_leads_q(account)).select_related("owner").order_by("-created_at", "-id")
    )
