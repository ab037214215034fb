"""``salesflow search_reindex [--kind lead] [--batch 2000]``: rebuild the global search index."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from salesflow.search.documents import searchable_kinds
from salesflow.search.services import BATCH, reindex


class Command(BaseCommand):
    help = "Rebuild the global search index from the accounts, contacts, opportunities and leads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--kind", action="append", help="only this kind (repeatable): " + ", ".join(searchable_kinds())
        )
        parser.add_argument("--batch", type=int, default=BATCH, help=f"records per insert (default {BATCH})")

    def handle(self, *args: Any, **options: Any) -> None:
        kinds = options["kind"]
        unknown = sorted(set(kinds or []) - set(searchable_kinds()))
        if unknown:
            raise CommandError(f"Unknown kind(s): {', '.join(unknown)}; use {', '.join(searchable_kinds())}.")
        if options["batch"] < 1:
            raise CommandError("--batch must be positive.")

        def progress(kind: str, rows: int, seconds: float) -> None:
            self.stdout.write(f"  {kind:<12} {rows:>10,} rows {seconds:8.1f} s")

        counts = reindex(kinds, batch=options["batch"], progress=progress)
        self.stdout.write(self.style.SUCCESS(f"Indexed {sum(counts.values()):,} records."))
