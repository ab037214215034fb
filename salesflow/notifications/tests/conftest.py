"""Fixtures: run after-commit callbacks and the real worker; notification helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from salesflow.core.testing import run_worker


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    """``with committed(): …`` runs the block, its on-commit callbacks (subscribers, enqueues)
    and then every queued task through the real worker loop."""

    @contextmanager
    def block() -> Iterator[None]:
        with django_capture_on_commit_callbacks(execute=True):
            yield
        # tasks may enqueue more tasks with on_commit (deliveries): run those callbacks too
        for _ in range(5):
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                ran = run_worker()
            if not ran and not callbacks:
                break

    return block
