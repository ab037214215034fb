"""The fixed palette of tag colours: Tabler's named colours (badges ``bg-<colour>-lt``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Colour(models.TextChoices):
    BLUE = "blue", _("Blue")
    AZURE = "azure", _("Azure")
    INDIGO = "indigo", _("Indigo")
    PURPLE = "purple", _("Purple")
    PINK = "pink", _("Pink")
    RED = "red", _("Red")
    ORANGE = "orange", _("Orange")
    YELLOW = "yellow", _("Yellow")
    LIME = "lime", _("Lime")
    GREEN = "green", _("Green")
    TEAL = "teal", _("Teal")
    CYAN = "cyan", _("Cyan")
