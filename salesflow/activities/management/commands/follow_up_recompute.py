"""``salesflow follow_up_recompute``: every account's last follow-up and next due date (issue 7)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from salesflow.activities.services import follow_up_recompute


class Command(BaseCommand):
    help = "Recompute each account's last follow-up and next follow-up due date from its done activities."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = follow_up_recompute()
        self.stdout.write(f"{changed} accounts updated.")
