from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForecastsConfig(AppConfig):
    name = "salesflow.forecasts"
    label = "forecasts"
    verbose_name = _("Forecast submissions")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs

        register_verbs(
            {
                "forecasts.submission.created": _("submitted a forecast"),
                "forecasts.adjustment.created": _("adjusted a forecast"),
                "forecasts.reminder.sent": _("reminded of a forecast due"),
            }
        )
