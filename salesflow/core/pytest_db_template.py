"""pytest plugin: under pytest-xdist the test database is migrated once per run, not once per worker.

Applying Salesflow's migrations costs about 30 s of CPU (Django renders the migration state
model by model), and every xdist worker used to pay it for its own test database. With this
plugin (loaded by the root ``conftest.py``) the first worker to need a database migrates it as
before and leaves a copy; every other worker starts from that copy instead of migrating:

* SQLite: the migrated in-memory database is written to a file with SQLite's backup API and
  read back into the next worker's in-memory database the same way;
* PostgreSQL: ``CREATE DATABASE … WITH TEMPLATE`` clones the migrated database.

The copy is the migrated database byte for byte (schema, seeded rows, ``django_migrations``),
so every test sees what migrating would have produced; the migrations themselves still run in
full once per run. Everything else of Django's ``create_test_db`` (the settings switch to the
test database, serialisation for ``serialized_rollback``, ``createcachetable``, teardown) is
unchanged. Without xdist, with ``--reuse-db`` or with migrations switched off, or on another
database engine, nothing changes. The xdist controller removes the copies when the run ends.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

_WORKER_KEY = "salesflow_db_template"
_PG_TEMPLATES = "postgresql-templates"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: every worker gets the same directory and run id."""
    node.workerinput[_WORKER_KEY] = _controller_state(node.config)


def _controller_state(config: pytest.Config) -> dict[str, str]:
    state: dict[str, str] | None = getattr(config, "_salesflow_db_template", None)
    if state is None:
        run = uuid.uuid4().hex[:12]
        state = {"dir": tempfile.mkdtemp(prefix=f"salesflow-test-db-{run}-"), "run": run}
        config._salesflow_db_template = state  # type: ignore[attr-defined]
    return state


def pytest_configure(config: pytest.Config) -> None:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is None or _WORKER_KEY not in workerinput:
        return
    from django.db.backends.base.creation import BaseDatabaseCreation

    state: dict[str, str] = workerinput[_WORKER_KEY]
    original = BaseDatabaseCreation.create_test_db

    def create_test_db(
        self: BaseDatabaseCreation,
        verbosity: int = 1,
        autoclobber: bool = False,
        serialize: bool = True,
        keepdb: bool = False,
    ) -> str:
        vendor = self.connection.vendor
        migrates = self.connection.settings_dict["TEST"]["MIGRATE"] is not False
        if keepdb or vendor not in {"sqlite", "postgresql"} or not migrates:
            return original(self, verbosity, autoclobber, serialize, keepdb)
        directory = Path(state["dir"])
        alias = self.connection.alias
        with _locked(directory / f"{alias}.lock"):
            migrate = _sqlite_migrate if vendor == "sqlite" else _postgresql_migrate
            with mock.patch("django.core.management.call_command", migrate(self, directory, state["run"])):
                return original(self, verbosity, autoclobber, serialize, keepdb)

    BaseDatabaseCreation.create_test_db = create_test_db  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    """xdist controller: drop the PostgreSQL templates and remove the directory."""
    state: dict[str, str] | None = getattr(config, "_salesflow_db_template", None)
    if state is None:
        return
    directory = Path(state["dir"])
    names = directory / _PG_TEMPLATES
    if names.exists():
        from django.db import connections

        for line in names.read_text().splitlines():
            alias, name = line.split(" ", 1)
            connection = connections[alias]
            with connection._nodb_cursor() as cursor:  # type: ignore[attr-defined]
                cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)}")
    shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_CallCommand = Callable[..., Any]


def _sqlite_migrate(creation: Any, directory: Path, run: str) -> _CallCommand:
    from django.core import management

    call_command: _CallCommand = management.call_command
    connection = creation.connection
    template = directory / f"{connection.alias}.sqlite3"

    def migrate_or_copy(name: str, *args: Any, **options: Any) -> Any:
        if name != "migrate":
            return call_command(name, *args, **options)
        connection.ensure_connection()
        if template.exists():
            source = sqlite3.connect(template)
            try:
                source.backup(connection.connection)
            finally:
                source.close()
            return None
        result = call_command(name, *args, **options)
        connection.ensure_connection()
        partial = template.with_suffix(".partial")
        target = sqlite3.connect(partial)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        os.replace(partial, template)
        return result

    return migrate_or_copy


def _postgresql_migrate(creation: Any, directory: Path, run: str) -> _CallCommand:
    from django.core import management

    call_command: _CallCommand = management.call_command
    connection = creation.connection
    quote = connection.ops.quote_name
    # PostgreSQL names are at most 63 bytes; the run id keeps parallel runs apart.
    template = f"{connection.settings_dict['NAME'][:40]}_tpl_{run}"
    marker = directory / f"{connection.alias}.postgresql"

    def migrate_or_clone(name: str, *args: Any, **options: Any) -> Any:
        if name != "migrate":
            return call_command(name, *args, **options)
        database = connection.settings_dict["NAME"]
        if marker.exists():
            connection.close()
            with connection._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE {quote(database)}")
                cursor.execute(f"CREATE DATABASE {quote(database)} WITH TEMPLATE {quote(template)}")
            return None
        result = call_command(name, *args, **options)
        connection.close()  # CREATE DATABASE … TEMPLATE needs the source without sessions
        with (directory / _PG_TEMPLATES).open("a") as names:
            names.write(f"{connection.alias} {template}\n")
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {quote(template)} WITH TEMPLATE {quote(database)}")
        marker.touch()
        return result

    return migrate_or_clone
