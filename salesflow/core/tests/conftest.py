"""Fixtures of the core tests that start ``salesflow`` in a process of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from salesflow.core.test_databases import sqlite_copy, sqlite_template


@pytest.fixture(scope="session")
def migrated_sqlite() -> Path:
    """A SQLite database file migrated by ``salesflow migrate`` in a process of its own (as
    ``make run`` does before ``salesflow serve``): the test-database template, built once for
    the current migrations and shared by every test process (``salesflow.core.test_databases``).
    Never write to it: copy it with ``copy_migrated_sqlite``."""
    return sqlite_template()


@pytest.fixture
def copy_migrated_sqlite(migrated_sqlite: Path) -> Callable[[Path], Path]:
    """Writes a copy of the migrated database to the given path (SQLite's backup API) and
    returns the path."""

    def copy(target: Path) -> Path:
        sqlite_copy(migrated_sqlite, target)
        return target

    return copy
