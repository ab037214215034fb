"""Access requests notify the owner; the decision notifies the requester (real worker)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from salesflow.core.testing import run_worker
from salesflow.leads.services import lead_create
from salesflow.merging.services import access_request_create, access_request_decide
from salesflow.notifications.models import Notification

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


def test_owner_then_requester_are_notified(personas, committed) -> None:
    lead = lead_create(
        actor=personas.outsider,
        owner=personas.outsider,
        name="秘密",
        source_channel="inbound",
        mobile="13900139000",
        intake_options={"duplicate_reason": "x"},
    )
    with committed():
        request = access_request_create(actor=personas.rep, kind="lead", object_id=lead.pk)
    to_owner = Notification.objects.get(kind="merging.access.requested")
    assert to_owner.recipient == personas.outsider and to_owner.url == "/duplicates/access-requests/"
    assert not Notification.objects.filter(recipient=personas.rep).exists()
    with committed():
        access_request_decide(actor=personas.outsider, request=request, grant=False)
    to_requester = Notification.objects.get(kind="merging.access.decided")
    assert to_requester.recipient == personas.rep
