"""Reads of the public pools: the pools a user belongs to, a pool's records (keyset pages),
and a user's holdings against their caps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from salesflow.core.keyset import keyset_page
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.parties.choices import Grade
from salesflow.parties.models import Account
from salesflow.pools.choices import RecordKind
from salesflow.pools.models import CapRule, Pool, PoolAccount, PoolLead
from salesflow.search.selectors import matching_ids
from salesflow.users.models import User
from salesflow.users.policy import pool_team_ids, unrestricted

PAGE_SIZE = 25
OPEN_LEAD_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)


def effective_caps(user: User, kind: str) -> dict[str, CapRule]:
    """The caps that apply to ``user`` for ``kind``, by grade (``""``: every record of the
    kind). A rule for the user replaces their role's rule for the same grade."""
    rules = CapRule.objects.filter(kind=kind).filter(Q(user=user) | Q(user__isnull=True, role=user.role))
    caps: dict[str, CapRule] = {}
    for rule in sorted(rules, key=lambda r: r.user_id is not None):
        caps[rule.grade] = rule
    return caps


def held_count(user: User, kind: str, grade: str = "") -> int:
    """How many records of ``kind`` (and ``grade``) ``user`` holds: open leads, accounts."""
    if kind == RecordKind.LEAD:
        return Lead.objects.filter(owner=user, status__in=OPEN_LEAD_STATUSES).count()
    qs = Account.objects.filter(owner=user)
    return (qs.filter(grade=grade) if grade else qs).count()


def _count(model: type[PoolLead] | type[PoolAccount], field: str) -> Subquery:
    rows = (
        model.objects.filter(pool=OuterRef("pk"), **{f"{field}__owner__isnull": True})
        .order_by()
        .values("pool")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(rows, output_field=IntegerField())


def pools_visible_to(user: User, *, include_inactive: bool = False) -> QuerySet[Pool]:
    """Pools ``user`` belongs to (administrators: all), each with ``lead_count`` and
    ``account_count`` (records waiting in it), in position order. One query."""
    qs = Pool.objects.all()
    if not unrestricted(user):
        teams = pool_team_ids(user)
        qs = qs.filter(pk__in=Pool.teams.through.objects.filter(team_id__in=teams).values("pool_id"))
    if not include_inactive:
        qs = qs.filter(active=True)
    return qs.annotate(lead_count=_count(PoolLead, "lead"), account_count=_count(PoolAccount, "account")).order_by(
        "position", "name", "id"
    )


def get_pool_for_user(user: User, pk: object) -> Pool:
    """The pool ``pk`` if ``user`` belongs to it (else ``Http404``); inactive ones for admins."""
    try:
        return pools_visible_to(user, include_inactive=unrestricted(user)).get(pk=int(str(pk)))
    except (Pool.DoesNotExist, ValueError, OverflowError):
        raise Http404("pool not found") from None


def pool_entries(
    pool: Pool,
    kind: str,
    *,
    grade: str = "",
    industry: str = "",
    q: str = "",
) -> QuerySet[Any]:
    """The pool's unowned records of ``kind`` (membership rows with the record joined), newest
    entries first, filtered by grade (accounts), industry and a search term."""
    if kind == RecordKind.LEAD:
        qs: QuerySet[Any] = PoolLead.objects.filter(pool=pool, lead__owner__isnull=True).select_related(
            "lead", "released_by"
        )
        field = "lead"
    else:
        qs = PoolAccount.objects.filter(pool=pool, account__owner__isnull=True).select_related("account", "released_by")
        field = "account"
        if grade in Grade.values:
            qs = qs.filter(account__grade=grade)
    if industry:
        qs = qs.filter(**{f"{field}__industry": industry[:30]})
    if (q or "").strip():
        ids = matching_ids(field, q)
        qs = qs.none() if ids is None else qs.filter(**{f"{field}_id__in": ids})
    return qs.order_by("-entered_at", "-id")


def pool_entries_page(
    pool: Pool, kind: str, *, cursor: str | None, limit: int = PAGE_SIZE, **filters: str
) -> tuple[list[Any], str | None]:
    return keyset_page(pool_entries(pool, kind, **filters), cursor=cursor, limit=limit)


@dataclass(frozen=True)
class Holding:
    """One cap of a user and what they hold against it."""

    kind: str
    grade: str
    held: int
    cap: int

    @property
    def reached(self) -> bool:
        return self.held >= self.cap

    @property
    def label(self) -> str:
        return str(RecordKind(self.kind).label) + (f" · {self.grade}" if self.grade else "")


def holdings(user: User) -> list[Holding]:
    """Every cap that applies to ``user`` with the count they hold (one query per cap)."""
    result: list[Holding] = []
    for kind in RecordKind.values:
        for grade, rule in sorted(effective_caps(user, kind).items()):
            result.append(Holding(kind=kind, grade=grade, held=held_count(user, kind, grade), cap=rule.max_count))
    return result


def cap_rules() -> QuerySet[CapRule]:
    return CapRule.objects.select_related("user").order_by("kind", "grade", "role", "user_id", "id")


def pool_of(kind: str, record_id: int) -> PoolLead | PoolAccount | None:
    """The membership row of a record (``None``: in no pool)."""
    if kind == RecordKind.LEAD:
        return PoolLead.objects.select_related("pool", "released_by").filter(lead_id=record_id).first()
    return PoolAccount.objects.select_related("pool", "released_by").filter(account_id=record_id).first()


def member_filter(user: User) -> Q:
    """Pools ``user`` belongs to, as a filter on ``Pool``."""
    if unrestricted(user):
        return Q()
    return Q(teams__in=pool_team_ids(user))
