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


class EscalationAction(models.TextChoices):
    REMIND_OWNER = "remind_owner", _("Remind the owner")
    NOTIFY_MANAGER = "notify_manager", _("Notify the manager")
    MARK_AT_RISK = "mark_at_risk", _("Mark at risk")
