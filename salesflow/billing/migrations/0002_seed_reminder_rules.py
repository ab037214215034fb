"""Seed the payment reminder days: a week and a day before the due date, a day, a week and
a month after it (administrators change them)."""

from django.db import migrations

SEEDED = (-7, -1, 1, 7, 30)


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    rule = apps.get_model("billing", "ReminderRule")
    for days in SEEDED:
        rule.objects.get_or_create(days=days, defaults={"active": True})


def unseed(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("billing", "ReminderRule").objects.filter(days__in=SEEDED).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
