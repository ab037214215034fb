from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Service messages are asserted in the source language."""
    with translation.override("en"):
        yield
