"""``salesflow scheduler``: enqueue the periodic jobs of ``salesflow/schedule.py`` when due.

Each (job, slot) is enqueued once even with several schedulers running (see
``salesflow.core.scheduling``), so a second scheduler for availability is harmless.
"""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from salesflow.core.scheduling import enqueue_due_jobs, registered_jobs


class Command(BaseCommand):
    help = "Enqueue periodic jobs when they are due (exactly once per slot, safe to run several)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=20.0, help="Seconds between checks (default 20).")
        parser.add_argument("--once", action="store_true", help="Check once and exit.")
        parser.add_argument("--list", action="store_true", help="List the registered jobs and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for job in registered_jobs():
                self.stdout.write(f"{job.name}\t{job.schedule}\t{job.task.module_path}\t{job.description}")
            return
        if options["once"]:
            enqueue_due_jobs()
            return
        running = True

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal running
            running = False

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        if options["verbosity"] > 0:
            self.stdout.write(f"Salesflow scheduler: {len(registered_jobs())} periodic jobs")
        while running:
            close_old_connections()
            for name in enqueue_due_jobs():
                if options["verbosity"] > 0:
                    self.stdout.write(f"enqueued {name}")
            deadline = time.monotonic() + options["interval"]
            while running and time.monotonic() < deadline:
                time.sleep(min(0.5, options["interval"]))
