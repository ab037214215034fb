from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordKind(models.TextChoices):
    """What a pool holds and a cap or recycle rule counts."""

    LEAD = "lead", _("Leads")
    ACCOUNT = "account", _("Accounts")
