from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

#: Audit verbs after which a lead's score may have changed (the lead is the target or linked).
RESCORE_VERBS = (
    "activities.activity.created",
    "activities.activity.updated",
    "activities.activity.completed",
    "activities.activity.deleted",
    "leads.lead.qualified",
    "leads.lead.disqualified",
    "leads.lead.reopened",
    "leads.lead.converted",
    "leads.lead.handed_off",
    "leads.lead.status_changed",
)


class ScoringConfig(AppConfig):
    name = "salesflow.scoring"
    label = "scoring"
    verbose_name = _("Lead scoring and data quality")

    def ready(self) -> None:
        from salesflow.core.events import subscribe_task
        from salesflow.core.intake import IntakeCheck, register_intake_check
        from salesflow.core.timeline import register_verbs
        from salesflow.scoring.hooks import queue_score_after_intake, queue_scores_after_intake
        from salesflow.scoring.tasks import recompute_for_event

        # Every lead saved through the lead services (create, update, import, claim,
        # convert, merge) is rescored in the background once its transaction commits.
        register_intake_check(
            IntakeCheck(
                code="scoring",
                order=90,
                kinds=frozenset({"lead"}),
                after=queue_score_after_intake,
                after_many=queue_scores_after_intake,
            )
        )
        for verb in RESCORE_VERBS:
            subscribe_task(verb, recompute_for_event)
        register_verbs(
            {
                "scoring.rule.created": _("added the score rule"),
                "scoring.rule.updated": _("changed the score rule"),
                "scoring.rule.deleted": _("deleted the score rule"),
                "scoring.record.verified": _("verified the data"),
                "scoring.model.trained": _("trained the learned model"),
            }
        )
