from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MergingConfig(AppConfig):
    name = "salesflow.merging"
    label = "merging"
    verbose_name = _("Duplicates and merges")
