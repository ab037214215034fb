"""Seed the stall escalation ladder: the owner the day a deal stalls, the manager five days later."""

from __future__ import annotations

from typing import Any

from django.db import migrations

LADDER = [(0, "owner", 1), (5, "manager", 2)]


def seed(apps: Any, schema_editor: Any) -> None:
    Step = apps.get_model("sales", "StallEscalationStep")
    if Step.objects.exists():
        return
    for after, notify, position in LADDER:
        Step.objects.create(after_days_stalled=after, notify=notify, position=position, is_active=True)


class Migration(migrations.Migration):
    dependencies = [("sales", "0018_stall_stats")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
