from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoolsConfig(AppConfig):
    name = "salesflow.pools"
    label = "pools"
    verbose_name = _("Public pools")

    def ready(self) -> None:
        from salesflow.core.timeline import register_verbs
        from salesflow.leads.models import Lead
        from salesflow.parties.models import Account
        from salesflow.pools.models import PoolAccount, PoolLead
        from salesflow.users.policy import register_unowned_access

        # The one visibility rule for unowned records (users.policy.unowned_q): pool
        # membership decides who sees an unowned lead or account that sits in a pool.
        register_unowned_access(
            Lead,
            pooled=lambda: PoolLead.objects.all(),
            member=lambda teams: PoolLead.objects.filter(pool__teams__in=teams),
            field="lead_id",
        )
        register_unowned_access(
            Account,
            pooled=lambda: PoolAccount.objects.all(),
            member=lambda teams: PoolAccount.objects.filter(pool__teams__in=teams),
            field="account_id",
        )
        register_verbs(
            {
                "pools.record.claimed": _("claimed from a public pool"),
                "pools.record.released": _("released to a public pool"),
                "pools.record.recycle_warning": _("warned the owner of the coming recycle"),
                "pools.record.recycled": _("recycled to a public pool"),
                "pools.pool.saved": _("saved the public pool"),
                "pools.pool.deleted": _("deleted the public pool"),
                "pools.cap.saved": _("saved the ownership cap"),
                "pools.cap.deleted": _("deleted the ownership cap"),
                "pools.recycle_rule.saved": _("saved the recycle rule"),
                "pools.recycle_rule.deleted": _("deleted the recycle rule"),
            }
        )
