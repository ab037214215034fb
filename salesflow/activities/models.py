"""Activities (跟进): calls, visits, meetings, demos, emails, notes and tasks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.activities.choices import ActivityKind, EscalationAction
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
    # visit check-in (拜访签到, issue 7): written only by ``activity_check_in``
    check_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True, editable=False)
    check_in_lat = models.DecimalField(
        _("check-in latitude"), max_digits=9, decimal_places=6, null=True, blank=True, editable=False
    )
    check_in_lng = models.DecimalField(
        _("check-in longitude"), max_digits=9, decimal_places=6, null=True, blank=True, editable=False
    )
    check_in_address = models.CharField(_("check-in address"), max_length=300, blank=True, editable=False)

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
            # issue 11 (win/loss drivers): done activities per deal, read from the index alone
            models.Index(fields=["opportunity", "done"], name="activity_opp_done_idx"),
            models.Index(fields=["contact", "created_at"], name="activity_contact_idx"),
            # My day (team): activities the team completed today, latest first
            models.Index(fields=["done_at", "id"], name="activity_done_at_idx"),
            # issue 10 figures (analytics.metrics activities/visits), index only: a node's people
            # WHERE owner_id=? AND done AND done_at in the window, grouped by day and kind …
            models.Index(fields=["owner", "done", "done_at", "kind"], name="activity_owner_done_idx"),
            # … and the whole company: WHERE done AND done_at BETWEEN …, grouped by owner, day, kind
            models.Index(fields=["done", "done_at", "owner", "kind"], name="activity_done_day_idx"),
            # … and one kind over the whole company (the visits of a year on the attainment page):
            # WHERE kind=? AND done AND done_at BETWEEN … GROUP BY owner — only that kind's entries
            # (a seventh of all), where activity_done_day_idx walks every kind of the range. done
            # last: Django writes the flag as a bare column (``AND "done"``), which SQLite cannot
            # match as an equality, so a range on done_at must come right after kind
            models.Index(fields=["kind", "done_at", "owner", "done"], name="activity_kind_done_idx"),
            # account visibility, access follows the work (users.policy.work_links_q):
            # EXISTS (activity WHERE account_id = account.id AND owner_id IN (…)), index only
            models.Index(fields=["account", "owner"], name="activity_account_owner_idx"),
            # a rep's accounts reached through the work (users.policy.narrow_visible_ids):
            # SELECT account_id FROM activity WHERE owner_id IN (…), index only
            models.Index(fields=["owner", "account"], name="activity_owner_account_idx"),
            # My day (team): each owner's open activities by due time (the overdue count per
            # owner and the team's oldest overdue, ``selectors.team_day``)
            models.Index(fields=["owner", "due_at", "id"], name="activity_owner_open_due_idx", condition=Q(done=False)),
        ]

    def __str__(self) -> str:
        return self.subject


class ActivityKindConfig(models.Model):
    """Per activity kind, as data (issue 7): what completing one requires and whether a done
    one counts as a follow-up of its account (跟进). Kinds without a row need nothing and count."""

    kind = models.CharField(_("type"), max_length=10, choices=ActivityKind.choices, unique=True)
    needs_outcome = models.BooleanField(_("needs an outcome when done"), default=False)
    needs_next_follow_up = models.BooleanField(_("needs a next follow-up date when done"), default=False)
    counts_as_follow_up = models.BooleanField(_("counts as a follow-up"), default=True)

    class Meta:
        ordering = ["kind"]
        verbose_name = _("activity type setting")
        verbose_name_plural = _("activity type settings")

    def __str__(self) -> str:
        return self.kind


class FollowUpEscalationStep(models.Model):
    """A rung of the follow-up escalation ladder, as data: ``after_days_over`` days after an
    account's (or open deal's) follow-up due date plus the grade's grace period, ``action``."""

    position = models.PositiveSmallIntegerField(pgettext_lazy("ladder step", "position"), unique=True)
    after_days_over = models.PositiveSmallIntegerField(_("days overdue (after the grace period)"))
    action = models.CharField(_("action"), max_length=20, choices=EscalationAction.choices)

    class Meta:
        ordering = ["position"]
        verbose_name = _("escalation step")
        verbose_name_plural = _("escalation steps")

    def __str__(self) -> str:
        return f"{self.position}: {self.action} +{self.after_days_over}"


class FollowUpEscalation(models.Model):
    """One step taken for one account or open deal in one episode (its due date): the row
    that makes the daily ladder job idempotent. Exactly one of account / opportunity."""

    step = models.ForeignKey(FollowUpEscalationStep, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    episode = models.DateField()
    # passed over because the record had already reached a later step (core.escalation.catch_up):
    # recorded so it is never taken later; no event, no notification
    skipped = models.BooleanField(default=False)
    # its notification went to someone in one digest with others (activities.follow_up.digest)
    digest = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "step", "episode"],
                condition=Q(account__isnull=False),
                name="follow_up_escalation_account_unique",
            ),
            models.UniqueConstraint(
                fields=["opportunity", "step", "episode"],
                condition=Q(opportunity__isnull=False),
                name="follow_up_escalation_opp_unique",
            ),
            models.CheckConstraint(
                condition=Q(account__isnull=False, opportunity__isnull=True)
                | Q(account__isnull=True, opportunity__isnull=False),
                name="follow_up_escalation_one_target",
            ),
        ]
