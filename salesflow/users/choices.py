from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MANAGER = "manager", _("Sales manager")
    REP = "rep", _("Sales rep")
    ASSISTANT = "assistant", _("Sales assistant")
    SUPPORT = "support", _("Sales support")
