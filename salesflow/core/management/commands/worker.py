"""``salesflow worker``: run background tasks from the database queue.

A thin wrapper around django-tasks-db's ``db_worker`` with Salesflow's defaults: every queue
(``--queue-name '*'``), no autoreload unless asked. Run as many workers as you like, on as
many machines as share the database: each task row is claimed with ``SELECT … FOR UPDATE
SKIP LOCKED`` (an exclusive transaction on SQLite), so a task runs on one worker only.
"""

from __future__ import annotations

from argparse import ArgumentParser

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand


class Command(DbWorkerCommand):
    help = "Run background tasks (all queues by default). Start several for more throughput."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(queue_name="*", reload=False)
