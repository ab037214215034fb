from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", pgettext_lazy("forecast category", "Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    CLOSED = "closed", _("Closed")
    OMITTED = "omitted", _("Omitted")


class Outcome(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    PAUSED = "paused", _("Paused")
    UPGRADED = "upgraded", _("Upgraded")


class HistoryField(models.TextChoices):
    """The deal fields whose every change is kept in ``OpportunityFieldChange``."""

    AMOUNT = "amount", _("Amount")
    EXPECTED_CLOSE_DATE = "expected_close_date", _("Expected close date")
    PROBABILITY = "probability", _("Probability (%)")
    FORECAST_CATEGORY = "forecast_category", _("Forecast category")
    STAGE = "stage", _("Stage")
    OWNER = "owner", _("Owner")
    PIPELINE = "pipeline", _("Pipeline")
    OUTCOME = "outcome", _("Outcome")
    CLOSED_ON = "closed_on", _("Close date")


class StallBasis(models.TextChoices):
    """Which threshold made (or would make) a deal stalled (``sales.selectors.StallRules``)."""

    STAGE = "stage", _("Stage threshold")
    TEAM_P80 = "team_p80", _("Team's 80th percentile")


class StallRecipient(models.TextChoices):
    """Whom one step of the stall escalation ladder notifies."""

    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    MANAGER_OF_MANAGER = "manager_of_manager", _("Manager's manager")
