from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    MEETING = "meeting", _("Meeting")
    DEMO = "demo", _("Demo")
    EMAIL = "email", pgettext_lazy("activity type", "Email")
    NOTE = "note", _("Note")
    TASK = "task", _("Task")
