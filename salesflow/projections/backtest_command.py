"""``salesflow forecast-backtest FILE.csv --freq D|W|M --horizon N``: the revenue forecast's
rolling-origin backtest (``salesflow.projections.backtest``) on any CSV of dated amounts, so
the method can be checked on data from outside the product.

The CSV has a header row; ``--date-column`` (default ``date``) holds ISO dates
(``2026-03-31``, a time after the date is ignored) and ``--amount-column`` (default
``amount``) plain numbers (``1234.5``; a thousands comma is not accepted). Any problem with the
file — unreadable, not UTF-8, malformed CSV, an unknown column, a bad date or amount, NaN or
infinity, too few periods — is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from salesflow.projections.backtest import FREQS, NOTE_FILLED, SeriesError, backtest, regularize, table_lines

MAX_ROWS = 2_000_000
MAX_FIELD = 10_000


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _positive(value: str) -> int:
    import argparse

    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= number <= 10_000:
        raise argparse.ArgumentTypeError(f"{value!r} must be between 1 and 10000")
    return number


def read_series(path: Path, date_column: str, amount_column: str) -> tuple[list[date], list[float]]:
    """The (date, amount) pairs of the CSV at ``path``; :class:`CommandError` (exit 2) naming
    the line and column of the first problem."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise _fail(f"Cannot read {path}: {exc.strerror or exc}.") from None
    dates: list[date] = []
    amounts: list[float] = []
    csv.field_size_limit(MAX_FIELD)
    try:
        with handle:
            reader = csv.DictReader(handle, strict=True)
            header = reader.fieldnames
            if not header:
                raise _fail(f"{path} is empty: a header row with {date_column!r} and {amount_column!r} is needed.")
            for column in (date_column, amount_column):
                if column not in header:
                    found = ", ".join(repr(h) for h in header[:20])
                    raise _fail(f"Column {column!r} is not in the header of {path} (found: {found}).")
            for row in reader:
                line = reader.line_num
                if len(dates) >= MAX_ROWS:
                    raise _fail(f"{path} has more than {MAX_ROWS} rows.")
                if None in row:
                    raise _fail(f"Line {line}: more fields than the header has.")
                raw_date, raw_amount = row[date_column], row[amount_column]
                if raw_date is None or raw_amount is None:
                    raise _fail(f"Line {line}: fewer fields than the header has.")
                dates.append(_parse_date(raw_date, line, date_column))
                amounts.append(_parse_amount(raw_amount, line, amount_column))
    except UnicodeDecodeError:
        raise _fail(f"{path} is not UTF-8 text.") from None
    except csv.Error as exc:
        raise _fail(f"{path} is not a well-formed CSV file: {exc}.") from None
    if not dates:
        raise _fail(f"{path} has a header but no rows.")
    return dates, amounts


def _parse_date(raw: str, line: int, column: str) -> date:
    text = raw.strip()[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        shown = raw[:40] + ("…" if len(raw) > 40 else "")
        raise _fail(f"Line {line}, column {column!r}: {shown!r} is not a date (use YYYY-MM-DD).") from None


def _parse_amount(raw: str, line: int, column: str) -> float:
    text = raw.strip()
    shown = raw[:40] + ("…" if len(raw) > 40 else "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _fail(f"Line {line}, column {column!r}: {shown!r} is not a number.") from None
    if not value.is_finite():
        raise _fail(f"Line {line}, column {column!r}: {shown!r} is not a finite number.")
    number = float(value)
    if not math.isfinite(number) or abs(number) > 1e15:
        raise _fail(f"Line {line}, column {column!r}: {shown!r} is out of range.")
    return number


class Command(BaseCommand):
    help = (
        "Rolling-origin backtest of the revenue-forecast models (Naive, SeasonalNaive, AutoETS, "
        "AutoARIMA, Croston) on a CSV of dated amounts; prints MAPE, sMAPE and MASE per model."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV file with a header row")
        parser.add_argument("--freq", required=True, choices=FREQS, help="D (day), W (week) or M (month)")
        parser.add_argument("--horizon", required=True, type=_positive, help="periods to forecast per fold")
        parser.add_argument("--date-column", default="date", help="column of ISO dates (default: date)")
        parser.add_argument("--amount-column", default="amount", help="column of amounts (default: amount)")
        parser.add_argument("--folds", type=_positive, default=3, help="backtest folds (default: 3)")
        parser.add_argument("--json", action="store_true", help='print {"chosen", "models": […]} as JSON')

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        dates, amounts = read_series(path, options["date_column"], options["amount_column"])
        try:
            _periods, values, filled = regularize(dates, amounts, options["freq"])
            result = backtest(values, options["freq"], options["horizon"], options["folds"])
        except SeriesError as exc:
            raise _fail(str(exc)) from None
        if filled:
            result.notes.insert(0, NOTE_FILLED)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json()))
            return
        self.stdout.write(
            f"{path.name}: {result.n} periods ({options['freq']}), horizon {result.horizon}, {result.folds} folds"
        )
        for line in table_lines(result):
            self.stdout.write(line)
