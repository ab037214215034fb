"""Writes for leads: create, update, delete, qualify (BANT), disqualify, reopen and convert.

Every function validates first and raises ``ValidationFailed`` before writing anything, writes
its audit event in the same transaction, and refuses state changes that no longer apply with
``Conflict``. Callers resolve ids through the access functions before calling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.audit import changed_fields, record_event, record_events
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from salesflow.core.intake import Intake, IntakeAction, run_after, run_after_many, run_before, run_before_many
from salesflow.core.money import AmountError, currency_choices, default_currency, parse_amount
from salesflow.core.normalize import (
    company_name_key,
    credit_code_is_valid,
    mobile_error,
    normalize_credit_code,
    normalize_email,
    normalize_phone,
    party_match_keys,
    phone_error,
)
from salesflow.leads.choices import BantAnswer, LeadStage, LeadStatus
from salesflow.leads.models import DisqualifyReason, Lead
from salesflow.leads.permissions import can_manage_lead, can_write_lead
from salesflow.leads.selectors import matching_account
from salesflow.parties.choices import SUB_CHANNELS_BY_SOURCE, BuyingRole, Industry, SourceChannel, SubChannel
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import accounts_visible_to, can_write_account
from salesflow.parties.services import account_create, contact_create
from salesflow.sales.choices import StageKind
from salesflow.sales.models import Opportunity, Pipeline, Stage
from salesflow.sales.services import bant_entry_stage, default_pipeline_for, opportunity_create
from salesflow.search.services import index_new_records, index_record, unindex_record
from salesflow.users.models import Territory, User
from salesflow.users.permissions import assignable_users_for, can_see_unowned, writable_owner_ids
from salesflow.users.services import shares_delete_for

# --- input checking shared by create and update ----------------------------------------------


class LeadChanges(TypedDict, total=False):
    """The lead fields ``lead_update`` accepts; keys left out are not changed."""

    owner: User | None
    name: str
    title: str
    mobile: str
    phone: str
    email: str
    wechat: str
    company_name: str
    credit_code: str
    industry: str
    region: Territory | None
    source_channel: str
    sub_channel: str
    campaign: str
    budget_status: str
    budget_amount: Decimal | int | str | None
    budget_currency: str
    authority_status: str
    need: str
    timeline: date | None
    notes: str


_TEXT_FIELDS = (
    "name",
    "title",
    "mobile",
    "phone",
    "email",
    "wechat",
    "company_name",
    "credit_code",
    "industry",
    "source_channel",
    "sub_channel",
    "campaign",
    "budget_status",
    "authority_status",
    "need",
    "notes",
)
EDITABLE_FIELDS = frozenset(LeadChanges.__annotations__)
COMPANY_KEY_LENGTH = Lead._meta.get_field("company_key").max_length or 200
_MAX_LENGTHS = {field.name: field.max_length for field in Lead._meta.concrete_fields if field.max_length}


def _budget(value: object, currency: str) -> Decimal | None:
    """The budget parsed with ``parse_amount`` (empty → ``None``); ``AmountError`` if invalid."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_amount(value, currency)


def _clean(values: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    """Normalise ``values`` (a full set of editable fields), add the derived ``company_key``
    and collect messages in ``errors``."""
    out = dict(values)
    for key in _TEXT_FIELDS:
        out[key] = (out.get(key) or "").strip()
    out["mobile"] = normalize_phone(out["mobile"])
    out["phone"] = normalize_phone(out["phone"])
    out["email"] = normalize_email(out["email"])
    out["credit_code"] = normalize_credit_code(out["credit_code"])
    out["company_key"] = company_name_key(out["company_name"])[:COMPANY_KEY_LENGTH]
    # issue 8 duplicate check: blocking keys (company stem/pinyin, name pinyin, phone key)
    out.update(party_match_keys(person_name=out["name"], company_name=out["company_name"], phone=out["phone"]))

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not out["name"]:
        add("name", _("This field is required."))
    if not out["source_channel"]:
        add("source_channel", _("This field is required."))
    elif out["source_channel"] not in SourceChannel.values:
        add("source_channel", _("Choose a valid source channel."))
    if out["sub_channel"] and out["sub_channel"] not in SubChannel.values:
        add("sub_channel", _("Choose a valid sub-channel."))
    elif (
        out["sub_channel"]
        and out["source_channel"] in SourceChannel.values
        and out["sub_channel"] not in SUB_CHANNELS_BY_SOURCE[out["source_channel"]]
    ):
        add("sub_channel", _("This sub-channel does not belong to the chosen source channel."))
    if out["industry"] and out["industry"] not in Industry.values:
        add("industry", _("Choose a valid industry."))
    for key in ("budget_status", "authority_status"):
        if not out[key]:
            out[key] = BantAnswer.UNKNOWN
        elif out[key] not in BantAnswer.values:
            add(key, _("Choose yes, no or unknown."))
    if message := mobile_error(out["mobile"]):
        add("mobile", message)
    if message := phone_error(out["phone"]):
        add("phone", message)
    if out["email"]:
        try:
            validate_email(out["email"])
        except ValidationError:
            add("email", _("Enter a valid email address."))
    if out["credit_code"] and not credit_code_is_valid(out["credit_code"]):
        add("credit_code", _("Enter a valid 18-character unified social credit code."))
    if not any(out[key] for key in ("mobile", "phone", "email", "wechat")):
        add("mobile", _("Give at least one way to reach this person: mobile, phone, email or WeChat ID."))
    currency = str(out.get("budget_currency") or default_currency()).strip().upper()
    if currency not in {code for code, _label in currency_choices()} | {values.get("_stored_currency")}:
        add("budget_currency", _("“%(currency)s” is not a supported currency.") % {"currency": currency})
    out["budget_currency"] = currency
    out.pop("_stored_currency", None)
    try:
        out["budget_amount"] = _budget(out.get("budget_amount"), currency)
    except AmountError as exc:
        add("budget_amount", str(exc.message))
    for key in _TEXT_FIELDS:
        max_length = _MAX_LENGTHS.get(key)
        if max_length and len(out[key]) > max_length and key not in errors:
            add(key, _("Use at most %(max)d characters.") % {"max": max_length})
    return out


def _require_write(actor: User, lead: Lead, *, manage: bool = False) -> None:
    """Refuse with ``Forbidden`` unless ``actor`` may change ``lead`` (``manage``: delete,
    reassign or convert it, which a read-write share does not allow)."""
    allowed = can_manage_lead(actor, lead) if manage else can_write_lead(actor, lead)
    if not allowed:
        raise Forbidden(_("You may not change this lead."))


def _check_owner(actor: User, owner: User | None, errors: dict[str, list[str]]) -> None:
    """The owner must be someone ``actor`` may assign to; unassigned needs unowned visibility."""
    if owner is None:
        if not can_see_unowned(actor):
            errors.setdefault("owner", []).append(_("Choose an owner for the lead."))
    elif not assignable_users_for(actor).filter(pk=owner.pk).exists():
        errors.setdefault("owner", []).append(_("You cannot assign leads to this user."))


def _snapshot(lead: Lead) -> dict[str, Any]:
    snap: dict[str, Any] = {key: getattr(lead, key) for key in EDITABLE_FIELDS if key not in ("owner", "region")}
    snap["owner"] = lead.owner_id
    snap["region"] = lead.region_id
    return snap


def _locked(lead: Lead) -> Lead:
    """A fresh copy of ``lead`` with its row locked until the transaction ends."""
    return Lead.objects.select_for_update().get(pk=lead.pk)


def _mirror(lead: Lead, current: Lead) -> None:
    """Copy the saved state of ``current`` onto the caller's ``lead`` object."""
    for field in Lead._meta.concrete_fields:
        setattr(lead, field.attname, getattr(current, field.attname))
    for name, value in current._state.fields_cache.items():
        setattr(lead, name, value)


# --- create / update / delete ----------------------------------------------------------------


@transaction.atomic
def lead_create(
    *,
    actor: User,
    owner: User | None,
    name: str,
    source_channel: str,
    title: str = "",
    mobile: str = "",
    phone: str = "",
    email: str = "",
    wechat: str = "",
    company_name: str = "",
    credit_code: str = "",
    industry: str = "",
    region: Territory | None = None,
    sub_channel: str = "",
    campaign: str = "",
    budget_status: str = BantAnswer.UNKNOWN,
    budget_amount: Decimal | int | str | None = None,
    budget_currency: str | None = None,
    authority_status: str = BantAnswer.UNKNOWN,
    need: str = "",
    timeline: date | None = None,
    notes: str = "",
    intake_options: Mapping[str, Any] | None = None,
    intake_action: IntakeAction = "create",
    created_at: datetime | None = None,
) -> Lead:
    """Create a ``new`` lead owned by ``owner`` (``None`` = unassigned).

    Phones are normalised (mainland mobiles to eleven digits), the email lower-cased and the
    credit code normalised; name, source channel and one way to reach the person are required.
    ``owner`` must be assignable by ``actor``; unassigned leads need an actor who can see
    unassigned leads (managers, administrators). Captures and imports act as
    ``users.services.system_actor()``.
    Raises ``Forbidden`` when ``actor`` may not write any lead, ``ValidationFailed`` (nothing
    written) for bad input. Audits ``leads.lead.created``.

    The registered intake checks (:mod:`salesflow.core.intake`, kind ``lead``, action
    ``intake_action``: ``create`` or ``import``) run before the insert with
    ``intake_options`` and may refuse (nothing written) or route the lead to another owner.

    ``created_at`` (imports only: moving history from a spreadsheet or another CRM) backdates
    the lead's creation; it may not be in the future (``ValidationFailed`` on ``created_at``).
    """
    if writable_owner_ids(actor) == set():
        raise Forbidden(_("You may not create leads."))
    errors: dict[str, list[str]] = {}
    if created_at is not None and created_at > timezone.now():
        errors["created_at"] = [_("The creation date cannot be in the future.")]
    values = _clean(
        {
            "name": name,
            "title": title,
            "mobile": mobile,
            "phone": phone,
            "email": email,
            "wechat": wechat,
            "company_name": company_name,
            "credit_code": credit_code,
            "industry": industry,
            "source_channel": source_channel,
            "sub_channel": sub_channel,
            "campaign": campaign,
            "budget_status": budget_status,
            "budget_amount": budget_amount,
            "budget_currency": budget_currency or default_currency(),
            "authority_status": authority_status,
            "need": need,
            "timeline": timeline,
            "notes": notes,
        },
        errors,
    )
    _check_owner(actor, owner, errors)
    if errors:
        raise ValidationFailed(_("The lead could not be saved."), field_errors=errors)
    intake = run_before(
        Intake(
            kind="lead",
            action=intake_action,
            actor=actor,
            values={**values, "owner": owner, "region": region},
            options=intake_options or {},
        )
    )
    values = dict(intake.values)
    owner = values.pop("owner")
    region = values.pop("region")
    if created_at is not None:
        values["created_at"] = created_at
    lead = Lead.objects.create(owner=owner, region=region, status=LeadStatus.NEW, **values)
    index_record(lead)
    record_event(
        actor=actor,
        verb="leads.lead.created",
        target=lead,
        data={"owner": owner.pk if owner else None, "source_channel": lead.source_channel},
    )
    run_after(intake, lead)
    return lead


@dataclass
class LeadCreated:
    """One row of :func:`lead_create_many`: the saved lead, or why it was refused."""

    lead: Lead | None = None
    error: ServiceError | None = None


@transaction.atomic
def lead_create_many(
    *,
    actor: User,
    rows: Sequence[Mapping[str, Any]],
    intake_action: IntakeAction = "import",
    intake_options: Sequence[Mapping[str, Any]] | None = None,
) -> list[LeadCreated]:
    """Create many leads at once (imports): each row holds :func:`lead_create`'s keyword
    arguments (``owner``, ``name``, ``source_channel``… and ``created_at``), with
    ``intake_options[i]`` for row ``i``.

    The same checks as :func:`lead_create`, row by row, with the same outcome: ``Forbidden``
    (raised, nothing written) when ``actor`` may not write any lead; per row
    ``ValidationFailed`` for bad input or an owner ``actor`` may not assign to, and the
    refusals of the intake checks — a refused row is returned with its error and leaves
    nothing. The rows that pass are inserted with ``bulk_create`` and their search rows,
    ``leads.lead.created`` audit events and intake ``after`` hooks are written in bulk
    (:func:`salesflow.core.intake.run_after_many`). Queries: a fixed number per call for the
    checks, the inserts and the audit trail (plus what a check without a batch form costs
    per row). Atomic: an error raised (e.g. by an ``after`` hook) leaves nothing of any row.
    """
    if writable_owner_ids(actor) == set():
        raise Forbidden(_("You may not create leads."))
    options = list(intake_options) if intake_options is not None else [{} for _row in rows]
    if len(options) != len(rows):
        raise ValueError("one intake_options mapping per row")
    assignable = set(assignable_users_for(actor).values_list("pk", flat=True))
    unowned_ok = can_see_unowned(actor)
    now = timezone.now()
    results = [LeadCreated() for _row in rows]
    intakes: list[Intake] = []
    positions: list[int] = []
    for position, row in enumerate(rows):
        values = dict(row)
        owner = values.pop("owner", None)
        region = values.pop("region", None)
        created_at = values.pop("created_at", None)
        unknown = set(values) - EDITABLE_FIELDS
        if unknown:
            raise TypeError(f"lead_create_many got unknown fields {sorted(unknown)}")
        errors: dict[str, list[str]] = {}
        if created_at is not None and created_at > now:
            errors["created_at"] = [_("The creation date cannot be in the future.")]
        fields = {key: values.get(key, "") for key in _TEXT_FIELDS}
        fields["budget_status"] = fields["budget_status"] or BantAnswer.UNKNOWN
        fields["authority_status"] = fields["authority_status"] or BantAnswer.UNKNOWN
        fields["budget_amount"] = values.get("budget_amount")
        fields["budget_currency"] = values.get("budget_currency") or default_currency()
        fields["timeline"] = values.get("timeline")
        cleaned = _clean(fields, errors)
        if owner is None:
            if not unowned_ok:
                errors.setdefault("owner", []).append(_("Choose an owner for the lead."))
        elif owner.pk not in assignable:
            errors.setdefault("owner", []).append(_("You cannot assign leads to this user."))
        if errors:
            results[position].error = ValidationFailed(_("The lead could not be saved."), field_errors=errors)
            continue
        if created_at is not None:
            cleaned["created_at"] = created_at
        intakes.append(
            Intake(
                kind="lead",
                action=intake_action,
                actor=actor,
                values={**cleaned, "owner": owner, "region": region},
                options=options[position],
            )
        )
        positions.append(position)
    refused = run_before_many(intakes)
    accepted: list[Intake] = []
    unsaved: list[Lead] = []
    for index, intake in enumerate(intakes):
        if index in refused:
            results[positions[index]].error = refused[index]
            continue
        values = dict(intake.values)
        unsaved.append(Lead(status=LeadStatus.NEW, **values))
        accepted.append(intake)
    leads = Lead.objects.bulk_create(unsaved, batch_size=500)
    index_new_records(leads)
    record_events(
        actor=actor,
        verb="leads.lead.created",
        items=[(lead, {"owner": lead.owner_id, "source_channel": lead.source_channel}) for lead in leads],
    )
    run_after_many(accepted, leads)
    saved = iter(leads)
    accepted_ids = {id(intake) for intake in accepted}
    for index, intake in enumerate(intakes):
        if id(intake) in accepted_ids:
            results[positions[index]].lead = next(saved)
    return results


@transaction.atomic
def lead_update(
    *,
    actor: User,
    lead: Lead,
    intake_options: Mapping[str, Any] | None = None,
    **changes: Unpack[LeadChanges],
) -> Lead:
    """Change the given fields of ``lead`` with the same normalisation and checks as create.

    Only keys of ``LeadChanges`` are accepted; the status is changed only by the workflow
    services. A new owner must be assignable by ``actor``. Raises ``Conflict`` for a converted
    lead (it is read-only), ``ValidationFailed`` (nothing written) for bad input, ``Forbidden``
    when ``actor`` may not change the lead or give it another owner (a read-write share
    does not allow that). Audits ``leads.lead.updated`` with the changed fields (no event
    when nothing changed).
    """
    _require_write(actor, lead)
    refuse_unknown_fields(changes, EDITABLE_FIELDS, _("The lead could not be saved."))
    current = _locked(lead)
    if current.status == LeadStatus.CONVERTED:
        raise Conflict(_("A converted lead can no longer be changed."), code="converted")
    before = _snapshot(current)
    merged: dict[str, Any] = {key: getattr(current, key) for key in EDITABLE_FIELDS}
    merged.update(changes)
    merged["_stored_currency"] = current.budget_currency  # stays valid if removed from settings
    errors: dict[str, list[str]] = {}
    values = _clean(merged, errors)
    owner: User | None = values.pop("owner")
    region: Territory | None = values.pop("region")
    if "owner" in changes and (owner.pk if owner else None) != current.owner_id:
        _require_write(actor, current, manage=True)
        _check_owner(actor, owner, errors)
    if errors:
        raise ValidationFailed(_("The lead could not be saved."), field_errors=errors)
    intake = run_before(
        Intake(
            kind="lead",
            action="update",
            actor=actor,
            values={**values, "owner": owner, "region": region},
            record=current,
            options=intake_options or {},
        )
    )
    values = dict(intake.values)
    owner = values.pop("owner")
    region = values.pop("region")
    for key, value in values.items():
        setattr(current, key, value)
    current.owner = owner
    current.region = region
    diff = changed_fields(before, _snapshot(current))
    if diff:
        current.save()
        index_record(current)
        record_event(actor=actor, verb="leads.lead.updated", target=current, data={"changes": diff})
        run_after(intake, current)
    _mirror(lead, current)
    return lead


@transaction.atomic
def lead_delete(*, actor: User, lead: Lead) -> None:
    """Delete ``lead`` (its activities go with it). Converted leads are kept as the record of
    where a deal came from: they raise ``Conflict``. Raises ``Forbidden`` unless ``actor``
    holds the lead through ownership scope. Audits ``leads.lead.deleted``."""
    _require_write(actor, lead, manage=True)
    current = _locked(lead)
    if current.status == LeadStatus.CONVERTED:
        raise Conflict(_("A converted lead cannot be deleted."), code="converted")
    record_event(
        actor=actor, verb="leads.lead.deleted", target=current, data={"name": current.name, "status": current.status}
    )
    shares_delete_for(current)
    unindex_record(current)
    current.delete()


# --- workflow --------------------------------------------------------------------------------

_BANT_FIELDS = {
    "budget_status",
    "budget_amount",
    "authority_status",
    "need",
    "timeline",
    "budget_evidence",
    "authority_evidence",
    "timeline_evidence",
}
_EVIDENCE_FIELDS = ("budget_evidence", "authority_evidence", "timeline_evidence")


def _set_status(lead: Lead, current: Lead, status: str, fields: dict[str, Any]) -> None:
    """Write ``status`` and ``fields`` to the locked row and mirror them on ``lead``."""
    fields = {**fields, "status": status}
    for key, value in fields.items():
        setattr(current, key, value)
    current.save(update_fields=[*fields, "updated_at"])
    _mirror(lead, current)


@transaction.atomic
def lead_qualify(
    *,
    actor: User,
    lead: Lead,
    budget_status: str | None = None,
    budget_amount: Decimal | int | str | None = None,
    authority_status: str | None = None,
    need: str | None = None,
    timeline: date | None = None,
    budget_evidence: str | None = None,
    authority_evidence: str | None = None,
    timeline_evidence: str | None = None,
) -> Lead:
    """Record the BANT answers given (``None`` keeps the stored answer) and mark the lead qualified.

    The evidence notes (佐证说明: how the budget, the decision maker and the timeline are
    known, at most 500 characters each) are optional and saved with the answers.

    Only ``new`` and ``contacted`` leads qualify (else ``Conflict``). After applying the
    answers the BANT must be complete; otherwise ``ValidationFailed`` names the missing
    elements and nothing is written (answers included). Raises ``Forbidden`` when ``actor``
    may not change the lead. Audits ``leads.lead.qualified``.
    """
    _require_write(actor, lead)
    current = _locked(lead)
    if current.status not in (LeadStatus.NEW, LeadStatus.CONTACTED):
        raise Conflict(
            _("Only new or contacted leads can be qualified; this lead is %(status)s.")
            % {"status": current.get_status_display()},
            code="invalid_status",
        )
    answers: dict[str, Any] = {
        "budget_status": current.budget_status if budget_status is None else budget_status,
        "budget_amount": current.budget_amount if budget_amount is None else budget_amount,
        "authority_status": current.authority_status if authority_status is None else authority_status,
        "need": current.need if need is None else need.strip(),
        "timeline": current.timeline if timeline is None else timeline,
    }
    errors: dict[str, list[str]] = {}
    given = {"budget_evidence": budget_evidence, "authority_evidence": authority_evidence}
    given["timeline_evidence"] = timeline_evidence
    for key in _EVIDENCE_FIELDS:
        text = getattr(current, key) if given[key] is None else str(given[key]).strip()
        if len(text) > (_MAX_LENGTHS.get(key) or 500):
            errors[key] = [_("Use at most %(max)d characters.") % {"max": _MAX_LENGTHS.get(key) or 500}]
        answers[key] = text
    for key in ("budget_status", "authority_status"):
        if answers[key] not in BantAnswer.values:
            errors[key] = [_("Choose yes, no or unknown.")]
    try:
        answers["budget_amount"] = _budget(answers["budget_amount"], current.budget_currency)
    except AmountError as exc:
        errors["budget_amount"] = [str(exc.message)]
    if errors:
        raise ValidationFailed(_("The qualification could not be saved."), field_errors=errors)
    probe = Lead(**{key: value for key, value in answers.items() if key not in _EVIDENCE_FIELDS})
    missing = probe.bant_missing
    if missing:
        needed = _("Needed to qualify the lead.")
        field_errors: dict[str, list[str]] = {}
        if probe.budget_status == BantAnswer.UNKNOWN:
            field_errors["budget_status"] = [needed]
        if probe.authority_status == BantAnswer.UNKNOWN:
            field_errors["authority_status"] = [needed]
        if not probe.need.strip():
            field_errors["need"] = [needed]
        if probe.timeline is None:
            field_errors["timeline"] = [needed]
        raise ValidationFailed(
            _("The BANT is incomplete; still missing: %(missing)s.") % {"missing": ", ".join(missing)},
            code="bant_incomplete",
            field_errors=field_errors,
        )
    before = {key: getattr(current, key) for key in _BANT_FIELDS}
    previous = current.status
    _set_status(lead, current, LeadStatus.QUALIFIED, answers)
    record_event(
        actor=actor,
        verb="leads.lead.qualified",
        target=lead,
        data={"from": previous, "to": LeadStatus.QUALIFIED, "changes": changed_fields(before, answers)},
    )
    return lead


HAND_OFF_NOTE_LENGTH = Lead._meta.get_field("hand_off_note").max_length or 500


@transaction.atomic
def lead_hand_off(*, actor: User, lead: Lead, note: str = "") -> Lead:
    """Hand a marketing lead (MQL) to sales: its stage becomes SQL, remembering who and when.

    Anyone who may change the lead may hand it off (marketing usually); the note (at most
    500 characters) says why it is sales-ready. Only MQLs that are still open (new,
    contacted or qualified) are handed off; anything else raises ``Conflict`` (so two
    concurrent hand-offs record one). ``ValidationFailed`` for a note that is too long,
    ``Forbidden`` when ``actor`` may not change the lead. Audits ``leads.lead.handed_off``.
    """
    _require_write(actor, lead)
    note = (note or "").strip()
    if len(note) > HAND_OFF_NOTE_LENGTH:
        raise ValidationFailed(
            _("The lead could not be handed off."),
            field_errors={"note": [_("Use at most %(max)d characters.") % {"max": HAND_OFF_NOTE_LENGTH}]},
        )
    current = _locked(lead)
    if current.stage != LeadStage.MQL:
        raise Conflict(_("This lead has already been handed off to sales."), code="already_handed_off")
    if current.status not in (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED):
        raise Conflict(
            _("Only open leads can be handed off; this lead is %(status)s.") % {"status": current.get_status_display()},
            code="invalid_status",
        )
    _set_status(
        lead,
        current,
        current.status,
        {"stage": LeadStage.SQL, "handed_off_by": actor, "handed_off_at": timezone.now(), "hand_off_note": note},
    )
    record_event(
        actor=actor,
        verb="leads.lead.handed_off",
        target=lead,
        data={"from": LeadStage.MQL, "to": LeadStage.SQL, "note": note},
    )
    return lead


@transaction.atomic
def lead_disqualify(*, actor: User, lead: Lead, reason: DisqualifyReason, note: str = "") -> Lead:
    """Mark a new, contacted or qualified lead disqualified for ``reason`` (an active reason).

    The reason "other" needs a note. Raises ``Conflict`` from any other status,
    ``ValidationFailed`` for an inactive reason or a missing note, ``Forbidden`` when
    ``actor`` may not change the lead. Audits ``leads.lead.disqualified``.
    """
    _require_write(actor, lead)
    current = _locked(lead)
    if current.status not in (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED):
        raise Conflict(
            _("This lead cannot be disqualified; it is %(status)s.") % {"status": current.get_status_display()},
            code="invalid_status",
        )
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason.is_active:
        errors["reason"] = [_("This reason is no longer in use.")]
    if reason.code == "other" and not note:
        errors["note"] = [_("Explain the reason in a note.")]
    if errors:
        raise ValidationFailed(_("The lead could not be disqualified."), field_errors=errors)
    previous = current.status
    _set_status(lead, current, LeadStatus.DISQUALIFIED, {"disqualify_reason": reason, "disqualify_note": note})
    record_event(
        actor=actor,
        verb="leads.lead.disqualified",
        target=lead,
        data={"from": previous, "to": LeadStatus.DISQUALIFIED, "reason": reason.code, "note": note},
    )
    return lead


@transaction.atomic
def lead_reopen(*, actor: User, lead: Lead) -> Lead:
    """Bring a disqualified lead back to ``contacted`` and clear its reason (kept in the
    timeline). Raises ``Conflict`` from any other status, ``Forbidden`` when ``actor`` may
    not change the lead. Audits ``leads.lead.reopened``."""
    _require_write(actor, lead)
    current = _locked(lead)
    if current.status != LeadStatus.DISQUALIFIED:
        raise Conflict(_("Only disqualified leads can be reopened."), code="invalid_status")
    reason = current.disqualify_reason.code if current.disqualify_reason else None
    _set_status(lead, current, LeadStatus.CONTACTED, {"disqualify_reason": None, "disqualify_note": ""})
    record_event(
        actor=actor,
        verb="leads.lead.reopened",
        target=lead,
        data={"from": LeadStatus.DISQUALIFIED, "to": LeadStatus.CONTACTED, "reason": reason},
    )
    return lead


@transaction.atomic
def lead_mark_contacted(*, actor: User, lead: Lead) -> Lead:
    """Move a ``new`` lead to ``contacted`` (first logged touch). No-op in any other status.

    Uses a conditional update so two concurrent first touches record one change. Raises
    ``Forbidden`` when ``actor`` may not change the lead.
    """
    _require_write(actor, lead)
    updated = Lead.objects.filter(pk=lead.pk, status=LeadStatus.NEW).update(status=LeadStatus.CONTACTED)
    if updated:
        lead.status = LeadStatus.CONTACTED
        record_event(
            actor=actor, verb="leads.lead.status_changed", target=lead, data={"from": "new", "to": "contacted"}
        )
    return lead


# --- conversion ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversionResult:
    """What ``lead_convert`` created or linked."""

    lead: Lead
    account: Account
    account_created: bool
    contact: Contact | None
    contact_created: bool
    opportunity: Opportunity | None


def default_contact_role(lead: Lead) -> str:
    """Decision maker when the lead confirmed we talk to the decision maker, else "other"."""
    return BuyingRole.DECISION_MAKER if lead.authority_status == BantAnswer.YES else BuyingRole.OTHER


def default_opportunity_name(lead: Lead, account_name: str = "") -> str:
    """``"<company> – <first line of the need>"``, cut to fit the opportunity name."""
    company = lead.company_name or account_name or lead.name
    need = (lead.need or "").strip().splitlines()[0].strip() if (lead.need or "").strip() else ""
    if len(need) > 80:
        need = need[:79].rstrip() + "…"
    name = f"{company} – {need}" if need else company
    return name[:200]


def _find_existing_contact(account: Account, lead: Lead) -> Contact | None:
    """A contact of ``account`` with the lead's mobile or email (so linking does not duplicate)."""
    candidates = [("mobile", lead.mobile), ("email", lead.email)]
    for field, value in candidates:
        if value:
            found = Contact.objects.filter(account=account, **{field: value}).order_by("pk").first()
            if found is not None:
                return found
    return None


@transaction.atomic
def lead_convert(
    *,
    actor: User,
    lead: Lead,
    account: Account | None = None,
    create_contact: bool = True,
    contact_role: str | None = None,
    create_opportunity: bool = True,
    opportunity_name: str = "",
    amount: Decimal | int | str | None = None,
    expected_close_date: date | None = None,
    stage: Stage | None = None,
    pipeline: Pipeline | None = None,
    intake_options: Mapping[str, Any] | None = None,
) -> ConversionResult:
    """Turn a qualified lead into an account, a contact and an opportunity — all or nothing.

    ``account`` links an existing account (the caller resolved it with write access); without
    it, an account with the lead's credit code is linked when ``actor`` may write it, refused
    with ``ValidationFailed`` (without naming it) when it belongs to someone ``actor`` cannot
    see or change, and otherwise a new account is created from the lead's company fields.
    The contact reuses a contact of a linked account with the same mobile or email. The
    opportunity (owner: the lead owner, else ``actor``) defaults its name, amount and close
    date from the lead and lists the contact with its buying role. Its pipeline is
    ``pipeline``, else ``stage``'s, else the owner's default (their team's, else the global
    one: ``sales.services.default_pipeline_for``); it must be one the owner's team uses.
    Without ``stage``, a lead whose BANT is complete starts in that pipeline's stage after
    its BANT stage (``Stage.is_bant_gate``, ``sales.services.bant_entry_stage``); otherwise,
    or when the pipeline has no BANT stage, in its first open stage.

    The lead row is locked first, so concurrent submissions convert once: the later one gets
    ``Conflict``; leads that are not qualified raise ``Conflict`` too. Any failure rolls back
    every write. Raises ``Forbidden`` unless ``actor`` holds the lead through ownership
    scope (a read-write share does not let anyone create records for the lead's owner).
    Audits ``leads.lead.converted`` on the lead, account, contact and opportunity timelines.
    """
    _require_write(actor, lead, manage=True)
    current = _locked(lead)
    if current.status == LeadStatus.CONVERTED:
        raise Conflict(_("This lead has already been converted."), code="already_converted")
    if current.status != LeadStatus.QUALIFIED:
        raise Conflict(
            _("Only qualified leads can be converted; this lead is %(status)s. Complete the BANT and qualify it first.")
            % {"status": current.get_status_display()},
            code="not_qualified",
        )
    owner: User = current.owner or actor
    errors: dict[str, list[str]] = {}
    role = contact_role or default_contact_role(current)
    if create_contact and role not in BuyingRole.values:
        errors["contact_role"] = [_("Choose a valid buying role.")]
    money: Decimal | None = None
    # The deal takes the budget's currency: an amount given here is in that currency too.
    currency = current.budget_currency or default_currency()
    if create_opportunity:
        raw_amount = current.budget_amount if amount is None or amount == "" else amount
        try:
            money = parse_amount(raw_amount if raw_amount is not None else 0, currency)
        except AmountError as exc:
            errors["amount"] = [str(exc.message)]
        if stage is not None and stage.kind != StageKind.OPEN:
            errors["stage"] = [_("A new opportunity must start in an open stage.")]
        elif stage is not None and pipeline is not None and stage.pipeline_id != pipeline.pk:
            errors["stage"] = [_("The stage does not belong to the pipeline.")]
    linked = account
    if linked is not None and not can_write_account(actor, linked):
        errors["account"] = [_("You may not add to this account.")]
    if linked is None:
        existing = matching_account(current)
        if existing is not None:
            visible = accounts_visible_to(actor).filter(pk=existing.pk).exists()
            if visible and can_write_account(actor, existing):
                linked = existing
            else:
                errors["account"] = [
                    _(
                        "An account with this credit code already exists and belongs to another sales rep. "
                        "Ask your manager to hand it over or to convert this lead."
                    )
                ]
        elif not current.company_name.strip():
            errors["account"] = [_("The lead has no company name: add one to the lead or link an existing account.")]
    if errors:
        raise ValidationFailed(_("The lead could not be converted."), field_errors=errors)
    # Intake checks (known customers, collisions…) see the lead as it is being converted.
    intake = run_before(
        Intake(
            kind="lead",
            action="convert",
            actor=actor,
            values={"owner": owner, "account": linked},
            record=current,
            options=intake_options or {},
        )
    )
    owner = intake.values["owner"]
    via_convert = {**(intake_options or {}), "via": "convert"}

    account_created = linked is None
    if linked is None:
        linked = account_create(
            actor=actor,
            owner=owner,
            name=current.company_name,
            credit_code=current.credit_code,
            industry=current.industry,
            region=current.region,
            source=current.source_channel,
            intake_options=via_convert,
        )
    contact: Contact | None = None
    contact_created = False
    if create_contact:
        contact = None if account_created else _find_existing_contact(linked, current)
        if contact is None:
            contact = contact_create(
                actor=actor,
                account=linked,
                name=current.name,
                title=current.title,
                buying_role=role,
                mobile=current.mobile,
                phone=current.phone,
                email=current.email,
                wechat=current.wechat,
                notes=current.notes,
                intake_options=via_convert,
            )
            contact_created = True
    opportunity: Opportunity | None = None
    if create_opportunity:
        pipeline = pipeline or (stage.pipeline if stage is not None else default_pipeline_for(owner))
        if stage is None and not current.bant_missing:
            stage = bant_entry_stage(pipeline)
        opportunity = opportunity_create(
            actor=actor,
            account=linked,
            owner=owner,
            name=opportunity_name.strip() or default_opportunity_name(current, linked.name),
            amount=money if money is not None else Decimal("0"),
            currency=currency,
            pipeline=pipeline,
            stage=stage,
            expected_close_date=expected_close_date or current.timeline,
            description=current.need,
            contacts=[(contact, role)] if contact is not None else [],
        )
    now = timezone.now()
    _set_status(
        lead,
        current,
        LeadStatus.CONVERTED,
        {
            "converted_at": now,
            "converted_account": linked,
            "converted_contact": contact,
            "converted_opportunity": opportunity,
        },
    )
    record_event(
        actor=actor,
        verb="leads.lead.converted",
        target=lead,
        data={
            "account": linked.pk,
            "account_created": account_created,
            "contact": contact.pk if contact else None,
            "contact_created": contact_created,
            "opportunity": opportunity.pk if opportunity else None,
        },
        related=[linked, contact, opportunity],
    )
    run_after(intake, current)
    return ConversionResult(
        lead=lead,
        account=linked,
        account_created=account_created,
        contact=contact,
        contact_created=contact_created,
        opportunity=opportunity,
    )
