"""Writes for accounts and contacts. Every function validates, writes and audits in one
transaction; on ``ValidationFailed`` nothing has been written."""

from __future__ import annotations

import re

from django.db import transaction
from django.utils.translation import gettext as _

from salesflow.core.audit import record_event
from salesflow.core.errors import ValidationFailed
from salesflow.parties.choices import BuyingRole, Lifecycle
from salesflow.parties.models import Account, Contact
from salesflow.users.models import Territory, User

CREDIT_CODE_RE = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}$")
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def normalize_credit_code(value: str) -> str:
    """Upper-case and strip spaces/hyphens from a unified social credit code."""
    return re.sub(r"[\s\-]", "", value or "").upper()


def credit_code_is_valid(code: str) -> bool:
    """GB 32100-2015: 18 characters from the official alphabet with a valid check character."""
    if not CREDIT_CODE_RE.match(code):
        return False
    total = sum(_CREDIT_ALPHABET.index(ch) * w for ch, w in zip(code[:17], _CREDIT_WEIGHTS, strict=True))
    check = (31 - total % 31) % 31
    return _CREDIT_ALPHABET[check] == code[17]


def validate_credit_code(code: str, *, exclude_pk: int | None = None) -> list[str]:
    """Messages for a normalised credit code: format, check digit, uniqueness. Empty is allowed."""
    if not code:
        return []
    if not credit_code_is_valid(code):
        return [_("Enter a valid 18-character unified social credit code.")]
    qs = Account.objects.filter(credit_code=code)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        return [_("Another account already has this credit code.")]
    return []


@transaction.atomic
def account_create(
    *,
    actor: User | None,
    owner: User,
    name: str,
    credit_code: str = "",
    industry: str = "",
    region: Territory | None = None,
    size: str = "",
    lifecycle: str = Lifecycle.PROSPECT,
    grade: str = "",
    source: str = "",
    phone: str = "",
    website: str = "",
    address: str = "",
    description: str = "",
) -> Account:
    """Create an account owned by ``owner``.

    Raises ``ValidationFailed`` (nothing written) for a blank name or an invalid or
    duplicate credit code. Audits ``parties.account.created``.
    """
    name = name.strip()
    code = normalize_credit_code(credit_code)
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("This field is required.")]
    code_errors = validate_credit_code(code)
    if code_errors:
        errors["credit_code"] = code_errors
    if errors:
        raise ValidationFailed(_("The account could not be saved."), field_errors=errors)
    account = Account.objects.create(
        name=name,
        credit_code=code,
        industry=industry,
        region=region,
        size=size,
        lifecycle=lifecycle,
        grade=grade,
        owner=owner,
        source=source,
        phone=phone.strip(),
        website=website.strip(),
        address=address.strip(),
        description=description,
    )
    record_event(actor=actor, verb="parties.account.created", target=account, data={"owner": owner.pk})
    return account


@transaction.atomic
def contact_create(
    *,
    actor: User | None,
    account: Account,
    name: str,
    title: str = "",
    department: str = "",
    buying_role: str = BuyingRole.OTHER,
    mobile: str = "",
    phone: str = "",
    email: str = "",
    wechat: str = "",
    notes: str = "",
) -> Contact:
    """Create a contact at ``account``. Raises ``ValidationFailed`` for a blank name.

    Archive fields (birthday, hobbies, …) are set with ``contact_update``. Audits
    ``parties.contact.created`` on the contact's and the account's timelines.
    """
    name = name.strip()
    if not name:
        raise ValidationFailed(
            _("The contact could not be saved."), field_errors={"name": [_("This field is required.")]}
        )
    contact = Contact.objects.create(
        account=account,
        name=name,
        title=title.strip(),
        department=department.strip(),
        buying_role=buying_role,
        mobile=mobile.strip(),
        phone=phone.strip(),
        email=email.strip().lower(),
        wechat=wechat.strip(),
        notes=notes,
    )
    record_event(actor=actor, verb="parties.contact.created", target=contact, related=[account])
    return contact
