from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AttachmentKind(models.TextChoices):
    """What a file is to the sale: stage gates may later require "an attachment of kind X"."""

    CONTRACT = "contract", _("Contract")
    QUOTE = "quote", pgettext_lazy("attachment kind", "Quote")
    PROPOSAL = "proposal", _("Proposal")
    PHOTO = "photo", _("Photo")
    OTHER = "other", pgettext_lazy("attachment kind", "Other")
