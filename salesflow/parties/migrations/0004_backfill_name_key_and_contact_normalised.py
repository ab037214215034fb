"""Backfill ``Account.name_key`` and store existing contact mobiles and emails normalised,
as the services now do on every write (the fields are the duplicate-detection keys)."""

from django.db import migrations

from salesflow.core.normalize import company_name_key, normalize_email, normalize_phone

BATCH = 2000


def backfill(apps, schema_editor):
    Account = apps.get_model("parties", "Account")
    Contact = apps.get_model("parties", "Contact")
    batch = []
    for account in Account.objects.only("pk", "name", "name_key").iterator(chunk_size=BATCH):
        key = company_name_key(account.name)[:200]
        if key != account.name_key:
            account.name_key = key
            batch.append(account)
        if len(batch) >= BATCH:
            Account.objects.bulk_update(batch, ["name_key"])
            batch = []
    Account.objects.bulk_update(batch, ["name_key"])
    batch = []
    for contact in Contact.objects.only("pk", "mobile", "email").iterator(chunk_size=BATCH):
        mobile, email = normalize_phone(contact.mobile), normalize_email(contact.email)
        if (mobile, email) != (contact.mobile, contact.email):
            contact.mobile, contact.email = mobile, email
            batch.append(contact)
        if len(batch) >= BATCH:
            Contact.objects.bulk_update(batch, ["mobile", "email"])
            batch = []
    Contact.objects.bulk_update(batch, ["mobile", "email"])


class Migration(migrations.Migration):
    dependencies = [
        ("parties", "0003_account_name_key"),
    ]

    operations = [
        # Reversing leaves the keys and normalised values in place: the old code ignores them.
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
