"""Backfill ``closed_on`` and ``close_date``.

A won or lost deal's actual close date is taken from its history: the time of its last
stage change into a won or lost stage, else ``closed_at`` (when the outcome was recorded),
as a date in the installation's time zone. ``close_date`` is ``closed_on`` for won and
lost deals and ``expected_close_date`` for every other deal.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import F
from django.utils import timezone


def backfill(apps: Any, schema_editor: Any) -> None:
    Opportunity = apps.get_model("sales", "Opportunity")
    StageChange = apps.get_model("sales", "StageChange")
    tz = timezone.get_default_timezone()
    closed = Opportunity.objects.filter(outcome__in=["won", "lost"]).only("id", "outcome", "closed_at")
    batch: list[Any] = []
    for opp in closed.iterator(chunk_size=2000):
        last = (
            StageChange.objects.filter(opportunity_id=opp.id, to_stage__kind=opp.outcome)
            .order_by("-changed_at")
            .values_list("changed_at", flat=True)
            .first()
        )
        when = last or opp.closed_at
        opp.closed_on = timezone.localtime(when, tz).date() if when else None
        opp.close_date = opp.closed_on
        batch.append(opp)
        if len(batch) >= 2000:
            Opportunity.objects.bulk_update(batch, ["closed_on", "close_date"])
            batch = []
    if batch:
        Opportunity.objects.bulk_update(batch, ["closed_on", "close_date"])
    Opportunity.objects.exclude(outcome__in=["won", "lost"]).update(close_date=F("expected_close_date"))


class Migration(migrations.Migration):
    dependencies = [("sales", "0009_opportunity_closed_on")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
