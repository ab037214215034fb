"""The difference between two contract versions: pure, no database (the caller passes the
versions' terms, lines and totals). Used by the detail page, the API and the amendment's
audit event.

Guarantees: terms are compared field by field (``TERM_FIELDS``); lines are matched by
product (or, for hand-entered lines, by code and Chinese name, then English name) in
position order, so a line is *added*, *removed* or *changed* (quantity, unit price,
discount, tax rate, total); document totals are compared column by column. Comparing a
version with itself gives an empty diff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

TERM_FIELDS: tuple[str, ...] = (
    "start_date",
    "end_date",
    "payment_terms",
    "delivery_terms",
    "special_clauses",
    "non_standard_terms",
)
LINE_FIELDS: tuple[str, ...] = ("quantity", "unit_price", "discount_percent", "tax_rate", "total")
TOTAL_FIELDS: tuple[str, ...] = ("subtotal", "discount", "net", "tax", "total")


@dataclass(frozen=True)
class LineView:
    """One line as the diff sees it."""

    key: tuple[Any, ...]
    name: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    total: Decimal


@dataclass
class VersionDiff:
    """``terms``/``totals``: ``{field: (old, new)}``; ``changed``: ``(name, {field: (old, new)})``."""

    from_version: int
    to_version: int
    terms: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    added: list[LineView] = field(default_factory=list)
    removed: list[LineView] = field(default_factory=list)
    changed: list[tuple[str, dict[str, tuple[Decimal, Decimal]]]] = field(default_factory=list)
    totals: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.terms or self.added or self.removed or self.changed or self.totals)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (Decimals as strings) for the API and audit payloads."""

        def line(item: LineView) -> dict[str, Any]:
            return {
                "name": item.name,
                **{name: str(getattr(item, name)) for name in LINE_FIELDS},
            }

        def pair(value: tuple[Any, Any]) -> list[Any]:
            return [None if v is None else (v if isinstance(v, bool) else str(v)) for v in value]

        return {
            "from_version": self.from_version,
            "to_version": self.to_version,
            "terms": {name: pair(value) for name, value in self.terms.items()},
            "lines_added": [line(item) for item in self.added],
            "lines_removed": [line(item) for item in self.removed],
            "lines_changed": [
                {"name": name, "changes": {f: pair(v) for f, v in fields.items()}} for name, fields in self.changed
            ],
            "totals": {name: pair(value) for name, value in self.totals.items()},
        }


def line_key(product_id: int | None, code: str, name_zh: str, name_en: str) -> tuple[Any, ...]:
    return ("p", product_id) if product_id else ("t", code, name_zh, name_en)


def diff_versions(
    *,
    from_version: int,
    to_version: int,
    old_terms: Mapping[str, Any],
    new_terms: Mapping[str, Any],
    old_lines: Sequence[LineView],
    new_lines: Sequence[LineView],
    old_totals: Mapping[str, Decimal],
    new_totals: Mapping[str, Decimal],
) -> VersionDiff:
    """What changed from the old version to the new one (see the module docstring)."""
    result = VersionDiff(from_version=from_version, to_version=to_version)
    for name in TERM_FIELDS:
        old, new = old_terms.get(name), new_terms.get(name)
        if name == "non_standard_terms":
            old, new = bool(old), bool(new)
        elif name in ("payment_terms", "delivery_terms", "special_clauses"):
            old, new = old or "", new or ""
        if old != new:
            result.terms[name] = (old, new)
    remaining: dict[tuple[Any, ...], list[LineView]] = {}
    for item in old_lines:
        remaining.setdefault(item.key, []).append(item)
    for item in new_lines:
        bucket = remaining.get(item.key)
        if not bucket:
            result.added.append(item)
            continue
        old_item = bucket.pop(0)
        fields = {
            name: (getattr(old_item, name), getattr(item, name))
            for name in LINE_FIELDS
            if getattr(old_item, name) != getattr(item, name)
        }
        if fields:
            result.changed.append((item.name, fields))
    for bucket in remaining.values():
        result.removed.extend(bucket)
    for name in TOTAL_FIELDS:
        old_total, new_total = old_totals.get(name, Decimal(0)), new_totals.get(name, Decimal(0))
        if old_total != new_total:
            result.totals[name] = (old_total, new_total)
    return result
