"""The kinds of notification a user can receive and the channels they can arrive on.

A *kind* is what a user turns on or off per channel in their preferences. Kinds are named
like event verbs; most come from an audited event (``leads.lead.created`` with another
user as owner → ``leads.lead.assigned`` for that owner), the digest from a periodic job.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In the app")
    EMAIL = "email", pgettext_lazy("notification channel", "Email")
    ROBOT = "robot", _("Group robot")


@dataclass(frozen=True)
class Kind:
    key: str
    label: str | Promise
    description: str | Promise


LEAD_ASSIGNED = "leads.lead.assigned"
OPPORTUNITY_ASSIGNED = "sales.opportunity.assigned"
RECORD_SHARED = "users.share.granted"
DAILY_DIGEST = "activities.digest"
EXPORT_READY = "core.export.ready"  # issue 6
OPPORTUNITY_STALLED = "sales.opportunity.stalled"  # issue 7: stall detection
OPPORTUNITY_STALL_ESCALATED = "sales.opportunity.stall_escalated"
FOLLOW_UP_REMINDER = "activities.follow_up.reminder"  # issue 7
FOLLOW_UP_ESCALATED = "activities.follow_up.escalated"  # issue 7
ACCOUNT_REASSIGNED_NEGLECT = "parties.account.reassigned_for_neglect"  # issue 7
WORK_REPORT_SUBMITTED = "workreports.report.submitted"  # issue 7: daily and weekly reports
WORK_REPORT_COMMENTED = "workreports.report.commented"
WORK_REPORT_REMINDER = "workreports.reminder"
LEAD_SLA_MISSED = "routing.lead.sla_missed"  # issue 8: first-response SLAs (routing)
# issue 8: customer protection (salesflow.protection)
KNOWN_CUSTOMER_ROUTED = "protection.known_customer.routed"
COLLISION_OPENED = "protection.collision.opened"
COLLISION_DECIDED = "protection.collision.decided"
POOL_RECYCLE_WARNING = "pools.record.recycle_warning"  # issue 8: public pools (salesflow.pools)
POOL_RECYCLED = "pools.record.recycled"

KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in (
        Kind(LEAD_ASSIGNED, _("A lead is assigned to me"), _("Someone else makes you the owner of a lead.")),
        Kind(
            OPPORTUNITY_ASSIGNED,
            _("An opportunity is assigned to me"),
            _("Someone else makes you the owner of an opportunity."),
        ),
        Kind(RECORD_SHARED, _("A record is shared with me"), _("A record is shared with you or your team.")),
        Kind(DAILY_DIGEST, _("Daily task digest"), _("Each morning: your tasks due today and overdue.")),
        Kind(
            EXPORT_READY,
            _("My export is ready"),
            _("A large export you started has been written and can be downloaded."),
        ),
        # issue 7: stall detection (sales.escalate_stalled_deals)
        Kind(
            OPPORTUNITY_STALLED,
            _("My opportunity has stalled"),
            _("A deal of yours has been in its stage longer than the stage or your team allows."),
        ),
        Kind(
            OPPORTUNITY_STALL_ESCALATED,
            _("A team member's opportunity stays stalled"),
            _("A deal in your team has stayed stalled for a step of the escalation ladder."),
        ),
        # issue 7: follow-up discipline
        Kind(
            FOLLOW_UP_REMINDER,
            _("A customer of mine is overdue for follow-up"),
            _("An account or open deal of yours had no follow-up within its grade's frequency."),
        ),
        Kind(
            FOLLOW_UP_ESCALATED,
            _("A missed follow-up is escalated to me"),
            _("For managers: a rep's account or deal is still not followed up, or was marked at risk."),
        ),
        Kind(
            ACCOUNT_REASSIGNED_NEGLECT,
            _("A neglected account is reassigned"),
            _("A manager gave a neglected account to you, or took it from you, with a reason."),
        ),
        # issue 7: daily and weekly work reports
        Kind(
            WORK_REPORT_SUBMITTED,
            _("A work report is submitted to me"),
            _("Someone you manage submits a daily or weekly report."),
        ),
        Kind(
            WORK_REPORT_COMMENTED,
            _("My work report is commented on"),
            _("Your manager comments on your daily or weekly report."),
        ),
        Kind(
            WORK_REPORT_REMINDER,
            _("My work report is missing"),
            _("A reminder when your daily or weekly report has not been submitted by the reminder time."),
        ),
        # issue 8 (routing): first-response SLAs
        Kind(
            LEAD_SLA_MISSED,
            _("A lead missed its first-response SLA"),
            _("For managers: a rep's new lead had no first response within its source's SLA."),
        ),
        # issue 8: customer protection (salesflow.protection)
        Kind(
            KNOWN_CUSTOMER_ROUTED,
            _("A known customer's lead is routed to me"),
            _("A new lead matches an existing customer you own and is given to you."),
        ),
        Kind(
            COLLISION_OPENED,
            _("A collision concerns me"),
            _("A rep entered or claimed a company or person another rep holds; for arbiters: one to decide."),
        ),
        Kind(
            COLLISION_DECIDED,
            _("A collision of mine is decided"),
            _("The manager or administrator decided a collision you are part of: keep, transfer or share."),
        ),
        # issue 8: public pools (pools.recycle)
        Kind(
            POOL_RECYCLE_WARNING,
            _("A customer of mine will be recycled to a public pool"),
            _("A recycle rule will return your lead or account to a public pool in a few days unless you follow up."),
        ),
        Kind(
            POOL_RECYCLED,
            _("A customer of mine was recycled to a public pool"),
            _("A recycle rule returned your lead or account to a public pool."),
        ),
    )
}
# issue 8 (merging): access requests to possible duplicates
ACCESS_REQUESTED = "merging.access.requested"
ACCESS_DECIDED = "merging.access.decided"
KINDS[ACCESS_REQUESTED] = Kind(
    ACCESS_REQUESTED,
    _("Someone asks for access to my record"),
    _("A colleague found your lead, account or contact as a possible duplicate and asks to open or edit it."),
)
KINDS[ACCESS_DECIDED] = Kind(
    ACCESS_DECIDED,
    _("My access request is decided"),
    _("The owner granted or declined your request for access to a record."),
)
# issue 7: a manager moved my deal past unmet entry criteria
OPPORTUNITY_GATE_OVERRIDDEN = "sales.opportunity.gate_overridden"
KINDS[OPPORTUNITY_GATE_OVERRIDDEN] = Kind(
    OPPORTUNITY_GATE_OVERRIDDEN,
    _("A manager overrides a stage gate on my opportunity"),
    _("Your opportunity was moved into a stage although its entry criteria were unmet; the reason is given."),
)
# issue 9 (approvals): the approval engine (审批)
APPROVAL_PENDING = "approvals.request.pending"
APPROVAL_DECIDED = "approvals.request.decided"
APPROVAL_REMINDER = "approvals.request.reminder"
KINDS[APPROVAL_PENDING] = Kind(
    APPROVAL_PENDING,
    _("An approval waits for me"),
    _("A request reaches a step you approve (also as a delegate or after an escalation)."),
)
KINDS[APPROVAL_DECIDED] = Kind(
    APPROVAL_DECIDED,
    _("My approval request is decided or returned"),
    _("A request of yours was approved, rejected or returned to you; or one you were to approve was withdrawn."),
)
KINDS[APPROVAL_REMINDER] = Kind(
    APPROVAL_REMINDER,
    _("Reminder: an approval is overdue"),
    _("A request has waited for your decision longer than its rule allows."),
)
# issue 9 (billing): payment collection reminders
PAYMENT_DUE_SOON = "billing.instalment.due_soon"
PAYMENT_OVERDUE = "billing.instalment.overdue"
KINDS[PAYMENT_DUE_SOON] = Kind(
    PAYMENT_DUE_SOON,
    _("An instalment of my customer is coming due"),
    _("A payment instalment of your (or your delegating rep's) customer is due in a few days."),
)
KINDS[PAYMENT_OVERDUE] = Kind(
    PAYMENT_OVERDUE,
    _("An instalment of my customer is overdue"),
    _("A payment instalment of your (or your delegating rep's) customer is past its due date and not fully paid."),
)
# issue 9 (contracts): renewal reminders before a signed contract's end date
CONTRACT_RENEWAL_DUE = "contracts.contract.renewal_due"
KINDS[CONTRACT_RENEWAL_DUE] = Kind(
    CONTRACT_RENEWAL_DUE,
    _("A contract of mine is coming up for renewal"),
    _("A signed contract you own ends soon (the reminder comes a set number of days before its end date)."),
)
# issue 11 (improvement): a DMAIC project's control plan found the metric out of control
IMPROVEMENT_DRIFTED = "improvement.project.drifted"
KINDS[IMPROVEMENT_DRIFTED] = Kind(
    IMPROVEMENT_DRIFTED,
    _("My improvement project's metric drifted"),
    _("The daily control check found new points outside the control limits or breaking a run rule."),
)
# issue 10 (targets, commissions): sales plans and commission statements through their approval
PLAN_SUBMITTED = "targets.plan.submitted"
PLAN_APPROVED = "targets.plan.approved"
PLAN_RETURNED = "targets.plan.returned"
STATEMENT_SUBMITTED = "commissions.statement.submitted"
STATEMENT_APPROVED = "commissions.statement.approved"
KINDS[PLAN_SUBMITTED] = Kind(
    PLAN_SUBMITTED,
    _("A sales plan waits for my approval"),
    _("A manager submitted a version of the sales plan for you to approve or return."),
)
KINDS[PLAN_APPROVED] = Kind(
    PLAN_APPROVED,
    _("My sales plan is approved"),
    _("A version of the sales plan you submitted was approved and locked."),
)
KINDS[PLAN_RETURNED] = Kind(
    PLAN_RETURNED,
    _("My sales plan is returned"),
    _("A version of the sales plan you submitted was returned to draft, with the approver's comment."),
)
KINDS[STATEMENT_SUBMITTED] = Kind(
    STATEMENT_SUBMITTED,
    _("A commission statement waits for my approval"),
    _("A commission statement of someone you manage was submitted for approval."),
)
KINDS[STATEMENT_APPROVED] = Kind(
    STATEMENT_APPROVED,
    _("My commission statement is approved"),
    _("Your manager or an administrator approved your commission statement (or one you submitted)."),
)

# issue 11 (forecasts): forecast submissions — the reminder before the due day, and the
# manager told of a submission below or of an adjustment made above
FORECAST_DUE = "forecasts.submission.due"
FORECAST_SUBMITTED = "forecasts.submission.received"
FORECAST_ADJUSTED = "forecasts.adjustment.received"
KINDS[FORECAST_DUE] = Kind(
    FORECAST_DUE,
    _("My forecast is due"),
    _("In the days before this month's or quarter's forecast is due, if you have not submitted it."),
)
KINDS[FORECAST_SUBMITTED] = Kind(
    FORECAST_SUBMITTED,
    _("A team member submitted a forecast"),
    _("Someone in a team you manage submits their forecast for a month or a quarter."),
)
KINDS[FORECAST_ADJUSTED] = Kind(
    FORECAST_ADJUSTED,
    _("My team's forecast was adjusted above me"),
    _("A manager above you or an administrator adjusts the forecast of a team you manage."),
)

KIND_CHOICES = [(kind.key, kind.label) for kind in KINDS.values()]
