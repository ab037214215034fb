"""Template helpers for work reports: reading a facts snapshot in the reader's language."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import get_language

from salesflow.activities.choices import ActivityKind
from salesflow.core.templatetags.salesflow import money

register = template.Library()

_KIND_LABELS = dict(ActivityKind.choices)


@register.filter
def both_names(names: Any) -> str:
    """``{"en": …, "zh": …}`` (a stage or reason stored in a snapshot) in the reader's language."""
    if not isinstance(names, dict):
        return "" if names is None else str(names)
    zh = (get_language() or "").lower().startswith("zh")
    return str((names.get("zh") if zh else names.get("en")) or names.get("en") or names.get("zh") or "")


@register.filter
def activity_kind_label(code: str) -> str:
    return str(_KIND_LABELS.get(code, code))


@register.filter
def iso_datetime(value: Any) -> datetime | None:
    """An ISO timestamp of a snapshot as a local datetime (for the ``date`` filter)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return timezone.localtime(parsed) if timezone.is_aware(parsed) else parsed


@register.filter
def snapshot_money(amount: Any, currency: str = "CNY") -> str:
    try:
        return money(Decimal(str(amount)), currency)
    except (InvalidOperation, ValueError):
        return ""
