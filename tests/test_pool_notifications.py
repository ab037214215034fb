"""Issue 8: the owner is told before and after a recycle rule returns their record to a
public pool (``salesflow/notifications/rules.py`` ← ``pools.recycle``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from salesflow.core.models import AuditEvent
from salesflow.notifications.kinds import KINDS
from salesflow.notifications.rules import RULES, pool_recycle
from salesflow.parties.models import Account
from salesflow.parties.tests.factories import make_account
from salesflow.pools.models import RecycleRule
from salesflow.pools.services import recycle_run
from salesflow.pools.tests.factories import make_pool

pytestmark = pytest.mark.django_db


def test_recycle_warning_then_recycled_notify_the_owner(personas) -> None:  # type: ignore[no-untyped-def]
    assert RULES["pools.record.recycle_warning"] is pool_recycle and RULES["pools.record.recycled"] is pool_recycle
    assert {"pools.record.recycle_warning", "pools.record.recycled"} <= set(KINDS)
    pool = make_pool(personas.team_a)
    RecycleRule.objects.create(name="30 天", kind="account", no_follow_up_days=30, warn_days_before=5, target_pool=pool)
    soon, due = make_account(personas.rep, name="将回收"), make_account(personas.rep, name="已到期")
    Account.objects.filter(pk=soon.pk).update(created_at=timezone.now() - timedelta(days=27))
    Account.objects.filter(pk=due.pk).update(created_at=timezone.now() - timedelta(days=31))
    recycle_run()
    planned = [p for e in AuditEvent.objects.filter(verb__startswith="pools.record.") for p in pool_recycle(e)]
    assert sorted((p.recipient.username, p.kind) for p in planned) == [
        ("rep", "pools.record.recycle_warning"),
        ("rep", "pools.record.recycled"),
    ]
    summaries = {p.kind: p.summary() for p in planned}
    assert "unless you follow up" in summaries["pools.record.recycle_warning"]
    assert "went back to the public pool" in summaries["pools.record.recycled"]
