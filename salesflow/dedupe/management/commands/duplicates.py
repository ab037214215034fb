"""``salesflow duplicates FILE --kind account|contact|lead [--against-db] [--map COLUMN=FIELD]``:
candidate duplicate pairs inside a CSV/XLSX list (and against the database), as CSV on stdout.

Columns are mapped as an import maps them (``core.columns.suggest_mapping``; ``--map``
overrides, ``--map COLUMN=`` ignores a column). Output header: ``id_a,id_b,score,reasons``;
ids are the file's ``id`` column (data row numbers, from 1, when there is none); with
``--against-db`` the database side is written ``lead:123``. Errors exit with status 2.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from salesflow.core.columns import apply_overrides, suggest_mapping
from salesflow.dedupe.filematch import file_duplicate_pairs
from salesflow.dedupe.files import FileUnreadable, mapped_rows, read_table
from salesflow.dedupe.matching import DEFAULT_MIN_SCORE, RECORD_KINDS, RecordKind


class Command(BaseCommand):
    help = "List candidate duplicate pairs in a CSV/XLSX file (and against the database) as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV or XLSX file with a header row.")
        parser.add_argument("--kind", required=True, help="account, contact or lead.")
        parser.add_argument("--against-db", action="store_true", help="Also match against the database.")
        parser.add_argument(
            "--map", action="append", default=[], metavar="COLUMN=FIELD", help="Override the column mapping."
        )
        parser.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE, help="Lowest score listed.")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["kind"]
        if kind not in RECORD_KINDS:
            raise CommandError(f"Unknown kind {kind!r}: use account, contact or lead.", returncode=2)
        min_score = options["min_score"]
        if not 0.0 <= min_score <= 1.0:
            raise CommandError("--min-score must be between 0 and 1.", returncode=2)
        try:
            table = read_table(Path(options["file"]))
        except FileUnreadable as exc:
            raise CommandError(f"{options['file']}: {exc}", returncode=2) from None
        overrides: dict[str, str] = {}
        for item in options["map"]:
            column, sep, field = item.partition("=")
            if not sep or not column.strip():
                raise CommandError(f"--map {item!r}: write COLUMN=FIELD.", returncode=2)
            if column.strip() not in table.headers:
                raise CommandError(f"--map {item!r}: the file has no column {column.strip()!r}.", returncode=2)
            overrides[column.strip()] = field.strip()
        try:
            mapping = apply_overrides(suggest_mapping(table.headers, kind), overrides, kind)
        except ValueError as exc:
            raise CommandError(f"--map: a {kind} has no field {exc}.", returncode=2) from None
        rows = mapped_rows(table, mapping)
        pairs = file_duplicate_pairs(kind_of(kind), rows, against_db=options["against_db"], min_score=min_score)
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(["id_a", "id_b", "score", "reasons"])
        for pair in pairs:
            writer.writerow([pair.id_a, pair.id_b, f"{pair.score:.3f}", "; ".join(pair.reasons)])


def kind_of(value: str) -> RecordKind:
    """``value`` as a record kind (already checked)."""
    for kind in RECORD_KINDS:
        if kind == value:
            return kind
    raise ValueError(value)
