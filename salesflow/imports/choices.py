"""Choices of the import app: what is imported, how far a job is, what became of a row."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    """The record kind a file holds (one kind per file)."""

    LEAD = "lead", _("Leads")
    ACCOUNT = "account", _("Accounts")
    CONTACT = "contact", _("Contacts")
    OPPORTUNITY = "opportunity", _("Opportunities")


class ImportMode(models.TextChoices):
    """``all_or_nothing``: one transaction, any rejected row imports nothing;
    ``valid_rows``: every valid row lands (batch by batch), rejected rows are reported."""

    ALL_OR_NOTHING = "all_or_nothing", _("All-or-nothing")
    VALID_ROWS = "valid_rows", _("Import valid rows")


class ImportStatus(models.TextChoices):
    """``mapping`` (uploaded, being mapped and previewed) → ``queued`` → ``running`` →
    ``done`` / ``failed`` / ``cancelled``; ``rolled_back`` after a rollback."""

    MAPPING = "mapping", _("Mapping columns")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    ROLLED_BACK = "rolled_back", _("Rolled back")


class RowState(models.TextChoices):
    """What became of one row of the file."""

    CREATED = "created", _("Imported")
    SKIPPED = "skipped", _("Already exists")
    REJECTED = "rejected", _("Rejected")
    ROLLED_BACK = "rolled_back", _("Rolled back")


# The fields a column may be mapped to (core.columns.FIELD_SYNONYMS), as people read them.
FIELD_LABELS = {
    "id": _("External id"),
    "company_name": _("Company name"),
    "credit_code": _("Unified social credit code"),
    "name": _("Name"),
    "title": _("Job title"),
    "mobile": _("Mobile"),
    "phone": _("Phone"),
    "email": _("Email"),
    "wechat": _("WeChat ID"),
    "industry": _("Industry"),
    "region": _("Territory"),
    "source_channel": _("Source channel"),
    "sub_channel": _("Sub-channel"),
    "campaign": _("Campaign"),
    "budget_amount": _("Budget"),
    "budget_currency": _("Budget currency"),
    "need": _("Need"),
    "timeline": _("Purchase timeline"),
    "owner": _("Owner"),
    "status": _("Status (ignored)"),
    "notes": _("Notes"),
    "created_at": _("Created on"),
    "size": _("Company size"),
    "lifecycle": _("Lifecycle"),
    "grade": _("Grade"),
    "source": _("Source"),
    "website": _("Website"),
    "address": _("Address"),
    "description": _("Description"),
    "account": _("Account"),
    "department": _("Department"),
    "buying_role": _("Buying role"),
    "amount": _("Amount"),
    "currency": _("Currency"),
    "pipeline": _("Pipeline"),
    "stage": _("Stage"),
    "outcome": _("Outcome (open, won, lost)"),
    "expected_close_date": _("Expected close date"),
    "closed_at": _("Actual close date"),
    "lost_reason": _("Lost reason"),
    "contact": _("Contact (ignored)"),
}
