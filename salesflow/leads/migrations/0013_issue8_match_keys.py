"""Duplicate-check keys on leads (issue 8): company stem and pinyin, name pinyin, phone key; backfilled in batches."""

from django.conf import settings
from django.db import migrations, models

from salesflow.core.normalize import party_match_keys

BATCH = 2000


def _backfill(model, fields, keys_of):
    """Recompute the keys of every row in primary-key batches (bounded memory, one UPDATE
    batch per ``BATCH`` rows)."""
    last = 0
    while True:
        rows = list(model.objects.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not rows:
            return
        for row in rows:
            for key, value in keys_of(row).items():
                setattr(row, key, value)
        model.objects.bulk_update(rows, fields)
        last = rows[-1].pk


def backfill(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    _backfill(
        Lead,
        ["company_stem", "company_pinyin", "name_pinyin", "phone_key"],
        lambda lead: party_match_keys(person_name=lead.name, company_name=lead.company_name, phone=lead.phone),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0012_protected_until"),
        ("parties", "0007_protected_until"),
        ("sales", "0020_stall_median_index"),
        ("users", "0007_follow_up_calendar_token"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="company_pinyin",
            field=models.CharField(blank=True, editable=False, max_length=200, verbose_name="company pinyin"),
        ),
        migrations.AddField(
            model_name="lead",
            name="company_stem",
            field=models.CharField(blank=True, editable=False, max_length=200, verbose_name="company stem"),
        ),
        migrations.AddField(
            model_name="lead",
            name="name_pinyin",
            field=models.CharField(blank=True, editable=False, max_length=200, verbose_name="name pinyin"),
        ),
        migrations.AddField(
            model_name="lead",
            name="phone_key",
            field=models.CharField(blank=True, editable=False, max_length=40, verbose_name="phone key"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["company_stem"], name="lead_company_stem_idx"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["company_pinyin"], name="lead_company_pinyin_idx"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["name_pinyin"], name="lead_name_pinyin_idx"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["phone_key"], name="lead_phone_key_idx"),
        ),
        # Reversing leaves nothing to undo: the columns are dropped by the schema steps.
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
