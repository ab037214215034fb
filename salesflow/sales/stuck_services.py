"""The maintained aggregate behind "where is each rep stuck" (``StuckBucket``).

A bucket is (pipeline, owner, stage, currency, month of stage entry in UTC) → count, exact
sum of the amounts (split in two parts, see ``core.money.money_sum_annotations``) and the
earliest stage entry. Only open deals are counted. ``selectors.stuck_matrix`` reads the
buckets instead of every open deal: counts, values and worst days are sums over buckets;
stalled counts are whole buckets before the earliest cutoff month plus ONE range query
over the boundary window; medians come from ONE query over the deals of the buckets that
hold each cell's middle rank.

Writers: every service that changes a deal's pipeline, owner, stage, currency, amount,
outcome or stage entry calls :func:`stuck_buckets_follow` with the deal's state before
(read under the row lock) and after the write, in the same transaction. Bulk loads that
write deals past the services (demo, benchmark generator) call :func:`stuck_buckets_rebuild`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, F, Min, Value
from django.db.models.functions import Least

from salesflow.core.money import STORAGE_PLACES, SUM_SPLIT
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity, StuckBucket

#: Rows per INSERT when the aggregate is rebuilt.
REBUILD_BATCH = 5000


@dataclass(frozen=True)
class BucketState:
    """What a deal contributes to the aggregate (``None`` for a deal that is not open)."""

    pipeline_id: int
    owner_id: int
    stage_id: int
    currency: str
    entered: datetime
    hundredths: int


def bucket_state(opp: Opportunity | None) -> BucketState | None:
    """``opp``'s contribution as the database holds it (the caller passes a row it read or
    wrote); ``None`` when the deal is absent or not open."""
    if opp is None or opp.outcome != Outcome.OPEN:
        return None
    return BucketState(
        pipeline_id=opp.pipeline_id,
        owner_id=opp.owner_id,
        stage_id=opp.stage_id,
        currency=opp.currency,
        entered=opp.stage_entered_at,
        hundredths=hundredths(opp.amount),
    )


def hundredths(amount: Decimal | int) -> int:
    """An amount as the integer hundredths ``MoneyField`` stores."""
    return int(Decimal(amount).scaleb(STORAGE_PLACES))


def month_of(moment: datetime) -> date:
    """The first day of ``moment``'s month in UTC (the bucket's month)."""
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def month_start(month: date) -> datetime:
    """The first instant of ``month`` (UTC)."""
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _key(state: BucketState) -> dict[str, object]:
    return {
        "pipeline_id": state.pipeline_id,
        "owner_id": state.owner_id,
        "stage_id": state.stage_id,
        "currency": state.currency,
        "month": month_of(state.entered),
    }


def _add(state: BucketState) -> None:
    _add_to(_key(state), 1, state.hundredths, state.entered)


def _add_to(key: dict[str, object], count: int, hundredths: int, oldest: datetime) -> None:
    """Add ``count`` deals worth ``hundredths`` with earliest entry ``oldest`` to one bucket."""
    hi, lo = divmod(hundredths, SUM_SPLIT)
    changes = {
        "count": F("count") + count,
        "amount_hi": F("amount_hi") + hi,
        "amount_lo": F("amount_lo") + lo,
        "oldest": Least(F("oldest"), Value(oldest, output_field=DateTimeField())),
    }
    if StuckBucket.objects.filter(**key).update(**changes):
        return
    try:
        with transaction.atomic():  # a savepoint: a concurrent first deal of the bucket may win
            StuckBucket.objects.create(**key, count=count, amount_hi=hi, amount_lo=lo, oldest=oldest)
    except IntegrityError:
        StuckBucket.objects.filter(**key).update(**changes)


def stuck_buckets_add_many(states: Iterable[BucketState | None]) -> None:
    """Add newly written open deals (batch creates: imports) to the aggregate: one update
    (or insert) per distinct bucket, not per deal; ``None`` (a deal that is not open) adds
    nothing. Call it after the deals are written, in the same transaction."""
    grouped: dict[tuple[object, ...], tuple[dict[str, object], int, int, datetime]] = {}
    for state in states:
        if state is None:
            continue
        key = _key(state)
        ident = tuple(key.values())
        _k, count, total, oldest = grouped.get(ident, (key, 0, 0, state.entered))
        grouped[ident] = (key, count + 1, total + state.hundredths, min(oldest, state.entered))
    for key, count, total, oldest in grouped.values():
        _add_to(key, count, total, oldest)


def _remove(state: BucketState) -> None:
    key = _key(state)
    hi, lo = divmod(state.hundredths, SUM_SPLIT)
    bucket = StuckBucket.objects.filter(**key)
    # the UPDATE takes the bucket's row lock first, so concurrent writers of the bucket
    # serialise before the minimum is re-read below
    if not bucket.update(count=F("count") - 1, amount_hi=F("amount_hi") - hi, amount_lo=F("amount_lo") - lo):
        return  # no bucket: the aggregate was not built yet (stuck_buckets_rebuild builds it)
    count, oldest = bucket.values_list("count", "oldest").get()
    if count <= 0:
        bucket.delete()
    elif oldest >= state.entered:
        # the earliest entry left the bucket: the new one, read from the deals of the bucket
        # (the deal's own row is already written; opp_stuck_median_idx serves the range)
        start = month_start(key["month"])  # type: ignore[arg-type]
        end = month_start(next_month(key["month"]))  # type: ignore[arg-type]
        found = Opportunity.objects.filter(
            pipeline_id=state.pipeline_id,
            outcome=Outcome.OPEN,
            owner_id=state.owner_id,
            stage_id=state.stage_id,
            currency=state.currency,
            stage_entered_at__gte=start,
            stage_entered_at__lt=end,
        ).aggregate(m=Min("stage_entered_at"))["m"]
        if found is None:
            bucket.delete()
        else:
            bucket.update(oldest=found)


def stuck_buckets_follow(before: BucketState | None, after: BucketState | None) -> None:
    """Move a deal's contribution from ``before`` to ``after`` (either ``None``: not open,
    created or deleted). Call it AFTER the deal's row is written, in the same transaction,
    with ``before`` read under the row lock (or from the row the service just locked)."""
    if before == after:
        return
    if before is not None:
        _remove(before)
    if after is not None:
        _add(after)


@transaction.atomic
def stuck_buckets_rebuild(*, pipeline_ids: list[int] | None = None) -> int:
    """Rebuild the aggregate from the deals (every pipeline, or only ``pipeline_ids``):
    one grouped read of the open deals, then batched inserts. Returns the number of
    buckets. For bulk loads that write deals past the services (demo, benchmark), and as a
    repair (``manage.py stuck_buckets_rebuild``)."""
    old = StuckBucket.objects.all()
    deals = Opportunity.objects.filter(outcome=Outcome.OPEN)
    if pipeline_ids is not None:
        old = old.filter(pipeline_id__in=pipeline_ids)
        deals = deals.filter(pipeline_id__in=pipeline_ids)
    old.delete()
    rows = deals.order_by().values_list("pipeline_id", "owner_id", "stage_id", "currency", "stage_entered_at", "amount")
    buckets: dict[tuple[int, int, int, str, date], StuckBucket] = {}
    for pipeline_id, owner_id, stage_id, currency, entered, amount in rows.iterator(chunk_size=REBUILD_BATCH):
        month = month_of(entered)
        hi, lo = divmod(hundredths(amount), SUM_SPLIT)
        key = (pipeline_id, owner_id, stage_id, currency, month)
        bucket = buckets.get(key)
        if bucket is None:
            buckets[key] = StuckBucket(
                pipeline_id=pipeline_id,
                owner_id=owner_id,
                stage_id=stage_id,
                currency=currency,
                month=month,
                count=1,
                amount_hi=hi,
                amount_lo=lo,
                oldest=entered,
            )
        else:
            bucket.count += 1
            bucket.amount_hi += hi
            bucket.amount_lo += lo
            bucket.oldest = min(bucket.oldest, entered)
    StuckBucket.objects.bulk_create(list(buckets.values()), batch_size=REBUILD_BATCH)
    return len(buckets)
