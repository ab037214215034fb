"""Choices of the catalogue app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """The sales channel a price list or a discount rule applies to."""

    DIRECT = "direct", _("Direct")
    DISTRIBUTOR = "distributor", _("Distributor / channel")
    ONLINE = "online", _("Online")


class PriceSource(models.TextChoices):
    """Where a resolved unit price came from (``ResolvedPrice.source``)."""

    PRICE_LIST = "price_list", _("Price list")
    TIER = "tier", _("Volume tier")
    LIST_PRICE = "list_price", _("List price")
