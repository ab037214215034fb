"""Test databases copied from a migrated template instead of migrated once per test process.

Migrating an empty database costs about 50 s of CPU: Django replays 130-odd migrations and
re-renders the model state after each app. The SQLite and PostgreSQL suites each run in two
pytest-xdist processes, and every process used to migrate its own test database.

With :func:`install` (called by the root ``conftest.py``), the first process that needs a test
database runs ``salesflow migrate`` once, in a process of its own, into a **template**:

* SQLite: a file; each test process copies it into its in-memory test database with SQLite's
  backup API;
* PostgreSQL: a database; each test process creates its test database ``WITH TEMPLATE`` it.

Django then runs ``migrate`` on the copy as usual. Every migration is already recorded as
applied, so that pass changes nothing and takes a few seconds; the ``post_migrate`` handlers
still run, as they would on a fresh database.

Guarantees:

* The template's name carries a hash of every migration file of every installed app and of
  the Django version, so a change to any migration builds a new template; an existing one is
  reused only for the same migrations (a second local run skips the build).
* Concurrent test processes and concurrent runs build each template once: the build holds an
  exclusive file lock, writes under a temporary name and publishes by rename, so a reader never
  sees a half-migrated template.
* ``SALESFLOW_TEST_TEMPLATE=0`` turns it off (every process migrates, as Django does).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: Where templates and their locks live (shared by every run on the machine).
TEMPLATE_DIR = Path(tempfile.gettempdir()) / "salesflow-test-templates"


def enabled() -> bool:
    """Whether test databases are copied from a template (``SALESFLOW_TEST_TEMPLATE=0``: no)."""
    return os.environ.get("SALESFLOW_TEST_TEMPLATE", "1") != "0"


def migrations_fingerprint() -> str:
    """A hash of the Django version and of every installed app's migration files (names and
    contents): equal fingerprints mean ``migrate`` builds the same schema and data."""
    import django
    from django.apps import apps

    digest = hashlib.sha256(django.get_version().encode())
    for config in sorted(apps.get_app_configs(), key=lambda c: c.label):
        folder = Path(config.path) / "migrations"
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.py")):
            digest.update(f"{config.label}/{path.name}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@contextmanager
def _locked(name: str) -> Iterator[None]:
    TEMPLATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(TEMPLATE_DIR / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _migrate(database_url: str, data_dir: Path) -> None:
    """Runs ``salesflow migrate`` against ``database_url`` in a process of its own, as
    ``make run`` does before serving."""
    env = {**os.environ, "DATABASE_URL": database_url, "SALESFLOW_DATA_DIR": str(data_dir)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "salesflow.cli", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=3600,
    )


def sqlite_copy(source: Path, target: sqlite3.Connection | Path) -> None:
    """Copies the SQLite database ``source`` into ``target`` (a path or an open connection)
    with SQLite's backup API: one consistent file, whatever sat in the source's WAL."""
    src = sqlite3.connect(source)
    dst = target if isinstance(target, sqlite3.Connection) else sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        if not isinstance(target, sqlite3.Connection):
            dst.close()
        src.close()


def sqlite_template() -> Path:
    """The migrated SQLite template file for the current migrations (built on first use)."""
    name = f"sqlite-{migrations_fingerprint()}"
    path = TEMPLATE_DIR / f"{name}.sqlite3"
    with _locked(name):
        if not path.exists():
            building = TEMPLATE_DIR / f"{name}.building.sqlite3"
            for stale in TEMPLATE_DIR.glob(f"{name}.building.sqlite3*"):
                stale.unlink()
            _migrate(f"sqlite:///{building}", TEMPLATE_DIR / f"{name}-data")
            sqlite_copy(building, TEMPLATE_DIR / f"{name}.tmp")
            (TEMPLATE_DIR / f"{name}.tmp").rename(path)
            for leftover in TEMPLATE_DIR.glob(f"{name}.building.sqlite3*"):
                leftover.unlink()
    return path


def postgres_template(settings_dict: dict[str, Any], nodb_cursor: Callable[[], Any]) -> str:
    """The name of the migrated PostgreSQL template database for the current migrations on
    the server of ``settings_dict`` (built on first use)."""
    name = f"salesflow_tpl_{migrations_fingerprint()}"
    building = f"{name}_building"
    with _locked(f"pg-{settings_dict.get('HOST') or 'local'}-{settings_dict.get('PORT') or ''}-{name}"):
        with nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone():
                return name
            cursor.execute(f'DROP DATABASE IF EXISTS "{building}"')
            cursor.execute(f'CREATE DATABASE "{building}"')
        user = settings_dict.get("USER") or ""
        password = settings_dict.get("PASSWORD") or ""
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or ""
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        _migrate(f"postgres://{credentials}{host}{port}/{building}", TEMPLATE_DIR / f"{name}-data")
        with nodb_cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    return name


def install() -> None:
    """Makes Django's test-database creation copy the template (see the module docstring)."""
    if not enabled():
        return
    from django.db.backends.postgresql.creation import DatabaseCreation as PostgresCreation
    from django.db.backends.sqlite3.creation import DatabaseCreation as SqliteCreation

    # Private hooks of Django's creation classes (not in django-stubs): looked up by name.
    sqlite_create: Callable[..., str] = getattr(SqliteCreation, "_create_test_db")  # noqa: B009
    postgres_create: Callable[..., str] = getattr(PostgresCreation, "_create_test_db")  # noqa: B009

    def create_sqlite(self: SqliteCreation, verbosity: int, autoclobber: bool, keepdb: bool = False) -> str:
        name = sqlite_create(self, verbosity, autoclobber, keepdb)
        if keepdb or not self.is_in_memory_db(name):
            return name
        template = sqlite_template()
        self.connection.close()
        self.connection.settings_dict["NAME"] = name
        self.connection.ensure_connection()  # in memory: stays open while the process runs
        sqlite_copy(template, self.connection.connection)
        return name

    def create_postgres(self: PostgresCreation, verbosity: int, autoclobber: bool, keepdb: bool = False) -> str:
        if not keepdb:
            test = self.connection.settings_dict.setdefault("TEST", {})
            if not test.get("TEMPLATE"):
                nodb_cursor = getattr(self, "_nodb_cursor")  # noqa: B009
                test["TEMPLATE"] = postgres_template(self.connection.settings_dict, nodb_cursor)
        return postgres_create(self, verbosity, autoclobber, keepdb)

    setattr(SqliteCreation, "_create_test_db", create_sqlite)  # noqa: B010
    setattr(PostgresCreation, "_create_test_db", create_postgres)  # noqa: B010
