"""``salesflow funnel_facts``: rebuild the stored months of funnel math's stage passes
(``scorecards.facts``) now, e.g. after loading data in bulk. The nightly job does the same."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from salesflow.scorecards.facts import refresh_funnel_facts


class Command(BaseCommand):
    help = "Rebuild the stored months of funnel math's stage passes (pre-aggregated facts)."

    def handle(self, *args: Any, **options: Any) -> None:
        written = refresh_funnel_facts()
        self.stdout.write(", ".join(f"{name}: {n:,}" for name, n in written.items()))
