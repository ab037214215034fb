from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WinlossConfig(AppConfig):
    name = "salesflow.winloss"
    label = "winloss"
    verbose_name = _("Win/loss drivers")
