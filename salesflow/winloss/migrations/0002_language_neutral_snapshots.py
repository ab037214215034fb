"""The snapshots become language-neutral (keys and codes, labelled when shown) and their key no
longer includes the language: the rows stored before hold translated labels in the old layout,
so they are discarded (the next reader's visit or the hourly ``winloss.refresh`` recomputes)."""

from typing import Any

from django.db import migrations


def discard_old_snapshots(apps: Any, schema_editor: Any) -> None:
    apps.get_model("winloss", "WinLossSnapshot").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("winloss", "0001_snapshot")]

    operations = [
        migrations.RunPython(discard_old_snapshots, migrations.RunPython.noop),
    ]
