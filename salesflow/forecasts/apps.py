from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForecastsConfig(AppConfig):
    name = "salesflow.forecasts"
    label = "forecasts"
    verbose_name = _("Forecast submissions")
