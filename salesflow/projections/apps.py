from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectionsConfig(AppConfig):
    name = "salesflow.projections"
    label = "projections"
    verbose_name = _("Revenue forecast")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs
        from salesflow.projections import events  # noqa: F401  (declares the event types)

        register_verbs({"projections.forecast.recompute_requested": _("asked to recompute the revenue forecasts")})
