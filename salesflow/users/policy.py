"""The visibility policy: who may read or write which record, as queryset filters.

Every app's access functions (``accounts_visible_to``, ``get_lead_for_user``…) are built
from these pieces, so lists, search, the board, detail pages, the API, timelines and
services all answer the same question the same way. The rules:

- **Ownership scope** (:func:`visible_owner_ids`): a rep sees their own records; a manager
  those of their team subtree; an assistant those of the reps delegated to them; support
  reads the records of their team subtree; an administrator and the system actor see all.
  The same scope decides writing, except that support writes only activities.
- **Unowned** records (new web leads, accounts in a public pool): administrators see them
  all. Where an app registered pool membership for the model
  (:func:`register_unowned_access`, the pools app does for leads and accounts), an unowned
  record *in a pool* is seen by the users whose team — or, for a manager, a team of their
  subtree — is a member of that pool (reps included), and written by such managers only
  (reps take it by claiming, through the pools service); an unowned record in *no* pool
  (a web lead before assignment: the triage case) is seen and written by managers and
  administrators, as before pools existed.
- **Sharing** (:class:`~salesflow.users.models.Share`): an account, lead or opportunity
  shared with a user, or with the team they belong to, is readable by them; a ``write``
  share also lets them change it (not delete it or give it another owner). Support stays
  read-only even with a write share.
- **Access follows the work:** whoever may read a deal, lead or activity may read the
  account (and so its contacts) that it links to, read-only. Apps above ``parties``
  register these links with :func:`register_work_link`; the account filter then ORs one
  correlated ``EXISTS`` per link, so it stays one SQL statement.

Everything here returns ``Q`` objects or querysets evaluated as subqueries; the only
Python-side sets are the owner ids, cached on the user object for the request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import BooleanField, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import Expression

from salesflow.users.models import Share, ShareAccess, User
from salesflow.users.permissions import (
    can_see_unowned,
    is_system_actor,
    visible_owner_ids,
    writable_owner_ids,
)

__all__ = [
    "AnyOf",
    "Probe",
    "can_see_unowned",
    "in_rows",
    "is_system_actor",
    "may_assign_owner",
    "may_manage_shares",
    "narrow_visible_ids",
    "owned_or_shared_q",
    "register_unowned_access",
    "register_work_link",
    "shared_ids",
    "unrestricted",
    "visible_owner_ids",
    "wide_scope",
    "work_links_q",
    "writable_owner_ids",
]


class AnyOf(Expression):
    """``field IN (subquery)`` that PostgreSQL can answer with an index even inside an ``OR``.

    PostgreSQL turns an ``IN (subquery)`` that is OR-ed with other conditions into a
    *hashed SubPlan*: a filter tested on every row of a sequential scan or of the walk of a
    sort index, never an index lookup. Written ``field = ANY(ARRAY(subquery))`` instead,
    the subquery runs once as an InitPlan and its array is an index condition, so
    ``owner_id IN (…) OR id = ANY(ARRAY(shared ids))`` becomes a ``BitmapOr`` of two index
    scans. SQLite already splits such an ``OR`` into index lookups (``MULTI-INDEX OR``) and
    gets the plain ``IN``.

    Use it where the subquery's rows are few (a share list, a rep's work), and the planner
    should start from them: PostgreSQL estimates an array parameter at ten elements.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, field: str, rows: QuerySet[Any]) -> None:
        super().__init__(output_field=BooleanField())
        self.lhs: Any = F(field)
        self.rows: Any = Subquery(rows.order_by())  # an array needs no order (and a sort costs)

    def get_source_expressions(self) -> list[Any]:
        return [self.lhs, self.rows]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.lhs, self.rows = exprs

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        lhs_sql, lhs_params = compiler.compile(self.lhs)
        rows_sql, rows_params = compiler.compile(self.rows)
        if connection.vendor == "postgresql":
            return f"{lhs_sql} = ANY(ARRAY{rows_sql})", [*lhs_params, *rows_params]
        return f"{lhs_sql} IN {rows_sql}", [*lhs_params, *rows_params]


class Probe(Subquery):
    """``EXISTS (rows)``, spelled ``(SELECT pk … LIMIT 1) IS NOT NULL`` so it stays a probe.

    PostgreSQL plans an ``EXISTS`` inside an ``OR`` with a hashed alternative (read every
    row of the subquery once, hash the correlation column) and picks it by the estimated
    number of outer rows, which ignores the list's ``LIMIT``: a manager's account page read
    the department's 60k deals and 210k leads to show 26 accounts. A scalar subquery is
    never hashed: it is one index probe (``(<fk>, owner)``) per account the page reads.
    SQLite runs either spelling the same way.
    """

    conditional = True

    def __init__(self, rows: QuerySet[Any]) -> None:
        super().__init__(rows.order_by().values("pk")[:1], output_field=BooleanField())

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        sql, params = super().as_sql(compiler, connection, *args, **kwargs)
        return f"({sql} IS NOT NULL)", params


def in_rows(field: str, rows: QuerySet[Any]) -> Q:
    """``Q(field__in=rows)`` as :class:`AnyOf` (index-friendly inside an ``OR`` on PostgreSQL)."""
    return Q(AnyOf(field, rows))


def unrestricted(user: User) -> bool:
    """Administrators and the system actor read and write every record."""
    return visible_owner_ids(user) is None


def shared_ids(user: User, model: type[models.Model], *, write: bool = False) -> QuerySet[Share, Any]:
    """Ids (``object_id``) of the ``model`` rows shared with ``user`` or their team, as a subquery.

    With ``write``, only read-write shares, and none for support (read-only by role).
    """
    if not user.is_authenticated or not user.is_active:
        return Share.objects.none().values("object_id")
    if write and writable_owner_ids(user) == set():
        return Share.objects.none().values("object_id")
    grantee = Q(grantee_user_id=user.pk)
    if user.team_id is not None:
        grantee |= Q(grantee_team_id=user.team_id)
    qs = Share.objects.filter(grantee, content_type=ContentType.objects.get_for_model(model))
    if write:
        qs = qs.filter(access=ShareAccess.WRITE)
    return qs.values("object_id")


def owned_or_shared_q(
    user: User,
    model: type[models.Model],
    *,
    path: str = "",
    write: bool = False,
    unowned: bool = False,
    shareable: bool = True,
) -> Q | None:
    """Rows of ``model`` (reached through ``path``, e.g. ``"account"``) in the user's scope.

    ``None`` means every row (no filter). ``unowned`` adds ownerless rows for those who
    may handle them (managers, administrators).
    """
    ids = writable_owner_ids(user) if write else visible_owner_ids(user)
    if ids is None:
        return None
    prefix = f"{path}__" if path else ""
    if path and len(ids) <= WIDE_SCOPE_OWNERS:
        # A narrow scope's rows of ``model`` are few: ``<path>_id IN (those rows)`` is a
        # test of the row's own column against a small hash built once, where
        # ``<path>.owner_id IN (…)`` needs the join first (an OR across joined tables made
        # a rep's activity list join and test 13k activities per page). Not an array:
        # tested row by row while the sort index is walked, an array is scanned linearly.
        inner = owned_or_shared_q(user, model, write=write, shareable=shareable)
        assert inner is not None
        cond = Q(**{f"{path}_id__in": model._default_manager.filter(inner).values("pk")})
    else:
        cond = Q(**{f"{prefix}owner_id__in": ids})
        if shareable:
            cond |= in_rows(f"{path}_id" if path else "pk", shared_ids(user, model, write=write))
    if unowned:
        extra = unowned_q(user, model, path=path, write=write)
        if extra is not None:
            cond |= extra
    return cond


# --- unowned records and pools ---------------------------------------------------------------


@dataclass(frozen=True)
class UnownedAccess:
    """How an app above ``users`` decides who sees an unowned row of a model (pools).

    ``pooled()``: rows naming every pooled record in ``field``; ``member(team_ids)``: rows
    naming the records of the pools whose member teams include one of ``team_ids``.
    """

    pooled: Callable[[], QuerySet[Any]]
    member: Callable[[set[int]], QuerySet[Any]]
    field: str


_UNOWNED_ACCESS: dict[type[models.Model], UnownedAccess] = {}


def register_unowned_access(
    target: type[models.Model],
    *,
    pooled: Callable[[], QuerySet[Any]],
    member: Callable[[set[int]], QuerySet[Any]],
    field: str,
) -> None:
    """Declare pool membership for ``target``'s unowned rows (called from ``pools.apps.ready``).

    From then on an unowned ``target`` row in a pool is visible only to members of its pool
    (and administrators), and one in no pool to managers and administrators.
    """
    _UNOWNED_ACCESS[target] = UnownedAccess(pooled=pooled, member=member, field=field)


def pool_team_ids(user: User) -> set[int]:
    """The teams whose pools ``user`` belongs to: their own team and, for a manager, every
    team of the subtree they manage (cached on the user object for the request)."""
    cached: set[int] | None = getattr(user, "_sf_pool_team_ids", None)
    if cached is not None:
        return cached
    from salesflow.users.choices import Role
    from salesflow.users.permissions import managed_team_ids

    teams: set[int] = set()
    if user.is_authenticated and user.is_active:
        if user.team_id is not None:
            teams.add(user.team_id)
        if user.role == Role.MANAGER:
            visible_owner_ids(user)  # computes (and keeps) the managed teams with the scope
            teams |= managed_team_ids(user)
    user._sf_pool_team_ids = teams  # type: ignore[attr-defined]
    return teams


def unowned_q(user: User, model: type[models.Model], *, path: str = "", write: bool = False) -> Q | None:
    """The unowned rows of ``model`` (through ``path``) that ``user`` may read (or ``write``).

    ``None``: none. Without registered pool membership: managers and administrators, as
    before. With it: pooled rows of the user's pools (read for everyone in the member teams,
    write for such managers), and rows in no pool for managers.
    """
    prefix = f"{path}__" if path else ""
    own_col = f"{path}_id" if path else "pk"
    base = Q(**{f"{prefix}owner__isnull": True, **({f"{path}__isnull": False} if path else {})})
    manager = can_see_unowned(user) and not (write and writable_owner_ids(user) == set())
    access = _UNOWNED_ACCESS.get(model)
    if access is None:
        # through a nullable link, "no owner" must not match rows that have no link at all
        return base if manager else None
    teams = pool_team_ids(user)
    allowed: Q | None = None
    # ids of the pool rows as subqueries, not per-row probes: a pool's rows are few next to
    # the table, and the narrow forms (``narrow_visible_ids``) must stay free of probes
    if manager:
        allowed = ~Q(**{f"{own_col}__in": access.pooled().order_by().values(access.field)})
    if teams and (manager or not write):
        member = in_rows(own_col, access.member(teams).values(access.field))
        allowed = member if allowed is None else allowed | member
    return None if allowed is None else base & allowed


def _unowned_branches(user: User, model: type[models.Model]) -> list[QuerySet[Any]]:
    """:func:`unowned_q` as ``UNION`` branches of ids (for a narrow scope; no probes)."""
    access = _UNOWNED_ACCESS.get(model)
    manager = can_see_unowned(user)
    unowned = model._default_manager.filter(owner__isnull=True).order_by()
    if access is None:
        return [unowned.values("pk")] if manager else []
    branches: list[QuerySet[Any]] = []
    if manager:
        branches.append(unowned.exclude(pk__in=access.pooled().values(access.field)).values("pk"))
    teams = pool_team_ids(user)
    if teams:
        relation = access.field.removesuffix("_id")
        rows = access.member(teams).filter(**{f"{relation}__owner__isnull": True})
        branches.append(rows.order_by().values(access.field))
    return branches


@dataclass(frozen=True)
class WorkLink:
    """``rows(user)`` are work items the user may read; their ``field`` names a target row."""

    rows: Callable[[User], QuerySet[Any]]
    field: str


_WORK_LINKS: dict[type[models.Model], list[WorkLink]] = {}


def register_work_link(target: type[models.Model], rows: Callable[[User], QuerySet[Any]], field: str) -> None:
    """Declare that who may read ``rows(user)`` may read the ``target`` each row names in ``field``.

    Called from the ``ready()`` of apps above ``parties`` (deals, leads, activities), so
    the account filter knows them without importing those apps.
    """
    links = _WORK_LINKS.setdefault(target, [])
    links[:] = [link for link in links if link.field != field or link.rows.__qualname__ != rows.__qualname__]
    links.append(WorkLink(rows=rows, field=field))


def work_links_q(user: User, target: type[models.Model]) -> Q:
    """``EXISTS (a work item naming this row)`` for every registered link to ``target``
    (spelled as a :class:`Probe`).

    Correlated ``EXISTS`` rather than ``pk IN (all work items' target ids)``: the work
    items number hundreds of thousands for a wide scope (a department's activities), which
    ``IN`` collects on every query (and PostgreSQL cannot hash beyond ``work_mem``, so it
    rescans them per row), while ``EXISTS`` probes the link's index (``account_id``, then
    the owner) only for the rows the query reads. This is the form for a wide scope's lists
    and for testing given rows; a narrow scope's lists start from
    :func:`narrow_visible_ids` instead.
    """
    cond = Q(pk__in=[])
    for link in _WORK_LINKS.get(target, []):
        cond |= Q(Probe(link.rows(user).filter(**{link.field: OuterRef("pk")})))
    return cond


def narrow_visible_ids(user: User, target: type[models.Model], *, unowned: bool = False) -> QuerySet[Any]:
    """Ids of the ``target`` rows a narrow scope (a rep) may read, as one ``UNION`` subquery.

    Owned rows, rows shared with the user or their team, and the targets of every
    registered work link, each branch an index lookup (``owner_id``, the share indexes,
    the work item's ``owner_id``). Filtering ``pk IN (this)`` lets the database start from
    the rep's thousand-odd rows and sort them, where ``owner_id IN (…) OR EXISTS/IN (work)``
    on a big table made PostgreSQL walk the list's sort index testing hashed subplans on
    every row (a rep sees 0.5% of the accounts: 5,000 rows walked per page, and more on
    deep pages) after scanning the work tables to build them.
    """
    ids = visible_owner_ids(user)
    assert ids is not None, "narrow_visible_ids is for a restricted scope"
    branches: list[QuerySet[Any]] = [shared_ids(user, target)]
    for link in _WORK_LINKS.get(target, []):
        branches.append(link.rows(user).filter(**{f"{link.field}__isnull": False}).order_by().values(link.field))
    if unowned:
        # the unowned rows the user may read (pool members; managers: those in no pool), one
        # more branch starting from the ``owner IS NULL`` end of the owner index
        branches.extend(_unowned_branches(user, target))
    own = target._default_manager.filter(owner_id__in=ids).order_by().values("pk")
    return own.union(*[b.order_by() for b in branches])


#: Above this many owners in scope (a department manager's), a scope's work items are too
#: many to collect for every query, and per-row ``EXISTS`` probes win.
WIDE_SCOPE_OWNERS = 8


def wide_scope(user: User) -> bool:
    """Whether ``user`` sees the records of many owners (but not every record)."""
    ids = visible_owner_ids(user)
    return ids is not None and len(ids) > WIDE_SCOPE_OWNERS


def may_assign_owner(actor: User, owner: User | None) -> bool:
    """Whether ``actor`` may make ``owner`` the owner of a record (``None``: leave it unowned).

    Owners are active, non-support users in the actor's writable scope; only managers and
    administrators may leave a record without owner.
    """
    from salesflow.users.permissions import assignable_users_for

    if owner is None:
        return can_see_unowned(actor)
    return assignable_users_for(actor).filter(pk=owner.pk).exists()


def may_manage_shares(actor: User, owner_id: int | None) -> bool:
    """Sharing is decided by the record's owner, a manager above the owner, or an administrator."""
    if not actor.is_authenticated or (not actor.is_active and not is_system_actor(actor)):
        return False
    if unrestricted(actor):
        return True
    if owner_id is None:
        return False
    if owner_id == actor.pk:
        return True
    from salesflow.users.choices import Role

    ids = writable_owner_ids(actor)
    return actor.role == Role.MANAGER and ids is not None and owner_id in ids


# --- sharing -------------------------------------------------------------------------------

#: kind name used in URLs → shareable model; filled by the apps that own the kinds
SHAREABLE: dict[str, type[models.Model]] = {}


def register_shareable(kind: str, model: type[models.Model]) -> None:
    """Declare that records of ``model`` (which have an ``owner``) can be shared."""
    SHAREABLE[kind] = model


def shareable_kind(model: type[models.Model]) -> str | None:
    return next((kind for kind, m in SHAREABLE.items() if m is model), None)
