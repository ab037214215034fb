"""Event types of the catalogue (labels: ``CatalogueConfig.ready``)."""

from __future__ import annotations

from salesflow.core.events import EventType, declare

declare(
    EventType("catalogue.product.created", {"code": "str"}, description="An administrator created a product."),
    EventType(
        "catalogue.product.updated",
        {"code": "str", "changes": "changes"},
        description="An administrator changed a product ({field: [old, new]}; cost only for cost readers).",
    ),
    EventType("catalogue.product.deactivated", {"code": "str"}, description="A product is no longer sold (inactive)."),
    EventType("catalogue.product.activated", {"code": "str"}, description="A product is sold again."),
    EventType(
        "catalogue.category.saved",
        {"code": "str", "created": "bool"},
        description="An administrator saved a product line.",
    ),
    EventType(
        "catalogue.group.saved",
        {"code": "str", "created": "bool"},
        description="An administrator saved a customer group.",
    ),
    EventType(
        "catalogue.group.members_changed",
        {"code": "str", "added": "list", "removed": "list"},
        description="Accounts were added to or removed from a customer group (account ids).",
    ),
    EventType(
        "catalogue.price_list.saved",
        {"code": "str", "created": "bool"},
        description="An administrator saved a price list.",
    ),
    EventType("catalogue.price_list.deleted", {"code": "str"}, description="A price list was deleted."),
    EventType(
        "catalogue.price_item.saved",
        {"price_list": "str", "product": "str", "unit_price": "decimal"},
        description="A product's price on a price list was set.",
    ),
    EventType(
        "catalogue.price_item.deleted",
        {"price_list": "str", "product": "str"},
        description="A product was taken off a price list.",
    ),
    EventType(
        "catalogue.tier.saved",
        {"price_list": "str", "product": "str", "min_quantity": "decimal"},
        description="A volume tier was saved.",
    ),
    EventType(
        "catalogue.tier.deleted",
        {"price_list": "str", "product": "str", "min_quantity": "decimal"},
        description="A volume tier was deleted.",
    ),
    EventType(
        "catalogue.discount_rule.saved",
        {"name": "str", "created": "bool"},
        description="An administrator saved a discount rule.",
    ),
    EventType("catalogue.discount_rule.deleted", {"name": "str"}, description="A discount rule was deleted."),
    EventType(
        "catalogue.deal_line.added",
        {"line_id": "int", "code": "str", "quantity": "decimal", "unit_price": "decimal", "total": "decimal"},
        description="A product was added to a deal (the target).",
    ),
    EventType(
        "catalogue.deal_line.updated",
        {"line_id": "int", "code": "str", "changes": "changes"},
        description="A deal line's quantity, unit price or discount changed.",
    ),
    EventType(
        "catalogue.deal_line.removed",
        {"line_id": "int", "code": "str"},
        description="A product was removed from a deal.",
    ),
)
