from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImprovementConfig(AppConfig):
    name = "salesflow.improvement"
    label = "improvement"
    verbose_name = _("Improvement projects")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs
        from salesflow.improvement import events  # noqa: F401  (declares the event types)

        register_verbs(
            {
                "improvement.project.created": _("opened an improvement project"),
                "improvement.project.updated": _("changed an improvement project"),
                "improvement.project.phase_changed": _("moved an improvement project to another phase"),
                "improvement.project.baseline_measured": _("measured the baseline"),
                "improvement.project.control_set": _("set the control limits"),
                "improvement.project.drifted": _("the metric drifted out of control"),
                "improvement.action.created": _("recorded an improvement action"),
                "improvement.action.updated": _("changed an improvement action"),
            }
        )
