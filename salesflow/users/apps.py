from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    name = "salesflow.users"
    label = "users"
    verbose_name = _("People and organisation")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs

        register_verbs(
            {
                "users.share.granted": _("shared the record"),
                "users.share.revoked": _("stopped sharing the record"),
            }
        )
