"""Seed the follow-up frequency of each customer grade (客户分层 → 沟通频率, issue 7)."""

from django.db import migrations

# grade → (follow up every N days, grace days before the escalation ladder starts)
POLICIES = {"A": (7, 2), "B": (14, 3), "C": (30, 7), "D": (90, 14)}


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    FollowUpPolicy = apps.get_model("parties", "FollowUpPolicy")
    for grade, (every, grace) in POLICIES.items():
        FollowUpPolicy.objects.get_or_create(grade=grade, defaults={"every_days": every, "grace_days": grace})


class Migration(migrations.Migration):
    dependencies = [("parties", "0005_follow_up_policy_and_account_due")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
