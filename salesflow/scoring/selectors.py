"""Reads of lead scoring and data quality; every list starts from the record apps' access
functions, so the data-quality page counts only what the reader can see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from salesflow.leads.models import Lead
from salesflow.leads.permissions import leads_visible_to
from salesflow.parties.permissions import accounts_visible_to, contacts_visible_to
from salesflow.scoring.models import LeadScore, RecomputeRun, ScoreRule
from salesflow.scoring.quality import filled_weight_expression, incomplete_cut, stale_q
from salesflow.users.models import User

QUALITY_KINDS = ("lead", "account", "contact")
QUALITY_FLAGS = ("stale", "incomplete")
#: kind → the owner field path (contacts are owned through their account)
OWNER_PATH = {"lead": "owner", "account": "owner", "contact": "account__owner"}


def visible_records(user: User, kind: str) -> QuerySet[Any]:
    if kind == "lead":
        return leads_visible_to(user)
    if kind == "account":
        return accounts_visible_to(user)
    return contacts_visible_to(user)


def rules_in_order() -> QuerySet[ScoreRule]:
    return ScoreRule.objects.order_by("position", "id")


def lead_score(lead: Lead) -> LeadScore | None:
    return LeadScore.objects.filter(lead_id=lead.pk).first()


def latest_run() -> RecomputeRun | None:
    return RecomputeRun.objects.order_by("-created_at", "-id").first()


@dataclass
class OwnerQuality:
    """Counts for one owner (``None`` = unassigned): kind → (total, stale, incomplete)."""

    owner_id: int | None
    owner: User | None = None
    counts: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def quality_summary(user: User, *, now: datetime) -> list[OwnerQuality]:
    """Per owner, the number of records, stale records and incomplete records of each kind
    that ``user`` can see. Four queries whatever the number of records or owners."""
    rows: dict[int | None, OwnerQuality] = {}
    for kind in QUALITY_KINDS:
        owner_path = OWNER_PATH[kind]
        cut = incomplete_cut(kind)
        qs = (
            visible_records(user, kind)
            .alias(filled=filled_weight_expression(kind))
            .values(owner_path)
            .annotate(
                n=Count("pk"),
                stale=Count("pk", filter=stale_q(now=now)),
                incomplete=Count("pk", filter=Q(filled__lt=cut)),
            )
            .order_by()
        )
        for item in qs:
            owner_id = item[owner_path]
            entry = rows.setdefault(owner_id, OwnerQuality(owner_id=owner_id))
            entry.counts[kind] = (item["n"], item["stale"], item["incomplete"])
    owners = User.objects.in_bulk([pk for pk in rows if pk is not None])
    for entry in rows.values():
        entry.owner = owners.get(entry.owner_id) if entry.owner_id is not None else None
        for kind in QUALITY_KINDS:
            entry.counts.setdefault(kind, (0, 0, 0))
    return sorted(rows.values(), key=lambda e: (e.owner is None, str(e.owner or "")))


def quality_records(user: User, kind: str, *, owner: str = "", flag: str = "", now: datetime) -> QuerySet[Any]:
    """The visible records of ``kind`` for the data-quality links: one owner (an id, or
    ``none`` for unassigned), ``stale`` or ``incomplete``. Unknown values match nothing."""
    qs: QuerySet[Any] = visible_records(user, kind)
    owner_path = OWNER_PATH[kind]
    if owner == "none":
        qs = qs.filter(**{f"{owner_path}__isnull": True})
    elif owner:
        try:
            qs = qs.filter(**{f"{owner_path}_id" if kind != "contact" else "account__owner_id": int(owner)})
        except ValueError:
            qs = qs.none()
    if flag == "stale":
        qs = qs.filter(stale_q(now=now))
    elif flag == "incomplete":
        qs = qs.alias(filled=filled_weight_expression(kind)).filter(filled__lt=incomplete_cut(kind))
    elif flag:
        qs = qs.none()
    qs = qs.select_related("account", "account__owner") if kind == "contact" else qs.select_related("owner")
    return qs.order_by("pk")
