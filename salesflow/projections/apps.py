from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectionsConfig(AppConfig):
    name = "salesflow.projections"
    label = "projections"
    verbose_name = _("Revenue forecast")
