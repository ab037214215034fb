"""``salesflow train_lead_model``: train the optional learned model (预测模型) on won/lost
history and report honestly whether it beats the base rate (see ``scoring.learning``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from salesflow.scoring.learning import (
    DEFAULT_MIN_LABELLED,
    DEFAULT_MIN_PER_CLASS,
    NotEnoughHistory,
    train_lead_model,
)
from salesflow.users.services import system_actor


class Command(BaseCommand):
    help = "Train the learned lead model on won/lost history; it is shown only if it beats the base rate."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--min-labelled", type=int, default=DEFAULT_MIN_LABELLED)
        parser.add_argument("--min-per-class", type=int, default=DEFAULT_MIN_PER_CLASS)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["min_labelled"] < 10 or options["min_per_class"] < 2:
            raise CommandError("--min-labelled must be at least 10 and --min-per-class at least 2.")
        try:
            row = train_lead_model(
                actor=system_actor(),
                min_labelled=options["min_labelled"],
                min_per_class=options["min_per_class"],
            )
        except NotEnoughHistory as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"held-out leads: {row.n_test} (trained on {row.n_train}); base rate {row.base_rate:.3f}\n"
            f"ROC-AUC {row.roc_auc:.3f}; Brier {row.brier:.4f} vs base-rate Brier {row.brier_base:.4f}\n"
            f"{'SHOWN' if row.shown else 'NOT SHOWN'}: {row.verdict}"
        )
