"""Activities (跟进): calls, visits, meetings, demos, emails, notes and tasks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from salesflow.activities.choices import ActivityKind
from salesflow.core.models import TimestampedModel
from salesflow.leads.models import Lead
from salesflow.parties.models import Account, Contact
from salesflow.sales.models import Opportunity


class Activity(TimestampedModel):
    """A follow-up action, done or planned, explicitly linked to the records it concerns.

    Visible to whoever sees its owner or any linked record.
    """

    kind = models.CharField(_("type"), max_length=10, choices=ActivityKind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="activities", verbose_name=_("owner")
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    done = models.BooleanField(_("done"), default=False)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    next_follow_up = models.DateField(_("next follow-up"), null=True, blank=True)
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="activities", verbose_name=_("lead")
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, null=True, blank=True, related_name="activities", verbose_name=_("account")
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="activities", verbose_name=_("contact")
    )
    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("opportunity"),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            # My day: open tasks of a user by due date
            models.Index(fields=["owner", "done", "due_at"], name="activity_owner_due_idx"),
            # My day: follow-ups due
            models.Index(fields=["owner", "next_follow_up"], name="activity_owner_follow_idx"),
            # list default sort
            models.Index(fields=["owner", "created_at"], name="activity_owner_created_idx"),
            models.Index(fields=["created_at", "id"], name="activity_created_idx"),
            models.Index(fields=["due_at", "id"], name="activity_due_idx"),
            # record detail: activities of a record, newest first
            models.Index(fields=["lead", "created_at"], name="activity_lead_idx"),
            models.Index(fields=["account", "created_at"], name="activity_account_idx"),
            models.Index(fields=["opportunity", "created_at"], name="activity_opp_idx"),
            models.Index(fields=["contact", "created_at"], name="activity_contact_idx"),
            # My day (team): activities the team completed today, latest first
            models.Index(fields=["done_at", "id"], name="activity_done_at_idx"),
            # account visibility, access follows the work (users.policy.work_links_q):
            # EXISTS (activity WHERE account_id = account.id AND owner_id IN (…)), index only
            models.Index(fields=["account", "owner"], name="activity_account_owner_idx"),
            # a rep's accounts reached through the work (users.policy.narrow_visible_ids):
            # SELECT account_id FROM activity WHERE owner_id IN (…), index only
            models.Index(fields=["owner", "account"], name="activity_owner_account_idx"),
        ]

    def __str__(self) -> str:
        return self.subject
