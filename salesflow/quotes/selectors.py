"""Reads of quotes: the list (filters, sorts, keyset pages), a quote's versions and
lines, a deal's quotes, the company profile. Query shape lives here; templates and
schemas never trigger queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from salesflow.quotes.models import CompanyProfile, Quote, QuoteLine, QuoteStatus, QuoteVersion
from salesflow.quotes.permissions import quotes_visible_to
from salesflow.users.models import User

PAGE_SIZE = 25

#: sort key → ordering (each served by an index on Quote; ``id`` breaks ties)
SORTS: dict[str, list[str]] = {
    "-created": ["-created_at", "-id"],
    "created": ["created_at", "id"],
    "-total": ["-total", "-id"],
    "total": ["total", "id"],
    "number": ["number", "id"],
    "-number": ["-number", "-id"],
}


@dataclass(frozen=True)
class QuoteFilters:
    status: str = ""
    owner_id: int | None = None
    account_id: int | None = None
    opportunity_id: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    q: str = ""
    sort: str = "-created"


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def quote_list(user: User, filters: QuoteFilters) -> QuerySet[Quote]:
    """The quotes ``user`` may read, filtered and sorted (unknown sorts fall back to newest
    first), with owner, account, opportunity and current version loaded (one query)."""
    qs = quotes_visible_to(user).select_related(
        "owner", "account", "opportunity", "current_version", "accepted_version"
    )
    if filters.status in QuoteStatus.values:
        qs = qs.filter(status=filters.status)
    if filters.owner_id:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.account_id:
        qs = qs.filter(account_id=filters.account_id)
    if filters.opportunity_id:
        qs = qs.filter(opportunity_id=filters.opportunity_id)
    if filters.created_from:
        qs = qs.filter(created_at__gte=_day_start(filters.created_from))
    if filters.created_to:
        qs = qs.filter(created_at__lt=_day_start(filters.created_to) + timedelta(days=1))
    if filters.q:
        qs = qs.filter(Q(number__icontains=filters.q) | Q(title__icontains=filters.q))
    return qs.order_by(*SORTS.get(filters.sort, SORTS["-created"]))


def quotes_for_opportunity(user: User, opportunity_id: int, *, limit: int = 20) -> list[Quote]:
    """A deal's quotes the user may read, newest first (the deal page's panel)."""
    return list(
        quotes_visible_to(user)
        .filter(opportunity_id=opportunity_id)
        .select_related("current_version", "owner")
        .order_by("-created_at", "-id")[:limit]
    )


def versions_of(quote: Quote) -> list[QuoteVersion]:
    """Every version of ``quote``, oldest first, each with its lines (two queries)."""
    return list(
        QuoteVersion.objects.filter(quote=quote)
        .select_related("created_by")
        .prefetch_related(
            Prefetch("lines", queryset=QuoteLine.objects.select_related("product").order_by("position", "id"))
        )
        .order_by("version")
    )


def version_by_number(quote: Quote, number: object) -> QuoteVersion | None:
    try:
        value = int(str(number))
    except ValueError:
        return None
    if not 0 < value < 32768:
        return None
    return QuoteVersion.objects.filter(quote=quote, version=value).first()


def version_lines(version: QuoteVersion) -> list[QuoteLine]:
    cache = getattr(version, "_prefetched_objects_cache", {})
    if "lines" in cache:
        return list(cache["lines"])
    return list(version.lines.order_by("position", "id"))


def company_profile() -> CompanyProfile:
    """The company header (an empty, unsaved profile until an administrator saves one)."""
    return CompanyProfile.objects.filter(pk=1).first() or CompanyProfile(pk=1)
