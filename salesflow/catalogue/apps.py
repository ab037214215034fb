from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogueConfig(AppConfig):
    name = "salesflow.catalogue"
    label = "catalogue"
    verbose_name = _("Catalogue")

    def ready(self) -> None:
        from salesflow.catalogue.services import refuse_hand_entered_amount
        from salesflow.core.timeline import register_verbs
        from salesflow.sales.services import register_amount_guard

        # a deal with product lines refuses a hand-typed amount (400 on `amount`)
        register_amount_guard(refuse_hand_entered_amount)

        register_verbs(
            {
                "catalogue.product.created": _("created the product"),
                "catalogue.product.updated": _("changed the product"),
                "catalogue.product.deactivated": _("deactivated the product"),
                "catalogue.product.activated": _("activated the product"),
                "catalogue.category.saved": _("saved the product line"),
                "catalogue.group.saved": _("saved the customer group"),
                "catalogue.group.members_changed": _("changed the customer group's accounts"),
                "catalogue.price_list.saved": _("saved the price list"),
                "catalogue.price_list.deleted": _("deleted the price list"),
                "catalogue.price_item.saved": _("set a price on the price list"),
                "catalogue.price_item.deleted": _("took a product off the price list"),
                "catalogue.tier.saved": _("saved a volume tier"),
                "catalogue.tier.deleted": _("deleted a volume tier"),
                "catalogue.discount_rule.saved": _("saved the discount rule"),
                "catalogue.discount_rule.deleted": _("deleted the discount rule"),
                "catalogue.deal_line.added": _("added a product"),
                "catalogue.deal_line.updated": _("changed a product on the deal"),
                "catalogue.deal_line.removed": _("removed a product"),
            }
        )
