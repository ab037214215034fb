"""Template tags: the "existing customer — owner X" badge on lead and account pages.

On a list, load the flags once for the page (one query) and pass them to each badge::

    {% load protection %}{% known_customer_flags "lead" leads as kc_flags %}
    … {% known_customer_badge "lead" lead kc_flags %}

On a detail page ``{% known_customer_badge "account" account %}`` runs its own query.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from salesflow.protection.models import KnownCustomer
from salesflow.protection.selectors import known_customer_flags as _flags

register = template.Library()


@register.simple_tag
def known_customer_flags(kind: str, records: Iterable[Any]) -> dict[int, KnownCustomer]:
    """record id → known customer for the records shown (one query)."""
    return _flags(kind, [pk for r in records if isinstance(pk := getattr(r, "pk", None), int)])


@register.inclusion_tag("protection/partials/known_customer_badge.html")
def known_customer_badge(kind: str, record: Any, flags: dict[int, KnownCustomer] | None = None) -> dict[str, Any]:
    """The badge for ``record`` (nothing when it is not a known customer)."""
    pk = getattr(record, "pk", None)
    if flags is None:
        flags = _flags(kind, [pk] if pk else [])
    return {"kc": flags.get(pk) if pk else None}
