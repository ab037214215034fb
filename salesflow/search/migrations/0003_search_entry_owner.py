"""The owner on the search row: ``owner_id`` and ``search_entry_owner_idx``.

``(kind, owner_id, title_key, object_id)`` in code-point order (``COLLATE "C"`` on
PostgreSQL, as ``search_entry_order_idx`` in ``0002``): a restricted scope's global search
walks each owner's title range in order and stops at the page's limit
(``search.selectors``). Created per vendor, so the model state carries no collation.

Existing rows get their owner from the records in one ``UPDATE`` per kind, through the
registrations of the apps that own the kinds (``search.documents``, the same lookup path
the services copy from), so this migration needs no model of those apps; a database whose
index is still empty has nothing to fill (``backfill_empty_index`` builds it after
``migrate``, owners included).
"""

from django.db import migrations, models

SQLITE = (
    "CREATE INDEX IF NOT EXISTS search_entry_owner_idx ON search_searchentry (kind, owner_id, title_key, object_id)"
)
POSTGRESQL = (
    "CREATE INDEX IF NOT EXISTS search_entry_owner_idx "
    'ON search_searchentry (kind, owner_id, title_key COLLATE "C", object_id)'
)
DROP = "DROP INDEX IF EXISTS search_entry_owner_idx"


def fill_owners(apps, schema_editor):
    from django.db.models import OuterRef, Subquery

    from salesflow.search.documents import registrations
    from salesflow.search.fts import PG_INDEX
    from salesflow.search.models import SearchEntry

    connection = schema_editor.connection
    if not SearchEntry.objects.using(connection.alias).exists():
        return
    postgresql = connection.vendor == "postgresql"
    if postgresql:  # every row is rewritten: the trigram index is built again in one pass after
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS search_entry_text_trgm")
    for registration in registrations():
        owner = registration.model._default_manager.filter(pk=OuterRef("object_id")).values(registration.owner)[:1]
        SearchEntry.objects.using(connection.alias).filter(kind=registration.kind).update(owner_id=Subquery(owner))
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute(PG_INDEX)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    fill_owners(apps, schema_editor)
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute(SQLITE)
            cursor.execute("ANALYZE search_searchentry")
        elif vendor == "postgresql":
            cursor.execute(POSTGRESQL)
            cursor.execute("ANALYZE search_searchentry")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor in ("sqlite", "postgresql"):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("search", "0002_search_entry_order_index")]

    operations = [
        migrations.AddField(
            model_name="searchentry",
            name="owner_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="owner id"),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
