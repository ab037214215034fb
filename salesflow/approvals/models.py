"""The approval engine's data (审批): rules as data, requests with their route, the action
history, and delegations.

- :class:`ApprovalRule` (per approvable ``kind``, ordered by ``priority``) with typed
  :class:`RuleCondition` rows (all must hold) and ordered :class:`RuleStep` rows (the route);
- :class:`ApprovalRequest` — one per submission; at most one *pending* request per
  document (a partial unique constraint). Its route is copied into :class:`RequestStep` rows
  at submission, so editing a rule never changes a running request;
- :class:`StepApprover` — who may act at a step (resolved when the step becomes current)
  and their decision; escalation adds rows pointing at the approver they stand in for;
- :class:`ApprovalAction` — the append-only history shown on the request page;
- :class:`Delegation` — an approver away between two dates lets a delegate act for them.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesflow.approvals.choices import ActionKind, ApproverType, Operator, RequestStatus, StepMode, StepStatus
from salesflow.core.models import TimestampedModel
from salesflow.users.choices import Role

NAME_LENGTH = 100
COMMENT_LENGTH = 2000
SUMMARY_LENGTH = 300
MAX_LEVELS = 5
MAX_HOURS = 24 * 60


class ApprovalRule(TimestampedModel):
    """A rule for one approvable kind: when all its conditions hold for the submitted facts,
    its steps are the route. Rules are tried by ``priority`` (then id); the first that matches
    wins. ``remind_after_hours`` / ``escalate_after_hours`` (0 = never) drive the reminder
    job for requests routed by this rule."""

    kind = models.CharField(_("document type"), max_length=60)
    name = models.CharField(_("name"), max_length=NAME_LENGTH)
    priority = models.PositiveIntegerField(_("priority"), default=100)
    active = models.BooleanField(_("active"), default=True)
    remind_after_hours = models.PositiveIntegerField(_("remind after (hours)"), default=24)
    escalate_after_hours = models.PositiveIntegerField(_("escalate after (hours)"), default=72)

    class Meta:
        ordering = ["kind", "priority", "id"]
        verbose_name = _("approval rule")
        verbose_name_plural = _("approval rules")
        indexes = [
            # the engine's lookup: WHERE kind=? AND active ORDER BY priority, id
            models.Index(fields=["kind", "active", "priority", "id"], name="approval_rule_lookup_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class RuleCondition(models.Model):
    """One typed condition of a rule: ``fact operator value`` (``conditions.clean_condition``
    validates it per fact type; ``value`` is its stored JSON form)."""

    rule = models.ForeignKey(ApprovalRule, on_delete=models.CASCADE, related_name="conditions")
    fact = models.CharField(_("fact"), max_length=40)
    operator = models.CharField(_("operator"), max_length=10, choices=Operator.choices)
    value = models.JSONField(_("value"), null=True, blank=True)

    class Meta:
        ordering = ["rule", "id"]
        verbose_name = _("rule condition")
        verbose_name_plural = _("rule conditions")


class RuleStep(models.Model):
    """One step of a rule's route, in ``position`` order (1, 2, …)."""

    rule = models.ForeignKey(ApprovalRule, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("step order"))
    name = models.CharField(_("name"), max_length=NAME_LENGTH)
    approver_type = models.CharField(_("approvers"), max_length=20, choices=ApproverType.choices)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("users"))
    levels = models.PositiveSmallIntegerField(_("manager levels"), default=1)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    mode = models.CharField(_("who must approve"), max_length=3, choices=StepMode.choices, default=StepMode.ANY)

    class Meta:
        ordering = ["rule", "position"]
        verbose_name = _("rule step")
        verbose_name_plural = _("rule steps")
        constraints = [
            models.UniqueConstraint(fields=["rule", "position"], name="approval_rule_step_position_unique"),
        ]


class ApprovalRequest(TimestampedModel):
    """A document's request for approval. ``current_step`` is the position of the step
    waiting for a decision; 0 means it was returned to the requester. ``version`` grows with
    every action so two concurrent decisions cannot both apply."""

    kind = models.CharField(_("document type"), max_length=60)
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.BigIntegerField()
    summary = models.CharField(_("summary"), max_length=SUMMARY_LENGTH)
    facts = models.JSONField(_("facts"), default=dict)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,  # users are deactivated, not deleted; the demo's are removed with their data
        related_name="approval_requests",
        verbose_name=_("requester"),
    )
    rule = models.ForeignKey(ApprovalRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rule_name = models.CharField(_("rule"), max_length=NAME_LENGTH)
    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    current_step = models.PositiveSmallIntegerField(_("current step"), default=1)
    remind_after_hours = models.PositiveIntegerField(default=0)
    escalate_after_hours = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id"],
                condition=Q(status="pending"),
                name="approval_one_pending_per_document",
            ),
        ]
        indexes = [
            # a document's requests (deal panel, pending_request_id, the gate): WHERE kind=? AND object_id=?
            models.Index(fields=["kind", "object_id", "status"], name="approval_doc_idx"),
            # "my requests": WHERE requester=? ORDER BY submitted_at DESC
            models.Index(fields=["requester", "-submitted_at"], name="approval_requester_idx"),
            # the reminder job: WHERE status='pending'
            models.Index(fields=["status", "submitted_at"], name="approval_status_idx"),
        ]

    def __str__(self) -> str:
        return self.summary


class RequestStep(models.Model):
    """A step of a request's route, copied from the rule at submission."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=NAME_LENGTH)
    approver_type = models.CharField(max_length=20, choices=ApproverType.choices)
    user_ids = models.JSONField(default=list)
    levels = models.PositiveSmallIntegerField(default=1)
    role = models.CharField(max_length=20, blank=True)
    mode = models.CharField(max_length=3, choices=StepMode.choices, default=StepMode.ANY)
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.WAITING)
    fallback = models.BooleanField(default=False)  # resolved to nobody: administrators act
    entered_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="approval_request_step_unique"),
        ]
        indexes = [
            # the reminder job: WHERE status='pending' AND entered_at < ?
            models.Index(fields=["status", "entered_at"], name="approval_step_due_idx"),
        ]


class StepApprover(models.Model):
    """A user who may decide a step. ``escalated_from`` marks a manager added by escalation
    who stands in for that approver. ``decision`` is empty until they act."""

    step = models.ForeignKey(RequestStep, on_delete=models.CASCADE, related_name="approvers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    escalated_from = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    decision = models.CharField(max_length=10, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["step", "id"]
        constraints = [
            models.UniqueConstraint(fields=["step", "user"], name="approval_step_approver_unique"),
        ]
        indexes = [
            # the inbox: WHERE user IN (me, people I stand in for) AND decision=''
            models.Index(fields=["user", "decision"], name="approval_approver_inbox_idx"),
        ]


class ApprovalAction(models.Model):
    """One entry of a request's history: who did what, at which step, for whom."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="actions")
    step_position = models.PositiveSmallIntegerField(default=0)
    action = models.CharField(max_length=12, choices=ActionKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    comment = models.TextField(blank=True)
    to_step = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["request", "created_at", "id"]
        indexes = [
            # "decided by me": WHERE actor=? AND action IN (...) ORDER BY created_at DESC
            models.Index(fields=["actor", "action", "-created_at"], name="approval_action_actor_idx"),
        ]


class Delegation(TimestampedModel):
    """While ``user`` is away (``starts_on``–``ends_on``, inclusive, in the installation's
    time zone), ``delegate`` may act on their pending approvals, recorded "on behalf of"."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="approval_delegations",
        verbose_name=_("approver"),
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="approval_stand_ins",
        verbose_name=_("delegate"),
    )
    starts_on = models.DateField(_("first day away"))
    ends_on = models.DateField(_("last day away"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-starts_on", "id"]
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="approval_delegation_dates"),
            models.CheckConstraint(condition=~Q(user=models.F("delegate")), name="approval_delegation_not_self"),
        ]
        indexes = [
            # whom do I stand in for today: WHERE delegate=? AND starts_on<=today AND ends_on>=today
            models.Index(fields=["delegate", "starts_on", "ends_on"], name="approval_delegate_idx"),
            models.Index(fields=["user", "starts_on", "ends_on"], name="approval_delegator_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.delegate}"
