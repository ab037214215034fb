"""Enumerations of the approval engine (审批)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RequestStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("approval", "Pending")
    APPROVED = "approved", pgettext_lazy("approval", "Approved")
    REJECTED = "rejected", pgettext_lazy("approval", "Rejected")
    WITHDRAWN = "withdrawn", pgettext_lazy("approval", "Withdrawn")


class StepStatus(models.TextChoices):
    WAITING = "waiting", pgettext_lazy("approval step", "Waiting")
    PENDING = "pending", pgettext_lazy("approval", "Pending")
    APPROVED = "approved", pgettext_lazy("approval", "Approved")
    REJECTED = "rejected", pgettext_lazy("approval", "Rejected")


class StepMode(models.TextChoices):
    ANY = "any", _("Any one of them")
    ALL = "all", _("All of them")


class ApproverType(models.TextChoices):
    USERS = "users", _("Named users")
    MANAGER_CHAIN = "manager_chain", _("The requester's managers")
    ROLE = "role", _("Everyone with a role")
    TEAM_ROLE = "team_role", _("A role in the requester's team and the teams above")


class ActionKind(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", pgettext_lazy("approval", "Approved")
    REJECTED = "rejected", pgettext_lazy("approval", "Rejected")
    RETURNED = "returned", _("Returned")
    RESUBMITTED = "resubmitted", _("Resubmitted")
    WITHDRAWN = "withdrawn", pgettext_lazy("approval", "Withdrawn")
    REMINDED = "reminded", _("Reminder sent")
    ESCALATED = "escalated", _("Escalated")


class Operator(models.TextChoices):
    GT = "gt", ">"
    GTE = "gte", "≥"
    LT = "lt", "<"
    LTE = "lte", "≤"
    EQ = "eq", "="
    NE = "ne", "≠"
    IN = "in", _("is one of")
    NOT_IN = "not_in", _("is none of")
    CONTAINS = "contains", _("includes")
    IS_TRUE = "is_true", _("is yes")
    IS_FALSE = "is_false", _("is no")
