from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "salesflow.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from salesflow.core.events import subscribe_task
        from salesflow.notifications.rules import RULES, WHEN
        from salesflow.notifications.tasks import notify_for_event, notify_for_events

        # Each subscribed verb enqueues one task after the commit; the task applies the rule
        # (one task for all the events of a bulk write, e.g. an import batch's collisions).
        for verb in RULES:
            subscribe_task(verb, notify_for_event, when=WHEN.get(verb), many=notify_for_events)
