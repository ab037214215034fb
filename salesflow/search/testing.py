"""Test helpers: factories that create records without the services index them with this."""

from __future__ import annotations

from typing import TypeVar

from django.db import models

from salesflow.search.services import index_record

M = TypeVar("M", bound=models.Model)


def indexed(obj: M) -> M:
    """``obj`` after writing its search row (what the services do on create)."""
    index_record(obj)
    return obj
