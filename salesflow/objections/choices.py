from django.db import models
from django.utils.translation import gettext_lazy as _


class AnswerStatus(models.TextChoices):
    """A recommended answer is ``approved`` (part of the library) or ``suggested`` by a rep
    and waiting for a manager or administrator to approve it."""

    APPROVED = "approved", _("Approved")
    SUGGESTED = "suggested", _("Suggested")
