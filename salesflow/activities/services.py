"""Writes for activities (跟进): log, update, complete and delete.

Every function validates first (``ValidationFailed``, nothing written), then writes and
audits in one transaction. Callers resolve the linked records through the access
functions of their apps: read access is enough to log an activity on a record, so sales
support can log activities on team records they can see. ``activity_update`` may change
the links too, under the same rules as ``activity_create``.

A follow-up planned on a deal (an open activity with a due date, or a next follow-up
date) becomes the deal's next step (``sales.services.opportunity_set_next_step``) in the
same transaction, when the actor may change the deal; otherwise the activity is still
saved and the deal left as it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict, Unpack

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, Model, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.activities.choices import ActivityKind, EscalationAction
from salesflow.activities.models import Activity, ActivityKindConfig, FollowUpEscalation, FollowUpEscalationStep
from salesflow.activities.permissions import can_write_activity
from salesflow.activities.selectors import counting_kinds
from salesflow.core.audit import changed_fields, record_event
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.escalation import catch_up, first_ids, is_digest
from salesflow.core.normalize import normalize_credit_code
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.permissions import can_write_lead, leads_visible_to
from salesflow.leads.services import lead_mark_contacted
from salesflow.parties.models import Account, Contact, FollowUpPolicy
from salesflow.parties.permissions import accounts_visible_to, contacts_visible_to
from salesflow.parties.services import account_follow_up_refresh, follow_up_local_date
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.sales.permissions import can_write_opportunity, opportunities_visible_to
from salesflow.sales.services import opportunity_set_next_step
from salesflow.users.models import Team, User
from salesflow.users.permissions import assignable_users_for
from salesflow.users.policy import unrestricted
from salesflow.users.services import system_actor

SUBJECT_MAX_LENGTH = 200


class ActivityChanges(TypedDict, total=False):
    """Fields ``activity_update`` may change; keys left out keep their value."""

    kind: str
    subject: str
    description: str
    owner: User
    due_at: datetime | None
    done: bool
    outcome: str
    next_follow_up: date | None
    lead: Lead | None
    account: Account | None
    contact: Contact | None
    opportunity: Opportunity | None


LINK_FIELDS = ("lead", "account", "contact", "opportunity")
UPDATABLE_FIELDS = (
    "kind",
    "subject",
    "description",
    "owner",
    "due_at",
    "done",
    "outcome",
    "next_follow_up",
    *LINK_FIELDS,
)


def default_done(*, kind: str, due_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether an activity is done when the caller does not say: a task is something to do
    (not done); anything else is done unless it is due in the future (a planned visit)."""
    if kind == ActivityKind.TASK:
        return False
    due_at = _aware(due_at)
    return due_at is None or due_at <= (now or timezone.now())


def _aware(value: datetime | None) -> datetime | None:
    """Naive datetimes (from forms or API clients without an offset) are read in the current time zone."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _owner_allowed(actor: User, owner: User) -> bool:
    return owner.pk == actor.pk or assignable_users_for(actor).filter(pk=owner.pk).exists()


def _lead_related_to(lead: Lead, account: Account) -> bool:
    """A lead concerns an account when it was converted into it or, before conversion,
    names the same company (credit code, company-name key or exact name) — the rule of the
    account page's leads panel (``leads.selectors.account_leads_q``)."""
    if lead.converted_account_id is not None:
        return lead.converted_account_id == account.pk
    code = normalize_credit_code(lead.credit_code)
    if code and code == account.credit_code:
        return True
    if lead.company_key and lead.company_key == account.name_key:
        return True
    return bool(lead.company_name.strip()) and lead.company_name.strip() == account.name.strip()


def _check_links_readable(
    actor: User,
    *,
    lead: Lead | None,
    account: Account | None,
    contact: Contact | None,
    opportunity: Opportunity | None,
) -> None:
    """Refuse links to records ``actor`` may not read (callers resolve them through the
    access functions; imports and jobs reach here without them)."""
    if unrestricted(actor):
        return
    checks = (
        (lead, leads_visible_to),
        (account, accounts_visible_to),
        (contact, contacts_visible_to),
        (opportunity, opportunities_visible_to),
    )
    for record, visible in checks:
        if record is not None and not visible(actor).filter(pk=record.pk).exists():  # type: ignore[operator]
            raise Forbidden(_("You may not link the activity to this record."))


def _link_errors(
    *,
    lead: Lead | None,
    account: Account | None,
    contact: Contact | None,
    opportunity: Opportunity | None,
    errors: dict[str, list[str]],
) -> Account | None:
    """Check that the links agree and return the account (taken from the contact or the
    deal when missing)."""
    if contact is not None:
        if account is None:
            account = contact.account
        elif contact.account_id != account.pk:
            errors["contact"] = [_("The contact does not belong to the account.")]
    if opportunity is not None:
        if account is None:
            account = opportunity.account
        elif opportunity.account_id != account.pk:
            errors["opportunity"] = [_("The opportunity belongs to another account.")]
    if lead is not None and account is not None and not _lead_related_to(lead, account):
        # an unrelated lead would show its name to everyone who reads the account's activities
        errors["lead"] = [_("The lead is not related to this account.")]
    return account


def _plan_next_step(actor: User, activity: Activity) -> None:
    """A follow-up planned on a deal becomes its next step when ``actor`` may change the deal."""
    opportunity = activity.opportunity
    if opportunity is None:
        return
    if not activity.done and activity.due_at is not None:
        on = timezone.localdate(activity.due_at)
    elif activity.next_follow_up is not None:
        on = activity.next_follow_up
    else:
        return
    if can_write_opportunity(actor, opportunity):
        opportunity_set_next_step(actor=actor, opportunity=opportunity, on=on, text=activity.subject)


def _content_errors(*, kind: str, subject: str, due_at: datetime | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if kind not in ActivityKind.values:
        errors["kind"] = [_("Select a valid activity type.")]
    if not subject:
        errors["subject"] = [_("This field is required.")]
    elif len(subject) > SUBJECT_MAX_LENGTH:
        errors["subject"] = [_("Use at most %(max)d characters.") % {"max": SUBJECT_MAX_LENGTH}]
    if kind == ActivityKind.TASK and due_at is None:
        errors["due_at"] = [_("A task needs a due date.")]
    return errors


def _links(activity: Activity) -> list[Lead | Account | Contact | Opportunity | None]:
    return [activity.lead, activity.account, activity.contact, activity.opportunity]


def _mark_lead_contacted(actor: User, activity: Activity) -> None:
    lead = activity.lead
    if activity.done and lead is not None and lead.status == LeadStatus.NEW:
        # the status move follows from the activity: support (or a lead reader who may
        # not change it) logging the first touch still moves it, as the system
        mover = actor if can_write_lead(actor, lead) else system_actor()
        lead_mark_contacted(actor=mover, lead=lead)


@transaction.atomic
def activity_create(
    *,
    actor: User,
    kind: str,
    subject: str,
    owner: User | None = None,
    description: str = "",
    due_at: datetime | None = None,
    done: bool | None = None,
    outcome: str = "",
    next_follow_up: date | None = None,
    lead: Lead | None = None,
    account: Account | None = None,
    contact: Contact | None = None,
    opportunity: Opportunity | None = None,
) -> Activity:
    """Log an activity (done) or plan one (not done) owned by ``owner`` (default: ``actor``).

    The linked records must already have been resolved through the access functions
    (read access suffices). Guarantees: a contact belongs to the activity's account and
    an opportunity's account is the activity's account — when ``account`` is missing it
    is taken from the contact or the opportunity; a task has a due date; a done activity
    has ``done_at``. A done activity on a ``new`` lead moves the lead to ``contacted``.
    Audits ``activities.activity.created`` on the activity and on every linked record's
    timeline. ``next_follow_up`` creates no task: My day lists the follow-up when it is due.
    ``done`` left out (``None``) follows ``default_done``: a task or an activity due in the
    future is planned (not done), anything else is logged as done. A planned follow-up on
    a deal sets the deal's next step (see the module docstring).

    Raises ``ValidationFailed`` (nothing written) for an unknown kind, a blank or too
    long subject, a task without due date, inconsistent links, or an owner outside
    ``assignable_users_for(actor)``; ``Forbidden`` when ``actor`` is inactive or may not read
    a linked record.
    """
    if not actor.is_active and not unrestricted(actor):
        raise Forbidden(_("You may not log activities."))
    owner = owner or actor
    subject = subject.strip()
    due_at = _aware(due_at)
    if done is None:
        done = default_done(kind=kind, due_at=due_at)
    errors = _content_errors(kind=kind, subject=subject, due_at=due_at)
    if not _owner_allowed(actor, owner):
        errors["owner"] = [_("You may not assign activities to this user.")]
    account = _link_errors(lead=lead, account=account, contact=contact, opportunity=opportunity, errors=errors)
    if done:
        _completion_errors(kind, outcome=outcome.strip(), next_follow_up=next_follow_up, errors=errors)
    _check_links_readable(actor, lead=lead, account=account, contact=contact, opportunity=opportunity)
    if errors:
        raise ValidationFailed(_("The activity could not be saved."), field_errors=errors)
    activity = Activity.objects.create(
        kind=kind,
        subject=subject,
        description=description.strip(),
        owner=owner,
        due_at=due_at,
        done=done,
        done_at=timezone.now() if done else None,
        outcome=outcome.strip(),
        next_follow_up=next_follow_up,
        lead=lead,
        account=account,
        contact=contact,
        opportunity=opportunity,
    )
    record_event(
        actor=actor,
        verb="activities.activity.created",
        target=activity,
        data={"kind": kind, "done": done, "owner": owner.pk, "summary": activity.outcome[:200]},
        related=_links(activity),
    )
    _mark_lead_contacted(actor, activity)
    _plan_next_step(actor, activity)
    if done and account is not None:
        follow_up_refresh(account_ids=[account.pk])
    _plan_follow_up_activity(actor, activity)
    return activity


@transaction.atomic
def activity_update(*, actor: User, activity: Activity, **changes: Unpack[ActivityChanges]) -> Activity:
    """Change the content or the links of ``activity``.

    Links (``lead``, ``account``, ``contact``, ``opportunity``; ``None`` removes one) follow
    the rules of ``activity_create``: when the contact or the deal changes and the account
    is not given, the account becomes theirs; newly linked records must be readable by
    ``actor`` (``Forbidden``). A planned follow-up on a deal sets its next step.

    The row is locked while it is validated and written. Turning ``done`` on sets
    ``done_at`` (and moves a ``new`` lead to ``contacted``); turning it off clears it.
    Audits ``activities.activity.updated`` with the changed fields when anything changed.

    Raises ``Forbidden`` when ``actor`` may not change the activity and
    ``ValidationFailed`` (nothing written) for the same content rules as
    ``activity_create`` or a new owner outside ``assignable_users_for(actor)``.
    """
    if not can_write_activity(actor, activity):
        raise Forbidden(_("You may not change this activity."))
    activity.refresh_from_db(from_queryset=Activity.objects.select_for_update())
    refuse_unknown_fields(changes, set(UPDATABLE_FIELDS), _("The activity could not be saved."))
    before: dict[str, Any] = {
        "kind": activity.kind,
        "subject": activity.subject,
        "description": activity.description,
        "owner": activity.owner_id,
        "due_at": activity.due_at,
        "done": activity.done,
        "outcome": activity.outcome,
        "next_follow_up": activity.next_follow_up,
        **{f"{name}": getattr(activity, f"{name}_id") for name in LINK_FIELDS},
    }
    kind = changes.get("kind", activity.kind)
    subject = changes.get("subject", activity.subject).strip()
    due_at = _aware(changes["due_at"]) if "due_at" in changes else activity.due_at
    errors = _content_errors(kind=kind, subject=subject, due_at=due_at)
    owner = changes.get("owner")
    if owner is not None and owner.pk != activity.owner_id and not _owner_allowed(actor, owner):
        errors["owner"] = [_("You may not assign activities to this user.")]
    links: dict[str, Any] = {name: getattr(activity, name) for name in LINK_FIELDS}
    relinked = any(name in changes and _pk(changes[name]) != before[name] for name in LINK_FIELDS)  # type: ignore[literal-required]
    if relinked:
        for name in LINK_FIELDS:
            if name in changes:
                links[name] = changes[name]  # type: ignore[literal-required]
        moved = any(
            name in changes and _pk(changes[name]) != before[name]  # type: ignore[literal-required]
            for name in ("contact", "opportunity")
        )
        if "account" not in changes and moved and (links["contact"] or links["opportunity"]):
            links["account"] = None  # taken again from the new contact or deal
        links["account"] = _link_errors(**links, errors=errors)
        fresh = {name: record if _pk(record) != before[name] else None for name, record in links.items()}
        _check_links_readable(actor, **fresh)
    will_be_done = changes.get("done", activity.done)
    outcome_after = changes["outcome"].strip() if "outcome" in changes else activity.outcome
    follow_after = changes.get("next_follow_up", activity.next_follow_up)
    if will_be_done and (not activity.done or {"kind", "outcome", "next_follow_up"} & changes.keys()):
        _completion_errors(kind, outcome=outcome_after, next_follow_up=follow_after, errors=errors)
    if errors:
        raise ValidationFailed(_("The activity could not be saved."), field_errors=errors)
    was_done = activity.done
    if relinked:
        for name, record in links.items():
            setattr(activity, name, record)
    activity.kind = kind
    activity.subject = subject
    activity.due_at = due_at
    if "description" in changes:
        activity.description = changes["description"].strip()
    if "outcome" in changes:
        activity.outcome = changes["outcome"].strip()
    if "next_follow_up" in changes:
        activity.next_follow_up = changes["next_follow_up"]
    if owner is not None:
        activity.owner = owner
    if "done" in changes:
        activity.done = changes["done"]
        if activity.done and not was_done:
            activity.done_at = timezone.now()
        elif not activity.done:
            activity.done_at = None
    after = {
        **before,
        **{k: getattr(activity, k) for k in before if k != "owner" and k not in LINK_FIELDS},
        "owner": activity.owner_id,
        **{name: getattr(activity, f"{name}_id") for name in LINK_FIELDS},
    }
    diff = changed_fields(before, after)
    if not diff:
        return activity
    activity.save()
    record_event(
        actor=actor,
        verb="activities.activity.updated",
        target=activity,
        data={"changes": diff},
        related=_links(activity),
    )
    if activity.done and not was_done:
        _mark_lead_contacted(actor, activity)
    if {"due_at", "done", "next_follow_up", "opportunity"} & diff.keys():
        _plan_next_step(actor, activity)
    if {"done", "kind", "account"} & diff.keys():
        follow_up_refresh(account_ids=[pk for pk in (before["account"], activity.account_id) if pk is not None])
    if activity.done and ("next_follow_up" in diff or (activity.next_follow_up and "done" in diff)):
        _plan_follow_up_activity(actor, activity)
    return activity


def _pk(record: Model | None) -> int | None:
    return None if record is None else record.pk


@transaction.atomic
def activity_complete(
    *, actor: User, activity: Activity, outcome: str = "", next_follow_up: date | None = None
) -> Activity:
    """Mark ``activity`` done now, optionally recording its outcome and the next follow-up date.

    Idempotent: completing an activity that is already done changes nothing and writes
    no event (a conditional update guards against two concurrent completions). An empty
    ``outcome`` / ``None`` ``next_follow_up`` keep the stored values. No follow-up task is
    created: the activity appears on its owner's My day when ``next_follow_up`` arrives.
    Audits ``activities.activity.completed``; a ``new`` linked lead becomes ``contacted``.

    Raises ``Forbidden`` when ``actor`` may not change the activity.
    """
    if not can_write_activity(actor, activity):
        raise Forbidden(_("You may not change this activity."))
    if not activity.done:
        errors: dict[str, list[str]] = {}
        _completion_errors(
            activity.kind,
            outcome=outcome.strip() or activity.outcome,
            next_follow_up=next_follow_up or activity.next_follow_up,
            errors=errors,
        )
        if errors:
            raise ValidationFailed(_("The activity could not be completed."), field_errors=errors)
    now = timezone.now()
    values: dict[str, Any] = {"done": True, "done_at": now, "updated_at": now}
    outcome = outcome.strip()
    if outcome:
        values["outcome"] = outcome
    if next_follow_up is not None:
        values["next_follow_up"] = next_follow_up
    updated = Activity.objects.filter(pk=activity.pk, done=False).update(**values)
    activity.refresh_from_db(fields=["done", "done_at", "outcome", "next_follow_up", "updated_at"])
    if not updated:
        return activity
    record_event(
        actor=actor,
        verb="activities.activity.completed",
        target=activity,
        data={"next_follow_up": activity.next_follow_up, "summary": activity.outcome[:200]},
        related=_links(activity),
    )
    _mark_lead_contacted(actor, activity)
    if next_follow_up is not None:
        _plan_next_step(actor, activity)
    if activity.account_id is not None:
        follow_up_refresh(account_ids=[activity.account_id])
    _plan_follow_up_activity(actor, activity)
    return activity


@transaction.atomic
def activity_delete(*, actor: User, activity: Activity) -> None:
    """Delete ``activity``. The deletion stays on the linked records' timelines
    (``activities.activity.deleted``). Raises ``Forbidden`` when ``actor`` may not change it."""
    if not can_write_activity(actor, activity):
        raise Forbidden(_("You may not change this activity."))
    record_event(
        actor=actor,
        verb="activities.activity.deleted",
        target=activity,
        data={"kind": activity.kind, "subject": activity.subject},
        related=_links(activity),
    )
    account_id, was_done = activity.account_id, activity.done
    activity.delete()
    if was_done and account_id is not None:
        follow_up_refresh(account_ids=[account_id])


# --- follow-up discipline (跟进, issue 7) -------------------------------------------------------


def _completion_errors(kind: str, *, outcome: str, next_follow_up: date | None, errors: dict[str, list[str]]) -> None:
    """What the kind's settings (``ActivityKindConfig``) require of a done activity."""
    config = ActivityKindConfig.objects.filter(kind=kind).first()
    if config is None:
        return
    if config.needs_outcome and not outcome:
        errors.setdefault("outcome", []).append(_("An activity of this type needs an outcome when it is done."))
    if config.needs_next_follow_up and next_follow_up is None:
        errors.setdefault("next_follow_up", []).append(
            _("An activity of this type needs a next follow-up date when it is done.")
        )


def follow_up_refresh(*, account_ids: Iterable[int]) -> int:
    """Recompute the last follow-up and the next due date of ``account_ids`` from their done
    activities of the kinds that count (one aggregate per 1,000 accounts), through
    ``parties.services.account_follow_up_refresh``. Returns the accounts changed."""
    ids = sorted(set(account_ids))
    kinds = counting_kinds()
    changed = 0
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        last: dict[int, datetime | None] = dict.fromkeys(chunk)
        rows = (
            Activity.objects.filter(account_id__in=chunk, done=True, kind__in=kinds, done_at__isnull=False)
            .values("account_id")
            .annotate(last=Max("done_at"))
            .values_list("account_id", "last")
        )
        last.update(dict(rows))
        changed += account_follow_up_refresh(last_done=last)
    return changed


def follow_up_recompute() -> int:
    """Every account's follow-up dates from scratch, batched by primary key (the
    ``salesflow follow_up_recompute`` command; after the counting kinds changed)."""
    changed = 0
    last_pk = 0
    while True:
        ids = list(Account.objects.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:2000])
        if not ids:
            return changed
        last_pk = ids[-1]
        with transaction.atomic():
            changed += follow_up_refresh(account_ids=ids)


def _has_link(activity: Activity) -> bool:
    return any(
        pk is not None for pk in (activity.account_id, activity.opportunity_id, activity.lead_id, activity.contact_id)
    )


def _plan_follow_up_activity(actor: User, activity: Activity) -> Activity | None:
    """A done activity with a next follow-up date plans that follow-up: an open activity of
    the same kind (a note's follow-up is a task) on the same records, owned by the same
    rep, due on that date at 09:00 in the owner's zone. Not when the activity links no
    record, nor when the owner already has an open activity on those records that day."""
    on = activity.next_follow_up
    if on is None or not activity.done or not _has_link(activity):
        return None
    owner = activity.owner
    zone = owner.zone
    start, end = (
        datetime.combine(on, time.min, tzinfo=zone),
        datetime.combine(on + timedelta(days=1), time.min, tzinfo=zone),
    )
    # the same links, None matching NULL
    links: dict[str, Any] = {f"{name}_id": getattr(activity, f"{name}_id") for name in LINK_FIELDS}
    same = Activity.objects.filter(owner=owner, done=False, due_at__gte=start, due_at__lt=end, **links)
    if same.exists():
        return None
    kind = ActivityKind.TASK if activity.kind == ActivityKind.NOTE else activity.kind
    subject = (_("Follow-up: %(subject)s") % {"subject": activity.subject})[:SUBJECT_MAX_LENGTH]
    return activity_create(
        actor=actor,
        owner=owner if _owner_allowed(actor, owner) else actor,
        kind=kind,
        subject=subject,
        due_at=datetime.combine(on, time(9), tzinfo=zone),
        done=False,
        lead=activity.lead,
        account=activity.account,
        contact=activity.contact,
        opportunity=activity.opportunity,
    )


CHECK_IN_ADDRESS_MAX_LENGTH = 300


def _coordinate(value: Any, field: str, limit: int, errors: dict[str, list[str]]) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[field] = [_("Enter a number.")]
        return None
    if not number.is_finite() or not math.isfinite(float(number)) or abs(number) > limit:
        errors[field] = [_("Enter a number between %(low)d and %(high)d.") % {"low": -limit, "high": limit}]
        return None
    return number.quantize(Decimal("0.000001"))


@transaction.atomic
def activity_check_in(
    *, actor: User, activity: Activity, lat: Any = None, lng: Any = None, address: str = ""
) -> Activity:
    """Record where and when the owner checked in at a visit (拜访签到): now, the browser's
    position (``lat`` −90…90 and ``lng`` −180…180, both or neither, stored with six decimals)
    and/or a typed ``address`` (at most 300 characters); at least one of the two.

    Raises ``Forbidden`` unless ``actor`` owns the activity; ``Conflict`` when it is not a
    visit or was already checked in (a conditional update decides a race);
    ``ValidationFailed`` naming ``lat`` / ``lng`` / ``address`` (NaN, infinities, out of
    range, control characters). Audits ``activities.activity.checked_in``.
    """
    if actor.pk != activity.owner_id or not actor.is_active:
        raise Forbidden(_("Only the owner of the visit may check in."))
    if activity.kind != ActivityKind.VISIT:
        raise Conflict(_("Only visits have a check-in."))
    if activity.check_in_at is not None:
        raise Conflict(_("This visit is already checked in."))
    errors: dict[str, list[str]] = {}
    lat_value = _coordinate(lat, "lat", 90, errors)
    lng_value = _coordinate(lng, "lng", 180, errors)
    address = (address or "").strip()
    if len(address) > CHECK_IN_ADDRESS_MAX_LENGTH:
        errors["address"] = [_("Use at most %(max)d characters.") % {"max": CHECK_IN_ADDRESS_MAX_LENGTH}]
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in address):
        errors["address"] = [_("Remove the control characters.")]
    if not errors:
        if (lat_value is None) != (lng_value is None):
            errors["lat" if lat_value is None else "lng"] = [_("Give both the latitude and the longitude.")]
        elif lat_value is None and not address:
            errors["address"] = [_("Allow the location or type the address.")]
    if errors:
        raise ValidationFailed(_("The check-in could not be saved."), field_errors=errors)
    now = timezone.now()
    updated = Activity.objects.filter(pk=activity.pk, check_in_at__isnull=True).update(
        check_in_at=now, check_in_lat=lat_value, check_in_lng=lng_value, check_in_address=address, updated_at=now
    )
    if not updated:
        raise Conflict(_("This visit is already checked in."))
    activity.refresh_from_db(fields=["check_in_at", "check_in_lat", "check_in_lng", "check_in_address", "updated_at"])
    record_event(
        actor=actor,
        verb="activities.activity.checked_in",
        target=activity,
        data={"lat": lat_value, "lng": lng_value, "address": address},
        related=_links(activity),
    )
    return activity


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden(_("Only an administrator may change the follow-up settings."))


@transaction.atomic
def activity_kind_config_save(
    *, actor: User, kind: str, needs_outcome: bool, needs_next_follow_up: bool, counts_as_follow_up: bool
) -> ActivityKindConfig:
    """What completing an activity of ``kind`` requires and whether it counts as a follow-up
    (administrators only, ``Forbidden``; an unknown kind is a ``kind`` field error). Audits
    ``activities.kind_config.saved``; a change of ``counts_as_follow_up`` recomputes every
    account's follow-up dates (batched)."""
    _require_admin(actor)
    if kind not in ActivityKind.values:
        raise ValidationFailed(
            _("The activity type setting could not be saved."),
            field_errors={"kind": [_("Select a valid activity type.")]},
        )
    config = ActivityKindConfig.objects.select_for_update().filter(kind=kind).first()
    if config is None:
        config = ActivityKindConfig(kind=kind)
    new = {
        "needs_outcome": bool(needs_outcome),
        "needs_next_follow_up": bool(needs_next_follow_up),
        "counts_as_follow_up": bool(counts_as_follow_up),
    }
    before = {key: getattr(config, key) if config.pk else None for key in new}
    diff = changed_fields(before, new)
    if config.pk and not diff:
        return config
    for key, value in new.items():
        setattr(config, key, value)
    config.save()
    record_event(actor=actor, verb="activities.kind_config.saved", target=config, data={"kind": kind, "changes": diff})
    if "counts_as_follow_up" in diff and before["counts_as_follow_up"] is not None:
        transaction.on_commit(follow_up_recompute)
    return config


ESCALATION_MAX_DAYS = 365


@transaction.atomic
def escalation_step_save(*, actor: User, position: int, after_days_over: int, action: str) -> FollowUpEscalationStep:
    """Add or change the ladder step at ``position`` (1–20): ``after_days_over`` (0–365) days
    past due + grace, ``action`` one of ``EscalationAction``. Administrators only. Audits
    ``activities.escalation_step.saved``."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    if not isinstance(position, int) or isinstance(position, bool) or not 1 <= position <= 20:
        errors["position"] = [_("Enter a whole number from 1 to 20.")]
    if (
        not isinstance(after_days_over, int)
        or isinstance(after_days_over, bool)
        or not 0 <= after_days_over <= ESCALATION_MAX_DAYS
    ):
        errors["after_days_over"] = [_("Enter a whole number of days from 0 to 365.")]
    if action not in EscalationAction.values:
        errors["action"] = [_("Select a valid action.")]
    if errors:
        raise ValidationFailed(_("The escalation step could not be saved."), field_errors=errors)
    step = FollowUpEscalationStep.objects.select_for_update().filter(position=position).first()
    before = {"after_days_over": step.after_days_over if step else None, "action": step.action if step else None}
    diff = changed_fields(before, {"after_days_over": after_days_over, "action": action})
    if step is not None and not diff:
        return step
    if step is None:
        step = FollowUpEscalationStep(position=position)
    step.after_days_over, step.action = after_days_over, action
    step.save()
    record_event(
        actor=actor, verb="activities.escalation_step.saved", target=step, data={"position": position, "changes": diff}
    )
    return step


@transaction.atomic
def escalation_step_delete(*, actor: User, step: FollowUpEscalationStep) -> None:
    """Remove a ladder step (administrators only); the steps already taken go with it."""
    _require_admin(actor)
    record_event(
        actor=actor,
        verb="activities.escalation_step.deleted",
        target=step,
        data={"position": step.position, "action": step.action},
    )
    step.delete()


ESCALATION_BATCH = 500


@dataclass(frozen=True)
class _FollowUpItem:
    """One ladder step for one account or open deal in one episode (its due date)."""

    record: Account | Opportunity
    due: date
    step: FollowUpEscalationStep
    days_over: int
    manager_id: int | None

    def recipients(self) -> list[tuple[int, bool]]:
        """(user, as manager) the step's notification goes to: remind → the owner; notify →
        the manager; at risk → both (``notifications.rules.follow_up_escalated``)."""
        out: list[tuple[int, bool]] = []
        action = self.step.action
        if action in (EscalationAction.REMIND_OWNER, EscalationAction.MARK_AT_RISK) and self.record.owner_id:
            out.append((self.record.owner_id, False))
        if action in (EscalationAction.NOTIFY_MANAGER, EscalationAction.MARK_AT_RISK) and self.manager_id:
            out.append((self.manager_id, True))
        return out


def _follow_up_manager(
    owner_team_id: int | None, owner_id: int, teams: dict[int, tuple[int | None, int | None]]
) -> int | None:
    """The owner's manager: their team's manager, or up the tree the nearest one who is not
    the owner (the same person ``notifications.rules._managers_of`` finds)."""
    seen: set[int] = set()
    current = owner_team_id
    while current is not None and current not in seen:
        seen.add(current)
        parent_id, manager_id = teams.get(current, (None, None))
        if manager_id is not None and manager_id != owner_id:
            return manager_id
        current = parent_id
    return None


def _follow_up_offset(step: FollowUpEscalationStep) -> int:
    return step.after_days_over


def _follow_up_plan(
    targets: list[tuple[Account | Opportunity, date, int | None]],
    steps: list[FollowUpEscalationStep],
    today: date,
    grace: int,
    teams: dict[int, tuple[int | None, int | None]],
) -> tuple[list[_FollowUpItem], list[_FollowUpItem]]:
    """The steps to take and to skip for overdue (record, due date, owner's team) rows:
    a step is reached when the days past due and grace exceed its ``after_days_over``;
    ``core.escalation.catch_up`` keeps only the furthest untaken ones (one query: the
    records' escalations)."""
    if not targets:
        return [], []
    key = "account_id" if isinstance(targets[0][0], Account) else "opportunity_id"
    done = set(
        FollowUpEscalation.objects.filter(**{f"{key}__in": [record.pk for record, _d, _t in targets]}).values_list(
            key, "step_id", "episode"
        )
    )
    take: list[_FollowUpItem] = []
    skip: list[_FollowUpItem] = []
    for record, due, team_id in targets:
        days_over = (today - due).days - grace
        reached = [step for step in steps if days_over > step.after_days_over]
        taken = {step for step in reached if (record.pk, step.pk, due) in done}
        now_steps, skipped = catch_up(reached, taken=taken, offset=_follow_up_offset)
        if not now_steps and not skipped:
            continue
        manager = _follow_up_manager(team_id, record.owner_id, teams) if record.owner_id else None
        take += [_FollowUpItem(record, due, step, days_over, manager) for step in now_steps]
        skip += [_FollowUpItem(record, due, step, days_over, manager) for step in skipped]
    return take, skip


def _escalation_row(item: _FollowUpItem, *, skipped: bool = False, digest: bool = False) -> FollowUpEscalation:
    key = "account_id" if isinstance(item.record, Account) else "opportunity_id"
    return FollowUpEscalation(step=item.step, episode=item.due, skipped=skipped, digest=digest, **{key: item.record.pk})


def _mark_at_risk(items: Iterable[_FollowUpItem]) -> None:
    """The at-risk flag of the accounts (a deal's: its account) of mark-at-risk steps."""
    accounts = {
        item.record.pk if isinstance(item.record, Account) else item.record.account_id
        for item in items
        if item.step.action == EscalationAction.MARK_AT_RISK
    }
    if accounts:
        Account.objects.filter(pk__in=accounts, at_risk_since__isnull=True).update(at_risk_since=timezone.now())


@transaction.atomic
def _follow_up_skip(items: list[_FollowUpItem]) -> None:
    """Record skipped steps: no event, no notification — but a skipped "mark at risk" still
    marks the account, since that is state, not a message."""
    FollowUpEscalation.objects.bulk_create([_escalation_row(i, skipped=True) for i in items], ignore_conflicts=True)
    _mark_at_risk(items)


def follow_up_escalate(*, today: date) -> int:
    """The daily follow-up escalation ladder (``activities.follow_up_escalation`` job).

    For every grade with a policy: the accounts of that grade whose ``next_follow_up_due``
    lies more than grace + the first step's ``after_days_over`` days before ``today`` and
    that have a reached step not yet taken in this episode (``account_follow_due_idx``),
    and the open deals of such accounts without a done follow-up activity since then (due
    = last done follow-up on the deal, else its creation, + the frequency). Only overdue
    rows are read, in batches of 500 by primary key; each (record, step, due date) is taken
    once (``FollowUpEscalation``, unique): running the job twice writes nothing the second
    time. A new done follow-up gives the account a new due date, hence a new episode.

    Catching up (``core.escalation.catch_up``): of the steps a record has reached and not
    taken, only the furthest are taken — a ``FollowUpEscalation`` row and one
    ``activities.follow_up.escalated`` event each; earlier ones are recorded ``skipped``
    with no event (a skipped "mark at risk" still marks the account). Digest: when one
    person would get more than ``digest_threshold()`` notifications of one kind (reminders
    as owner, escalations as manager) from this run, the events carry ``digest_for`` (those
    people are not notified per record) and one ``activities.follow_up.digest`` event per
    such person lists the records; it is written before the per-record events, so a run
    that fails half-way notifies twice rather than never. Returns the number of steps
    taken (skipped ones not counted).
    """
    actor = system_actor()
    steps = list(FollowUpEscalationStep.objects.order_by("position"))
    if not steps:
        return 0
    policies = list(FollowUpPolicy.objects.order_by("grade"))
    kinds = counting_kinds()
    zone = timezone.get_default_timezone()
    teams: dict[int, tuple[int | None, int | None]] = {
        pk: (parent, manager) for pk, parent, manager in Team.objects.values_list("pk", "parent_id", "manager_id")
    }
    take: list[_FollowUpItem] = []
    for policy in policies:
        cutoffs = {step.pk: today - timedelta(days=policy.grace_days + step.after_days_over) for step in steps}
        latest = max(cutoffs.values())
        untaken = Q()
        for step in steps:
            untaken |= Q(
                Q(next_follow_up_due__lt=cutoffs[step.pk]),
                ~Exists(
                    FollowUpEscalation.objects.filter(
                        account_id=OuterRef("pk"), step=step, episode=OuterRef("next_follow_up_due")
                    )
                ),
            )
        last_pk = 0
        while True:
            batch = list(
                Account.objects.filter(grade=policy.grade, next_follow_up_due__lt=latest, pk__gt=last_pk)
                .filter(untaken)
                .select_related("owner")
                .only("pk", "name", "owner_id", "owner__team_id", "next_follow_up_due")
                .order_by("pk")[:ESCALATION_BATCH]
            )
            if not batch:
                break
            last_pk = batch[-1].pk
            now_items, skipped = _follow_up_plan(
                [
                    (a, a.next_follow_up_due, a.owner.team_id if a.owner else None)
                    for a in batch
                    if a.next_follow_up_due is not None
                ],
                steps,
                today,
                policy.grace_days,
                teams,
            )
            _follow_up_skip(skipped)
            take += now_items
        # open deals: last follow-up on the deal before (latest cutoff − every) → overdue
        since = datetime.combine(latest - timedelta(days=policy.every_days), time.min, tzinfo=zone)
        followed = Activity.objects.filter(
            opportunity_id=OuterRef("pk"), done=True, kind__in=kinds, done_at__isnull=False
        )
        last_pk = 0
        while True:
            deals = list(
                Opportunity.objects.filter(
                    outcome=Outcome.OPEN, account__grade=policy.grade, created_at__lt=since, pk__gt=last_pk
                )
                .exclude(Exists(followed.filter(done_at__gte=since)))
                .annotate(
                    last_done=Coalesce(
                        followed.order_by().values("opportunity_id").annotate(m=Max("done_at")).values("m")[:1],
                        "created_at",
                    )
                )
                .select_related("owner", "account")
                .only("pk", "name", "owner_id", "owner__team_id", "account__name", "created_at")
                .order_by("pk")[:ESCALATION_BATCH]
            )
            if not deals:
                break
            last_pk = deals[-1].pk
            now_items, skipped = _follow_up_plan(
                [
                    (
                        deal,
                        follow_up_local_date(deal.last_done) + timedelta(days=policy.every_days),
                        deal.owner.team_id if deal.owner else None,
                    )
                    for deal in deals
                ],
                steps,
                today,
                policy.grace_days,
                teams,
            )
            _follow_up_skip(skipped)
            take += now_items
    return _follow_up_take(actor, take)


def _follow_up_take(actor: User, items: list[_FollowUpItem]) -> int:
    """Write the steps taken: digests first (one transaction), then the rows and events in
    transactions of ``ESCALATION_BATCH``. Returns how many steps were written."""
    groups: dict[tuple[int, bool], list[_FollowUpItem]] = {}
    for item in items:
        for key in item.recipients():
            groups.setdefault(key, []).append(item)
    digested = {key for key, members in groups.items() if is_digest(len(members), key[0])}
    with transaction.atomic():
        for user_id, as_manager in sorted(digested):
            members = groups[(user_id, as_manager)]
            user = User.objects.filter(pk=user_id).first()
            if user is None:
                continue
            record_event(
                actor=actor,
                verb="activities.follow_up.digest",
                target=user,
                data={
                    "recipient": user_id,
                    "as_manager": as_manager,
                    "count": len(members),
                    "accounts": first_ids(i.record.pk for i in members if isinstance(i.record, Account)),
                    "opportunities": first_ids(i.record.pk for i in members if isinstance(i.record, Opportunity)),
                },
            )
    taken = 0
    for start in range(0, len(items), ESCALATION_BATCH):
        with transaction.atomic():
            taken += _follow_up_write(actor, items[start : start + ESCALATION_BATCH], digested)
    return taken


def _follow_up_write(actor: User, items: list[_FollowUpItem], digested: set[tuple[int, bool]]) -> int:
    written: list[_FollowUpItem] = []
    for item in items:
        digest_for = sorted({user for user, as_manager in item.recipients() if (user, as_manager) in digested})
        try:
            with transaction.atomic():
                _escalation_row(item, digest=bool(digest_for)).save(force_insert=True)
        except IntegrityError:
            continue  # another run took this step of this episode just now
        related: list[Model | None] = [item.record.account] if isinstance(item.record, Opportunity) else []
        data: dict[str, Any] = {
            "step": item.step.position,
            "action": item.step.action,
            "episode": item.due,
            "days_over": item.days_over,
            "owner": item.record.owner_id,
            "manager": item.manager_id,
        }
        if digest_for:
            data["digest_for"] = digest_for
        record_event(actor=actor, verb="activities.follow_up.escalated", target=item.record, data=data, related=related)
        written.append(item)
    _mark_at_risk(written)
    return len(written)
