"""The company name as the duplicate matcher compares it, stored on accounts (issue 8):
``company_norm`` and ``company_regions`` (``core.normalize.company_parts_stored``), so the
matcher does not take apart the name of every record it fetches; backfilled in batches."""

import functools

from django.db import migrations, models

from salesflow.core.normalize import company_parts_stored

BATCH = 5000
CHUNK = 300  # rows per UPDATE statement (three parameters each)


def fill_company_parts(model, source, connection):
    """Store ``company_parts_stored`` of every row's company name (primary-key batches; one
    ``UPDATE … FROM (VALUES …)`` per chunk of rows with parts to store, so a large table is not
    one round trip per row; memoised per distinct name)."""
    table = connection.ops.quote_name(model._meta.db_table)
    norm, regions = connection.ops.quote_name("company_norm"), connection.ops.quote_name("company_regions")
    parts_of = functools.lru_cache(maxsize=1 << 16)(company_parts_stored)
    last = 0
    while True:
        rows = list(model.objects.filter(pk__gt=last).order_by("pk").values_list("pk", source)[:BATCH])
        if not rows:
            return
        last = rows[-1][0]
        updates = [(pk, *parts) for pk, name in rows if name and (parts := parts_of(name))[0]]
        with connection.cursor() as cursor:
            for start in range(0, len(updates), CHUNK):
                chunk = updates[start : start + CHUNK]
                values = ", ".join(["(%s, %s, %s)"] * len(chunk))
                cursor.execute(
                    f"WITH v(id, norm, regions) AS (VALUES {values}) "  # noqa: S608 (quoted names)
                    f"UPDATE {table} SET {norm} = v.norm, {regions} = v.regions FROM v WHERE {table}.id = v.id",
                    [value for row in chunk for value in row],
                )


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
