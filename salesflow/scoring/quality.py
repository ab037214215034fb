"""Data quality (数据质量): completeness (完整度) and staleness (数据过期) of leads, accounts
and contacts, as plain Python for one record and as SQL expressions for counts.

- Completeness = the weighted share of the kind's ``COMPLETENESS_FIELDS`` that are filled,
  a whole percentage rounded down; a record below ``incomplete_below()`` is incomplete.
- A record is stale when it was last verified (or, never verified, created) more than
  ``stale_after_days()`` days ago. Both numbers are settings
  (``SALESFLOW_STALE_AFTER_DAYS``, default 180; ``SALESFLOW_INCOMPLETE_BELOW``, default 70).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import models
from django.db.models import Case, ExpressionWrapper, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from salesflow.leads.models import Lead
from salesflow.parties.models import Account, Contact

QualityKind = Literal["lead", "account", "contact"]
MODELS: dict[str, type[models.Model]] = {"lead": Lead, "account": Account, "contact": Contact}

#: kind → (field, weight, label); FKs count as filled when set, text when not blank.
COMPLETENESS_FIELDS: dict[str, list[tuple[str, int, object]]] = {
    "lead": [
        ("mobile", 2, _("mobile")),
        ("email", 1, _("email")),
        ("title", 1, _("position")),
        ("company_name", 2, _("company")),
        ("industry", 1, _("industry")),
        ("region", 1, _("region")),
        ("credit_code", 1, _("unified social credit code")),
    ],
    "account": [
        ("credit_code", 2, _("unified social credit code")),
        ("industry", 1, _("industry")),
        ("size", 1, _("size")),
        ("region", 1, _("region")),
        ("phone", 1, _("phone")),
        ("address", 1, _("address")),
        ("website", 1, _("website")),
    ],
    "contact": [
        ("mobile", 2, _("mobile")),
        ("email", 1, _("email")),
        ("title", 1, _("position")),
        ("department", 1, _("department")),
        ("phone", 1, _("phone")),
        ("wechat", 1, _("WeChat ID")),
    ],
}


def stale_after_days() -> int:
    """Days after the last verification (or creation) when a record counts as stale."""
    return int(getattr(settings, "SALESFLOW_STALE_AFTER_DAYS", 180))


def incomplete_below() -> int:
    """A record whose completeness is below this percentage counts as incomplete."""
    return int(getattr(settings, "SALESFLOW_INCOMPLETE_BELOW", 70))


def _is_fk(model: type[models.Model], name: str) -> bool:
    return isinstance(model._meta.get_field(name), models.ForeignKey)


def _filled(record: models.Model, name: str) -> bool:
    if _is_fk(type(record), name):
        return getattr(record, f"{name}_id") is not None
    return bool(str(getattr(record, name) or "").strip())


@dataclass(frozen=True)
class Quality:
    """One record's data quality, for its card and the API."""

    completeness: int
    missing: list[str]
    stale: bool
    stale_since: datetime
    last_verified_at: datetime | None


def completeness(kind: str, record: models.Model) -> tuple[int, list[str]]:
    """(percentage rounded down, labels of the missing fields in their listed order)."""
    spec = COMPLETENESS_FIELDS[kind]
    total = sum(weight for _name, weight, _label in spec)
    got = sum(weight for name, weight, _label in spec if _filled(record, name))
    missing = [str(label) for name, _weight, label in spec if not _filled(record, name)]
    return got * 100 // total, missing


def quality_of(kind: str, record: models.Model, *, now: datetime) -> Quality:
    """Completeness and staleness of ``record`` at ``now``."""
    percent, missing = completeness(kind, record)
    verified: datetime | None = getattr(record, "last_verified_at", None)
    basis: datetime = verified or getattr(record, "created_at")  # noqa: B009
    return Quality(
        completeness=percent,
        missing=missing,
        stale=basis < now - timedelta(days=stale_after_days()),
        stale_since=basis + timedelta(days=stale_after_days()),
        last_verified_at=verified,
    )


def filled_weight_expression(kind: str) -> ExpressionWrapper[Any]:
    """SQL: the filled weight of a row of ``kind`` (compare with ``total_weight``)."""
    model = MODELS[kind]
    parts: list[Any] = []
    for name, weight, _label in COMPLETENESS_FIELDS[kind]:
        cond = Q(**{f"{name}__isnull": False}) if _is_fk(model, name) else ~Q(**{name: ""})
        parts.append(Case(When(cond, then=Value(weight)), default=Value(0), output_field=IntegerField()))
    expr: Any = parts[0]
    for part in parts[1:]:
        expr = expr + part
    return ExpressionWrapper(expr, output_field=IntegerField())


def total_weight(kind: str) -> int:
    return sum(weight for _name, weight, _label in COMPLETENESS_FIELDS[kind])


def incomplete_cut(kind: str) -> int:
    """Rows whose filled weight is below this are incomplete (percentage < ``incomplete_below``)."""
    # weight * 100 // total < threshold  ⇔  weight * 100 < threshold * total (integers)
    total = total_weight(kind)
    return -(-incomplete_below() * total // 100)  # ceil(threshold * total / 100)


def stale_q(*, now: datetime) -> Q:
    """Rows last verified (or, never verified, created) before the stale cut-off."""
    cut = now - timedelta(days=stale_after_days())
    return Q(last_verified_at__lt=cut) | Q(last_verified_at__isnull=True, created_at__lt=cut)


def verified_basis() -> Coalesce:
    return Coalesce("last_verified_at", "created_at")
