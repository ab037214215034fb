"""Data: the B2B pipeline's qualification stage is its BANT stage, and accounts with a won
deal that are still prospects become customers, as ``opportunity_close`` now
does for every new win (``parties.services.account_record_win``)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    Stage = apps.get_model("sales", "Stage")
    Account = apps.get_model("parties", "Account")
    Opportunity = apps.get_model("sales", "Opportunity")
    Stage.objects.filter(pipeline__code="b2b", code="qualification", kind="open").update(is_bant_gate=True)
    won = Opportunity.objects.filter(outcome="won").values("account_id")
    # Churned accounts stay churned: their wins are older than the churn.
    Account.objects.filter(pk__in=won, lifecycle="prospect").update(lifecycle="customer")


class Migration(migrations.Migration):
    dependencies = [
        ("parties", "0004_backfill_name_key_and_contact_normalised"),
        ("sales", "0011_close_dates_bant_stage"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
