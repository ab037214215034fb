"""Fixtures of the core tests that start ``salesflow`` in a process of its own."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database file migrated once by ``salesflow migrate`` (in a process of its own,
    as ``make run`` does before ``salesflow serve``), shared by every test of the run: the
    pytest-xdist workers take turns under a file lock and the first one writes it. Migrating
    a fresh database costs about a minute of CPU (Django re-renders the migration state), so
    each server test migrating its own copy cost a minute per test."""
    shared = tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else None
    root = shared or tmp_path_factory.getbasetemp()
    path = root / "salesflow-migrated.sqlite3"
    with open(root / "salesflow-migrated.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            building = root / "salesflow-migrating.sqlite3"
            data_dir = root / "salesflow-migrate-data"
            data_dir.mkdir(exist_ok=True)
            env = {
                **os.environ,
                "SALESFLOW_DATA_DIR": str(data_dir),
                "DATABASE_URL": f"sqlite:///{building}",
                "SECRET_KEY": "x" * 60,
                "DEBUG": "0",
            }
            env.pop("DJANGO_SETTINGS_MODULE", None)
            subprocess.run(
                [sys.executable, "-m", "salesflow.cli", "migrate", "--no-input", "-v", "0"],
                cwd=ROOT,
                env=env,
                check=True,
                timeout=600,
            )
            _backup(building, root / "salesflow-migrated.tmp")  # one file, whatever sat in the WAL
            (root / "salesflow-migrated.tmp").rename(path)
    return path


@pytest.fixture
def copy_migrated_sqlite(migrated_sqlite: Path) -> Callable[[Path], Path]:
    """Writes a copy of the migrated database to the given path (SQLite's backup API) and
    returns the path."""

    def copy(target: Path) -> Path:
        _backup(migrated_sqlite, target)
        return target

    return copy


def _backup(source_path: Path, target_path: Path) -> None:
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
