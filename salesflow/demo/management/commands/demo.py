"""``salesflow demo``: load a realistic demo organisation (idempotent; ``--reset`` rebuilds it)."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from salesflow.core.errors import ServiceError
from salesflow.demo.generate import (
    MARKER_USERNAME,
    PASSWORD,
    USERS,
    DemoConflict,
    delete_demo,
    demo_exists,
    generate_demo,
)


class Command(BaseCommand):
    help = (
        "Create a demo sales organisation (销售部 with two teams, 200 accounts, 1,000 leads, 300 "
        "opportunities, ~2,000 activities). Running it again only prints the logins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Delete the demo organisation and create it again.")
        parser.add_argument(
            "--delete", action="store_true", help="Delete the demo organisation (users and their records) and stop."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            # --reset deletes and recreates in one transaction: a failure keeps the old demo.
            with transaction.atomic():
                if options["delete"] or options["reset"]:
                    if demo_exists():
                        removed = delete_demo()
                        self.stdout.write("Removed the demo organisation: " + _format_counts(removed) + ".")
                    elif options["delete"]:
                        self.stdout.write("There is no demo organisation to remove.")
                    if options["delete"]:
                        return
                result = generate_demo()
        except DemoConflict as exc:
            raise CommandError(str(exc)) from exc
        except ServiceError as exc:
            details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.field_errors.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc
        counts = result.counts
        if result.created:
            self.stdout.write(self.style.SUCCESS(f"Created the demo organisation in {result.seconds:.1f} s:"))
        else:
            self.stdout.write(f"The demo organisation already exists ({MARKER_USERNAME} found); nothing changed.")
        self.stdout.write(
            f"  {counts['users']} users, {counts['teams']} teams, {counts['accounts']} accounts, "
            f"{counts['contacts']} contacts, {counts['leads']} leads,\n"
            f"  {counts['opportunities']} opportunities ({counts['won']} won, {counts['lost']} lost), "
            f"{counts['stage_changes']} stage changes, {counts['activities']} activities"
        )
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {PASSWORD}):")
        for user in USERS:
            team = user.team or "—"
            self.stdout.write(f"  {user.username:<12} {_pad(user.display_name, 12)} {user.role:<10} {team}")


def _pad(text: str, width: int) -> str:
    """Left-align ``text`` in ``width`` terminal columns (CJK characters take two)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def _format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {label}" for label, n in counts.items() if n) or "nothing"
