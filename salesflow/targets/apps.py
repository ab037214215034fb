from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TargetsConfig(AppConfig):
    name = "salesflow.targets"
    label = "targets"
    verbose_name = _("Plans and targets")

    def ready(self) -> None:
        from django.urls import reverse

        from salesflow.core.approvals import Approvable, register_approvable
        from salesflow.core.timeline import register_verbs
        from salesflow.targets import services
        from salesflow.targets.models import PlanVersion

        register_verbs(
            {
                "targets.plan.created": _("created the sales plan"),
                "targets.version.notes_updated": _("changed the strategy notes"),
                "targets.targets.set": _("set targets"),
                "targets.targets.allocated": _("allocated a target"),
                "targets.seasonality.set": _("set the seasonality"),
                "targets.version.submitted": _("submitted the plan for approval"),
                "targets.version.approved": _("approved and locked the plan"),
                "targets.version.returned": _("returned the plan to draft"),
                "targets.version.revised": _("started a revision of the plan"),
            }
        )
        register_approvable(
            Approvable(
                kind=services.KIND,
                model=PlanVersion,
                label=_("Sales plan"),
                url=lambda version: reverse("targets:plan", args=[version.plan.year]) + f"?version={version.number}",
                can_read=lambda user, version: services.can_plan(user),
                on_approved=services.on_approved,
                on_rejected=services.on_rejected,
                on_withdrawn=services.on_withdrawn,
            )
        )
