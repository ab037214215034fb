from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Basis(models.TextChoices):
    """What a rule pays a percentage of."""

    WON = "won", _("Won amount")
    COLLECTED = "collected", _("Collected amount")


class StatementStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("commission statement", "Draft")
    SUBMITTED = "submitted", pgettext_lazy("commission statement", "Submitted")
    APPROVED = "approved", pgettext_lazy("commission statement", "Approved")
    LOCKED = "locked", pgettext_lazy("commission statement", "Locked")


class LineKind(models.TextChoices):
    DEAL = "deal", _("Won deal")
    PAYMENT = "payment", _("Payment")
    REVERSAL = "reversal", _("Reversal")


#: the metric whose attainment a rule's tiers read, per basis
BASIS_METRIC: dict[str, str] = {Basis.WON: "won_revenue", Basis.COLLECTED: "collections"}
#: statements are kept per month or per quarter
STATEMENT_PERIOD_KINDS = ("month", "quarter")


class RunStatus(models.TextChoices):
    """A background computation of many statements (``ComputeRun``)."""

    QUEUED = "queued", pgettext_lazy("background run", "Queued")
    RUNNING = "running", pgettext_lazy("background run", "Running")
    DONE = "done", pgettext_lazy("background run", "Done")
