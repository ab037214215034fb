"""Fixtures: run after-commit callbacks and the real worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from salesflow.core.testing import run_worker


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
