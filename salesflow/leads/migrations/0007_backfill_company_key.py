"""Backfill ``Lead.company_key`` (the services maintain it from now on)."""

from django.db import migrations

from salesflow.core.normalize import company_name_key

BATCH = 2000


def backfill(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    batch = []
    for lead in Lead.objects.only("pk", "company_name", "company_key").iterator(chunk_size=BATCH):
        key = company_name_key(lead.company_name)[:200]
        if key != lead.company_key:
            lead.company_key = key
            batch.append(lead)
        if len(batch) >= BATCH:
            Lead.objects.bulk_update(batch, ["company_key"])
            batch = []
    Lead.objects.bulk_update(batch, ["company_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0006_lead_company_key"),
    ]

    operations = [
        # Reversing leaves the keys in place: the old code ignores them.
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
