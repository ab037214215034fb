from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AchievableConfig(AppConfig):
    name = "salesflow.achievable"
    label = "achievable"
    verbose_name = _("Most likely revenue")
