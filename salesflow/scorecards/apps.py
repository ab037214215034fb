from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScorecardsConfig(AppConfig):
    name = "salesflow.scorecards"
    label = "scorecards"
    verbose_name = _("Scorecards")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs

        register_verbs(
            {
                "scorecards.appraisal.created": _("appraised"),
                "scorecards.appraisal.updated": _("changed an appraisal"),
            }
        )
