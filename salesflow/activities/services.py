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

from datetime import date, datetime
from typing import Any, TypedDict, Unpack

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.activities.choices import ActivityKind
from salesflow.activities.models import Activity
from salesflow.activities.permissions import can_write_activity
from salesflow.core.audit import changed_fields, record_event
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.normalize import normalize_credit_code
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.permissions import can_write_lead, leads_visible_to
from salesflow.leads.services import lead_mark_contacted
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import accounts_visible_to, contacts_visible_to
from salesflow.sales.models import Opportunity
from salesflow.sales.permissions import can_write_opportunity, opportunities_visible_to
from salesflow.sales.services import opportunity_set_next_step
from salesflow.users.models import User
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
    activity.delete()
