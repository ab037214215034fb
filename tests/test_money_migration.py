"""The data migrations turn stored decimals into exact hundredths (also the float-stored
values of SQLite, and the out-of-range rows no query could read before)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from salesflow.core.money import MAX_AMOUNT

BEFORE = [("sales", "0005_backfill_stage_change_snapshots"), ("leads", "0007_backfill_company_key")]


def _latest(executor: MigrationExecutor) -> list[tuple[str, str]]:
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] in {"sales", "leads"}]


# Not marked slow on purpose: it migrates every app depending on sales/leads back and only
# sales and leads forward again, so the transactional tests after it would find tables missing.
# As the last test of the transactional group (tests/ sorts after salesflow/) it breaks none.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_amounts_become_exact_hundredths():
    executor = MigrationExecutor(connection)
    latest = _latest(executor)
    executor.migrate(BEFORE)
    try:
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        # The current users model: the historical state above predates newer user columns.
        from salesflow.users.models import User

        user = User.objects.create(username="m", role="rep")
        account = old.get_model("parties", "Account").objects.create(name="A", owner_id=user.pk)
        # Own pipeline: an earlier transactional test may have flushed the seeded one.
        pipeline = old.get_model("sales", "Pipeline").objects.create(code="money-mig", name_en="M", name_zh="M")
        stage = old.get_model("sales", "Stage").objects.create(
            pipeline=pipeline, code="s", position=1, probability=10, kind="open", name_en="S", name_zh="S"
        )
        opportunity = old.get_model("sales", "Opportunity")
        lead = old.get_model("leads", "Lead")
        values = [Decimal("123456789012.34"), Decimal("0.07"), MAX_AMOUNT, Decimal("880000.00")]
        opp_ids = [
            opportunity.objects.create(
                name=str(v),
                account_id=account.pk,
                owner_id=user.pk,
                pipeline_id=stage.pipeline_id,
                stage_id=stage.pk,
                amount=v,
                probability=10,
            ).pk
            for v in values
        ]
        lead_ids = [lead.objects.create(name=str(v), source_channel="inbound", budget_amount=v).pk for v in values]
        empty_lead = lead.objects.create(name="none", source_channel="inbound").pk
        # Rows the old code let in and then could not read back:
        broken_opp = opportunity.objects.create(
            name="huge",
            account_id=account.pk,
            owner_id=user.pk,
            pipeline_id=stage.pipeline_id,
            stage_id=stage.pk,
            amount=Decimal("1"),
            probability=10,
        ).pk
        broken_lead = lead.objects.create(name="huge", source_channel="inbound", budget_amount=Decimal("1")).pk
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {opportunity._meta.db_table} SET amount = 1e15 WHERE id = %s", [broken_opp])
            cursor.execute(f"UPDATE {lead._meta.db_table} SET budget_amount = 1e15 WHERE id = %s", [broken_lead])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)

    from salesflow.leads.models import Lead
    from salesflow.sales.models import Opportunity

    assert [Opportunity.objects.get(pk=pk).amount for pk in opp_ids] == values
    assert [Lead.objects.get(pk=pk).budget_amount for pk in lead_ids] == values
    assert Lead.objects.get(pk=empty_lead).budget_amount is None
    assert Opportunity.objects.get(pk=broken_opp).amount == MAX_AMOUNT
    assert Lead.objects.get(pk=broken_lead).budget_amount is None
    assert {lead.budget_currency for lead in Lead.objects.all()} == {"CNY"}
