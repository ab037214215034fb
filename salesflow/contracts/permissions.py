"""Who reads and changes contracts (a document of the quote-to-cash chain).

- Read: whoever's scope covers the contract's owner (own, team for managers, delegated reps
  for assistants, all for administrators; support reads) OR who may read its opportunity.
- Write: the writable ownership scope only (``shareable=False``): never support, never a
  share of the deal. State rules (draft only, read-only once signed) are the services'.
Unseen → 404; seen but not writable → 403.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.contracts.models import Contract, ContractStatus
from salesflow.core.errors import Forbidden
from salesflow.quotes.models import Quote
from salesflow.sales.permissions import opportunities_visible_to
from salesflow.users.models import User
from salesflow.users.permissions import writable_owner_ids
from salesflow.users.policy import owned_or_shared_q


def contracts_visible_to(user: User) -> QuerySet[Contract]:
    """Every contract ``user`` may read (lists, counts, panels, API, timelines)."""
    cond = owned_or_shared_q(user, Contract, shareable=False)
    qs = Contract.objects.all()
    if cond is None:
        return qs
    return qs.filter(cond | Q(opportunity_id__in=opportunities_visible_to(user).values("pk")))


def contracts_writable_by(user: User) -> QuerySet[Contract]:
    """Contracts ``user`` may change (the writable ownership scope)."""
    cond = owned_or_shared_q(user, Contract, write=True, shareable=False)
    qs = Contract.objects.all()
    return qs if cond is None else qs.filter(cond)


def may_write_for_owner(user: User, owner_id: int | None) -> bool:
    """Whether ``user`` may write documents owned by ``owner_id``."""
    ids = writable_owner_ids(user)
    return ids is None or (owner_id is not None and owner_id in ids)


def can_write_contract(user: User, contract: Contract) -> bool:
    return may_write_for_owner(user, contract.owner_id)


def can_attach_to_contract(user: User, contract: Contract) -> bool:
    """Attachments (the record-kind registry): writers, and only until the contract is signed —
    a signed, expired or terminated contract's files are archived read-only."""
    ended = (ContractStatus.SIGNED, ContractStatus.EXPIRED, ContractStatus.TERMINATED)
    return contract.status not in ended and can_write_contract(user, contract)


def get_contract_for_user(user: User, pk: object, *, write: bool = False) -> Contract:
    """The contract ``pk`` if visible (else ``Http404``); ``write`` → writable or ``Forbidden``."""
    try:
        pk_int = int(str(pk))
        if not 0 < pk_int < 2**63:
            raise ValueError
        contract = (
            contracts_visible_to(user)
            .select_related("account", "owner", "opportunity", "quote", "current_version", "signed_file")
            .get(pk=pk_int)
        )
    except (Contract.DoesNotExist, ValueError, TypeError):
        raise Http404("contract not found") from None
    if write and not can_write_contract(user, contract):
        raise Forbidden(_("You may not change this contract."))
    return contract


def quotes_visible_to(user: User) -> QuerySet[Quote]:
    """Quotes ``user`` may read, by the documents' rule (owner scope or the deal's readers)."""
    cond = owned_or_shared_q(user, Quote, shareable=False)
    qs = Quote.objects.all()
    if cond is None:
        return qs
    return qs.filter(cond | Q(opportunity_id__in=opportunities_visible_to(user).values("pk")))


def get_quote_for_user(user: User, pk: object) -> Quote:
    """The quote ``pk`` if ``user`` may read it, else ``Http404``."""
    try:
        pk_int = int(str(pk))
        if not 0 < pk_int < 2**63:
            raise ValueError
        return (
            quotes_visible_to(user).select_related("account", "owner", "opportunity", "accepted_version").get(pk=pk_int)
        )
    except (Quote.DoesNotExist, ValueError, TypeError):
        raise Http404("quote not found") from None
