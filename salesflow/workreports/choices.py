from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ReportKind(models.TextChoices):
    DAILY = "daily", _("Daily report")
    WEEKLY = "weekly", _("Weekly report")


class ReportStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("work report", "Draft")
    SUBMITTED = "submitted", pgettext_lazy("work report", "Submitted")
    COMMENTED = "commented", pgettext_lazy("work report", "Commented")
