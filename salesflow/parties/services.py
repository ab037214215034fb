"""Writes for accounts and contacts. Every function validates, writes and audits in one
transaction; on ``ValidationFailed`` nothing has been written."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypedDict, Unpack

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.audit import changed_fields, record_event
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from salesflow.core.intake import Intake, IntakeAction, run_after, run_after_many, run_before, run_before_many
from salesflow.core.normalize import (
    company_name_key,
    credit_code_is_valid,
    mobile_error,
    normalize_credit_code,
    normalize_email,
    normalize_phone,
    party_match_keys,
)
from salesflow.core.visibility import get_record_for_user
from salesflow.parties.choices import BuyingRole, Grade, Lifecycle
from salesflow.parties.models import Account, Contact, FollowUpPolicy
from salesflow.parties.permissions import (
    ARCHIVE_FIELDS,
    can_manage_account,
    can_read_personal_data,
    can_write_account,
    can_write_contact,
    may_reassign_for_neglect,
)
from salesflow.search.inserts import bulk_insert
from salesflow.search.services import index_record, unindex_record
from salesflow.users.models import Territory, User
from salesflow.users.permissions import assignable_users_for, can_see_unowned, writable_owner_ids
from salesflow.users.policy import may_assign_owner
from salesflow.users.services import shares_delete_for

NAME_KEY_LENGTH = Account._meta.get_field("name_key").max_length or 200


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
    actor: User,
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
    intake_options: Mapping[str, Any] | None = None,
    intake_action: IntakeAction = "create",
    created_at: datetime | None = None,
) -> Account:
    """Create an account owned by ``owner``.

    Stores ``name_key`` (``company_name_key(name)``) for duplicate detection.
    Raises ``Forbidden`` when ``actor`` may not create records (support, inactive users),
    ``ValidationFailed`` (nothing written) for a blank name, an invalid or duplicate credit
    code (also when a concurrent transaction inserts the same credit code between the check
    and the insert: the unique constraint decides), or an owner ``actor`` may not assign.
    Audits ``parties.account.created``. The registered intake checks
    (:mod:`salesflow.core.intake`, kind ``account``) run before the insert with
    ``intake_options`` and may refuse it or change the values (e.g. the owner).
    ``created_at`` (imports only) backdates the account's creation; never in the future.
    """
    if writable_owner_ids(actor) == set():
        raise Forbidden(_("You may not create accounts."))
    name = name.strip()
    code = normalize_credit_code(credit_code)
    errors: dict[str, list[str]] = {}
    if created_at is not None and created_at > timezone.now():
        errors["created_at"] = [_("The creation date cannot be in the future.")]
    if not may_assign_owner(actor, owner):
        errors["owner"] = [_("You may not assign records to this user.")]
    if not name:
        errors["name"] = [_("This field is required.")]
    code_errors = validate_credit_code(code)
    if code_errors:
        errors["credit_code"] = code_errors
    if errors:
        raise ValidationFailed(_("The account could not be saved."), field_errors=errors)
    fields: dict[str, Any] = dict(
        name=name,
        name_key=company_name_key(name)[:NAME_KEY_LENGTH],
        **_account_match_keys(name, phone.strip()),
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
    if created_at is not None:
        fields["created_at"] = created_at
    intake = run_before(
        Intake(kind="account", action=intake_action, actor=actor, values=fields, options=intake_options or {})
    )
    fields = dict(intake.values)
    owner = fields["owner"]
    try:
        # A savepoint, so the transaction stays usable when the unique constraint fires.
        with transaction.atomic():
            account = Account.objects.create(**fields, next_follow_up_due=follow_up_due_for(grade, None))
    except IntegrityError:
        # Another transaction took the credit code between our check and the insert.
        raise ValidationFailed(
            _("The account could not be saved."),
            field_errors={"credit_code": [_("Another account already has this credit code.")]},
        ) from None
    record_event(actor=actor, verb="parties.account.created", target=account, data={"owner": owner.pk})
    index_record(account)
    run_after(intake, account)
    return account


# --- updates and deletes -------------------------------------------------------------------------


class AccountChanges(TypedDict, total=False):
    """The fields ``account_update`` may change; absent keys stay as they are."""

    name: str
    credit_code: str
    industry: str
    region: Territory | None
    size: str
    lifecycle: str
    grade: str
    owner: User
    source: str
    phone: str
    website: str
    address: str
    description: str


class ContactChanges(TypedDict, total=False):
    """The fields ``contact_update`` may change, including the sales archive (销售档案)."""

    account: Account
    name: str
    title: str
    department: str
    buying_role: str
    mobile: str
    phone: str
    email: str
    wechat: str
    birthday: date | None
    hobbies: str
    education: str
    achievements: str
    places: str
    family: str
    cultural_background: str
    notes: str


ACCOUNT_FIELDS: frozenset[str] = frozenset(AccountChanges.__annotations__)
CONTACT_FIELDS: frozenset[str] = frozenset(ContactChanges.__annotations__)
# Free-text fields whose surrounding whitespace is meaningful (multi-line notes) are not stripped.
_UNSTRIPPED = frozenset({"description", "achievements", "notes"})


def _clean_text_fields(
    model: type[models.Model], values: dict[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    """Strip strings and check choices and maximum lengths against the model's fields.

    Returns the cleaned values; adds messages to ``errors`` for values the database would
    refuse or that are not one of the field's choices.
    """
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        field = model._meta.get_field(key)
        if isinstance(value, str):
            value = str(value)  # an enum member (API choice) becomes its plain code
            if key not in _UNSTRIPPED:
                value = value.strip()
            max_length = getattr(field, "max_length", None)
            if max_length is not None and len(value) > max_length:
                errors.setdefault(key, []).append(
                    _("Ensure this value has at most %(max)d characters (it has %(length)d).")
                    % {"max": max_length, "length": len(value)}
                )
            choices = getattr(field, "choices", None)
            if choices and value and value not in {str(c[0]) for c in choices}:
                errors.setdefault(key, []).append(_("Select a valid choice."))
        cleaned[key] = value
    return cleaned


def _snapshot(obj: models.Model, keys: Iterable[str]) -> dict[str, Any]:
    """Current values for ``keys``; foreign keys as their ids so comparisons need no query."""
    result: dict[str, Any] = {}
    for key in keys:
        field = obj._meta.get_field(key)
        result[key] = getattr(obj, field.attname) if isinstance(field, models.ForeignKey) else getattr(obj, key)
    return result


def _restore(obj: models.Model, before: dict[str, Any], keys: Iterable[str]) -> None:
    """Put back the values ``_snapshot`` took (after a failed write)."""
    for key in keys:
        field = obj._meta.get_field(key)
        setattr(obj, field.attname if isinstance(field, models.ForeignKey) else key, before[key])


def _as_ids(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.pk if isinstance(v, models.Model) else v) for k, v in values.items()}


def related_record_counts(obj: models.Model) -> list[tuple[str, int]]:
    """``[(plural label, count)]`` of the records that deleting ``obj`` would delete or that
    block its deletion (``PROTECT``/``CASCADE`` relations from any app).

    Relations that merely lose their link (``SET_NULL``) do not count. Discovered through
    the model registry, so this app needs no import of the apps that point at it.
    """
    counts: list[tuple[str, int]] = []
    for rel in obj._meta.related_objects:
        if rel.many_to_many or rel.on_delete not in (models.CASCADE, models.PROTECT, models.RESTRICT):
            continue
        related_model = rel.related_model
        count = related_model._base_manager.filter(**{rel.field.name: obj.pk}).count()  # type: ignore[union-attr]
        if count:
            counts.append((str(related_model._meta.verbose_name_plural), count))  # type: ignore[union-attr]
    return counts


def _records_listing(counts: list[tuple[str, int]]) -> str:
    return _(", ").join(_("%(things)s: %(count)d") % {"things": label, "count": n} for label, n in counts)


@transaction.atomic
def account_update(
    *,
    actor: User,
    account: Account,
    intake_options: Mapping[str, Any] | None = None,
    **changes: Unpack[AccountChanges],
) -> Account:
    """Change the given fields of ``account`` (absent fields stay) and return it.

    Validates like ``account_create`` (blank name, invalid credit code, a credit code
    another account already has) plus choices and lengths; a new owner must be one of
    ``assignable_users_for(actor)``. Raises ``Forbidden`` when ``actor`` may not change the
    account, or gives it another owner without holding it through ownership scope (a
    read-write share does not allow that); ``ValidationFailed`` with field errors before
    writing anything. Audits
    ``parties.account.updated`` with ``changes`` when something changed; an update
    that changes nothing writes nothing. A new name rewrites ``name_key`` with it.
    """
    refuse_unknown_fields(changes, ACCOUNT_FIELDS, _("The account could not be saved."))
    if not can_write_account(actor, account):
        raise Forbidden(_("You may not change this account."))
    errors: dict[str, list[str]] = {}
    values = _clean_text_fields(Account, dict(changes), errors)
    if "name" in values and not values["name"]:
        errors.setdefault("name", []).append(_("This field is required."))
    if "lifecycle" in values and not values["lifecycle"]:
        errors.setdefault("lifecycle", []).append(_("This field is required."))
    if "credit_code" in values:
        values["credit_code"] = normalize_credit_code(values["credit_code"])
        code_errors = validate_credit_code(values["credit_code"], exclude_pk=account.pk)
        if code_errors:
            errors["credit_code"] = code_errors
    owner = values.get("owner")
    if owner is not None and owner.pk != account.owner_id:
        if not can_manage_account(actor, account):
            raise Forbidden(_("You may not give this account to someone else."))
        if not assignable_users_for(actor).filter(pk=owner.pk).exists():
            errors.setdefault("owner", []).append(_("You may not assign records to this user."))
    if "owner" in values and owner is None:
        errors.setdefault("owner", []).append(_("This field is required."))
    if errors:
        raise ValidationFailed(_("The account could not be saved."), field_errors=errors)

    before = _snapshot(account, values)
    diff = changed_fields(before, _as_ids(values))
    if not diff:
        return account
    # Intake checks see every field as it will be after the change (``record``: as it is now).
    intake = run_before(
        Intake(
            kind="account",
            action="update",
            actor=actor,
            values={**{key: getattr(account, key) for key in ACCOUNT_FIELDS}, **values},
            record=account,
            options=intake_options or {},
        )
    )
    values = {key: intake.values[key] for key in values}
    for key in diff:
        setattr(account, key, values[key])
    derived = []
    old_key = account.name_key
    if "name" in diff:
        account.name_key = company_name_key(account.name)[:NAME_KEY_LENGTH]
        derived.append("name_key")
    if "name" in diff or "phone" in diff:  # issue 8 duplicate-check keys
        for key, value in _account_match_keys(account.name, account.phone).items():
            setattr(account, key, value)
            derived.append(key)
    if "grade" in diff:
        # issue 7: another grade, another follow-up frequency
        account.next_follow_up_due = follow_up_due_for(account.grade, account.last_follow_up_at or account.created_at)
        derived.append("next_follow_up_due")
    try:
        with transaction.atomic():
            account.save(update_fields=[*diff, *derived, "updated_at"])
            index_record(account)
    except IntegrityError:
        # another transaction took the credit code between our check and the write
        _restore(account, before, diff)
        account.name_key = old_key
        raise ValidationFailed(
            _("The account could not be saved."),
            field_errors={"credit_code": [_("Another account already has this credit code.")]},
        ) from None
    record_event(actor=actor, verb="parties.account.updated", target=account, data={"changes": diff})
    run_after(intake, account)
    return account


WIN_MAKES_CUSTOMER = frozenset({Lifecycle.PROSPECT, Lifecycle.CHURNED})


@transaction.atomic
def account_record_win(*, actor: User, account: Account, opportunity_id: int) -> bool:
    """Make ``account`` a customer because one of its deals (``opportunity_id``) was won.

    A consequence of a won deal, not an edit of the account: the actor who may win the
    deal may not be allowed to edit its account (a read-write share of the deal, an
    assistant), so this service does **not** check ``can_write_account``. It checks instead,
    through the record-kind registry (parties cannot import sales), that ``actor`` may write
    the deal ``opportunity_id`` (``Http404`` / ``Forbidden`` as the deal's own access
    function answers), and that the deal belongs to ``account`` and is won (``Conflict``
    otherwise). The sales close service calls it in the close transaction, after the win.

    A prospect or churned account becomes a customer (a churned customer who buys again
    is a customer again); a customer stays one and a partner stays a partner. Locks the
    account row, so two deals won at once change it once. Audits
    ``parties.account.lifecycle_changed`` with ``changes`` (``{"lifecycle": [old, new]}``),
    ``reason`` ``"won_deal"`` and ``opportunity``. Returns whether the lifecycle changed.
    Reopening the deal later does not downgrade the account (a customer is a business
    fact a person corrects by editing the account).
    """
    deal = get_record_for_user(actor, "opportunity", opportunity_id, write=True)
    if getattr(deal, "account_id", None) != account.pk or getattr(deal, "outcome", None) != "won":
        raise Conflict(_("Only a won deal of this account makes it a customer."))
    locked = Account.objects.select_for_update().only("pk", "lifecycle", "name").get(pk=account.pk)
    if locked.lifecycle not in WIN_MAKES_CUSTOMER:
        account.lifecycle = locked.lifecycle
        return False
    old = locked.lifecycle
    Account.objects.filter(pk=locked.pk).update(lifecycle=Lifecycle.CUSTOMER, updated_at=timezone.now())
    account.lifecycle = Lifecycle.CUSTOMER
    record_event(
        actor=actor,
        verb="parties.account.lifecycle_changed",
        target=account,
        data={
            "changes": {"lifecycle": [old, Lifecycle.CUSTOMER]},
            "reason": "won_deal",
            "opportunity": opportunity_id,
        },
    )
    return True


@transaction.atomic
def account_delete(*, actor: User, account: Account) -> None:
    """Delete ``account`` if nothing depends on it.

    Raises ``Forbidden`` unless ``actor`` holds the account through ownership scope (a
    read-write share never allows deleting).

    Raises ``Conflict`` (nothing deleted) while contacts, opportunities, activities or any
    other record would be deleted with it or block it; the message says what remains.
    Locks the row so a concurrent insert cannot slip in between check and delete.
    Audits ``parties.account.deleted`` (the event keeps the name and credit code).
    """
    if not can_manage_account(actor, account):
        raise Forbidden(_("You may not delete this account."))
    locked = Account.objects.select_for_update().filter(pk=account.pk).first()
    if locked is None:
        return
    counts = related_record_counts(locked)
    if counts:
        message = _("This account still has related records: %(records)s. Delete or move them first.")
        raise Conflict(message % {"records": _records_listing(counts)}, code="in_use")
    record_event(
        actor=actor,
        verb="parties.account.deleted",
        target=locked,
        data={"name": locked.name, "credit_code": locked.credit_code, "owner": locked.owner_id},
    )
    shares_delete_for(locked)
    unindex_record(locked)
    try:
        with transaction.atomic():
            locked.delete()
    except (ProtectedError, RestrictedError, IntegrityError):
        raise Conflict(_("This account is in use by other records and cannot be deleted."), code="in_use") from None


def _check_archive_right(actor: User, contact: Contact, values: Mapping[str, Any]) -> None:
    """Field-level protection: who may not read a contact's sales archive may not write it."""
    touched = sorted(name for name in ARCHIVE_FIELDS if name in values and values[name] not in (None, ""))
    if not touched and contact.pk is not None:
        touched = sorted(name for name in ARCHIVE_FIELDS if name in values)
    if touched and not can_read_personal_data(actor, contact):
        message = _("You may not see or change this contact's personal data.")
        raise Forbidden(message, field_errors={name: [message] for name in touched})


def _redact_archive(diff: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The audit keeps *that* archive fields changed, never their old and new values."""
    return {key: [None, None] if key in ARCHIVE_FIELDS else value for key, value in diff.items()}


def _account_match_keys(name: str, phone: str) -> dict[str, str]:
    """The duplicate-check keys stored on an account (issue 8)."""
    keys = party_match_keys(company_name=name, phone=phone)
    return {
        key: keys[key] for key in ("company_stem", "company_pinyin", "company_norm", "company_regions", "phone_key")
    }


def _contact_match_keys(name: str, phone: str) -> dict[str, str]:
    """The duplicate-check keys stored on a contact (issue 8)."""
    keys = party_match_keys(person_name=name, phone=phone)
    return {key: keys[key] for key in ("name_pinyin", "phone_key")}


def _validate_contact_values(values: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    values = _clean_text_fields(Contact, values, errors)
    if "name" in values and not values["name"]:
        errors.setdefault("name", []).append(_("This field is required."))
    if "buying_role" in values and not values["buying_role"]:
        errors.setdefault("buying_role", []).append(_("This field is required."))
    if "mobile" in values:
        values["mobile"] = normalize_phone(values["mobile"])
        if message := mobile_error(values["mobile"]):
            errors.setdefault("mobile", []).append(message)
    if "email" in values:
        values["email"] = normalize_email(values["email"])
    if values.get("email"):
        try:
            validate_email(values["email"])
        except DjangoValidationError:
            errors.setdefault("email", []).append(_("Enter a valid email address."))
    birthday = values.get("birthday")
    if birthday is not None and (not isinstance(birthday, date) or birthday > timezone.localdate()):
        errors.setdefault("birthday", []).append(_("The birthday cannot be in the future."))
    return values


@transaction.atomic
def contact_create(
    *,
    actor: User,
    account: Account,
    name: str,
    title: str = "",
    department: str = "",
    buying_role: str = BuyingRole.OTHER,
    mobile: str = "",
    phone: str = "",
    email: str = "",
    wechat: str = "",
    birthday: date | None = None,
    hobbies: str = "",
    education: str = "",
    achievements: str = "",
    places: str = "",
    family: str = "",
    cultural_background: str = "",
    notes: str = "",
    intake_options: Mapping[str, Any] | None = None,
    intake_action: IntakeAction = "create",
    created_at: datetime | None = None,
) -> Contact:
    """Create a contact at ``account`` with every field, the sales archive included.

    The mobile is stored normalised (``normalize_phone``) and must pass ``mobile_error``
    like a lead's; the email is stored lower-cased. Validates everything first (blank name,
    lengths, choices, mobile, email, a birthday in the future; ``account`` must be writable
    by ``actor``) and raises ``ValidationFailed`` before writing anything; ``Forbidden`` when
    ``actor`` fills in the sales archive of a contact whose archive they may not read.
    Audits ``parties.contact.created`` on the contact's and the account's timelines.
    The registered intake checks (kind ``contact``) run before the insert with
    ``intake_options`` and may refuse it. ``created_at`` (imports only) backdates the
    contact's creation; never in the future.
    """
    errors: dict[str, list[str]] = {}
    if not can_write_account(actor, account):
        errors["account"] = [_("You may not add contacts to this account.")]
    if created_at is not None and created_at > timezone.now():
        errors["created_at"] = [_("The creation date cannot be in the future.")]
    values = _validate_contact_values(
        {
            "name": name,
            "title": title,
            "department": department,
            "buying_role": buying_role,
            "mobile": mobile,
            "phone": phone,
            "email": email,
            "wechat": wechat,
            "notes": notes,
            "birthday": birthday,
            "hobbies": hobbies,
            "education": education,
            "achievements": achievements,
            "places": places,
            "family": family,
            "cultural_background": cultural_background,
        },
        errors,
    )
    if errors:
        raise ValidationFailed(_("The contact could not be saved."), field_errors=errors)
    _check_archive_right(actor, Contact(account=account), values)
    intake = run_before(
        Intake(
            kind="contact",
            action=intake_action,
            actor=actor,
            values={**values, "account": account},
            options=intake_options or {},
        )
    )
    values = {key: value for key, value in intake.values.items() if key != "account"}
    if created_at is not None:
        values["created_at"] = created_at
    contact = Contact.objects.create(
        account=account, **values, **_contact_match_keys(values.get("name", ""), values.get("phone", ""))
    )
    record_event(actor=actor, verb="parties.contact.created", target=contact, related=[account])
    index_record(contact)
    run_after(intake, contact)
    return contact


@dataclass
class Created:
    """One row of :func:`account_create_many` / :func:`contact_create_many`: the saved
    record, or why it was refused."""

    record: Any = None
    error: ServiceError | None = None


_ACCOUNT_FIELDS = frozenset(
    {
        "owner",
        "name",
        "credit_code",
        "industry",
        "region",
        "size",
        "lifecycle",
        "grade",
        "source",
        "phone",
        "website",
        "address",
        "description",
        "created_at",
    }
)


def _options(rows: Sequence[Any], intake_options: Sequence[Mapping[str, Any]] | None) -> list[Mapping[str, Any]]:
    options = list(intake_options) if intake_options is not None else [{} for _row in rows]
    if len(options) != len(rows):
        raise ValueError("one intake_options mapping per row")
    return options


@transaction.atomic
def account_create_many(
    *,
    actor: User,
    rows: Sequence[Mapping[str, Any]],
    intake_action: IntakeAction = "import",
    intake_options: Sequence[Mapping[str, Any]] | None = None,
) -> list[Created]:
    """Create many accounts at once (imports): each row holds :func:`account_create`'s
    keyword arguments (``owner``, ``name``, ``credit_code``… and ``created_at``), with
    ``intake_options[i]`` for row ``i``.

    The same checks as :func:`account_create`, row by row, with the same outcome:
    ``Forbidden`` (raised, nothing written) when ``actor`` may not create records; per row
    ``ValidationFailed`` for a blank name, an invalid credit code or one another account (or
    an earlier row of the call) has, a backdate in the future, an owner ``actor`` may not
    assign; and the refusals of the intake checks (batch forms). A refused row is returned
    with its error and leaves nothing. The rows that pass are inserted with ``bulk_create``
    with their search rows and ``parties.account.created`` events
    (:func:`salesflow.search.inserts.bulk_insert`), then the intake ``after`` hooks run.
    A credit code taken by a concurrent transaction between the check and the insert raises
    ``ValidationFailed`` for the whole call (nothing written; callers retry row by row).
    Queries: a fixed number per call for the checks and the inserts.
    """
    if writable_owner_ids(actor) == set():
        raise Forbidden(_("You may not create accounts."))
    options = _options(rows, intake_options)
    assignable = set(assignable_users_for(actor).values_list("pk", flat=True))
    unowned_ok = can_see_unowned(actor)
    every = dict(FollowUpPolicy.objects.values_list("grade", "every_days"))
    codes = {normalize_credit_code(str(row.get("credit_code") or "")) for row in rows} - {""}
    taken = set(Account.objects.filter(credit_code__in=codes).values_list("credit_code", flat=True))
    now = timezone.now()
    results = [Created() for _row in rows]
    intakes: list[Intake] = []
    positions: list[int] = []
    for position, row in enumerate(rows):
        unknown = set(row) - _ACCOUNT_FIELDS
        if unknown:
            raise TypeError(f"account_create_many got unknown fields {sorted(unknown)}")
        owner = row.get("owner")
        name = str(row.get("name") or "").strip()
        code = normalize_credit_code(str(row.get("credit_code") or ""))
        created_at = row.get("created_at")
        phone = str(row.get("phone") or "").strip()
        errors: dict[str, list[str]] = {}
        if created_at is not None and created_at > now:
            errors["created_at"] = [_("The creation date cannot be in the future.")]
        if (owner is None and not unowned_ok) or (owner is not None and owner.pk not in assignable):
            errors["owner"] = [_("You may not assign records to this user.")]
        if not name:
            errors["name"] = [_("This field is required.")]
        if code and not credit_code_is_valid(code):
            errors["credit_code"] = [_("Enter a valid 18-character unified social credit code.")]
        elif code in taken:
            errors["credit_code"] = [_("Another account already has this credit code.")]
        if errors:
            results[position].error = ValidationFailed(_("The account could not be saved."), field_errors=errors)
            continue
        if code:
            taken.add(code)
        fields: dict[str, Any] = dict(
            name=name,
            name_key=company_name_key(name)[:NAME_KEY_LENGTH],
            **_account_match_keys(name, phone),
            credit_code=code,
            industry=row.get("industry", ""),
            region=row.get("region"),
            size=row.get("size", ""),
            lifecycle=row.get("lifecycle") or Lifecycle.PROSPECT,
            grade=row.get("grade", ""),
            owner=owner,
            source=row.get("source", ""),
            phone=phone,
            website=str(row.get("website") or "").strip(),
            address=str(row.get("address") or "").strip(),
            description=row.get("description", ""),
        )
        if created_at is not None:
            fields["created_at"] = created_at
        intakes.append(
            Intake(kind="account", action=intake_action, actor=actor, values=fields, options=options[position])
        )
        positions.append(position)
    refused = run_before_many(intakes)
    accepted = [it for index, it in enumerate(intakes) if index not in refused]
    for index, error in refused.items():
        results[positions[index]].error = error
    unsaved = [
        Account(**it.values, next_follow_up_due=follow_up_due_for(it.values["grade"], None, every=every))
        for it in accepted
    ]
    try:
        with transaction.atomic():
            accounts = bulk_insert(
                actor=actor, objs=unsaved, verb="parties.account.created", data=lambda a: {"owner": a.owner_id}
            )
    except IntegrityError:
        raise ValidationFailed(
            _("The account could not be saved."),
            field_errors={"credit_code": [_("Another account already has this credit code.")]},
        ) from None
    run_after_many(accepted, accounts)
    saved = iter(accounts)
    for index in range(len(intakes)):
        if index not in refused:
            results[positions[index]].record = next(saved)
    return results


#: the fields a batch contact row may carry: the contact's own and its sales archive
_CONTACT_FIELDS = frozenset(
    {"name", "title", "department", "buying_role", "mobile", "phone", "email", "wechat", "notes", *ARCHIVE_FIELDS}
)


@transaction.atomic
def contact_create_many(
    *,
    actor: User,
    rows: Sequence[Mapping[str, Any]],
    intake_action: IntakeAction = "import",
    intake_options: Sequence[Mapping[str, Any]] | None = None,
) -> list[Created]:
    """Create many contacts at once (imports): each row holds :func:`contact_create`'s
    keyword arguments (``account``, ``name``, ``mobile``… and ``created_at``), with
    ``intake_options[i]`` for row ``i``.

    The same checks as :func:`contact_create`, row by row, with the same outcome; per row
    ``ValidationFailed`` (an account ``actor`` may not write, bad values, a backdate in the
    future), ``Forbidden`` (the sales archive of an account whose archive ``actor`` may not
    read) and the refusals of the intake checks (batch forms) are returned with the row and
    leave nothing. The rows that pass are inserted with ``bulk_create`` with their search
    rows and ``parties.contact.created`` events (on the contact's and the account's
    timelines), then the intake ``after`` hooks run. Queries: a fixed number per call, plus
    the write and archive rights once per distinct account.
    """
    options = _options(rows, intake_options)
    now = timezone.now()
    writable: dict[int, bool] = {}
    archive: dict[int, bool] = {}
    backdates: list[datetime | None] = []
    results = [Created() for _row in rows]
    intakes: list[Intake] = []
    positions: list[int] = []
    for position, row in enumerate(rows):
        values = dict(row)
        account = values.pop("account")
        created_at = values.pop("created_at", None)
        unknown = set(values) - _CONTACT_FIELDS
        if unknown:
            raise TypeError(f"contact_create_many got unknown fields {sorted(unknown)}")
        errors: dict[str, list[str]] = {}
        if account.pk not in writable:
            writable[account.pk] = can_write_account(actor, account)
        if not writable[account.pk]:
            errors["account"] = [_("You may not add contacts to this account.")]
        if created_at is not None and created_at > now:
            errors["created_at"] = [_("The creation date cannot be in the future.")]
        full = {key: values.get(key, "") for key in _CONTACT_FIELDS}
        full["buying_role"] = values.get("buying_role") or BuyingRole.OTHER
        full["birthday"] = values.get("birthday")
        cleaned = _validate_contact_values(full, errors)
        if errors:
            results[position].error = ValidationFailed(_("The contact could not be saved."), field_errors=errors)
            continue
        touched = sorted(name for name in ARCHIVE_FIELDS if cleaned.get(name) not in (None, ""))
        if touched:
            if account.pk not in archive:
                archive[account.pk] = can_read_personal_data(actor, Contact(account=account))
            if not archive[account.pk]:
                message = _("You may not see or change this contact's personal data.")
                results[position].error = Forbidden(message, field_errors={name: [message] for name in touched})
                continue
        intakes.append(
            Intake(
                kind="contact",
                action=intake_action,
                actor=actor,
                values={**cleaned, "account": account},
                options=options[position],
            )
        )
        positions.append(position)
        backdates.append(created_at)
    refused = run_before_many(intakes)
    accepted = [it for index, it in enumerate(intakes) if index not in refused]
    for index, error in refused.items():
        results[positions[index]].error = error
    unsaved: list[Contact] = []
    for index, intake in enumerate(intakes):
        if index in refused:
            continue
        values = {key: value for key, value in intake.values.items() if key != "account"}
        if backdates[index] is not None:
            values["created_at"] = backdates[index]
        unsaved.append(
            Contact(
                account=intake.values["account"],
                **values,
                **_contact_match_keys(values.get("name", ""), values.get("phone", "")),
            )
        )
    contacts = bulk_insert(
        actor=actor,
        objs=unsaved,
        verb="parties.contact.created",
        data=lambda c: None,
        related=lambda c: [c.account],
    )
    run_after_many(accepted, contacts)
    saved = iter(contacts)
    for index in range(len(intakes)):
        if index not in refused:
            results[positions[index]].record = next(saved)
    return results


@transaction.atomic
def contact_update(
    *,
    actor: User,
    contact: Contact,
    intake_options: Mapping[str, Any] | None = None,
    **changes: Unpack[ContactChanges],
) -> Contact:
    """Change the given fields of ``contact`` (absent fields stay), the sales archive included.

    Raises ``ValidationFailed`` (nothing written) for a blank name, invalid mobile, email,
    choice or length, or a birthday in the future. Moving the contact to another ``account`` requires
    that account to be writable by ``actor``, and is refused while the contact is on deals
    of its current account (the deal's decision-maker map would point at a stranger).
    Audits ``parties.contact.updated`` with ``changes`` on the contact's timeline and
    on its account's (both accounts when it moves); archive fields appear there with their
    names only (values ``[null, null]``). Raises ``Forbidden`` when ``actor`` may not change
    the contact (its account is not writable by them) or sends archive fields they may not
    read (``can_read_personal_data``).
    """
    refuse_unknown_fields(changes, CONTACT_FIELDS, _("The contact could not be saved."))
    if not can_write_contact(actor, contact):
        raise Forbidden(_("You may not change this contact."))
    _check_archive_right(actor, contact, changes)
    errors: dict[str, list[str]] = {}
    values = _validate_contact_values(dict(changes), errors)
    new_account: Account | None = values.get("account")
    moving = new_account is not None and new_account.pk != contact.account_id
    if "account" in values and new_account is None:
        errors.setdefault("account", []).append(_("This field is required."))
    if moving and new_account is not None:
        if not can_write_account(actor, new_account):
            errors.setdefault("account", []).append(_("You may not move contacts to this account."))
        elif contact.opportunities.exists():
            errors.setdefault("account", []).append(
                _("This contact is on opportunities of the current account; remove it from them first.")
            )
    if errors:
        raise ValidationFailed(_("The contact could not be saved."), field_errors=errors)

    before = _snapshot(contact, values)
    diff = changed_fields(before, _as_ids(values))
    if not diff:
        return contact
    intake = run_before(
        Intake(
            kind="contact",
            action="update",
            actor=actor,
            values={**{key: getattr(contact, key) for key in CONTACT_FIELDS}, **values},
            record=contact,
            options=intake_options or {},
        )
    )
    values = {key: intake.values[key] for key in values}
    old_account_id = contact.account_id
    for key in diff:
        setattr(contact, key, values[key])
    derived = []
    if "name" in diff or "phone" in diff:  # issue 8 duplicate-check keys
        for key, value in _contact_match_keys(contact.name, contact.phone).items():
            setattr(contact, key, value)
            derived.append(key)
    contact.save(update_fields=[*diff, *derived, "updated_at"])
    index_record(contact)
    related: list[models.Model] = [contact.account]
    if moving:
        related.append(Account(pk=old_account_id))
    record_event(
        actor=actor,
        verb="parties.contact.updated",
        target=contact,
        data={"changes": _redact_archive(diff)},
        related=related,
    )
    run_after(intake, contact)
    return contact


@transaction.atomic
def contact_delete(*, actor: User, contact: Contact) -> None:
    """Delete ``contact`` unless other records depend on it.

    Raises ``Conflict`` (nothing deleted) while the contact is on opportunities or any record
    would be deleted with it; activities that mention it keep their account link and only
    lose the contact. Raises ``Forbidden`` unless ``actor`` holds the contact's account
    through ownership scope (a read-write share never allows deleting). Audits
    ``parties.contact.deleted`` on the account's timeline.
    """
    if not can_manage_account(actor, contact.account):
        raise Forbidden(_("You may not delete this contact."))
    locked = Contact.objects.select_for_update().select_related("account").filter(pk=contact.pk).first()
    if locked is None:
        return
    counts = related_record_counts(locked)
    if counts:
        message = _("This contact still has related records: %(records)s. Remove the contact from them first.")
        raise Conflict(message % {"records": _records_listing(counts)}, code="in_use")
    record_event(
        actor=actor,
        verb="parties.contact.deleted",
        target=locked,
        data={"name": locked.name, "account": locked.account_id},
        related=[locked.account],
    )
    unindex_record(locked)
    try:
        with transaction.atomic():
            locked.delete()
    except (ProtectedError, RestrictedError, IntegrityError):
        raise Conflict(_("This contact is in use by other records and cannot be deleted."), code="in_use") from None


# --- bulk reassignment: records that follow their account's owner ---------------------------------

# Apps above parties (sales: the open deals) register what follows an account to its new owner.
AccountOwnerFollower = Callable[[User, Account, User], None]
_OWNER_FOLLOWERS: list[AccountOwnerFollower] = []


def register_account_owner_follower(follower: AccountOwnerFollower) -> None:
    """Declare ``follower(actor, account, new_owner)``, run by ``account_reassign(follow=True)``
    inside its transaction; it changes its records through their own services."""
    if follower not in _OWNER_FOLLOWERS:
        _OWNER_FOLLOWERS.append(follower)


@transaction.atomic
def account_reassign(
    *,
    actor: User,
    account: Account,
    owner: User,
    follow: bool = False,
    intake_options: Mapping[str, Any] | None = None,
) -> Account:
    """Give ``account`` to ``owner`` (``account_update``'s rules and audit, with
    ``intake_options`` passed on) and, with ``follow``, the records that follow it (open
    deals, through their service, one event each). Contacts have no owner of their own:
    they always go with the account. All or nothing when the caller holds a transaction: a
    refused follower rolls the account back too."""
    account_update(actor=actor, account=account, owner=owner, intake_options=intake_options)
    if follow:
        for follower in _OWNER_FOLLOWERS:
            follower(actor, account, owner)
    return account


# --- follow-up discipline (跟进, issue 7) -------------------------------------------------------

NEGLECT_REASON_MAX_LENGTH = 500


def follow_up_local_date(value: datetime) -> date:
    """The installation's calendar date of a moment (``TIME_ZONE``): due dates are company dates."""
    return timezone.localtime(value, timezone.get_default_timezone()).date()


def follow_up_due_for(grade: str, base: datetime | None, *, every: Mapping[str, int] | None = None) -> date | None:
    """The next follow-up due date of an account of ``grade`` last followed up at ``base``
    (``None`` → now: a new account): ``base``'s date + the grade's ``every_days``; ``None``
    when the grade has no policy. ``every`` (grade → days) saves the query in bulk callers."""
    if every is None:
        every = dict(FollowUpPolicy.objects.values_list("grade", "every_days"))
    days = every.get(grade)
    if not days:
        return None
    return follow_up_local_date(base or timezone.now()) + timedelta(days=days)


def account_follow_up_refresh(*, last_done: Mapping[int, datetime | None]) -> int:
    """Store each account's last done follow-up (``last_done``: account id → the latest
    ``done_at`` of its activities that count as a follow-up, ``None`` when there is none)
    and the next due date derived from it. A newer follow-up than the stored one clears
    ``at_risk_since``. Derived data kept by the activity services (``activities`` computes
    ``last_done``; parties cannot read activities): no audit event, no actor. Returns the
    number of accounts changed. Call inside the caller's transaction."""
    if not last_done:
        return 0
    every = dict(FollowUpPolicy.objects.values_list("grade", "every_days"))
    changed: list[Account] = []
    ids = list(last_done)
    for start in range(0, len(ids), 1000):
        rows = Account.objects.filter(pk__in=ids[start : start + 1000]).only(
            "pk", "grade", "created_at", "last_follow_up_at", "next_follow_up_due", "at_risk_since"
        )
        for account in rows:
            last = last_done[account.pk]
            due = follow_up_due_for(account.grade, last or account.created_at, every=every)
            at_risk = account.at_risk_since
            if (
                last is not None
                and at_risk is not None
                and (account.last_follow_up_at is None or last > account.last_follow_up_at)
            ):
                at_risk = None
            if (last, due, at_risk) != (account.last_follow_up_at, account.next_follow_up_due, account.at_risk_since):
                account.last_follow_up_at, account.next_follow_up_due, account.at_risk_since = last, due, at_risk
                changed.append(account)
    Account.objects.bulk_update(changed, ["last_follow_up_at", "next_follow_up_due", "at_risk_since"], batch_size=1000)
    return len(changed)


def accounts_follow_up_redate(*, grade: str) -> int:
    """Recompute the due date of every account of ``grade`` from its stored last follow-up
    (after the grade's policy changed); batched by primary key. Returns the rows written."""
    every = dict(FollowUpPolicy.objects.values_list("grade", "every_days"))
    written = 0
    last_pk = 0
    while True:
        batch = list(
            Account.objects.filter(grade=grade, pk__gt=last_pk)
            .order_by("pk")
            .only("pk", "grade", "created_at", "last_follow_up_at", "next_follow_up_due")[:2000]
        )
        if not batch:
            return written
        last_pk = batch[-1].pk
        for account in batch:
            account.next_follow_up_due = follow_up_due_for(
                grade, account.last_follow_up_at or account.created_at, every=every
            )
        Account.objects.bulk_update(batch, ["next_follow_up_due"], batch_size=1000)
        written += len(batch)


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden(_("Only an administrator may change the follow-up settings."))


@transaction.atomic
def follow_up_policy_save(*, actor: User, grade: str, every_days: int, grace_days: int) -> FollowUpPolicy:
    """Set how often accounts of ``grade`` are followed up (administrators only, else
    ``Forbidden``). ``every_days`` 1–365, ``grace_days`` 0–365 (``ValidationFailed`` naming
    the field). Re-dates every account of the grade when ``every_days`` changed. Audits
    ``parties.follow_up_policy.saved`` with the changes; saving the same values writes nothing."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    if grade not in Grade.values:
        errors["grade"] = [_("Select a valid grade.")]
    if not isinstance(every_days, int) or isinstance(every_days, bool) or not 1 <= every_days <= 365:
        errors["every_days"] = [_("Enter a whole number of days from 1 to 365.")]
    if not isinstance(grace_days, int) or isinstance(grace_days, bool) or not 0 <= grace_days <= 365:
        errors["grace_days"] = [_("Enter a whole number of days from 0 to 365.")]
    if errors:
        raise ValidationFailed(_("The follow-up policy could not be saved."), field_errors=errors)
    policy = FollowUpPolicy.objects.select_for_update().filter(grade=grade).first()
    before = {"every_days": policy.every_days if policy else None, "grace_days": policy.grace_days if policy else None}
    diff = changed_fields(before, {"every_days": every_days, "grace_days": grace_days})
    if policy is not None and not diff:
        return policy
    if policy is None:
        policy = FollowUpPolicy.objects.create(grade=grade, every_days=every_days, grace_days=grace_days)
    else:
        policy.every_days, policy.grace_days = every_days, grace_days
        policy.save()
    record_event(
        actor=actor, verb="parties.follow_up_policy.saved", target=policy, data={"grade": grade, "changes": diff}
    )
    if "every_days" in diff:
        accounts_follow_up_redate(grade=grade)
    return policy


@transaction.atomic
def account_reassign_for_neglect(*, actor: User, account: Account, owner: User, reason: str) -> Account:
    """A manager's decision to give a neglected account (and its open deals) to ``owner``.

    Never automatic: only a sales manager or an administrator holding the account through
    ownership scope (``Forbidden`` otherwise, also for the account's own rep); ``reason``
    is required (at most 500 characters, ``ValidationFailed`` on ``reason``); the new owner
    follows ``account_update``'s rules (``owner`` field error). Audits
    ``parties.account.reassigned_for_neglect`` (previous and new owner, reason, whether it
    was at risk) besides ``account_update``'s own event."""
    if not may_reassign_for_neglect(actor, account):
        raise Forbidden(_("Only the manager may reassign a neglected account."))
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Say why the account is reassigned.")]
    elif len(reason) > NEGLECT_REASON_MAX_LENGTH:
        errors["reason"] = [_("Use at most %(max)d characters.") % {"max": NEGLECT_REASON_MAX_LENGTH}]
    elif any(ord(ch) < 32 and ch not in "\n\r\t" for ch in reason):
        errors["reason"] = [_("Remove the control characters.")]
    if owner.pk == account.owner_id:
        errors["owner"] = [_("Choose another owner.")]
    if errors:
        raise ValidationFailed(_("The account could not be reassigned."), field_errors=errors)
    previous = account.owner_id
    was_at_risk = account.at_risk_since is not None
    account_reassign(actor=actor, account=account, owner=owner, follow=True)
    record_event(
        actor=actor,
        verb="parties.account.reassigned_for_neglect",
        target=account,
        data={
            "from_owner": previous,
            "to_owner": owner.pk,
            "reason": reason,
            "at_risk": was_at_risk,
            "summary": reason,
        },
    )
    return account
