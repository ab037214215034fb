"""Choices of customer protection: list loads, record kinds, collision status and decisions."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class LoadStatus(models.TextChoices):
    """A known-customer list load is ``queued`` (rows stored, the task not yet run),
    ``running``, ``done`` (with its summary) or ``failed`` (nothing beyond the summary)."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RecordKind(models.TextChoices):
    LEAD = "lead", _("Lead")
    ACCOUNT = "account", _("Account")
    CONTACT = "contact", _("Contact")


class CollisionStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("collision status", "Open")
    DECIDED = "decided", _("Decided")


class Decision(models.TextChoices):
    """keep: each rep keeps their record; transfer: one record goes to the other rep;
    share: the existing record is shared with the claimant."""

    KEEP = "keep", _("Keep")
    TRANSFER = "transfer", _("Transfer")
    SHARE = "share", _("Share")


class TransferDirection(models.TextChoices):
    """Which way a transfer goes: the new record to the holder (the rep who had it first),
    or the existing record to the claimant."""

    TO_HOLDER = "to_holder", _("Give the new record to the rep who holds the existing one")
    TO_CLAIMANT = "to_claimant", _("Give the existing record to the rep who entered the new one")


class CollisionAction(models.TextChoices):
    """How the new record came in."""

    CREATE = "create", pgettext_lazy("how a record came in", "Created")
    IMPORT = "import", pgettext_lazy("how a record came in", "Imported")
    CLAIM = "claim", pgettext_lazy("how a record came in", "Claimed")
