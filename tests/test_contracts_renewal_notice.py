"""Issue 9 (contracts): the renewal reminder reaches the owner as a notification (the
notifications app sits above contracts, so this cross-app check lives here)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from salesflow.contracts.models import Contract, ContractStatus
from salesflow.contracts.services import contract_create, renewal_reminders_run
from salesflow.core.models import AuditEvent
from salesflow.notifications.models import Notification
from salesflow.notifications.tasks import notify_for_event
from salesflow.sales.tests.factories import make_account
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


def test_the_owner_is_notified_once_before_the_end_date(personas: Personas) -> None:
    rep = personas.rep
    today = timezone.localdate()
    contract = contract_create(
        actor=rep,
        account=make_account(rep),
        title="运维服务合同",
        lines=[{"name_zh": "运维", "quantity": "1", "unit_price": Decimal("1000")}],
    )
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.SIGNED, end_date=today + timedelta(days=20))
    assert renewal_reminders_run(today=today, days_before=60) == 1
    assert renewal_reminders_run(today=today, days_before=60) == 0
    event = AuditEvent.objects.get(verb="contracts.contract.renewal_due")
    notify_for_event.call(event.pk)  # what the subscribed task does after the commit
    notice = Notification.objects.get(recipient=rep, kind="contracts.contract.renewal_due")
    assert "运维服务合同" in notice.text and notice.url == f"/contracts/{contract.pk}/"
    assert notice.summary["zh-hans"].startswith(f"合同“{contract.number} 运维服务合同”将于")
