from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "salesflow.analytics"
    label = "analytics"
    verbose_name = _("Analysis and reports")

    def ready(self) -> None:
        from salesflow.analytics.metrics import register_core_metrics

        register_core_metrics()

        from salesflow.analytics.exports import register_report_lists

        register_report_lists()
