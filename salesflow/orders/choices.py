"""Enumerations of the orders app (the order status itself is ``models.OrderStatus``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class FulfilmentStatus(models.TextChoices):
    """Where production or fulfilment stands with an order (the hand-off, 交付生产)."""

    NOT_STARTED = "not_started", _("Not started")
    IN_PRODUCTION = "in_production", _("In production")
    READY_TO_SHIP = "ready_to_ship", _("Ready to ship")
    SHIPPED = "shipped", pgettext_lazy("fulfilment", "Shipped")


class DeliveryStatus(models.TextChoices):
    RECORDED = "recorded", pgettext_lazy("delivery", "Recorded")
    VOIDED = "voided", pgettext_lazy("delivery", "Voided")
