"""API schemas for accounts and contacts.

``*In`` create a record; ``*Patch`` change only the fields sent; ``*Out`` are what the API
returns. ``null`` is refused for required fields; optional choices (industry, size, grade,
source) accept ``""`` or ``null`` for "not set" and otherwise the codes of the OpenAPI enum.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.utils.translation import gettext
from ninja import Field, Schema
from pydantic import field_validator

from salesflow.core.bulk import BulkIn
from salesflow.core.keyset import CURSOR_MAX_LENGTH
from salesflow.core.schemas import (
    COUNT_DOC,
    CURSOR_DOC,
    NEXT_CURSOR_DOC,
    OFFSET_DOC,
    SearchText,
    StrictQuery,
    StrictSchema,
)
from salesflow.parties.choices import BuyingRole, CompanySize, Grade, Industry, Lifecycle, SourceChannel
from salesflow.parties.models import Account, Contact
from salesflow.tags.selectors import TagRef, tag_refs

OPTIONAL_CHOICES = ("industry", "size", "grade", "source")


class ErrorOut(Schema):
    """The one error envelope of the API."""

    detail: str
    code: str
    errors: dict[str, list[str]] = {}


def _reject_null(value: Any) -> Any:
    if value is None:
        raise ValueError(gettext("This field may not be null."))
    return value


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


# --- accounts --------------------------------------------------------------------------------------


# issue 8: "save anyway" past the duplicate warning (409 ``possible_duplicates`` without it)
DUPLICATE_REASON_DOC = (
    "Why this is not a duplicate: saves although possible duplicates exist. Without it, a "
    "record matching existing ones is refused with 409 ``possible_duplicates`` and the list "
    "``duplicates`` ([{kind, id, score, reasons, owner, visible, writable, label, url}])."
)


class AccountIn(StrictSchema):
    name: str = Field(..., max_length=200, examples=["上海星云智能科技有限公司"])
    credit_code: str = Field("", max_length=30, description="Unified social credit code (统一社会信用代码)")
    industry: Industry | None = None
    region_id: int | None = Field(None, description="A territory id (see /territories)")
    size: CompanySize | None = None
    lifecycle: Lifecycle = Lifecycle.PROSPECT
    grade: Grade | None = None
    owner_id: int | None = Field(None, description="Defaults to the caller; must be a user the caller may assign")
    source: SourceChannel | None = None
    phone: str = Field("", max_length=40)
    website: str = Field("", max_length=200)
    address: str = Field("", max_length=300)
    description: str = ""
    duplicate_reason: str | None = Field(None, max_length=2000, description=DUPLICATE_REASON_DOC)  # issue 8

    _blank = field_validator(*OPTIONAL_CHOICES, mode="before")(_blank_to_none)


class AccountPatch(StrictSchema):
    name: str | None = Field(None, max_length=200)
    credit_code: str | None = Field(None, max_length=30)
    industry: Industry | None = None
    region_id: int | None = None
    size: CompanySize | None = None
    lifecycle: Lifecycle | None = None
    grade: Grade | None = None
    owner_id: int | None = None
    source: SourceChannel | None = None
    phone: str | None = Field(None, max_length=40)
    website: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=300)
    description: str | None = None
    duplicate_reason: str | None = Field(None, max_length=2000, description=DUPLICATE_REASON_DOC)  # issue 8

    _blank = field_validator(*OPTIONAL_CHOICES, mode="before")(_blank_to_none)
    _no_null = field_validator(
        "name",
        "credit_code",
        "lifecycle",
        "owner_id",
        "phone",
        "website",
        "address",
        "description",
    )(_reject_null)


class AccountOut(Schema):
    id: int
    name: str
    credit_code: str
    industry: str
    region_id: int | None
    region_name: str | None
    size: str
    lifecycle: str
    grade: str
    owner_id: int | None = Field(..., description="null while the account waits in a public pool (issue 8)")
    owner_name: str
    source: str
    phone: str
    website: str
    address: str
    description: str
    created_at: datetime
    updated_at: datetime
    tags: list[TagRef] = Field([], description="The record's tags (标签)")
    last_follow_up_at: datetime | None = Field(None, description="The last done follow-up activity (issue 7)")
    next_follow_up_due: date | None = Field(None, description="Last follow-up + the grade's frequency")
    at_risk_since: datetime | None = Field(None, description="Set by the escalation ladder; cleared by a follow-up")

    @staticmethod
    def resolve_tags(obj: Any) -> list[TagRef]:
        return tag_refs(obj)

    @staticmethod
    def resolve_region_name(obj: Account) -> str | None:
        return obj.region.name if obj.region is not None else None

    @staticmethod
    def resolve_owner_name(obj: Account) -> str:
        return str(obj.owner) if obj.owner is not None else ""


class AccountListOut(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[AccountOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DOC)


class AccountFilters(StrictQuery):
    q: SearchText = Field("", description="Matches name, credit code prefix or phone")
    lifecycle: Lifecycle | None = None
    grade: Grade | None = None
    industry: Industry | None = None
    region_id: int | None = Field(None, description="Territory id; includes the territories below it")
    owner_id: int | None = Field(None, description="Owner user id")
    tag_id: int | None = Field(None, description="Only records carrying this tag")
    follow_up: Literal["overdue", "at_risk"] | None = Field(
        None, description="overdue: next follow-up due before today; at_risk: marked at risk by the ladder"
    )
    sort: Literal["name", "-name", "created", "-created"] = "name"
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, description=OFFSET_DOC)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)


# --- contacts --------------------------------------------------------------------------------------


class ContactIn(StrictSchema):
    account_id: int
    name: str = Field(..., max_length=100, examples=["王磊"])
    title: str = Field("", max_length=100)
    department: str = Field("", max_length=100)
    buying_role: BuyingRole = BuyingRole.OTHER
    mobile: str = Field("", max_length=40)
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    wechat: str = Field("", max_length=64)
    birthday: date | None = None
    hobbies: str = Field("", max_length=300)
    education: str = Field("", max_length=300)
    achievements: str = ""
    places: str = Field("", max_length=300)
    family: str = Field("", max_length=300)
    cultural_background: str = Field("", max_length=300)
    notes: str = ""
    duplicate_reason: str | None = Field(None, max_length=2000, description=DUPLICATE_REASON_DOC)  # issue 8


class ContactPatch(StrictSchema):
    account_id: int | None = None
    name: str | None = Field(None, max_length=100)
    title: str | None = Field(None, max_length=100)
    department: str | None = Field(None, max_length=100)
    buying_role: BuyingRole | None = None
    mobile: str | None = Field(None, max_length=40)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    wechat: str | None = Field(None, max_length=64)
    birthday: date | None = None
    hobbies: str | None = Field(None, max_length=300)
    education: str | None = Field(None, max_length=300)
    achievements: str | None = None
    places: str | None = Field(None, max_length=300)
    family: str | None = Field(None, max_length=300)
    cultural_background: str | None = Field(None, max_length=300)
    notes: str | None = None
    duplicate_reason: str | None = Field(None, max_length=2000, description=DUPLICATE_REASON_DOC)  # issue 8

    _no_null = field_validator(
        "account_id",
        "name",
        "title",
        "department",
        "buying_role",
        "mobile",
        "phone",
        "email",
        "wechat",
        "hobbies",
        "education",
        "achievements",
        "places",
        "family",
        "cultural_background",
        "notes",
    )(_reject_null)


class ContactOut(Schema):
    id: int
    account_id: int
    account_name: str
    name: str
    title: str
    department: str
    buying_role: str
    mobile: str
    phone: str
    email: str
    wechat: str
    # the sales archive: null when the reader may not see the contact's personal data
    birthday: date | None
    hobbies: str | None
    education: str | None
    achievements: str | None
    places: str | None
    family: str | None
    cultural_background: str | None
    notes: str
    created_at: datetime
    updated_at: datetime
    tags: list[TagRef] = Field([], description="The record's tags (标签)")

    @staticmethod
    def resolve_tags(obj: Any) -> list[TagRef]:
        return tag_refs(obj)

    @staticmethod
    def resolve_account_name(obj: Contact) -> str:
        return obj.account.name


class ContactListOut(Schema):
    count: int | None = Field(..., description=COUNT_DOC)
    items: list[ContactOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DOC)


class ContactFilters(StrictQuery):
    q: SearchText = Field("", description="Matches name, email/mobile/phone prefix or WeChat id")
    account_id: int | None = Field(None, description="Only contacts of this account")
    buying_role: BuyingRole | None = None
    sort: Literal["name", "-name", "created", "-created"] = "name"
    tag_id: int | None = Field(None, description="Only records carrying this tag")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, description=OFFSET_DOC)
    cursor: str | None = Field(None, max_length=CURSOR_MAX_LENGTH, description=CURSOR_DOC)


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


class AccountBulkIn(BulkIn):
    action: Literal["assign", "tag_add", "tag_remove", "delete"]
    owner_id: int | None = Field(None, description="assign: the new owner (a user the caller may assign)")
    follow: bool = Field(False, description="assign: the account's open deals follow it to the new owner")
    tag_id: int | None = Field(None, description="tag_add / tag_remove: the tag")


class ContactBulkIn(BulkIn):
    action: Literal["tag_add", "tag_remove", "delete"]
    tag_id: int | None = Field(None, description="tag_add / tag_remove: the tag")


class NeglectReassignIn(StrictSchema):
    """A manager's decision to give a neglected account (and its open deals) to another owner."""

    owner_id: int
    reason: str = Field(description="Why (required, at most 500 characters); recorded in the audit trail")
