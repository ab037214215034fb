"""Update events stored their changed fields under ``changed_fields`` (parties, sales) or
``changes`` (leads, activities); the payload is now ``changes`` everywhere."""

from django.db import migrations


def forwards(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    rows = AuditEvent.objects.filter(data__has_key="changed_fields").only("pk", "data")
    batch = []
    for event in rows.iterator(chunk_size=1000):
        data = dict(event.data)
        data["changes"] = data.pop("changed_fields")
        event.data = data
        batch.append(event)
        if len(batch) >= 1000:
            AuditEvent.objects.bulk_update(batch, ["data"])
            batch = []
    if batch:
        AuditEvent.objects.bulk_update(batch, ["data"])


def backwards(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    verbs = ["parties.account.updated", "parties.contact.updated", "sales.opportunity.updated"]
    rows = AuditEvent.objects.filter(verb__in=verbs, data__has_key="changes").only("pk", "data")
    batch = []
    for event in rows.iterator(chunk_size=1000):
        data = dict(event.data)
        data["changed_fields"] = data.pop("changes")
        event.data = data
        batch.append(event)
    AuditEvent.objects.bulk_update(batch, ["data"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_scheduled_run")]

    operations = [migrations.RunPython(forwards, backwards)]
