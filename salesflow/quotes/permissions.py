"""Who may read and write quotes (built on :mod:`salesflow.users.policy`).

A quote is readable by whoever's scope covers its owner (own, team for managers, the
delegated reps' for assistants, all for administrators and read-only support) or who may
read its opportunity; writable through the writable ownership scope
(``owned_or_shared_q(..., write=True, shareable=False)``) or by whoever may write the
opportunity. Unseen → 404 (``Http404``); seen but not writable → 403 (``Forbidden``).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.core.errors import Forbidden
from salesflow.quotes.models import Quote
from salesflow.sales.permissions import opportunities_visible_to, opportunities_writable_by
from salesflow.users.models import User
from salesflow.users.policy import owned_or_shared_q


def _scope_q(user: User, *, write: bool) -> Q | None:
    own = owned_or_shared_q(user, Quote, write=write, shareable=False)
    if own is None:
        return None
    deals = opportunities_writable_by(user) if write else opportunities_visible_to(user)
    return own | Q(opportunity_id__in=deals.values("pk"))


def quotes_visible_to(user: User) -> QuerySet[Quote]:
    """Every quote ``user`` may read (lists, counts, API, search)."""
    if not user.is_authenticated:
        return Quote.objects.none()
    cond = _scope_q(user, write=False)
    return Quote.objects.all() if cond is None else Quote.objects.filter(cond)


def quotes_writable_by(user: User) -> QuerySet[Quote]:
    """Every quote ``user`` may change (support never)."""
    if not user.is_authenticated or not user.is_active:
        return Quote.objects.none()
    cond = _scope_q(user, write=True)
    return Quote.objects.all() if cond is None else Quote.objects.filter(cond)


def can_read_quote(user: User, quote: Quote) -> bool:
    return quotes_visible_to(user).filter(pk=quote.pk).exists()


def can_write_quote(user: User, quote: Quote) -> bool:
    return quotes_writable_by(user).filter(pk=quote.pk).exists()


def get_quote_for_user(user: User, pk: object, *, write: bool = False) -> Quote:
    """The quote ``pk`` if ``user`` may read it (else ``Http404``); with ``write``, also
    writable (else ``Forbidden``)."""
    try:
        number = int(str(pk))
    except ValueError:
        raise Http404("quote not found") from None
    if not 0 < number < 2**63:
        raise Http404("quote not found")
    quote = (
        quotes_visible_to(user)
        .select_related("opportunity", "account", "owner", "contact", "current_version", "accepted_version")
        .filter(pk=number)
        .first()
    )
    if quote is None:
        raise Http404("quote not found")
    if write and not can_write_quote(user, quote):
        raise Forbidden(_("You may not change this quote."))
    return quote
