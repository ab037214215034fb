"""Who sees and changes payment plans, payments and invoices — and who sees their money.

**Visibility** (the quote-to-cash rule, built on :mod:`salesflow.users.policy`): a plan,
payment or invoice is readable by whoever's ownership scope covers its owner (own, team
for managers, delegated reps for assistants, the team subtree for support, all for
administrators) OR who may read its opportunity; it is writable through the writable
ownership scope only (never support). The same rule reads the contracts and orders the
plans belong to (:func:`get_document_for_user`). Unseen → 404; seen, not writable → 403.

**Money** (issue 9 item 7) is decided by ONE function, :func:`may_see_money`, used by the
pages, the API (amounts are ``null``, keys stay), the exports and the ageing report:
support never sees money; administrators (and the system actor) see all; everyone else
sees the amounts of the records whose owner is in their ownership scope — a rep their
own, an assistant their delegated reps', a manager their team's. A record read only
through its opportunity shows its status without amounts.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.billing.models import Instalment, Invoice, Payment, PaymentPlan
from salesflow.contracts.models import Contract
from salesflow.core.errors import Forbidden
from salesflow.orders.models import Order
from salesflow.sales.permissions import opportunities_visible_to
from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.permissions import is_system_actor, visible_owner_ids
from salesflow.users.policy import owned_or_shared_q

M = TypeVar("M", bound=models.Model)
DocumentKindName = Literal["contract", "order"]


def _scoped(user: User, model: type[M], *, write: bool = False, via_opportunity: bool = True) -> QuerySet[M]:
    cond = owned_or_shared_q(user, model, write=write, shareable=False)
    qs: QuerySet[M] = model._default_manager.all()
    if cond is None:
        return qs
    if not write and via_opportunity:
        cond |= Q(opportunity_id__in=opportunities_visible_to(user).values("pk"))
    return qs.filter(cond)


def plans_visible_to(user: User, *, write: bool = False) -> QuerySet[PaymentPlan]:
    return _scoped(user, PaymentPlan, write=write)


def payments_visible_to(user: User, *, write: bool = False) -> QuerySet[Payment]:
    return _scoped(user, Payment, write=write)


def invoices_visible_to(user: User, *, write: bool = False) -> QuerySet[Invoice]:
    return _scoped(user, Invoice, write=write)


def instalments_visible_to(user: User, *, write: bool = False) -> QuerySet[Instalment]:
    """Instalments of the plans ``user`` may read (or write)."""
    if owned_or_shared_q(user, Instalment, write=write, shareable=False) is None:
        return Instalment.objects.all()
    return Instalment.objects.filter(plan_id__in=plans_visible_to(user, write=write).values("pk"))


def documents_visible_to(user: User, kind: str, *, write: bool = False) -> QuerySet[Any]:
    """Contracts or orders ``user`` may read (owner in scope or opportunity readable) or write."""
    model: type[Contract] | type[Order] = Contract if kind == "contract" else Order
    return _scoped(user, model, write=write)


def _pk(value: object) -> int:
    try:
        pk = int(str(value))
    except (TypeError, ValueError):
        raise Http404("not found") from None
    if not 0 < pk < 2**63:
        raise Http404("not found")
    return pk


def _get(user: User, qs_read: QuerySet[M], qs_write: QuerySet[M], pk: object, write: bool, message: str) -> M:
    obj = qs_read.filter(pk=_pk(pk)).first()
    if obj is None:
        raise Http404("not found")
    if write and not qs_write.filter(pk=obj.pk).exists():
        raise Forbidden(message)
    return obj


def get_document_for_user(user: User, kind: str, pk: object, *, write: bool = False) -> Contract | Order:
    """The contract or order ``pk`` (``kind``) if readable (else 404); ``write`` → 403 unless writable."""
    if kind not in ("contract", "order"):
        raise Http404("unknown document kind")
    read = documents_visible_to(user, kind).select_related("account", "owner")
    doc: Contract | Order = _get(
        user, read, documents_visible_to(user, kind, write=True), pk, write, _("You may not change this document.")
    )
    return doc


def get_plan_for_user(user: User, pk: object, *, write: bool = False) -> PaymentPlan:
    read = plans_visible_to(user).select_related("contract", "order", "account", "owner")
    return _get(user, read, plans_visible_to(user, write=True), pk, write, _("You may not change this payment plan."))


def get_instalment_for_user(user: User, pk: object, *, write: bool = False) -> Instalment:
    read = instalments_visible_to(user).select_related("plan", "account", "owner")
    message = _("You may not change this payment plan.")
    return _get(user, read, instalments_visible_to(user, write=True), pk, write, message)


def get_payment_for_user(user: User, pk: object, *, write: bool = False) -> Payment:
    read = payments_visible_to(user).select_related("account", "owner", "contract", "order")
    return _get(user, read, payments_visible_to(user, write=True), pk, write, _("You may not change this payment."))


def get_invoice_for_user(user: User, pk: object, *, write: bool = False) -> Invoice:
    read = invoices_visible_to(user).select_related("account", "owner", "contract", "order", "reverses")
    return _get(user, read, invoices_visible_to(user, write=True), pk, write, _("You may not change this invoice."))


# --- money -------------------------------------------------------------------------------------


def sees_no_money(user: User) -> bool:
    """Support (and anyone inactive or anonymous) never sees an amount."""
    if is_system_actor(user):
        return False
    return not user.is_authenticated or not user.is_active or (user.role == Role.SUPPORT and not user.is_admin)


def may_see_money(user: User, record: Any) -> bool:
    """THE money policy: may ``user`` see the amounts of ``record`` (anything with an
    ``owner_id``: a plan, instalment, payment, invoice, contract, order, deal…)?

    Support: never. Administrators and the system actor: always. Others: when the record's
    owner is in their ownership scope (rep: own; assistant: delegated reps; manager: team
    subtree). Cost and margin fields of other apps use the same function.
    """
    if sees_no_money(user):
        return False
    ids = visible_owner_ids(user)
    return ids is None or getattr(record, "owner_id", None) in ids


def money_scope_q(user: User, *, field: str = "owner_id") -> Q | None:
    """The rows whose money ``user`` may see, as a filter (``None``: all) — the ageing report
    and money totals read only these. Support gets an empty filter."""
    if sees_no_money(user):
        return Q(pk__in=[])
    ids = visible_owner_ids(user)
    return None if ids is None else Q(**{f"{field}__in": ids})
