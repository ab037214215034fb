from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProtectionConfig(AppConfig):
    name = "salesflow.protection"
    label = "protection"
    verbose_name = _("Customer protection")

    def ready(self) -> None:
        from salesflow.core.intake import IntakeCheck, register_intake_check
        from salesflow.core.timeline import register_verbs
        from salesflow.protection.services import (
            check_collision,
            check_collision_after,
            check_collision_after_many,
            check_collision_many,
            check_known_customer,
            check_known_customer_many,
            flag_known_customer,
        )

        register_verbs(
            {
                "protection.list.loaded": _("loaded a known-customer list"),
                "protection.known_customer.routed": _("routed the lead to the known customer's owner"),
                "protection.collision.opened": _("opened a collision"),
                "protection.collision.decided": _("decided a collision"),
            }
        )
        register_intake_check(
            IntakeCheck(
                code="known_customer",
                order=10,
                kinds=frozenset({"lead", "account"}),
                actions=frozenset({"create", "import", "claim", "convert"}),
                before=check_known_customer,
                after=flag_known_customer,
                before_many=check_known_customer_many,
            )
        )
        register_intake_check(
            IntakeCheck(
                code="collision",
                order=20,
                kinds=frozenset({"lead", "account", "contact"}),
                actions=frozenset({"create", "import", "claim"}),
                before=check_collision,
                after=check_collision_after,
                before_many=check_collision_many,
                after_many=check_collision_after_many,
            )
        )
