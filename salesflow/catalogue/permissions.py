"""Who may read and change the catalogue, and who sees cost and margin.

* Administrators (and the system actor) write the catalogue: product lines, products,
  customer groups, price lists, tiers and discount rules.
* Managers read everything, inactive products and the price settings included.
* Reps, assistants and support read active products only, and no price settings.
* **Cost and margin are protected money**: only administrators and managers see them
  (:func:`sees_cost`); pages hide them and the API returns ``null`` for everyone else.

Deal lines follow their deal (``sales.permissions``): whoever may read the deal reads its
lines, whoever may write it changes them.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesflow.catalogue.models import OpportunityLine, Product
from salesflow.core.errors import Forbidden
from salesflow.users.choices import Role
from salesflow.users.models import User
from salesflow.users.permissions import is_system_actor


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def can_manage_catalogue(user: User) -> bool:
    """Administrators and the system actor change the catalogue and the price settings."""
    return is_system_actor(user) or (_active(user) and user.is_admin)


def can_read_pricing(user: User) -> bool:
    """Price lists, customer groups, tiers and discount rules: administrators and managers."""
    return can_manage_catalogue(user) or (_active(user) and user.role == Role.MANAGER)


def sees_cost(user: User) -> bool:
    """Cost and margin (protected money): administrators and managers only."""
    return can_read_pricing(user)


def products_visible_to(user: User) -> QuerySet[Product]:
    """Products ``user`` may read: all for administrators and managers, the active ones for
    every other signed-in user, none for anonymous or inactive users."""
    if can_read_pricing(user):
        return Product.objects.all()
    if not _active(user):
        return Product.objects.none()
    return Product.objects.filter(active=True)


def get_product_for_user(user: User, pk: object, *, write: bool = False) -> Product:
    """The product ``pk`` when ``user`` may read it (else ``Http404``); with ``write``, also
    when they may change it (else ``Forbidden``)."""
    try:
        number = int(str(pk))
        if not 0 < number < 2**63:
            raise ValueError
        product = products_visible_to(user).select_related("category").get(pk=number)
    except (Product.DoesNotExist, ValueError):
        raise Http404("product not found") from None
    if write and not can_manage_catalogue(user):
        raise Forbidden(_("Only administrators may change the catalogue."))
    return product


def require_manage(user: User) -> None:
    """``Forbidden`` unless ``user`` may change the catalogue."""
    if not can_manage_catalogue(user):
        raise Forbidden(_("Only administrators may change the catalogue."))


def require_read_pricing(user: User) -> None:
    """``Forbidden`` unless ``user`` may read the price settings."""
    if not can_read_pricing(user):
        raise Forbidden(_("Only administrators and managers may see the price settings."))


def get_line_for_user(user: User, opportunity_id: int, line_id: object) -> OpportunityLine:
    """The line ``line_id`` of the deal ``opportunity_id`` (which the caller has already
    resolved through ``get_opportunity_for_user``); ``Http404`` when it is not that deal's."""
    try:
        number = int(str(line_id))
        if not 0 < number < 2**63:
            raise ValueError
        return OpportunityLine.objects.get(pk=number, opportunity_id=opportunity_id)
    except (OpportunityLine.DoesNotExist, ValueError):
        raise Http404("line not found") from None
