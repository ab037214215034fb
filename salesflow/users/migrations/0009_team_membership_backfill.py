"""Every existing user starts a team history in their current team (issue 10)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def backfill(apps: Any, schema_editor: Any) -> None:
    User = apps.get_model("users", "User")
    TeamMembership = apps.get_model("users", "TeamMembership")
    have = set(TeamMembership.objects.values_list("user_id", flat=True))
    TeamMembership.objects.bulk_create(
        [
            TeamMembership(user_id=pk, team_id=team_id, start=joined.date())
            for pk, team_id, joined in User.objects.values_list("pk", "team_id", "date_joined")
            if pk not in have
        ],
        batch_size=500,
    )


class Migration(migrations.Migration):
    dependencies = [("users", "0008_team_membership")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
