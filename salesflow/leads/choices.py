from django.db import models
from django.utils.translation import gettext_lazy as _


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")
    CONVERTED = "converted", _("Converted")


class BantAnswer(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    YES = "yes", _("Yes")
    NO = "no", _("No")


class LeadStage(models.TextChoices):
    """Who works the lead (issue 8): marketing until it is handed off to sales."""

    MQL = "mql", _("MQL")
    SQL = "sql", _("SQL")
