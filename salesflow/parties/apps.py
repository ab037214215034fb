from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartiesConfig(AppConfig):
    name = "salesflow.parties"
    label = "parties"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs
        from salesflow.core.visibility import register_readable, register_record_kind
        from salesflow.parties.models import Account, Contact
        from salesflow.parties.permissions import (
            accounts_probe,
            accounts_visible_to,
            can_write_account,
            can_write_contact,
            contacts_probe,
            contacts_visible_to,
        )
        from salesflow.users.policy import register_shareable

        register_shareable("account", Account)
        register_readable(Account, accounts_visible_to, probe=accounts_probe)
        register_readable(Contact, contacts_visible_to, probe=contacts_probe)
        register_record_kind("account", Account, can_write=can_write_account)
        register_record_kind("contact", Contact, can_write=can_write_contact)

        from salesflow.parties.search_index import register as register_search

        register_search()  # how the app's records appear in the global search

        register_verbs(
            {
                "parties.account.created": _("created the account"),
                "parties.account.updated": _("updated the account"),
                "parties.account.deleted": _("deleted the account"),
                "parties.contact.created": _("added the contact"),
                "parties.contact.updated": _("updated the contact"),
                "parties.contact.deleted": _("deleted the contact"),
            }
        )

        # issue 6: the app's lists can be exported and saved as views (core.exports)
        from salesflow.parties.exports import register as register_exports

        register_exports()
