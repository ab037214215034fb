"""Enumerations of the approval engine (审批)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class StepStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


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
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned")
    RESUBMITTED = "resubmitted", _("Resubmitted")
    WITHDRAWN = "withdrawn", _("Withdrawn")
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
