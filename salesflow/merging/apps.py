from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MergingConfig(AppConfig):
    name = "salesflow.merging"
    label = "merging"
    verbose_name = _("Duplicates and merges")

    def ready(self) -> None:
        from salesflow.core.intake import IntakeCheck, register_intake_check
        from salesflow.core.timeline import register_verbs
        from salesflow.merging.checks import warn_duplicates

        register_verbs(
            {
                "merging.duplicate.saved_anyway": _("saved despite possible duplicates"),
                "merging.access.requested": _("requested access"),
                "merging.access.granted": _("granted access"),
                "merging.access.declined": _("declined access"),
                "merging.record.merged": _("merged a duplicate into this record"),
                "merging.record.merge_undone": _("undid a merge"),
            }
        )
        register_intake_check(
            IntakeCheck(
                code="duplicates",
                order=30,
                kinds=frozenset({"lead", "account", "contact"}),
                actions=frozenset({"create", "update"}),
                before=warn_duplicates.before,
                after=warn_duplicates.after,
            )
        )
