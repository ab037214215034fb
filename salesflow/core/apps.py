from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "salesflow.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        # Each app declares its event types in <app>/events.py (and notifications subscribe in
        # their ready()); importing them all here means every verb is declared before use.
        autodiscover_modules("events")
