from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ObjectionsConfig(AppConfig):
    name = "salesflow.objections"
    label = "objections"
    verbose_name = _("Objection library")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs

        register_verbs(
            {
                "objections.category.created": _("created the objection category"),
                "objections.category.updated": _("updated the objection category"),
                "objections.objection.created": _("created the objection"),
                "objections.objection.updated": _("updated the objection"),
                "objections.answer.created": _("added a recommended answer"),
                "objections.answer.suggested": _("suggested an answer"),
                "objections.answer.updated": _("updated the answer"),
                "objections.deal.logged": _("logged an objection"),
                "objections.deal.log_deleted": _("removed a logged objection"),
            }
        )
