"""Reads of contracts: the list (filters, sorts that keyset pagination can follow), the
account and deal panels, versions and the diff between two versions. Query shape lives here;
templates and schemas never trigger queries."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.http import Http404

from salesflow.contracts.diff import LineView, VersionDiff, diff_versions, line_key
from salesflow.contracts.models import Contract, ContractLine, ContractSettings, ContractStatus, ContractVersion
from salesflow.contracts.permissions import contracts_visible_to
from salesflow.parties.models import Account
from salesflow.sales.models import Opportunity
from salesflow.users.models import User

#: public sort keys → ascending order (each served by an index ending in ``id``)
CONTRACT_SORTS: dict[str, tuple[str, bool]] = {
    "created": ("created_at", False),
    "end_date": ("end_date", True),
    "total": ("total", False),
    "number": ("number", False),
}
DEFAULT_SORT = "-created"
ENDING_WITHIN_MAX = 3660


def sort_order(sort: str | None) -> tuple[str, list[OrderBy]]:
    """``sort`` (``key`` or ``-key`` of :data:`CONTRACT_SORTS`; anything else → the default)
    as the key used and the ``order_by`` expressions (nullable columns state where NULLs go)."""
    key = sort or DEFAULT_SORT
    desc = key.startswith("-")
    base = key.lstrip("-")
    if base not in CONTRACT_SORTS:
        key, desc, base = DEFAULT_SORT, True, DEFAULT_SORT.lstrip("-")
    column, nullable = CONTRACT_SORTS[base]
    first = F(column).desc(nulls_last=True) if desc else F(column).asc(nulls_last=True)
    if not nullable:
        first = F(column).desc() if desc else F(column).asc()
    return key, [first, F("id").desc() if desc else F("id").asc()]


def contract_list(
    user: User,
    *,
    status: str | None = None,
    owner_id: int | None = None,
    account_id: int | None = None,
    ending_within: int | None = None,
    q: str | None = None,
    sort: str | None = None,
    today: date | None = None,
) -> QuerySet[Contract]:
    """Visible contracts filtered and sorted; ``ending_within`` = end date from today to
    today + N days (contracts not yet ended). Account and owner loaded (one query a page)."""
    qs = contracts_visible_to(user).select_related("account", "owner")
    if status:
        qs = qs.filter(status=status)
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    if ending_within is not None:
        start = today or date.today()
        qs = qs.filter(end_date__gte=start, end_date__lte=start + timedelta(days=ending_within))
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(title__icontains=q))
    _key, order = sort_order(sort)
    return qs.order_by(*order)


def contracts_for_account(user: User, account: Account) -> QuerySet[Contract]:
    return contracts_visible_to(user).filter(account=account).select_related("owner").order_by("-created_at", "-id")


def contracts_for_opportunity(user: User, opportunity: Opportunity) -> QuerySet[Contract]:
    return (
        contracts_visible_to(user)
        .filter(opportunity=opportunity)
        .select_related("owner")
        .order_by("-created_at", "-id")
    )


def versions_of(contract: Contract) -> list[ContractVersion]:
    """Every version, oldest first, with its author (one query)."""
    return list(ContractVersion.objects.filter(contract=contract).select_related("created_by").order_by("version"))


def version_of(contract: Contract, number: object) -> ContractVersion:
    """Version ``number`` of ``contract`` with its lines (two queries); ``Http404`` otherwise."""
    try:
        value = int(str(number))
        if not 0 < value < 2**15:
            raise ValueError
        return (
            ContractVersion.objects.select_related("created_by")
            .prefetch_related(Prefetch("lines", queryset=ContractLine.objects.order_by("position", "id")))
            .get(contract=contract, version=value)
        )
    except (ContractVersion.DoesNotExist, ValueError, TypeError):
        raise Http404("version not found") from None


def open_amendment(contract: Contract) -> ContractVersion | None:
    """The change order still in draft or under approval, if any."""
    current = contract.current_version_id or 0
    return (
        ContractVersion.objects.filter(
            contract=contract, status__in=[ContractStatus.DRAFT, ContractStatus.PENDING_APPROVAL], version__gt=1
        )
        .exclude(pk=current)
        .order_by("-version")
        .first()
    )


def line_views(lines: list[ContractLine]) -> list[LineView]:
    return [
        LineView(
            key=line_key(line.product_id, line.code, line.name_zh, line.name_en),
            name=line.name_zh or line.name_en,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            tax_rate=line.tax_rate,
            total=line.total,
        )
        for line in lines
    ]


def version_totals(version: ContractVersion) -> dict[str, Decimal]:
    return {name: getattr(version, name) for name in ("subtotal", "discount", "net", "tax", "total")}


def diff_between(old: ContractVersion, new: ContractVersion) -> VersionDiff:
    """The diff of two loaded versions (their ``lines`` prefetched or loaded here)."""
    return diff_versions(
        from_version=old.version,
        to_version=new.version,
        old_terms=old.terms,
        new_terms=new.terms,
        old_lines=line_views(list(old.lines.all())),
        new_lines=line_views(list(new.lines.all())),
        old_totals=version_totals(old),
        new_totals=version_totals(new),
    )


def version_diff(contract: Contract, from_number: object, to_number: object) -> VersionDiff:
    """The diff from version ``from_number`` to ``to_number`` (four queries); ``Http404`` for
    a version the contract does not have."""
    return diff_between(version_of(contract, from_number), version_of(contract, to_number))


def renewal_candidates(today: date, days_before: int) -> QuerySet[Contract]:
    """Signed contracts ending within ``days_before`` days from ``today`` not yet reminded for
    their current end date (served by ``contracts_status_end``)."""
    return (
        Contract.objects.filter(
            status=ContractStatus.SIGNED, end_date__gte=today, end_date__lte=today + timedelta(days=days_before)
        )
        .exclude(renewal_reminded_on=F("end_date"))
        .order_by("end_date", "id")
    )


def expiry_candidates(today: date) -> QuerySet[Contract]:
    """Signed contracts whose end date is before ``today`` (served by ``contracts_status_end``)."""
    return Contract.objects.filter(status=ContractStatus.SIGNED, end_date__lt=today).order_by("end_date", "id")


def contract_settings() -> ContractSettings:
    """The settings row, or an unsaved one with the defaults when none was saved yet."""
    return ContractSettings.objects.filter(pk=1).first() or ContractSettings(pk=1)
