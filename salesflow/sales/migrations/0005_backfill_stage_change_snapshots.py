"""Backfill the snapshot columns of existing stage changes.

The values a stage change *should* hold (positions, owner, owner's team, amount and
probability at the time of the change) were never recorded, so existing rows take them
from the stage rows and the deal as they are now: the best available approximation.
Rows written from now on carry the real snapshot (``salesflow.sales.services``).
"""

from django.db import migrations

BATCH = 2000


def backfill(apps, schema_editor):
    StageChange = apps.get_model("sales", "StageChange")
    Stage = apps.get_model("sales", "Stage")
    positions = dict(Stage.objects.values_list("pk", "position"))
    probabilities = dict(Stage.objects.values_list("pk", "probability"))
    qs = (
        StageChange.objects.filter(to_position__isnull=True)
        .select_related("opportunity", "opportunity__owner")
        .order_by("pk")
    )
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last)[:BATCH])
        if not rows:
            break
        for row in rows:
            opp = row.opportunity
            row.from_position = positions.get(row.from_stage_id) if row.from_stage_id else None
            row.to_position = positions.get(row.to_stage_id)
            row.owner_id = opp.owner_id
            row.owner_team_id = opp.owner.team_id
            row.amount = opp.amount
            row.currency = opp.currency
            # The deal's own probability for its current stage; for earlier stages the
            # stage's default, which is what a move set.
            if row.to_stage_id == opp.stage_id:
                row.probability = opp.probability
            else:
                row.probability = probabilities.get(row.to_stage_id)
        StageChange.objects.bulk_update(
            rows,
            ["from_position", "to_position", "owner", "owner_team", "amount", "currency", "probability"],
        )
        last = rows[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0004_stage_active_snapshots_field_history"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
