"""``salesflow stuck_buckets_rebuild``: rebuild the "where is each rep stuck" aggregate (issue 7)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from salesflow.sales.stuck_services import stuck_buckets_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the stuck matrix's aggregate (open deals by owner, stage, currency and month of stage entry) "
        "from the deals; run after bulk loads that write deals past the services."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pipeline", type=int, action="append", help="Only this pipeline id (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        buckets = stuck_buckets_rebuild(pipeline_ids=options["pipeline"])
        self.stdout.write(f"{buckets} buckets written.")
