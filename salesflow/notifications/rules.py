"""Who is notified of which audited event: one function per subscribed verb.

Each rule gets the stored event and returns the notifications to create. Rules read the
stable payloads declared in the apps' ``events.py`` (``owner``, ``changes.owner``,
``grantee_user_id`` …) and reload the target for its current name and URL; a target that
no longer exists produces nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salesflow.core.audit import event_changes
from salesflow.core.models import AuditEvent
from salesflow.notifications.kinds import LEAD_ASSIGNED, OPPORTUNITY_ASSIGNED, RECORD_SHARED
from salesflow.users.models import User

# content type model name → detail URL name
_DETAIL_URLS = {
    "lead": "leads:detail",
    "opportunity": "opportunities:detail",
    "account": "accounts:detail",
    "contact": "contacts:detail",
    "activity": "activities:detail",
}


@dataclass(frozen=True)
class Planned:
    recipient: User
    kind: str
    summary: Callable[[], str]
    target: models.Model
    url: str


def target_url(target: models.Model) -> str:
    name = _DETAIL_URLS.get(target._meta.model_name or "")
    if name is None:
        return ""
    try:
        return reverse(name, args=[target.pk])
    except NoReverseMatch:
        return ""


def _target(event: AuditEvent) -> models.Model | None:
    model = event.target_type.model_class()
    if model is None:
        return None
    return model._default_manager.filter(pk=event.target_id).first()


def _actor_name(event: AuditEvent) -> Callable[[], str]:
    actor = event.actor
    return lambda: str(actor) if actor is not None else _("The system")


def _new_owner(event: AuditEvent) -> int | None:
    data: dict[str, Any] = event.data or {}
    if event.verb.endswith(".created"):
        owner = data.get("owner")
    else:
        pair = event_changes(data).get("owner")
        owner = pair[1] if pair else None
    return owner if isinstance(owner, int) else None


def assigned(event: AuditEvent) -> list[Planned]:
    """A lead or opportunity created with, or reassigned to, an owner other than the actor."""
    owner_id = _new_owner(event)
    if owner_id is None or not is_assignment(event):
        return []
    recipient = User.objects.filter(pk=owner_id, is_active=True).first()
    target = _target(event)
    if recipient is None or target is None:
        return []
    who = _actor_name(event)
    if event.verb.startswith("leads."):
        kind = LEAD_ASSIGNED

        def summary() -> str:
            return _("%(actor)s assigned you the lead “%(name)s”.") % {"actor": who(), "name": target}
    else:
        kind = OPPORTUNITY_ASSIGNED

        def summary() -> str:
            return _("%(actor)s assigned you the opportunity “%(name)s”.") % {"actor": who(), "name": target}

    return [Planned(recipient, kind, summary, target, target_url(target))]


def shared(event: AuditEvent) -> list[Planned]:
    """A record shared with a user, or with a team (each active member but the actor)."""
    data: dict[str, Any] = event.data or {}
    target = _target(event)
    if target is None:
        return []
    recipients = User.objects.filter(is_active=True).exclude(pk=event.actor_id or 0)
    if isinstance(data.get("grantee_user_id"), int):
        recipients = recipients.filter(pk=data["grantee_user_id"])
    elif isinstance(data.get("grantee_team_id"), int):
        recipients = recipients.filter(team_id=data["grantee_team_id"])
    else:
        return []
    who = _actor_name(event)
    writable = data.get("access") == "write"

    def summary() -> str:
        if writable:
            return _("%(actor)s shared “%(name)s” with you (read and write).") % {"actor": who(), "name": target}
        return _("%(actor)s shared “%(name)s” with you (read only).") % {"actor": who(), "name": target}

    url = target_url(target)
    return [Planned(user, RECORD_SHARED, summary, target, url) for user in recipients.order_by("pk")]


def is_assignment(event: AuditEvent) -> bool:
    """The event gives the record an owner other than the actor (checked before enqueueing)."""
    owner_id = _new_owner(event)
    return owner_id is not None and owner_id != event.actor_id


def export_ready(event: AuditEvent) -> list[Planned]:
    """A background export is written: its requester gets the download link (issue 6)."""
    from salesflow.core.exports import list_spec
    from salesflow.notifications.kinds import EXPORT_READY

    data: dict[str, Any] = event.data or {}
    target = _target(event)
    requester_id = getattr(target, "requester_id", None)
    if target is None or requester_id is None or data.get("background") is not True:
        return []
    recipient = User.objects.filter(pk=requester_id, is_active=True).first()
    if recipient is None:
        return []
    rows = data.get("rows") if isinstance(data.get("rows"), int) else 0
    spec = list_spec(str(data.get("list", "")))

    def summary() -> str:
        label = str(spec.label) if spec is not None else str(data.get("list", ""))
        return _("Your export of %(list)s (%(rows)s rows) is ready to download.") % {"list": label, "rows": rows}

    return [Planned(recipient, EXPORT_READY, summary, target, reverse("exports:download", args=[target.pk]))]


def is_background_export(event: AuditEvent) -> bool:
    return (event.data or {}).get("background") is True


# --- issue 7: follow-up discipline (跟进) ------------------------------------------------------


def _managers_of(user_id: int) -> list[User]:
    """The managers above ``user_id``: their team's manager, or the parent team's when the
    user manages their own team (the nearest one who is somebody else)."""
    from salesflow.users.models import Team

    user = User.objects.filter(pk=user_id).select_related("team").first()
    team = user.team if user is not None else None
    seen: set[int] = set()
    while team is not None and team.pk not in seen:
        seen.add(team.pk)
        if team.manager_id is not None and team.manager_id != user_id:
            manager = User.objects.filter(pk=team.manager_id, is_active=True).first()
            return [manager] if manager is not None else []
        team = Team.objects.filter(pk=team.parent_id).first() if team.parent_id else None
    return []


def follow_up_escalated(event: AuditEvent) -> list[Planned]:
    """A ladder step (``activities.follow_up.escalated``): remind_owner → the owner;
    notify_manager → the owner's manager; mark_at_risk → both."""
    from salesflow.notifications.kinds import FOLLOW_UP_ESCALATED, FOLLOW_UP_REMINDER

    data: dict[str, Any] = event.data or {}
    target = _target(event)
    owner_id = data.get("owner")
    if target is None or not isinstance(owner_id, int):
        return []
    action = data.get("action")
    days = data.get("days_over") if isinstance(data.get("days_over"), int) else 0
    url = target_url(target)
    in_digest = {pk for pk in data.get("digest_for") or [] if isinstance(pk, int)}
    planned: list[Planned] = []
    if action in ("remind_owner", "mark_at_risk") and owner_id not in in_digest:
        owner = User.objects.filter(pk=owner_id, is_active=True).first()
        if owner is not None:

            def remind() -> str:
                if action == "mark_at_risk":
                    return _("“%(name)s” is now marked at risk: no follow-up for too long.") % {"name": target}
                return _("“%(name)s” is overdue for follow-up. Log a visit, call or meeting.") % {"name": target}

            planned.append(Planned(owner, FOLLOW_UP_REMINDER, remind, target, url))
    if action in ("notify_manager", "mark_at_risk"):
        owner_name = str(User.objects.filter(pk=owner_id).first() or "")
        if "manager" in data:  # the manager the job found (and counted for its digests)
            managers = list(User.objects.filter(pk=data["manager"] or 0, is_active=True))
        else:
            managers = _managers_of(owner_id)
        for manager in managers:
            if manager.pk in in_digest:
                continue

            def escalate() -> str:
                if action == "mark_at_risk":
                    return _("%(owner)s's “%(name)s” is marked at risk (%(days)s days past the follow-up grace).") % {
                        "owner": owner_name,
                        "name": target,
                        "days": days,
                    }
                return _("%(owner)s has not followed up “%(name)s” (%(days)s days past the grace period).") % {
                    "owner": owner_name,
                    "name": target,
                    "days": days,
                }

            planned.append(Planned(manager, FOLLOW_UP_ESCALATED, escalate, target, url))
    return planned


def reassigned_for_neglect(event: AuditEvent) -> list[Planned]:
    """A manager reassigned a neglected account: the new owner and the previous one are told."""
    from salesflow.notifications.kinds import ACCOUNT_REASSIGNED_NEGLECT

    data: dict[str, Any] = event.data or {}
    target = _target(event)
    if target is None:
        return []
    who = _actor_name(event)
    reason = str(data.get("reason", ""))[:200]
    planned: list[Planned] = []
    for key, gained in (("to_owner", True), ("from_owner", False)):
        user_id = data.get(key)
        if not isinstance(user_id, int) or user_id == event.actor_id:
            continue
        recipient = User.objects.filter(pk=user_id, is_active=True).first()
        if recipient is None:
            continue

        def summary(gained: bool = gained) -> str:
            if gained:
                return _("%(actor)s gave you the neglected account “%(name)s”: %(reason)s") % {
                    "actor": who(),
                    "name": target,
                    "reason": reason,
                }
            return _("%(actor)s reassigned your account “%(name)s” for neglect: %(reason)s") % {
                "actor": who(),
                "name": target,
                "reason": reason,
            }

        planned.append(Planned(recipient, ACCOUNT_REASSIGNED_NEGLECT, summary, target, target_url(target)))
    return planned


# --- issue 7: daily and weekly work reports (salesflow.workreports) -------------------------------


def _report_label(kind: object, period_start: object) -> str:
    from datetime import date

    from salesflow.workreports.choices import ReportKind
    from salesflow.workreports.periods import label

    try:
        start = date.fromisoformat(str(period_start))
        return f"{ReportKind(str(kind)).label} {label(str(kind), start)}"
    except ValueError:
        return str(period_start)


def work_report_submitted(event: AuditEvent) -> list[Planned]:
    """A report is submitted: the manager it was submitted to is told."""
    data: dict[str, Any] = event.data or {}
    target = _target(event)
    manager_id = data.get("manager")
    if target is None or not isinstance(manager_id, int) or manager_id == event.actor_id:
        return []
    from salesflow.notifications.kinds import WORK_REPORT_SUBMITTED

    recipient = User.objects.filter(pk=manager_id, is_active=True).first()
    if recipient is None:
        return []
    who = _actor_name(event)

    def summary() -> str:
        what = _report_label(data.get("kind"), data.get("period_start"))
        return _("%(actor)s submitted the %(report)s.") % {"actor": who(), "report": what}

    return [Planned(recipient, WORK_REPORT_SUBMITTED, summary, target, reverse("workreports:detail", args=[target.pk]))]


def work_report_commented(event: AuditEvent) -> list[Planned]:
    """A manager comments on a report: its author is told."""
    data: dict[str, Any] = event.data or {}
    target = _target(event)
    author_id = data.get("author")
    if target is None or not isinstance(author_id, int) or author_id == event.actor_id:
        return []
    from salesflow.notifications.kinds import WORK_REPORT_COMMENTED

    recipient = User.objects.filter(pk=author_id, is_active=True).first()
    if recipient is None:
        return []
    who = _actor_name(event)
    kind, start = getattr(target, "kind", ""), getattr(target, "period_start", "")

    def summary() -> str:
        what = _report_label(kind, start)
        return _("%(actor)s commented on your %(report)s.") % {"actor": who(), "report": what}

    return [Planned(recipient, WORK_REPORT_COMMENTED, summary, target, reverse("workreports:detail", args=[target.pk]))]


def work_report_reminder(event: AuditEvent) -> list[Planned]:
    """A report is missing after the reminder time: its author is reminded (once per report)."""
    data: dict[str, Any] = event.data or {}
    target = _target(event)
    user_id = data.get("user")
    if target is None or not isinstance(user_id, int):
        return []
    from salesflow.notifications.kinds import WORK_REPORT_REMINDER

    recipient = User.objects.filter(pk=user_id, is_active=True).first()
    if recipient is None:
        return []

    def summary() -> str:
        what = _report_label(data.get("kind"), data.get("period_start"))
        return _("Your %(report)s has not been submitted yet.") % {"report": what}

    return [Planned(recipient, WORK_REPORT_REMINDER, summary, target, reverse("workreports:mine"))]


def follow_up_not_all_in_digest(event: AuditEvent) -> bool:
    """A follow-up escalation notifies someone on its own unless every recipient of its
    action gets it in a digest (checked before enqueueing)."""
    data: dict[str, Any] = event.data or {}
    in_digest = data.get("digest_for") or []
    if not in_digest:
        return True
    action = data.get("action")
    wanted = []
    if action in ("remind_owner", "mark_at_risk"):
        wanted.append(data.get("owner"))
    if action in ("notify_manager", "mark_at_risk"):
        wanted.append(data.get("manager"))
    return any(pk is not None and pk not in in_digest for pk in wanted)


def _digest_recipient(data: dict[str, Any]) -> tuple[User, int] | None:
    """A digest event's active recipient and its record count (``None`` for a malformed
    event or a recipient no longer active): shared by the escalation digests."""
    recipient_id, count = data.get("recipient"), data.get("count")
    if not isinstance(recipient_id, int) or not isinstance(count, int):
        return None
    recipient = User.objects.filter(pk=recipient_id, is_active=True).first()
    return None if recipient is None else (recipient, count)


def follow_up_digest(event: AuditEvent) -> list[Planned]:
    """One run of the follow-up ladder had many records for one person
    (``activities.follow_up.digest``): one notification naming the first few and counting
    the rest, linking to the overdue accounts (the owner's own, or the manager's scope)."""
    from salesflow.notifications.kinds import FOLLOW_UP_ESCALATED, FOLLOW_UP_REMINDER
    from salesflow.parties.models import Account
    from salesflow.sales.models import Opportunity

    data: dict[str, Any] = event.data or {}
    found = _digest_recipient(data)
    if found is None:
        return []
    recipient, count = found
    account_ids = [pk for pk in data.get("accounts") or [] if isinstance(pk, int)]
    deal_ids = [pk for pk in data.get("opportunities") or [] if isinstance(pk, int)]
    names = (_digest_names(Account, account_ids) + _digest_names(Opportunity, deal_ids))[:5]
    as_manager = data.get("as_manager") is True

    def summary() -> str:
        more = count - len(names)
        values: dict[str, object] = {"count": count, "names": _(", ").join(names), "more": more}
        if as_manager and more > 0:
            text = ngettext(
                "%(count)d customer of your team is past due for follow-up: %(names)s and %(more)d more.",
                "%(count)d customers of your team are past due for follow-up: %(names)s and %(more)d more.",
                count,
            )
        elif as_manager:
            text = ngettext(
                "%(count)d customer of your team is past due for follow-up: %(names)s.",
                "%(count)d customers of your team are past due for follow-up: %(names)s.",
                count,
            )
        elif more > 0:
            text = ngettext(
                "%(count)d of your customers is overdue for follow-up: %(names)s and %(more)d more.",
                "%(count)d of your customers are overdue for follow-up: %(names)s and %(more)d more.",
                count,
            )
        else:
            text = ngettext(
                "%(count)d of your customers is overdue for follow-up: %(names)s.",
                "%(count)d of your customers are overdue for follow-up: %(names)s.",
                count,
            )
        return text % values

    url = reverse("accounts:list") + "?follow_up=overdue"
    if not as_manager:
        url += f"&owner={recipient.pk}"
    kind = FOLLOW_UP_ESCALATED if as_manager else FOLLOW_UP_REMINDER
    return [Planned(recipient, kind, summary, recipient, url)]


RULES: dict[str, Callable[[AuditEvent], list[Planned]]] = {
    "leads.lead.created": assigned,
    "leads.lead.updated": assigned,
    "sales.opportunity.created": assigned,
    "sales.opportunity.updated": assigned,
    "users.share.granted": shared,
    "core.export.completed": export_ready,
    # issue 7: follow-up discipline
    "activities.follow_up.escalated": follow_up_escalated,
    "activities.follow_up.digest": follow_up_digest,
    "parties.account.reassigned_for_neglect": reassigned_for_neglect,
    # issue 7: daily and weekly work reports
    "workreports.report.submitted": work_report_submitted,
    "workreports.report.commented": work_report_commented,
    "workreports.reminder.sent": work_report_reminder,
}

WHEN: dict[str, Callable[[AuditEvent], bool]] = {
    "leads.lead.created": is_assignment,
    "leads.lead.updated": is_assignment,
    "sales.opportunity.created": is_assignment,
    "sales.opportunity.updated": is_assignment,
    "core.export.completed": is_background_export,
    "activities.follow_up.escalated": follow_up_not_all_in_digest,
}


# --- issue 7: stall detection (sales.escalate_stalled_deals) -------------------------------------


def stalled(event: AuditEvent) -> list[Planned]:
    """A deal passed its stall threshold (the owner) or stayed stalled for a further step of
    the escalation ladder (the manager named in ``recipient``)."""
    from salesflow.notifications.kinds import OPPORTUNITY_STALL_ESCALATED, OPPORTUNITY_STALLED

    data: dict[str, Any] = event.data or {}
    recipient_id = data.get("recipient")
    if not isinstance(recipient_id, int) or not not_in_digest(event):
        return []
    recipient = User.objects.filter(pk=recipient_id, is_active=True).first()
    target = _target(event)
    if recipient is None or target is None:
        return []
    days = data.get("days_in_stage") if isinstance(data.get("days_in_stage"), int) else 0
    threshold = data.get("threshold_days") if isinstance(data.get("threshold_days"), int) else 0
    by_team = data.get("basis") == "team_p80"
    sample = data.get("sample_size") if isinstance(data.get("sample_size"), int) else 0
    owner = str(getattr(target, "owner", "")) if event.verb.endswith("stall_escalated") else ""

    def summary() -> str:
        values = {"name": target, "days": days, "threshold": threshold, "n": sample, "owner": owner}
        if by_team:
            basis = _("team's 80th percentile %(threshold)s days from %(n)s deals") % values
        else:
            basis = _("stage threshold %(threshold)s days") % values
        values["basis"] = basis
        if owner:
            return _("%(owner)s's opportunity “%(name)s” is stalled: %(days)s days in stage; %(basis)s.") % values
        return _("Your opportunity “%(name)s” is stalled: %(days)s days in stage; %(basis)s.") % values

    kind = OPPORTUNITY_STALL_ESCALATED if owner else OPPORTUNITY_STALLED
    return [Planned(recipient, kind, summary, target, target_url(target))]


def not_in_digest(event: AuditEvent) -> bool:
    """An escalation event notifies on its own unless a digest of its run stands for it."""
    return (event.data or {}).get("digest") is not True


def _digest_names(model: type[models.Model], ids: list[int]) -> list[str]:
    """The names of the first records of a digest, in the digest's order (one query)."""
    from salesflow.core.escalation import DIGEST_NAMES

    wanted = ids[:DIGEST_NAMES]
    names = {pk: str(obj) for pk, obj in model._default_manager.in_bulk(wanted).items()}
    return [f"“{names[pk]}”" for pk in wanted if pk in names]


def stall_digest(event: AuditEvent) -> list[Planned]:
    """One run of the stall job had many deals for one person (``sales.stall.digest``): one
    notification naming the first few, counting the rest, linking to the stalled deals."""
    from salesflow.notifications.kinds import OPPORTUNITY_STALL_ESCALATED, OPPORTUNITY_STALLED
    from salesflow.sales.models import Opportunity

    data: dict[str, Any] = event.data or {}
    ids = [pk for pk in data.get("opportunities") or [] if isinstance(pk, int)]
    found = _digest_recipient(data)
    if found is None:
        return []
    recipient, count = found
    names = _digest_names(Opportunity, ids)
    owner_step = data.get("owner_step") is True

    def summary() -> str:
        more = count - len(names)
        values: dict[str, object] = {"count": count, "names": _(", ").join(names), "more": more}
        if owner_step and more > 0:
            text = ngettext(
                "%(count)d of your opportunities has stalled: %(names)s and %(more)d more.",
                "%(count)d of your opportunities have stalled: %(names)s and %(more)d more.",
                count,
            )
        elif owner_step:
            text = ngettext(
                "%(count)d of your opportunities has stalled: %(names)s.",
                "%(count)d of your opportunities have stalled: %(names)s.",
                count,
            )
        elif more > 0:
            text = ngettext(
                "%(count)d opportunity of your team stays stalled: %(names)s and %(more)d more.",
                "%(count)d opportunities of your team stay stalled: %(names)s and %(more)d more.",
                count,
            )
        else:
            text = ngettext(
                "%(count)d opportunity of your team stays stalled: %(names)s.",
                "%(count)d opportunities of your team stay stalled: %(names)s.",
                count,
            )
        return text % values

    url = reverse("opportunities:list") + "?stalled=1"
    if owner_step:
        url += f"&owner={recipient.pk}"
    kind = OPPORTUNITY_STALLED if owner_step else OPPORTUNITY_STALL_ESCALATED
    return [Planned(recipient, kind, summary, recipient, url)]


RULES["sales.opportunity.stalled"] = stalled
RULES["sales.opportunity.stall_escalated"] = stalled
RULES["sales.stall.digest"] = stall_digest
WHEN["sales.opportunity.stalled"] = not_in_digest
WHEN["sales.opportunity.stall_escalated"] = not_in_digest


# --- issue 8 (merging): access requests to possible duplicates ------------------------------------


def access_requested(event: AuditEvent) -> list[Planned]:
    """Someone asked for access to a record: its owner is told (never the requester themself)."""
    from salesflow.notifications.kinds import ACCESS_REQUESTED

    data: dict[str, Any] = event.data or {}
    owner_id = data.get("owner")
    target = _target(event)
    if target is None or not isinstance(owner_id, int) or owner_id == event.actor_id:
        return []
    recipient = User.objects.filter(pk=owner_id, is_active=True).first()
    if recipient is None:
        return []
    who = _actor_name(event)

    def summary() -> str:
        return _("%(actor)s asks for access to your record (%(kind)s #%(id)s).") % {
            "actor": who(),
            "kind": _kind_label(data.get("kind")),
            "id": data.get("object_id"),
        }

    return [Planned(recipient, ACCESS_REQUESTED, summary, target, _access_requests_url())]


def access_decided(event: AuditEvent) -> list[Planned]:
    """An access request was granted or declined: the requester is told."""
    from salesflow.notifications.kinds import ACCESS_DECIDED

    data: dict[str, Any] = event.data or {}
    requester_id = data.get("requester")
    target = _target(event)
    if target is None or not isinstance(requester_id, int) or requester_id == event.actor_id:
        return []
    recipient = User.objects.filter(pk=requester_id, is_active=True).first()
    if recipient is None:
        return []
    who = _actor_name(event)
    granted = event.verb.endswith(".granted")

    def summary() -> str:
        values = {"actor": who(), "kind": _kind_label(data.get("kind")), "id": data.get("object_id")}
        if granted:
            return _("%(actor)s granted your access request (%(kind)s #%(id)s).") % values
        return _("%(actor)s declined your access request (%(kind)s #%(id)s).") % values

    return [Planned(recipient, ACCESS_DECIDED, summary, target, _access_requests_url())]


def _kind_label(kind: object) -> str:
    labels = {"lead": _("lead"), "account": _("account"), "contact": _("contact")}
    return labels.get(str(kind), str(kind))


def _access_requests_url() -> str:
    try:
        return reverse("merging:access_requests")
    except NoReverseMatch:
        return ""


RULES["merging.access.requested"] = access_requested
RULES["merging.access.granted"] = access_decided
RULES["merging.access.declined"] = access_decided


# --- issue 8 (routing): first-response SLAs ---------------------------------------------------


def lead_sla_missed(event: AuditEvent) -> list[Planned]:
    """A lead had no first response within its SLA (``routing.lead.sla_missed``): the
    owner's manager (the nearest one above the owner) is told."""
    from salesflow.notifications.kinds import LEAD_SLA_MISSED

    data: dict[str, Any] = event.data or {}
    owner_id = data.get("owner")
    target = _target(event)
    if target is None or not isinstance(owner_id, int):
        return []
    minutes = data.get("minutes") if isinstance(data.get("minutes"), int) else 0
    owner_name = str(User.objects.filter(pk=owner_id).first() or "")
    url = target_url(target)

    def summary() -> str:
        return _("%(owner)s has not responded to the new lead “%(name)s” within %(minutes)s minutes.") % {
            "owner": owner_name,
            "name": target,
            "minutes": minutes,
        }

    return [Planned(manager, LEAD_SLA_MISSED, summary, target, url) for manager in _managers_of(owner_id)]


RULES["routing.lead.sla_missed"] = lead_sla_missed


# --- issue 8: customer protection (salesflow.protection) ----------------------------------------


def _active_users(ids: list[object]) -> list[User]:
    wanted = [pk for pk in ids if isinstance(pk, int)]
    found = {u.pk: u for u in User.objects.filter(pk__in=wanted, is_active=True)}
    return [found[pk] for pk in dict.fromkeys(wanted) if pk in found]


def known_customer_routed(event: AuditEvent) -> list[Planned]:
    """A lead matching a known customer was routed: the customer's owner is told."""
    from salesflow.notifications.kinds import KNOWN_CUSTOMER_ROUTED

    data: dict[str, Any] = event.data or {}
    target = _target(event)
    recipients = _active_users([data.get("owner")])
    if target is None or not recipients:
        return []
    company = str(data.get("company") or "")

    def summary() -> str:
        return _("The lead “%(name)s” of your customer %(company)s was routed to you.") % {
            "name": target,
            "company": company,
        }

    return [Planned(recipients[0], KNOWN_CUSTOMER_ROUTED, summary, target, target_url(target))]


def _collision_url(data: dict[str, Any]) -> str:
    try:
        return reverse("protection:collision", args=[int(data.get("collision_id") or 0)])
    except (NoReverseMatch, ValueError):
        return ""


def collision_opened(event: AuditEvent) -> list[Planned]:
    """A collision was opened: both reps and the arbiter (else the administrators) are told."""
    from salesflow.notifications.kinds import COLLISION_OPENED

    data: dict[str, Any] = event.data or {}
    target = _target(event)
    if target is None:
        return []
    arbiter = data.get("arbiter")
    ids: list[object] = [data.get("claimant"), data.get("holder")]
    if isinstance(arbiter, int):
        ids.append(arbiter)
    else:
        admins = User.objects.filter(models.Q(is_superuser=True) | models.Q(role="admin"), is_active=True)
        ids.extend(admins.order_by("pk").values_list("pk", flat=True)[:5])
    url = _collision_url(data)

    def summary() -> str:
        return _("Collision: “%(name)s” matches a record another rep holds; a manager will decide.") % {"name": target}

    return [Planned(user, COLLISION_OPENED, summary, target, url) for user in _active_users(ids)]


def collision_decided(event: AuditEvent) -> list[Planned]:
    """A collision was decided: both reps are told the decision."""
    from salesflow.notifications.kinds import COLLISION_DECIDED

    data: dict[str, Any] = event.data or {}
    target = _target(event)
    if target is None:
        return []
    decision = str(data.get("decision") or "")
    url = _collision_url(data)

    def summary() -> str:
        labels = {"keep": _("keep"), "transfer": _("transfer"), "share": _("share")}
        return _("The collision about “%(name)s” was decided: %(decision)s.") % {
            "name": target,
            "decision": labels.get(decision, decision),
        }

    recipients = _active_users([data.get("claimant"), data.get("holder")])
    return [Planned(user, COLLISION_DECIDED, summary, target, url) for user in recipients]


RULES["protection.known_customer.routed"] = known_customer_routed
RULES["protection.collision.opened"] = collision_opened
RULES["protection.collision.decided"] = collision_decided


# --- issue 8: public pools (salesflow.pools) ----------------------------------------------------


def pool_recycle(event: AuditEvent) -> list[Planned]:
    """A recycle rule warned about (``owner``) or recycled (``previous_owner``) a record: the
    owner is told, with the pool and the date."""
    from salesflow.notifications.kinds import POOL_RECYCLE_WARNING, POOL_RECYCLED

    data: dict[str, Any] = event.data or {}
    warning = event.verb == POOL_RECYCLE_WARNING
    owner_id = data.get("owner" if warning else "previous_owner")
    target = _target(event)
    if target is None or not isinstance(owner_id, int):
        return []
    recipient = User.objects.filter(pk=owner_id, is_active=True).first()
    if recipient is None:
        return []
    pool = str(data.get("pool", ""))[:100]
    due = str(data.get("due_on", ""))[:10]

    def summary() -> str:
        if warning:
            return _("“%(name)s” goes back to the public pool “%(pool)s” on %(date)s unless you follow up.") % {
                "name": target,
                "pool": pool,
                "date": due,
            }
        return _("“%(name)s” had no follow-up in time and went back to the public pool “%(pool)s”.") % {
            "name": target,
            "pool": pool,
        }

    url = target_url(target) if warning else ""
    return [Planned(recipient, POOL_RECYCLE_WARNING if warning else POOL_RECYCLED, summary, target, url)]


RULES["pools.record.recycle_warning"] = pool_recycle
RULES["pools.record.recycled"] = pool_recycle


# --- issue 7: a gate override tells the deal's owner ---------------------------------------------


def gate_overridden(event: AuditEvent) -> list[Planned]:
    """A manager (or administrator) moved a deal past unmet entry criteria: its owner hears
    which stage, how many criteria were unmet and the reason — unless they did it themselves."""
    from salesflow.notifications.kinds import OPPORTUNITY_GATE_OVERRIDDEN

    data: dict[str, Any] = event.data or {}
    target = _target(event)
    owner_id = getattr(target, "owner_id", None)
    if target is None or not isinstance(owner_id, int) or owner_id == event.actor_id:
        return []
    recipient = User.objects.filter(pk=owner_id, is_active=True).first()
    if recipient is None:
        return []
    raw = data.get("unmet")
    unmet: list[Any] = raw if isinstance(raw, list) else []
    labels = [str(item.get("label", ""))[:100] for item in unmet if isinstance(item, dict)][:5]
    reason = str(data.get("reason", ""))[:200]
    who = _actor_name(event)

    def summary() -> str:
        return _("%(actor)s moved “%(name)s” on although %(unmet)s was unmet. Reason: %(reason)s") % {
            "actor": who(),
            "name": target,
            "unmet": "、".join(labels) or _("an entry criterion"),
            "reason": reason,
        }

    return [Planned(recipient, OPPORTUNITY_GATE_OVERRIDDEN, summary, target, target_url(target))]


RULES["sales.opportunity.gate_overridden"] = gate_overridden


# --- issue 9 (approvals): the approval engine (审批) ---------------------------------------------


def approval_request(event: AuditEvent) -> list[Planned]:
    """An approval request moved: ``pending_for`` (approvers of the step now current, and
    whoever stands in for them) are asked to act — reminded, for the reminder job — and
    ``inform`` (the requester; the approvers of a withdrawn request) is told the outcome.
    The link opens the request page with its approve / reject / return buttons."""
    from salesflow.notifications.kinds import APPROVAL_DECIDED, APPROVAL_PENDING, APPROVAL_REMINDER

    data: dict[str, Any] = event.data or {}
    target = _target(event)
    if target is None:
        return []
    try:
        url = reverse("approvals:detail", args=[target.pk])
    except NoReverseMatch:
        url = ""
    who = _actor_name(event)
    verb = event.verb.rsplit(".", 1)[-1]
    comment = str(data.get("comment") or "")[:200]

    def asked() -> str:
        if verb == "reminded":
            return _("Reminder: “%(name)s” is still waiting for your approval.") % {"name": target}
        if verb == "escalated":
            return _("“%(name)s” is overdue and was escalated to you for approval.") % {"name": target}
        return _("“%(name)s” is waiting for your approval.") % {"name": target}

    def told() -> str:
        values = {"name": target, "actor": who(), "comment": comment}
        if verb == "approved":
            return _("%(actor)s approved “%(name)s”.") % values
        if verb == "rejected":
            return _("%(actor)s rejected “%(name)s”: %(comment)s") % values
        if verb == "returned":
            return _("%(actor)s returned “%(name)s”: %(comment)s") % values
        if verb == "withdrawn":
            return _("%(actor)s withdrew “%(name)s”; it no longer needs your approval.") % values
        return _("“%(name)s” was updated.") % values

    kind = APPROVAL_REMINDER if verb == "reminded" else APPROVAL_PENDING
    planned = [Planned(user, kind, asked, target, url) for user in _active_users(list(data.get("pending_for") or []))]
    asked_ids = {p.recipient.pk for p in planned}
    planned += [
        Planned(user, APPROVAL_DECIDED, told, target, url)
        for user in _active_users(list(data.get("inform") or []))
        if user.pk not in asked_ids
    ]
    return planned


for _verb in (
    "submitted",
    "step_approved",
    "approved",
    "rejected",
    "returned",
    "resubmitted",
    "withdrawn",
    "reminded",
    "escalated",
):
    RULES[f"approvals.request.{_verb}"] = approval_request


# --- issue 9 (billing): payment reminders to the owner and the assistants delegated to them ----


def payment_reminder(event: AuditEvent) -> list[Planned]:
    """An instalment is coming due (negative ``days``) or overdue: the owner and every active
    assistant the owner is delegated to are told, with the document and the due date."""
    from django.db.models import Q

    from salesflow.notifications.kinds import PAYMENT_DUE_SOON, PAYMENT_OVERDUE
    from salesflow.users.choices import Role

    data: dict[str, Any] = event.data or {}
    owner_id = data.get("owner")
    days = data.get("days")
    target = _target(event)
    if target is None or not isinstance(owner_id, int) or not isinstance(days, int):
        return []
    recipients = list(
        User.objects.filter(is_active=True)
        .filter(Q(pk=owner_id) | Q(role=Role.ASSISTANT, delegated_reps__pk=owner_id))
        .distinct()
        .order_by("pk")
    )
    document = str(data.get("document", ""))[:40]
    due = str(data.get("due_date", ""))[:10]
    kind = PAYMENT_OVERDUE if days > 0 else PAYMENT_DUE_SOON

    def summary() -> str:
        if days > 0:
            return _("An instalment of %(document)s due on %(date)s is %(days)s days overdue.") % {
                "document": document,
                "date": due,
                "days": days,
            }
        return _("An instalment of %(document)s is due on %(date)s.") % {"document": document, "date": due}

    try:
        url = reverse("billing:instalment_redirect", args=[target.pk])
    except NoReverseMatch:
        url = ""
    return [Planned(user, kind, summary, target, url) for user in recipients]


RULES["billing.instalment.reminder"] = payment_reminder


# --- issue 9 (contracts): renewal reminders ------------------------------------------------------


def contract_renewal_due(event: AuditEvent) -> list[Planned]:
    """The renewal job found a signed contract ending soon: its owner is told, with the date."""
    from salesflow.notifications.kinds import CONTRACT_RENEWAL_DUE

    data: dict[str, Any] = event.data or {}
    owner_id = data.get("owner")
    target = _target(event)
    if target is None or not isinstance(owner_id, int):
        return []
    recipient = User.objects.filter(pk=owner_id, is_active=True).first()
    if recipient is None:
        return []
    end_date = str(data.get("end_date", ""))[:10]
    days = data.get("days_left")

    def summary() -> str:
        return _("The contract “%(name)s” ends on %(date)s (in %(days)s days): time to renew.") % {
            "name": target,
            "date": end_date,
            "days": days,
        }

    try:
        url = reverse("contracts:detail", args=[target.pk])
    except NoReverseMatch:
        url = ""
    return [Planned(recipient, CONTRACT_RENEWAL_DUE, summary, target, url)]


RULES["contracts.contract.renewal_due"] = contract_renewal_due


# --- issue 11 (improvement): a control plan found drift --------------------------------------------


def improvement_drifted(event: AuditEvent) -> list[Planned]:
    """The daily control check found new out-of-control points on a DMAIC project: its owner
    is told how many and the day of the last one."""
    from salesflow.notifications.kinds import IMPROVEMENT_DRIFTED

    data: dict[str, Any] = event.data or {}
    owner_id = data.get("owner")
    target = _target(event)
    signals = data.get("signals")
    if target is None or not isinstance(owner_id, int) or not isinstance(signals, list) or not signals:
        return []
    recipient = User.objects.filter(pk=owner_id, is_active=True).first()
    if recipient is None:
        return []
    last = signals[-1] if isinstance(signals[-1], dict) else {}
    day = str(last.get("day", ""))[:10]
    count = len(signals)

    def summary() -> str:
        return ngettext(
            "“%(title)s”: %(n)s new out-of-control point, the last on %(day)s",
            "“%(title)s”: %(n)s new out-of-control points, the last on %(day)s",
            count,
        ) % {"title": target, "n": count, "day": day}

    try:
        url = reverse("improvement:detail", args=[target.pk])
    except NoReverseMatch:
        url = ""
    return [Planned(recipient, IMPROVEMENT_DRIFTED, summary, target, url)]


RULES["improvement.project.drifted"] = improvement_drifted


# --- issue 10 (targets, commissions): plans and commission statements through approval ----------


def _plan_url(target: models.Model) -> str:
    year = getattr(getattr(target, "plan", None), "year", None)
    try:
        return reverse("targets:plan", args=[year]) if isinstance(year, int) else ""
    except NoReverseMatch:
        return ""


def _plan_label(target: models.Model) -> Callable[[], str]:
    plan = getattr(target, "plan", None)
    number = getattr(target, "number", "")
    return lambda: _("%(plan)s, version %(number)s") % {"plan": plan, "number": number}


def plan_version_event(event: AuditEvent) -> list[Planned]:
    """A sales plan version was submitted (approved here, not in the engine, and not by an
    administrator, whose submission locks it at once): the top team's manager when there is
    one other than the submitter, else every active administrator but the submitter. Approved
    or returned: the submitter, unless they did it themselves. Engine-routed submissions are
    announced by the approval engine's own notifications."""
    from salesflow.notifications.kinds import PLAN_APPROVED, PLAN_RETURNED, PLAN_SUBMITTED
    from salesflow.users.choices import Role
    from salesflow.users.models import Team

    target = _target(event)
    if target is None:
        return []
    data: dict[str, Any] = event.data or {}
    actor = event.actor
    actor_id = actor.pk if actor is not None else None
    label, who, url = _plan_label(target), _actor_name(event), _plan_url(target)
    if event.verb == "targets.version.submitted":
        if data.get("status") == "pending" or data.get("request_id") or (actor is not None and actor.is_admin):
            return []
        tops = list(Team.objects.filter(parent__isnull=True).values_list("manager_id", flat=True)[:2])
        manager_id = tops[0] if len(tops) == 1 else None
        recipients: list[User] = []
        if manager_id is not None and manager_id != actor_id:
            recipients = list(User.objects.filter(pk=manager_id, is_active=True))
        if not recipients:
            recipients = list(
                User.objects.filter(is_active=True)
                .filter(models.Q(role=Role.ADMIN) | models.Q(is_superuser=True))
                .exclude(pk=actor_id or 0)
                .order_by("pk")
            )

        def asked() -> str:
            return _("%(actor)s submitted “%(name)s” for your approval.") % {"actor": who(), "name": label()}

        return [Planned(user, PLAN_SUBMITTED, asked, target, url) for user in recipients]
    submitter_id = getattr(target, "submitted_by_id", None)
    if submitter_id is None or submitter_id == actor_id:
        return []
    recipient = User.objects.filter(pk=submitter_id, is_active=True).first()
    if recipient is None:
        return []
    if event.verb == "targets.version.approved":

        def approved() -> str:
            return _("%(actor)s approved “%(name)s”; it is locked.") % {"actor": who(), "name": label()}

        return [Planned(recipient, PLAN_APPROVED, approved, target, url)]
    comment = str(data.get("comment") or "")[:200]

    def returned() -> str:
        values = {"actor": who(), "name": label(), "comment": comment}
        if comment:
            return _("%(actor)s returned “%(name)s” to draft: %(comment)s") % values
        return _("%(actor)s returned “%(name)s” to draft.") % values

    return [Planned(recipient, PLAN_RETURNED, returned, target, url)]


RULES["targets.version.submitted"] = plan_version_event
RULES["targets.version.approved"] = plan_version_event
RULES["targets.version.returned"] = plan_version_event


def commission_statement_event(event: AuditEvent) -> list[Planned]:
    """A commission statement was submitted: the rep's manager (the nearest other one), else
    every active administrator, never the one who submitted it. Approved: the rep, and the
    submitter when somebody else submitted it, never the approver."""
    from salesflow.notifications.kinds import STATEMENT_APPROVED, STATEMENT_SUBMITTED
    from salesflow.users.choices import Role

    target = _target(event)
    data: dict[str, Any] = event.data or {}
    rep_id = data.get("rep")
    if target is None or not isinstance(rep_id, int):
        return []
    actor_id = event.actor.pk if event.actor is not None else None
    period = str(data.get("period", ""))[:10]
    rep = User.objects.filter(pk=rep_id).first()
    rep_name = str(rep) if rep is not None else ""
    who = _actor_name(event)
    try:
        url = reverse("commissions:statement", args=[target.pk])
    except NoReverseMatch:
        url = ""
    values = {"rep": rep_name, "period": period}
    if event.verb == "commissions.statement.submitted":
        recipients = [m for m in _managers_of(rep_id) if m.pk != actor_id]
        if not recipients:
            recipients = list(
                User.objects.filter(is_active=True)
                .filter(models.Q(role=Role.ADMIN) | models.Q(is_superuser=True))
                .exclude(pk=actor_id or 0)
                .order_by("pk")
            )

        def asked() -> str:
            return _("%(actor)s submitted the commission statement of %(rep)s for %(period)s for your approval.") % {
                "actor": who(),
                **values,
            }

        return [Planned(user, STATEMENT_SUBMITTED, asked, target, url) for user in recipients]
    ids = [rep_id, getattr(target, "submitted_by_id", None)]
    wanted = [pk for pk in dict.fromkeys(ids) if isinstance(pk, int) and pk != actor_id]
    people = list(User.objects.filter(pk__in=wanted, is_active=True).order_by("pk"))

    def approved() -> str:
        return _("%(actor)s approved the commission statement of %(rep)s for %(period)s.") % {
            "actor": who(),
            **values,
        }

    return [Planned(user, STATEMENT_APPROVED, approved, target, url) for user in people]


RULES["commissions.statement.submitted"] = commission_statement_event
RULES["commissions.statement.approved"] = commission_statement_event


# --- issue 11 (forecasts): reminders, submissions and adjustments ------------------------------


def _forecast_url(name: str, node: str, period: str) -> str:
    from urllib.parse import urlencode

    try:
        return reverse(name) + "?" + urlencode({"node": node, "period": period} if node else {"period": period})
    except NoReverseMatch:
        return ""


def _period_label(key: str) -> str:
    from salesflow.core.periods import parse_period

    try:
        return parse_period(key).label
    except ValueError:
        return key


def forecast_reminder(event: AuditEvent) -> list[Planned]:
    """``forecasts.reminder.sent``: the person is told their forecast of the period is due."""
    from salesflow.notifications.kinds import FORECAST_DUE

    data: dict[str, Any] = event.data or {}
    target = _target(event)
    user_id, period, due = data.get("user"), str(data.get("period", "")), str(data.get("due", ""))[:10]
    if target is None or not isinstance(user_id, int) or not period:
        return []
    recipient = User.objects.filter(pk=user_id, is_active=True).first()
    if recipient is None:
        return []

    def summary() -> str:
        return _("Your forecast for %(period)s is due on %(due)s.") % {"period": _period_label(period), "due": due}

    return [Planned(recipient, FORECAST_DUE, summary, target, _forecast_url("forecasts:mine", "", period))]


def forecast_submitted(event: AuditEvent) -> list[Planned]:
    """``forecasts.submission.created``: the manager above the person whose forecast it is
    (their team's manager, or the nearest one above) — not the one who wrote it."""
    from salesflow.notifications.kinds import FORECAST_SUBMITTED

    data: dict[str, Any] = event.data or {}
    target = _target(event)
    node, period = str(data.get("node", "")), str(data.get("period", ""))
    kind, _sep, raw_id = node.partition(":")
    if target is None or kind != "rep" or not raw_id.isdigit():
        return []
    rep_id = int(raw_id)
    rep = User.objects.filter(pk=rep_id).first()
    managers = [m for m in _managers_of(rep_id) if m.pk != event.actor_id]
    if rep is None or not managers:
        return []
    commit = str(data.get("commit", ""))

    def summary() -> str:
        return _("%(person)s submitted their forecast for %(period)s: commit %(commit)s.") % {
            "person": rep,
            "period": _period_label(period),
            "commit": commit,
        }

    url = _forecast_url("forecasts:team", "", period)
    return [Planned(manager, FORECAST_SUBMITTED, summary, target, url) for manager in managers]


def forecast_adjusted(event: AuditEvent) -> list[Planned]:
    """``forecasts.adjustment.created`` on a team: the team's manager (the nearest one up the
    tree when the team has none) when someone else — a manager above or an administrator —
    made the adjustment. The company's adjustments notify nobody."""
    from salesflow.notifications.kinds import FORECAST_ADJUSTED
    from salesflow.users.models import Team

    data: dict[str, Any] = event.data or {}
    target = _target(event)
    node, period = str(data.get("node", "")), str(data.get("period", ""))
    kind, _sep, raw_id = node.partition(":")
    if target is None or kind != "team" or not raw_id.isdigit():
        return []
    team = Team.objects.filter(pk=int(raw_id)).first()
    name = str(team) if team is not None else node
    seen: set[int] = set()
    while team is not None and team.manager_id is None and team.pk not in seen:
        seen.add(team.pk)
        team = Team.objects.filter(pk=team.parent_id).first() if team.parent_id else None
    if team is None or team.manager_id is None or team.manager_id == event.actor_id:
        return []
    recipient = User.objects.filter(pk=team.manager_id, is_active=True).first()
    if recipient is None:
        return []
    actor = _actor_name(event)
    commit = str(data.get("commit", ""))

    def summary() -> str:
        return _("%(actor)s adjusted the forecast of %(team)s for %(period)s: commit %(commit)s.") % {
            "actor": actor(),
            "team": name,
            "period": _period_label(period),
            "commit": commit,
        }

    return [Planned(recipient, FORECAST_ADJUSTED, summary, target, _forecast_url("forecasts:team", node, period))]


RULES["forecasts.reminder.sent"] = forecast_reminder
RULES["forecasts.submission.created"] = forecast_submitted
RULES["forecasts.adjustment.created"] = forecast_adjusted
