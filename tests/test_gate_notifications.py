"""A gate override tells the deal's owner (sales → notifications, through the real worker):
who moved the deal on, which criteria were unmet and why; nobody is told of their own
override, and an admin's override reaches the owner too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.utils import translation

from salesflow.core.testing import run_worker
from salesflow.notifications.kinds import OPPORTUNITY_GATE_OVERRIDDEN
from salesflow.notifications.models import Notification
from salesflow.sales.gate_services import stage_criterion_create
from salesflow.sales.services import opportunity_move_stage
from salesflow.sales.tests.factories import make_opportunity, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    @contextmanager
    def block() -> Iterator[None]:
        with django_capture_on_commit_callbacks(execute=True):
            yield
        for _ in range(5):
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                ran = run_worker()
            if not ran and not callbacks:
                break

    return block


def test_the_owner_hears_of_a_managers_override(personas, committed):
    stage_criterion_create(
        actor=personas.admin,
        stage=stage("demo"),
        kind="decision_maker",
        params=None,
        label_en="Decision-maker contact",
        label_zh="决策人联系人",
    )
    opp = make_opportunity(personas.rep, stage_code="needs", name="华东仓储扩容")
    with committed():
        opportunity_move_stage(
            actor=personas.manager, opportunity=opp, stage=stage("demo"), override_reason="客户CEO口头确认"
        )
    notes = list(Notification.objects.filter(kind=OPPORTUNITY_GATE_OVERRIDDEN))
    assert [(n.recipient_id, n.target_id) for n in notes] == [(personas.rep.pk, opp.pk)]
    with translation.override("en"):
        text = notes[0].text
    assert "华东仓储扩容" in text and "客户CEO口头确认" in text and "Decision-maker contact" in text

    # nobody is told of their own override
    own = make_opportunity(personas.manager, stage_code="needs", name="经理自己的商机")
    with committed():
        opportunity_move_stage(actor=personas.manager, opportunity=own, stage=stage("demo"), override_reason="自己推进")
    assert not Notification.objects.filter(kind=OPPORTUNITY_GATE_OVERRIDDEN, target_id=own.pk).exists()

    # an administrator's override reaches the owner as well
    other = make_opportunity(personas.rep, stage_code="needs", name="第二个商机")
    with committed():
        opportunity_move_stage(actor=personas.admin, opportunity=other, stage=stage("demo"), override_reason="ok")
    assert (
        Notification.objects.filter(
            kind=OPPORTUNITY_GATE_OVERRIDDEN, recipient=personas.rep, target_id=other.pk
        ).count()
        == 1
    )
