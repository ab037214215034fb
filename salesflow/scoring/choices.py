"""Choices of the scoring app: rule categories, attributes and operators."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleCategory(models.TextChoices):
    FIT = "fit", _("Fit")
    ENGAGEMENT = "engagement", _("Engagement")
    BANT = "bant", _("BANT")


class RuleAttribute(models.TextChoices):
    """What a score rule looks at (see ``salesflow.scoring.engine.LeadFeatures``)."""

    INDUSTRY = "industry", _("Industry")
    SIZE = "size", _("Company size")
    REGION = "region", _("Region")
    TITLE = "title", _("Position contains")
    SOURCE_CHANNEL = "source_channel", _("Source channel")
    SUB_CHANNEL = "sub_channel", _("Sub-channel")
    ACTIVITIES = "activities", _("Activities in the last N days")
    FORM_SUBMISSIONS = "form_submissions", _("Web-form submissions")
    BANT_KNOWN = "bant_known", _("BANT items known")


class RuleOperator(models.TextChoices):
    EQ = "eq", _("is")
    IN = "in", _("is one of")
    CONTAINS = "contains", _("contains one of")
    GTE = "gte", _("at least")
    LTE = "lte", _("at most")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
