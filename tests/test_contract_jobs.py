"""Issue 9 (contracts): the expiry and renewal jobs are in the one schedule registry, and
running each of them twice for the same slot changes nothing the second time."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from salesflow.contracts.models import Contract, ContractStatus
from salesflow.contracts.services import contract_create
from salesflow.core.models import AuditEvent
from salesflow.sales.tests.factories import make_account
from salesflow.schedule import JOBS
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


def test_expiry_and_renewal_jobs_run_twice_harmlessly(personas: Personas) -> None:
    rep = personas.rep
    today = timezone.localdate()
    made = [
        contract_create(
            actor=rep,
            account=make_account(rep),
            title=f"运维服务合同 {n}",
            lines=[{"name_zh": "运维", "quantity": "1", "unit_price": Decimal("1000")}],
        )
        for n in range(2)
    ]
    Contract.objects.filter(pk=made[0].pk).update(status=ContractStatus.SIGNED, end_date=today - timedelta(days=1))
    Contract.objects.filter(pk=made[1].pk).update(status=ContractStatus.SIGNED, end_date=today + timedelta(days=20))
    jobs = {job.name: job for job in JOBS}
    slot = today.isoformat()
    for name, first in (("contracts.expire", 1), ("contracts.renewal_reminders", 1)):
        assert jobs[name].task.call(slot=slot) == first
        assert jobs[name].task.call(slot=slot) == 0
    assert Contract.objects.get(pk=made[0].pk).status == ContractStatus.EXPIRED
    assert list(AuditEvent.objects.filter(verb="contracts.contract.expired").values_list("target_id", flat=True)) == [
        made[0].pk
    ]
    assert list(
        AuditEvent.objects.filter(verb="contracts.contract.renewal_due").values_list("target_id", flat=True)
    ) == [made[1].pk]
