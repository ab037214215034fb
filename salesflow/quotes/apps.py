from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuotesConfig(AppConfig):
    name = "salesflow.quotes"
    label = "quotes"
    verbose_name = _("Quotes")

    def ready(self) -> None:
        # issue 9 (quotes): timeline labels, visibility, the approval gate and the stage gate
        from django.urls import reverse

        from salesflow.core.approvals import Approvable, register_approvable
        from salesflow.core.timeline import register_verbs
        from salesflow.core.visibility import register_readable
        from salesflow.quotes import services
        from salesflow.quotes.gates import register as register_gates
        from salesflow.quotes.models import Quote
        from salesflow.quotes.permissions import can_read_quote, quotes_visible_to

        register_readable(Quote, quotes_visible_to)
        register_verbs(
            {
                "quotes.quote.created": _("created the quote"),
                "quotes.quote.updated": _("updated the quote"),
                "quotes.quote.submitted": _("issued the quote"),
                "quotes.quote.approved": _("approved the quote"),
                "quotes.quote.rejected": _("rejected the quote"),
                "quotes.quote.withdrawn": _("withdrew the quote from approval"),
                "quotes.quote.revised": _("revised the quote"),
                "quotes.quote.sent": _("sent the quote by email"),
                "quotes.quote.accepted": _("recorded the customer's acceptance of the quote"),
                "quotes.quote.declined": _("recorded the customer's decline of the quote"),
                "quotes.quote.expired": _("marked the quote as expired"),
                "quotes.company_profile.saved": _("saved the company profile"),
            }
        )
        register_approvable(
            Approvable(
                kind=services.KIND,
                model=Quote,
                label=_("Quote"),
                url=lambda quote: reverse("quotes:detail", args=[quote.pk]),
                can_read=lambda user, quote: can_read_quote(user, quote),
                on_approved=services.on_approved,
                on_rejected=services.on_rejected,
                on_withdrawn=services.on_withdrawn,
            )
        )
        register_gates()
