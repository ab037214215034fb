"""Seed the activity-type settings and the escalation ladder (issue 7), and derive each
account's last follow-up and next due date from its done activities (upgrades)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations
from django.db.models import Max

# kind → (needs outcome, needs next follow-up date, counts as a follow-up)
KINDS = {
    "call": (True, True, True),
    "visit": (True, True, True),
    "meeting": (True, True, True),
    "demo": (True, False, True),
    "email": (False, False, True),
    "note": (False, False, False),
    "task": (False, False, True),
}
# position → (days overdue after the grace period, action)
LADDER = {1: (0, "remind_owner"), 2: (3, "notify_manager"), 3: (7, "mark_at_risk")}


def _local_date(value: datetime):  # type: ignore[no-untyped-def]
    return value.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    Config = apps.get_model("activities", "ActivityKindConfig")
    Step = apps.get_model("activities", "FollowUpEscalationStep")
    Activity = apps.get_model("activities", "Activity")
    Account = apps.get_model("parties", "Account")
    Policy = apps.get_model("parties", "FollowUpPolicy")
    for kind, (outcome, follow, counts) in KINDS.items():
        Config.objects.get_or_create(
            kind=kind,
            defaults={"needs_outcome": outcome, "needs_next_follow_up": follow, "counts_as_follow_up": counts},
        )
    for position, (days, action) in LADDER.items():
        Step.objects.get_or_create(position=position, defaults={"after_days_over": days, "action": action})

    every = dict(Policy.objects.values_list("grade", "every_days"))
    counting = [kind for kind, (_o, _f, counts) in KINDS.items() if counts]
    last = dict(
        Activity.objects.filter(done=True, kind__in=counting, account__isnull=False)
        .values("account_id")
        .annotate(last=Max("done_at"))
        .values_list("account_id", "last")
    )
    batch = []
    for account in Account.objects.only("pk", "grade", "created_at").iterator(chunk_size=2000):
        account.last_follow_up_at = last.get(account.pk)
        days = every.get(account.grade)
        base = account.last_follow_up_at or account.created_at
        account.next_follow_up_due = _local_date(base) + timedelta(days=days) if days and base else None
        batch.append(account)
        if len(batch) >= 2000:
            Account.objects.bulk_update(batch, ["last_follow_up_at", "next_follow_up_due"])
            batch = []
    if batch:
        Account.objects.bulk_update(batch, ["last_follow_up_at", "next_follow_up_due"])


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0008_follow_up_kind_config_check_in_escalation"),
        ("parties", "0006_follow_up_seed_policies"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
