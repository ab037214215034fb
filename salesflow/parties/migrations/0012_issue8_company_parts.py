"""The company name as the duplicate matcher compares it, stored on accounts (issue 8):
``company_norm`` and ``company_regions`` (``core.normalize.company_parts_stored``), so the
matcher does not take apart the name of every record it fetches; backfilled in batches."""

import functools

from django.db import migrations, models

from salesflow.core.normalize import company_parts_stored

BATCH = 5000


def fill_company_parts(model, source, connection):
    """Store ``company_parts_stored`` of every row's company name (primary-key batches; one
    ``executemany`` UPDATE per batch for the rows with parts to store; memoised per distinct
    name, which repeats across a large table)."""
    table = connection.ops.quote_name(model._meta.db_table)
    norm, regions = connection.ops.quote_name("company_norm"), connection.ops.quote_name("company_regions")
    sql = f"UPDATE {table} SET {norm} = %s, {regions} = %s WHERE id = %s"  # noqa: S608 (quoted names)
    parts_of = functools.lru_cache(maxsize=1 << 16)(company_parts_stored)
    last = 0
    while True:
        rows = list(model.objects.filter(pk__gt=last).order_by("pk").values_list("pk", source)[:BATCH])
        if not rows:
            return
        last = rows[-1][0]
        updates = [(*parts, pk) for pk, name in rows if name and (parts := parts_of(name))[0]]
        if updates:
            with connection.cursor() as cursor:
                cursor.executemany(sql, updates)


def backfill(apps, schema_editor):
    fill_company_parts(apps.get_model("parties", "Account"), "name", schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("parties", "0011_myday_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="company_norm",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                editable=False,
                max_length=200,
                verbose_name="normalised company name",
            ),
        ),
        migrations.AddField(
            model_name="account",
            name="company_regions",
            field=models.CharField(
                blank=True, db_default="", default="", editable=False, max_length=200, verbose_name="company regions"
            ),
        ),
        # Reversing leaves nothing to undo: the columns are dropped by the schema steps.
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
