from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "salesflow.orders"
    label = "orders"
    verbose_name = _("Orders and deliveries")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs
        from salesflow.core.visibility import register_readable, register_record_kind
        from salesflow.orders import events  # noqa: F401  (declares the event types)
        from salesflow.orders.models import Delivery, Order
        from salesflow.orders.permissions import can_write_order, deliveries_visible_to, orders_visible_to

        register_readable(Order, orders_visible_to)
        register_readable(Delivery, deliveries_visible_to)
        # "order" is a record kind: the attachments app stores the installation and
        # acceptance files on it, readable and writable under the order's own policy.
        register_record_kind("order", Order, can_write=can_write_order)
        register_verbs(
            {
                "orders.order.created": _("created the order"),
                "orders.order.line_updated": _("changed a line of the order"),
                "orders.order.confirmed": _("confirmed the order"),
                "orders.order.cancelled": _("cancelled the order"),
                "orders.order.handed_off": _("updated the hand-off to production"),
                "orders.order.status_changed": _("order status changed"),
                "orders.order.accepted": _("recorded the customer's acceptance"),
                "orders.delivery.recorded": _("recorded a delivery"),
                "orders.delivery.voided": _("voided a delivery"),
                "orders.delivery.installed": _("recorded the installation"),
            }
        )
