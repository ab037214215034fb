"""Duplicate-check keys on accounts and contacts (issue 8); backfilled in batches."""

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
    Account = apps.get_model("parties", "Account")
    Contact = apps.get_model("parties", "Contact")

    def account_keys(account):
        keys = party_match_keys(company_name=account.name, phone=account.phone)
        return {key: keys[key] for key in ("company_stem", "company_pinyin", "phone_key")}

    def contact_keys(contact):
        keys = party_match_keys(person_name=contact.name, phone=contact.phone)
        return {key: keys[key] for key in ("name_pinyin", "phone_key")}

    _backfill(Account, ["company_stem", "company_pinyin", "phone_key"], account_keys)
    _backfill(Contact, ["name_pinyin", "phone_key"], contact_keys)


class Migration(migrations.Migration):
    dependencies = [
        ("parties", "0007_protected_until"),
        ("users", "0007_follow_up_calendar_token"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="company_pinyin",
            field=models.CharField(
                blank=True, db_default="", editable=False, max_length=200, verbose_name="company pinyin"
            ),
        ),
        migrations.AddField(
            model_name="account",
            name="company_stem",
            field=models.CharField(
                blank=True, db_default="", editable=False, max_length=200, verbose_name="company stem"
            ),
        ),
        migrations.AddField(
            model_name="account",
            name="phone_key",
            field=models.CharField(blank=True, db_default="", editable=False, max_length=40, verbose_name="phone key"),
        ),
        migrations.AddField(
            model_name="contact",
            name="name_pinyin",
            field=models.CharField(
                blank=True, db_default="", editable=False, max_length=200, verbose_name="name pinyin"
            ),
        ),
        migrations.AddField(
            model_name="contact",
            name="phone_key",
            field=models.CharField(blank=True, db_default="", editable=False, max_length=40, verbose_name="phone key"),
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["company_stem"], name="account_company_stem_idx"),
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["company_pinyin"], name="account_company_pinyin_idx"),
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["phone_key"], name="account_phone_key_idx"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["name_pinyin"], name="contact_name_pinyin_idx"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["phone_key"], name="contact_phone_key_idx"),
        ),
        # Reversing leaves nothing to undo: the columns are dropped by the schema steps.
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
