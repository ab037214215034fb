"""Instalment status and ageing buckets: the ONE rule, in Python and as SQL (pure module).

:func:`instalment_status` decides, in this order:

1. ``void`` — the instalment was voided (``billing.services.instalment_void``, with a reason);
2. ``paid`` — what was allocated covers the amount (``paid ≥ amount``);
3. ``overdue`` — the due date has passed (``due_date < today``) and it is not fully paid;
4. ``partly_paid`` — something but not everything was allocated;
5. ``pending`` — nothing allocated and not yet due.

:func:`status_q` is the same rule as a filter on ``Instalment`` (a test checks they agree
for every combination). :func:`bucket_of` puts an open amount into the ageing buckets by
days past due: ``current`` (not yet due, or due today), 1–30, 31–60, 61–90, over 90.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import F, Q

from salesflow.billing.choices import AgeingBucket, InstalmentStatus

BUCKET_BOUNDS: tuple[tuple[str, int, int | None], ...] = (
    (AgeingBucket.D1_30, 1, 30),
    (AgeingBucket.D31_60, 31, 60),
    (AgeingBucket.D61_90, 61, 90),
    (AgeingBucket.D90_PLUS, 91, None),
)


def instalment_status(*, amount: Decimal, paid: Decimal, due_date: date, voided: bool, today: date) -> str:
    """The derived status of an instalment (see the module docstring)."""
    if voided:
        return InstalmentStatus.VOID
    if paid >= amount:
        return InstalmentStatus.PAID
    if due_date < today:
        return InstalmentStatus.OVERDUE
    if paid > 0:
        return InstalmentStatus.PARTLY_PAID
    return InstalmentStatus.PENDING


def status_q(status: str, today: date) -> Q:
    """The rows of ``Instalment`` whose :func:`instalment_status` is ``status`` on ``today``."""
    live = Q(voided_at__isnull=True)
    unpaid = Q(paid__lt=F("amount"))
    if status == InstalmentStatus.VOID:
        return Q(voided_at__isnull=False)
    if status == InstalmentStatus.PAID:
        return live & Q(paid__gte=F("amount"))
    if status == InstalmentStatus.OVERDUE:
        return live & unpaid & Q(due_date__lt=today)
    if status == InstalmentStatus.PARTLY_PAID:
        return live & unpaid & Q(due_date__gte=today, paid__gt=0)
    if status == InstalmentStatus.PENDING:
        return live & unpaid & Q(due_date__gte=today, paid=0)
    return Q(pk__in=[])


def days_overdue(due_date: date, today: date) -> int:
    return max((today - due_date).days, 0)


def bucket_of(due_date: date, today: date) -> str:
    """The ageing bucket of an open amount due on ``due_date``."""
    late = days_overdue(due_date, today)
    if late == 0:
        return AgeingBucket.CURRENT
    for bucket, low, high in BUCKET_BOUNDS:
        if late >= low and (high is None or late <= high):
            return bucket
    return AgeingBucket.D90_PLUS  # pragma: no cover


def bucket_due_range(bucket: str, today: date) -> tuple[date | None, date | None]:
    """The due dates (inclusive bounds, ``None`` open) of the open amounts in ``bucket``."""
    if bucket == AgeingBucket.CURRENT:
        return today, None
    for name, low, high in BUCKET_BOUNDS:
        if name == bucket:
            return (today - timedelta(days=high) if high is not None else None), today - timedelta(days=low)
    raise ValueError(bucket)


def local_date(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def status_of(instalment: object, today: date) -> str:
    """:func:`instalment_status` of an ``Instalment`` row."""
    return instalment_status(
        amount=instalment.amount,  # type: ignore[attr-defined]
        paid=instalment.paid,  # type: ignore[attr-defined]
        due_date=instalment.due_date,  # type: ignore[attr-defined]
        voided=instalment.voided_at is not None,  # type: ignore[attr-defined]
        today=today,
    )
