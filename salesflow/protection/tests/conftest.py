"""Fixtures of the protection tests: English messages; run after-commit callbacks and tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.utils import translation

from salesflow.core.testing import run_worker


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Service messages are asserted in the source language."""
    with translation.override("en"):
        yield


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    """``with committed(): …`` runs the block, its on-commit callbacks and queued tasks."""

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
