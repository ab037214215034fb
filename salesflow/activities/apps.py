from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "salesflow.activities"
    label = "activities"
    verbose_name = _("Activities")

    def ready(self) -> None:
        from salesflow.activities.models import Activity
        from salesflow.activities.permissions import (
            activities_owned_by_scope,
            activities_visible_to,
            can_write_activity,
        )
        from salesflow.core.timeline import register_verbs
        from salesflow.core.visibility import register_readable, register_record_kind
        from salesflow.parties.models import Account
        from salesflow.users.policy import register_work_link

        register_readable(Activity, activities_visible_to)
        register_record_kind("activity", Activity, can_write=can_write_activity)
        # access follows the work: the owner's side may read the account an activity is about
        register_work_link(Account, activities_owned_by_scope, "account_id")

        register_verbs(
            {
                "activities.activity.created": _("logged an activity"),
                "activities.activity.updated": _("updated an activity"),
                "activities.activity.completed": _("completed an activity"),
                "activities.activity.deleted": _("deleted an activity"),
            }
        )

        # stage gates: this app's entry-criterion type (salesflow.sales.gates)
        from salesflow.activities.gates import register as register_gates

        register_gates()

        # issue 6: the app's lists can be exported and saved as views (core.exports)
        from salesflow.activities.exports import register as register_exports

        register_exports()
