"""Build the migrated test-database template of ``DATABASE_URL`` (SQLite when unset) ahead of
the test suites: ``make test`` runs it in the background beside lint, so the suites' first
test process finds the template built instead of migrating while the other process waits.

    python scripts/test_templates.py                      # the SQLite template
    DATABASE_URL=postgres://… python scripts/test_templates.py  # the PostgreSQL one

The template is the one ``salesflow.core.test_databases`` copies (same name, same file lock):
an existing one is reused, and a test process started meanwhile waits for this build.
"""

from __future__ import annotations

import os
import sys
import time

# The test processes' settings (salesflow.core.pytest_mode sets the same variable).
os.environ["SALESFLOW_TESTING"] = "1"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesflow.settings")


def main() -> int:
    import django

    django.setup()
    from django.db import connection

    from salesflow.core import test_databases

    if not test_databases.enabled():
        print("test-database templates are off (SALESFLOW_TEST_TEMPLATE=0)")
        return 0
    started = time.monotonic()
    if connection.vendor == "postgresql":
        nodb_cursor = getattr(connection.creation, "_nodb_cursor")  # noqa: B009
        name = test_databases.postgres_template(connection.settings_dict, nodb_cursor)
    else:
        name = str(test_databases.sqlite_template())
    print(f"test-database template {name} ready ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
