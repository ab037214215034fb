"""The ``salesflow`` console command: Django's management commands plus a few shortcuts.

``salesflow serve`` migrates, collects static files and serves on 127.0.0.1:8000;
``salesflow demo`` (activities app), ``salesflow createuser`` and ``salesflow createtoken``
(users app) are management commands; every other Django command works as usual.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesflow.settings")
    args = list(sys.argv if argv is None else argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["salesflow", *args[1:]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
