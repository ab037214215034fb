"""The targets demo: this fiscal year's plan, locked, decomposed exactly, with one rep moved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesflow.analytics.selectors import Node
from salesflow.core.periods import children, fiscal_year_of, year_period
from salesflow.demo.issue10_targets import write_targets
from salesflow.targets.models import PlanVersion, Target, VersionStatus
from salesflow.targets.selectors import OrgTree, target_of
from salesflow.users.models import TeamMembership

pytestmark = pytest.mark.django_db


def test_write_targets(personas) -> None:  # type: ignore[no-untyped-def]
    today = dt.date(2026, 12, 3)
    counts = write_targets(personas.all(), today)
    assert counts["plans"] == 1 and counts["moves"] == 1
    version = PlanVersion.objects.get()
    assert version.status == VersionStatus.LOCKED and version.price_strategy
    year = fiscal_year_of(today)
    rows = {(t.metric_key, t.node_key, t.period_key): t.value for t in Target.objects.filter(version=version)}
    goal = rows[("won_revenue", "company", str(year))]
    org = OrgTree()
    tops = [n.key for n in org.children(Node("company"))]
    assert sum(rows[("won_revenue", k, str(year))] for k in tops) == goal
    for q in children(year_period(year)):
        assert (
            sum(rows[("won_revenue", "company", m.key)] for m in children(q)) == rows[("won_revenue", "company", q.key)]
        )
    assert target_of(node=Node("company"), metric_key="won_revenue", period=year_period(year)) == goal
    assert all(v >= Decimal(0) for v in rows.values())
    assert TeamMembership.objects.filter(end__isnull=False).count() == 1
    assert write_targets(personas.all(), today)["plans"] == 0
