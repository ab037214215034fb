"""Issue 9 (billing): payment reminders reach the owner and the assistant delegated to them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from salesflow.billing.services import InstalmentInput, plan_create
from salesflow.billing.tests.factories import make_contract

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = timezone.localdate()


def test_reminder_notifies_owner_and_delegated_assistant(personas, django_capture_on_commit_callbacks):
    from salesflow.billing.tasks import payment_reminders
    from salesflow.core.testing import run_worker
    from salesflow.notifications.models import Notification

    contract = make_contract(personas.rep, total=D("300.00"))
    rows = [InstalmentInput("100", TODAY - dt.timedelta(days=7)), InstalmentInput("200", TODAY + dt.timedelta(days=1))]
    plan_create(actor=personas.rep, kind="contract", document_id=contract.pk, instalments=rows)
    with django_capture_on_commit_callbacks(execute=True):
        assert payment_reminders.call() == 2
    run_worker()
    got = sorted((n.recipient.username, n.kind) for n in Notification.objects.select_related("recipient"))
    assert got == [
        ("assistant", "billing.instalment.due_soon"),
        ("assistant", "billing.instalment.overdue"),
        ("rep", "billing.instalment.due_soon"),
        ("rep", "billing.instalment.overdue"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert payment_reminders.call() == 0
    run_worker()
    assert Notification.objects.count() == 4
