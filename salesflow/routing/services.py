"""Writes of lead capture and assignment: web-to-lead forms and their submissions,
assignment rules, working hours, first-response SLAs, the assignment engine the intake
check runs, and the SLA escalation job.

Guarantees:

- Configuration writes (forms, rules, hours, SLAs) need ``can_configure_routing`` (else
  ``Forbidden``), validate everything before writing (``ValidationFailed`` naming the
  field, nothing written) and audit a ``routing.*`` event in the same transaction.
- A form submission creates its lead only through ``leads.services.lead_create`` as the
  system actor without an owner (``intake_options={"via": "webform", …}``), so every intake
  check applies; the consent text, time and address are stored with it in the same
  transaction. A filled honeypot is accepted silently and writes nothing.
- The assignment engine evaluates active rules in ``position`` order; the rule row is locked
  (``SELECT … FOR UPDATE``) while it picks, so two concurrent leads never get the same
  round-robin turn and load-balancing never exceeds a capacity.
- Working hours: a rule that respects them only considers users on duty now (their own
  hours, else the rule's hours, else always on duty). When nobody is on duty the rule is
  skipped and the next rule is tried; when no rule assigns, the lead stays unassigned
  (visible to managers) — it is not held for the next shift.
- The SLA job escalates a lead at most once (``SlaClock.escalated_at`` is set in the same
  transaction as the event).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, TypedDict, Unpack
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.activities.models import Activity
from salesflow.core.audit import changed_fields, record_event
from salesflow.core.changes import refuse_unknown_fields
from salesflow.core.clientip import client_ip
from salesflow.core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from salesflow.core.intake import Intake
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_create
from salesflow.parties.choices import SUB_CHANNELS_BY_SOURCE, Industry, SourceChannel, SubChannel
from salesflow.routing.models import (
    CAMPAIGN_LENGTH,
    CONSENT_LENGTH,
    FORM_FIELDS,
    MESSAGE_LENGTH,
    NAME_LENGTH,
    ORIGINS_LENGTH,
    REASON_LENGTH,
    URL_LENGTH,
    AssignmentRule,
    FirstResponseSla,
    FormSubmission,
    HistoryStrategy,
    LeadAssignment,
    LeadCaptureForm,
    SlaClock,
    Strategy,
    WorkingHours,
)
from salesflow.routing.permissions import can_configure_routing
from salesflow.users.choices import Role
from salesflow.users.models import Team, Territory, User
from salesflow.users.permissions import is_system_actor
from salesflow.users.services import system_actor

logger = logging.getLogger(__name__)

OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
SLA_BATCH = 500
#: the longest value a public form accepts for any field (the lead's own limits are smaller)
PUBLIC_VALUE_LENGTH = 2000


def _require_admin(actor: User) -> None:
    if not can_configure_routing(actor):
        raise Forbidden(_("Only administrators configure lead capture and assignment."))


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _text(values: dict[str, Any], key: str, max_length: int, errors: dict[str, list[str]]) -> str:
    raw = values.get(key)
    value = "" if raw is None else str(raw)
    value = value.strip()
    if "\x00" in value:
        _add(errors, key, _("Null characters are not allowed."))
    elif len(value) > max_length:
        _add(errors, key, _("Use at most %(max)d characters.") % {"max": max_length})
    return value


def _channels(values: dict[str, Any], errors: dict[str, list[str]], *, required: bool) -> None:
    source = values.get("source_channel", "")
    sub = values.get("sub_channel", "")
    if not source:
        if required:
            _add(errors, "source_channel", _("This field is required."))
    elif source not in SourceChannel.values:
        _add(errors, "source_channel", _("Choose a valid source channel."))
    if sub:
        if sub not in SubChannel.values:
            _add(errors, "sub_channel", _("Choose a valid sub-channel."))
        elif not source:
            _add(errors, "sub_channel", _("Choose the source channel of this sub-channel."))
        elif source in SourceChannel.values and sub not in SUB_CHANNELS_BY_SOURCE[source]:
            _add(errors, "sub_channel", _("This sub-channel does not belong to the chosen source channel."))


# --- web-to-lead forms -----------------------------------------------------------------------


class FormValues(TypedDict, total=False):
    """The fields of a web-to-lead form ``form_create``/``form_update`` accept."""

    name: str
    source_channel: str
    sub_channel: str
    campaign: str
    fields: list[str]
    required_fields: list[str]
    title: str
    intro: str
    consent_text: str
    thank_you_message: str
    redirect_url: str
    allowed_origins: str | list[str]
    is_active: bool


FORM_EDITABLE = frozenset(FormValues.__annotations__)


def valid_redirect_url(url: str) -> bool:
    """An absolute ``http``/``https`` URL with a host (no ``javascript:``, no relative URL)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in url)


def normalize_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case for an http/https origin, else ``None``."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return None
    host = parts.hostname.lower()
    if any(c in host for c in " ;,'\"*"):
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _clean_form(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    out["name"] = _text(values, "name", NAME_LENGTH, errors)
    if not out["name"] and "name" not in errors:
        _add(errors, "name", _("This field is required."))
    out["source_channel"] = _text(values, "source_channel", 20, errors)
    out["sub_channel"] = _text(values, "sub_channel", 30, errors)
    _channels(out, errors, required=True)
    out["campaign"] = _text(values, "campaign", CAMPAIGN_LENGTH, errors)
    out["title"] = _text(values, "title", NAME_LENGTH, errors)
    out["intro"] = _text(values, "intro", MESSAGE_LENGTH, errors)
    out["consent_text"] = _text(values, "consent_text", CONSENT_LENGTH, errors)
    out["thank_you_message"] = _text(values, "thank_you_message", MESSAGE_LENGTH, errors)
    out["redirect_url"] = _text(values, "redirect_url", URL_LENGTH, errors)
    if out["redirect_url"] and "redirect_url" not in errors and not valid_redirect_url(out["redirect_url"]):
        _add(errors, "redirect_url", _("Enter an absolute http:// or https:// address."))
    for key in ("fields", "required_fields"):
        raw = values.get(key) or []
        if not isinstance(raw, list | tuple) or not all(isinstance(x, str) for x in raw):
            _add(errors, key, _("Choose fields from the list."))
            raw = []
        unknown = [x for x in raw if x not in FORM_FIELDS]
        if unknown:
            _add(errors, key, _("Unknown fields: %(fields)s.") % {"fields": ", ".join(x[:30] for x in unknown[:5])})
        out[key] = [name for name in FORM_FIELDS if name in raw]
    if "name" not in out["fields"]:
        out["fields"] = ["name", *out["fields"]]
    if "name" not in out["required_fields"]:
        out["required_fields"] = ["name", *out["required_fields"]]
    if not set(out["required_fields"]) <= set(out["fields"]):
        _add(errors, "required_fields", _("A required field must also be shown."))
    if not {"mobile", "phone", "email", "wechat"} & set(out["fields"]):
        _add(errors, "fields", _("Show at least one way to reach the visitor: mobile, phone, email or WeChat ID."))
    origins_raw = values.get("allowed_origins") or ""
    if isinstance(origins_raw, list | tuple):
        origins_raw = "\n".join(str(x) for x in origins_raw)
    origin_errors: dict[str, list[str]] = {}
    origins_text = _text({"allowed_origins": origins_raw}, "allowed_origins", ORIGINS_LENGTH, origin_errors)
    for message in origin_errors.get("allowed_origins", []):
        _add(errors, "allowed_origins", message)
    origins: list[str] = []
    for line in origins_text.replace(",", "\n").split():
        origin = normalize_origin(line)
        if origin is None:
            _add(
                errors,
                "allowed_origins",
                _("“%(origin)s” is not an origin like https://www.example.com.") % {"origin": line[:80]},
            )
        elif origin not in origins:
            origins.append(origin)
    out["allowed_origins"] = "\n".join(origins)
    active = values.get("is_active", True)
    if not isinstance(active, bool):
        _add(errors, "is_active", _("Enter true or false."))
    out["is_active"] = bool(active)
    if errors:
        raise ValidationFailed(_("The form could not be saved."), field_errors=errors)
    return out


def _form_snapshot(form: LeadCaptureForm) -> dict[str, Any]:
    return {key: getattr(form, key) for key in FORM_EDITABLE}


@transaction.atomic
def form_create(*, actor: User, **values: Unpack[FormValues]) -> LeadCaptureForm:
    """Add a web-to-lead form with a new unguessable token. Administrators only."""
    _require_admin(actor)
    refuse_unknown_fields(values, FORM_EDITABLE, _("The form could not be saved."))
    clean = _clean_form(dict(values))
    form = LeadCaptureForm.objects.create(created_by=None if is_system_actor(actor) else actor, **clean)
    record_event(
        actor=actor,
        verb="routing.form.created",
        target=form,
        data={"name": form.name, "source_channel": form.source_channel, "campaign": form.campaign},
    )
    return form


@transaction.atomic
def form_update(*, actor: User, form: LeadCaptureForm, **changes: Unpack[FormValues]) -> LeadCaptureForm:
    """Change the given fields of ``form`` (the token never changes)."""
    _require_admin(actor)
    refuse_unknown_fields(changes, FORM_EDITABLE, _("The form could not be saved."))
    current = LeadCaptureForm.objects.select_for_update().get(pk=form.pk)
    before = _form_snapshot(current)
    merged: dict[str, Any] = {**before, **changes}
    clean = _clean_form(merged)
    for key, value in clean.items():
        setattr(current, key, value)
    diff = changed_fields(before, _form_snapshot(current))
    if diff:
        current.save()
        record_event(actor=actor, verb="routing.form.updated", target=current, data={"changes": diff})
    for key in clean:
        setattr(form, key, getattr(current, key))
    return form


@transaction.atomic
def form_delete(*, actor: User, form: LeadCaptureForm) -> None:
    """Delete ``form`` (its submissions go with it; the leads stay)."""
    _require_admin(actor)
    record_event(actor=actor, verb="routing.form.deleted", target=form, data={"name": form.name})
    form.delete()


def client_address(meta: Mapping[str, Any]) -> str | None:
    """The submitter's address for the rate limit and the consent record:
    ``core.clientip.client_ip`` — ``REMOTE_ADDR``, or the rightmost address of
    ``X-Forwarded-For`` that is not a proxy of ``SALESFLOW_TRUSTED_PROXIES`` when the
    request came through one. ``None`` when there is no valid address."""
    return client_ip(meta)


def _rate_setting(name: str, default: int) -> int:
    try:
        return max(int(getattr(settings, name, default)), 0)
    except (TypeError, ValueError):
        return default


def submission_allowed(form: LeadCaptureForm, address: str | None) -> bool:
    """Count one submission attempt for the address and for the form in the current window
    (Django cache, ``ROUTING_FORM_RATE_WINDOW`` seconds); ``False`` once either exceeds its
    limit (``ROUTING_FORM_RATE_PER_IP``, ``ROUTING_FORM_RATE_PER_FORM``; 0 = no limit)."""
    window = _rate_setting("ROUTING_FORM_RATE_WINDOW", 3600) or 3600
    slot = int(timezone.now().timestamp() // window)
    checks = [
        (f"routing:rate:form:{form.pk}:{slot}", _rate_setting("ROUTING_FORM_RATE_PER_FORM", 300)),
        (f"routing:rate:ip:{address or 'unknown'}:{slot}", _rate_setting("ROUTING_FORM_RATE_PER_IP", 10)),
    ]
    allowed = True
    for key, limit in checks:
        if not limit:
            continue
        cache.add(key, 0, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            count = 1
        if count > limit:
            allowed = False
    return allowed


@dataclass(frozen=True)
class SubmitResult:
    """What a submission did: the lead created (``None`` for spam or a refused duplicate)."""

    lead: Lead | None
    spam: bool = False


def form_submit(
    *,
    form: LeadCaptureForm,
    data: Mapping[str, Any],
    consent: bool,
    honeypot: str = "",
    address: str | None = None,
    user_agent: str = "",
) -> SubmitResult:
    """Capture a lead from a public submission of ``form``.

    Only the form's shown fields are read from ``data`` (anything else is ignored); a value
    with a NUL character, longer than the lead allows, or a missing required value is a
    ``ValidationFailed`` naming the field, nothing written. With a consent text the box must
    be ticked (``consent`` field). A non-empty ``honeypot`` returns ``spam=True`` and writes
    nothing. An inactive form raises ``Conflict``. The lead is created by the system actor,
    unassigned, stamped with the form's channel and campaign; the intake checks then run
    (``via="webform"``); a check that refuses the lead (e.g. a known customer's record)
    makes the result ``lead=None`` without an error to the visitor.
    """
    if not form.is_active:
        raise Conflict(_("This form no longer accepts submissions."), code="inactive")
    if honeypot.strip():
        return SubmitResult(lead=None, spam=True)
    errors: dict[str, list[str]] = {}
    lengths = {f.name: f.max_length for f in Lead._meta.concrete_fields if f.max_length}
    values: dict[str, str] = {}
    for key in form.fields:
        if key not in FORM_FIELDS:
            continue
        raw = data.get(key, "")
        value = (raw if isinstance(raw, str) else "").strip()
        limit = lengths.get(key) or PUBLIC_VALUE_LENGTH
        if "\x00" in value:
            _add(errors, key, _("Null characters are not allowed."))
        elif len(value) > limit:
            _add(errors, key, _("Use at most %(max)d characters.") % {"max": limit})
        elif not value and key in form.required_fields:
            _add(errors, key, _("This field is required."))
        values[key] = value
    if form.consent_text and not consent:
        _add(errors, "consent", _("Please tick the box to agree."))
    if errors:
        raise ValidationFailed(_("Please correct the errors below."), field_errors=errors)
    now = timezone.now()
    # A visitor cannot answer a duplicate warning: the lead is saved and flagged ("save anyway").
    options = {"via": "webform", "form_id": form.pk, "duplicate_reason": "web-to-lead form"}
    try:
        with transaction.atomic():
            lead = lead_create(
                actor=system_actor(),
                owner=None,
                source_channel=form.source_channel,
                sub_channel=form.sub_channel,
                campaign=form.campaign,
                intake_options=options,
                **values,  # type: ignore[arg-type]
            )
            FormSubmission.objects.create(
                form=form,
                lead=lead,
                consent_text=form.consent_text if form.consent_text else "",
                consented_at=now if form.consent_text else None,
                ip_address=address,
                user_agent=user_agent[:300].replace("\x00", ""),
                submitted_at=now,
            )
            record_event(
                actor=system_actor(),
                verb="routing.form.submitted",
                target=lead,
                data={"form_id": form.pk, "form": form.name, "consent": bool(form.consent_text)},
            )
    except ValidationFailed as exc:
        shown = set(form.fields)
        errors = {}
        for key, messages in exc.field_errors.items():
            for message in messages:
                _add(errors, key if key in shown else "__all__", message)
        raise ValidationFailed(_("Please correct the errors below."), field_errors=errors) from exc
    except Conflict:
        logger.info("web form %s: a submission was refused by an intake check", form.pk)
        return SubmitResult(lead=None)
    return SubmitResult(lead=lead)


# --- assignment rules ------------------------------------------------------------------------


class RuleValues(TypedDict, total=False):
    """The fields of an assignment rule ``rule_create``/``rule_update`` accept."""

    name: str
    position: int
    is_active: bool
    territory: Territory | None
    industry: str
    source_channel: str
    campaign_contains: str
    strategy: str
    user: User | None
    team: Team | None
    members: list[User]
    capacity: int | None
    respect_working_hours: bool


RULE_EDITABLE = frozenset(RuleValues.__annotations__)


def _assignable(user: User) -> bool:
    return bool(user.is_active and not is_system_actor(user) and user.role in (Role.REP, Role.MANAGER, Role.ADMIN))


def _clean_rule(values: dict[str, Any], kept: frozenset[int] = frozenset()) -> dict[str, Any]:
    """Validate a rule's full set of values; ``kept`` are members already on the rule (they
    may have become inactive since: they stay, and are skipped when assigning)."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    out["name"] = _text(values, "name", NAME_LENGTH, errors)
    if not out["name"] and "name" not in errors:
        _add(errors, "name", _("This field is required."))
    position = values.get("position")
    if position is not None and (
        not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= 100_000
    ):
        _add(errors, "position", _("Enter a whole number between 0 and 100000."))
    out["position"] = position
    out["industry"] = _text(values, "industry", 30, errors)
    if out["industry"] and out["industry"] not in Industry.values:
        _add(errors, "industry", _("Choose a valid industry."))
    out["source_channel"] = _text(values, "source_channel", 20, errors)
    if out["source_channel"] and out["source_channel"] not in SourceChannel.values:
        _add(errors, "source_channel", _("Choose a valid source channel."))
    out["campaign_contains"] = _text(values, "campaign_contains", CAMPAIGN_LENGTH, errors)
    out["territory"] = values.get("territory")
    out["strategy"] = str(values.get("strategy") or "")
    if out["strategy"] not in Strategy.values:
        _add(errors, "strategy", _("Choose a valid strategy."))
    out["user"] = values.get("user")
    out["team"] = values.get("team")
    members = list(values.get("members") or [])
    out["members"] = members
    capacity = values.get("capacity")
    if capacity is not None and (
        not isinstance(capacity, int) or isinstance(capacity, bool) or not 1 <= capacity <= 100_000
    ):
        _add(errors, "capacity", _("Enter a whole number between 1 and 100000."))
    out["capacity"] = capacity
    for key in ("is_active", "respect_working_hours"):
        flag = values.get(key, key == "is_active")
        if not isinstance(flag, bool):
            _add(errors, key, _("Enter true or false."))
        out[key] = bool(flag)
    strategy = out["strategy"]
    if strategy == Strategy.USER:
        if out["user"] is None:
            _add(errors, "user", _("Choose the user who gets the leads."))
        elif not _assignable(out["user"]):
            _add(errors, "user", _("Choose an active sales user."))
        out["team"], out["members"], out["capacity"] = None, [], None
    elif strategy in (Strategy.ROUND_ROBIN, Strategy.LOAD_BALANCED):
        out["user"] = None
        if out["team"] is None and not members:
            _add(errors, "members", _("Choose a team or some users to share the leads."))
        if out["team"] is not None and members:
            _add(errors, "members", _("Choose a team or a list of users, not both."))
        if any(not _assignable(m) for m in members if m.pk not in kept):
            _add(errors, "members", _("Choose active sales users only."))
        if strategy == Strategy.LOAD_BALANCED and out["capacity"] is None:
            _add(errors, "capacity", _("Give each rep's capacity (open leads)."))
        if strategy == Strategy.ROUND_ROBIN:
            out["capacity"] = None if out["capacity"] is None else out["capacity"]
    if errors:
        raise ValidationFailed(_("The rule could not be saved."), field_errors=errors)
    return out


def _rule_snapshot(rule: AssignmentRule, member_ids: Iterable[int]) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "territory": rule.territory_id,
        "industry": rule.industry,
        "source_channel": rule.source_channel,
        "campaign_contains": rule.campaign_contains,
        "strategy": rule.strategy,
        "user": rule.user_id,
        "team": rule.team_id,
        "members": sorted(member_ids),
        "capacity": rule.capacity,
        "respect_working_hours": rule.respect_working_hours,
    }


@transaction.atomic
def rule_create(*, actor: User, **values: Unpack[RuleValues]) -> AssignmentRule:
    """Add an assignment rule (at the end unless ``position`` is given). Administrators only."""
    _require_admin(actor)
    refuse_unknown_fields(values, RULE_EDITABLE, _("The rule could not be saved."))
    clean = _clean_rule(dict(values))
    members = clean.pop("members")
    if clean["position"] is None:
        last = AssignmentRule.objects.aggregate(m=Max("position"))["m"]
        clean["position"] = (last or 0) + 10
    rule = AssignmentRule.objects.create(**clean)
    rule.members.set(members)
    record_event(
        actor=actor,
        verb="routing.rule.created",
        target=rule,
        data={"name": rule.name, "strategy": rule.strategy, "position": rule.position},
    )
    return rule


@transaction.atomic
def rule_update(*, actor: User, rule: AssignmentRule, **changes: Unpack[RuleValues]) -> AssignmentRule:
    """Change the given fields of ``rule`` (changing its members keeps the round-robin turn)."""
    _require_admin(actor)
    refuse_unknown_fields(changes, RULE_EDITABLE, _("The rule could not be saved."))
    current = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    members_before = list(current.members.all())
    before = _rule_snapshot(current, (m.pk for m in members_before))
    merged: dict[str, Any] = {
        "name": current.name,
        "position": current.position,
        "is_active": current.is_active,
        "territory": current.territory,
        "industry": current.industry,
        "source_channel": current.source_channel,
        "campaign_contains": current.campaign_contains,
        "strategy": current.strategy,
        "user": current.user,
        "team": current.team,
        "members": members_before,
        "capacity": current.capacity,
        "respect_working_hours": current.respect_working_hours,
    }
    merged.update(changes)
    if "strategy" in changes and changes["strategy"] == Strategy.USER:
        merged.setdefault("user", None)
    clean = _clean_rule(merged, frozenset(m.pk for m in members_before))
    members = clean.pop("members")
    if clean["position"] is None:
        clean["position"] = current.position
    for key, value in clean.items():
        setattr(current, key, value)
    diff = changed_fields(before, _rule_snapshot(current, (m.pk for m in members)))
    if diff:
        current.save()
        current.members.set(members)
        record_event(actor=actor, verb="routing.rule.updated", target=current, data={"changes": diff})
    rule.refresh_from_db()
    return rule


@transaction.atomic
def rule_delete(*, actor: User, rule: AssignmentRule) -> None:
    """Delete ``rule`` (the history rows keep its name)."""
    _require_admin(actor)
    record_event(actor=actor, verb="routing.rule.deleted", target=rule, data={"name": rule.name})
    rule.delete()


@transaction.atomic
def rule_move(*, actor: User, rule: AssignmentRule, direction: str) -> list[AssignmentRule]:
    """Move ``rule`` one place ``up`` or ``down`` in the evaluation order; positions are
    renumbered 10, 20, 30… Returns the rules in their new order."""
    _require_admin(actor)
    if direction not in ("up", "down"):
        raise ValidationFailed(_("Move up or down."), field_errors={"direction": [_("Move up or down.")]})
    rules = list(AssignmentRule.objects.select_for_update().order_by("position", "id"))
    index = next((i for i, r in enumerate(rules) if r.pk == rule.pk), None)
    if index is None:
        raise Conflict(_("This rule no longer exists."), code="gone")
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(rules):
        rules[index], rules[other] = rules[other], rules[index]
    for number, row in enumerate(rules, start=1):
        if row.position != number * 10:
            old = row.position
            row.position = number * 10
            row.save(update_fields=["position", "updated_at"])
            record_event(
                actor=actor,
                verb="routing.rule.updated",
                target=row,
                data={"changes": {"position": [old, row.position]}},
            )
    return rules


# --- working hours ---------------------------------------------------------------------------


def _clean_hours(weekdays: str, start: time | None, end: time | None) -> str:
    errors: dict[str, list[str]] = {}
    days = "".join(sorted(set(str(weekdays or ""))))
    if not days or any(c not in "1234567" for c in days):
        _add(errors, "weekdays", _("Choose at least one weekday."))
    if not isinstance(start, time):
        _add(errors, "start", _("Enter a time."))
    if not isinstance(end, time):
        _add(errors, "end", _("Enter a time."))
    if isinstance(start, time) and isinstance(end, time) and start == end:
        _add(errors, "end", _("The end must differ from the start."))
    if errors:
        raise ValidationFailed(_("The working hours could not be saved."), field_errors=errors)
    return days


@transaction.atomic
def working_hours_add(
    *,
    actor: User,
    weekdays: str,
    start: time | None,
    end: time | None,
    user: User | None = None,
    rule: AssignmentRule | None = None,
) -> WorkingHours:
    """Add working hours for ``user`` or for ``rule`` (exactly one). An end before the start
    spans midnight (e.g. 22:00–06:00)."""
    _require_admin(actor)
    if (user is None) == (rule is None):
        raise ValidationFailed(_("Choose a user or a rule."), field_errors={"user": [_("Choose a user or a rule.")]})
    days = _clean_hours(weekdays, start, end)
    assert start is not None and end is not None
    row = WorkingHours.objects.create(user=user, rule=rule, weekdays=days, start=start, end=end)
    record_event(
        actor=actor,
        verb="routing.hours.saved",
        target=row,
        data={
            "user_id": row.user_id,
            "rule_id": row.rule_id,
            "weekdays": days,
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
        },
    )
    return row


@transaction.atomic
def working_hours_delete(*, actor: User, hours: WorkingHours) -> None:
    """Delete one working-hours row."""
    _require_admin(actor)
    record_event(actor=actor, verb="routing.hours.deleted", target=hours, data={"weekdays": hours.weekdays})
    hours.delete()


# --- first-response SLAs ---------------------------------------------------------------------


@transaction.atomic
def sla_save(
    *,
    actor: User,
    source_channel: str,
    sub_channel: str = "",
    minutes: int,
    is_active: bool = True,
    sla: FirstResponseSla | None = None,
) -> FirstResponseSla:
    """Add (``sla=None``) or change a first-response SLA. One per source channel and
    sub-channel: a second one is a ``Conflict`` on ``source_channel``."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    values = {"source_channel": (source_channel or "").strip(), "sub_channel": (sub_channel or "").strip()}
    _channels(values, errors, required=True)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 525_600:
        _add(errors, "minutes", _("Enter a number of minutes between 1 and 525600."))
    if not isinstance(is_active, bool):
        _add(errors, "is_active", _("Enter true or false."))
    if errors:
        raise ValidationFailed(_("The SLA could not be saved."), field_errors=errors)
    clash = FirstResponseSla.objects.filter(**values)
    if sla is not None:
        clash = clash.exclude(pk=sla.pk)
    if clash.exists():
        message = _("There is already an SLA for this source.")
        raise Conflict(message, code="duplicate", field_errors={"source_channel": [message]})
    row = sla if sla is not None else FirstResponseSla()
    row.source_channel = values["source_channel"]
    row.sub_channel = values["sub_channel"]
    row.minutes = minutes
    row.is_active = is_active
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as exc:  # a concurrent save of the same source
        message = _("There is already an SLA for this source.")
        raise Conflict(message, code="duplicate", field_errors={"source_channel": [message]}) from exc
    record_event(
        actor=actor,
        verb="routing.sla.saved",
        target=row,
        data={
            "source_channel": row.source_channel,
            "sub_channel": row.sub_channel,
            "minutes": row.minutes,
            "is_active": row.is_active,
        },
    )
    return row


@transaction.atomic
def sla_delete(*, actor: User, sla: FirstResponseSla) -> None:
    """Delete an SLA (running clocks keep their due time)."""
    _require_admin(actor)
    record_event(
        actor=actor,
        verb="routing.sla.deleted",
        target=sla,
        data={"source_channel": sla.source_channel, "sub_channel": sla.sub_channel},
    )
    sla.delete()


def sla_for(source_channel: str, sub_channel: str) -> FirstResponseSla | None:
    """The active SLA of a source: the sub-channel's own, else the channel's general one."""
    rows = {
        row.sub_channel: row
        for row in FirstResponseSla.objects.filter(
            source_channel=source_channel, sub_channel__in={sub_channel, ""}, is_active=True
        )
    }
    return rows.get(sub_channel) or rows.get("")


# --- the assignment engine -------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What the rules decided for a lead: the rule, the new owner, the strategy and why."""

    rule: AssignmentRule
    owner: User
    strategy: str
    reason: str


def _now() -> datetime:
    """The current time (one place, so tests can stop the clock)."""
    return timezone.now()


def _local_now(now: datetime | None) -> datetime:
    return timezone.localtime(now or _now(), timezone.get_default_timezone())


def hours_cover(rows: Sequence[WorkingHours], moment: datetime) -> bool:
    """Whether any of ``rows`` covers the local ``moment`` (an end before the start spans
    midnight: the late part counts for the start's weekday)."""
    day = str(moment.isoweekday())
    previous = str((moment - timedelta(days=1)).isoweekday())
    clock = moment.time()
    for row in rows:
        if row.start < row.end:
            if day in row.weekdays and row.start <= clock < row.end:
                return True
        elif (day in row.weekdays and clock >= row.start) or (previous in row.weekdays and clock < row.end):
            return True
    return False


def _territory_subtree(root_id: int, parents: dict[int, int | None]) -> set[int]:
    found = {root_id}
    changed = True
    while changed:
        changed = False
        for pk, parent in parents.items():
            if parent in found and pk not in found:
                found.add(pk)
                changed = True
    return found


def _matches(rule: AssignmentRule, values: Mapping[str, Any], parents: dict[int, int | None] | None) -> bool:
    if rule.source_channel and values.get("source_channel") != rule.source_channel:
        return False
    if rule.industry and values.get("industry") != rule.industry:
        return False
    if rule.campaign_contains and rule.campaign_contains.casefold() not in str(values.get("campaign") or "").casefold():
        return False
    if rule.territory_id is not None:
        region = values.get("region")
        region_id = getattr(region, "pk", region)
        if region_id is None or parents is None:
            return False
        if region_id not in _territory_subtree(rule.territory_id, parents):
            return False
    return True


def _candidates(rule: AssignmentRule) -> list[User]:
    if rule.strategy == Strategy.USER:
        users = [rule.user] if rule.user is not None else []
    elif rule.team_id is not None:
        users = list(User.objects.filter(team_id=rule.team_id).order_by("id"))
    else:
        users = sorted(rule.members.all(), key=lambda u: u.pk)
    return [u for u in users if _assignable(u)]


def _on_duty(rule: AssignmentRule, users: list[User], moment: datetime) -> list[User]:
    if not rule.respect_working_hours or not users:
        return users
    own: dict[int, list[WorkingHours]] = {}
    for row in WorkingHours.objects.filter(user_id__in=[u.pk for u in users]):
        own.setdefault(row.user_id or 0, []).append(row)
    shared = list(WorkingHours.objects.filter(rule=rule))
    on_duty = []
    for user in users:
        rows = own.get(user.pk) or shared
        if not rows or hours_cover(rows, moment):
            on_duty.append(user)
    return on_duty


def open_lead_counts(user_ids: Iterable[int]) -> dict[int, int]:
    """Open (new, contacted, qualified) leads held per user (``lead_owner_created_idx``)."""
    rows = (
        Lead.objects.filter(owner_id__in=list(user_ids), status__in=OPEN_STATUSES)
        .values("owner_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["owner_id"]: row["n"] for row in rows}


def _pick(rule: AssignmentRule, users: list[User]) -> tuple[User, str] | None:
    if rule.strategy == Strategy.USER:
        return (users[0], "") if users else None
    if rule.strategy == Strategy.ROUND_ROBIN:
        if not users:
            return None
        last = rule.last_user_id or 0
        chosen = next((u for u in users if u.pk > last), users[0])
        return chosen, ""
    counts = open_lead_counts(u.pk for u in users)
    capacity = rule.capacity or 0
    free = [(counts.get(u.pk, 0), u.pk, u) for u in users if counts.get(u.pk, 0) < capacity]
    if not free:
        return None
    held, _pk, chosen = min(free, key=lambda item: (item[0], item[1]))
    return chosen, f"{held}/{capacity}"  # open leads held before / capacity (the page words it)


def choose_owner(values: Mapping[str, Any], *, now: datetime | None = None, preview: bool = False) -> Decision | None:
    """Evaluate the active rules in order for a lead with ``values`` (``source_channel``,
    ``industry``, ``campaign``, ``region``) and return the first decision, or ``None``.

    Outside ``preview`` the chosen rule's row is locked until the transaction ends and the
    round-robin turn is advanced; ``preview`` (the settings page's dry run) writes nothing.
    """
    rules = list(
        AssignmentRule.objects.filter(is_active=True).select_related("user", "territory").order_by("position", "id")
    )
    if not rules:
        return None
    parents: dict[int, int | None] | None = None
    if any(r.territory_id for r in rules):
        parents = dict(Territory.objects.values_list("pk", "parent_id"))
    moment = _local_now(now)
    for rule in rules:
        if not _matches(rule, values, parents):
            continue
        if not preview:
            rule = AssignmentRule.objects.select_for_update(of=("self",)).select_related("user").get(pk=rule.pk)
        users = _on_duty(rule, _candidates(rule), moment)
        picked = _pick(rule, users)
        if picked is None:
            continue
        owner, reason = picked
        if rule.strategy == Strategy.ROUND_ROBIN and not preview:
            rule.last_user_id = owner.pk
            rule.save(update_fields=["last_user_id"])
        return Decision(rule=rule, owner=owner, strategy=rule.strategy, reason=reason)
    return None


# --- history and SLA clocks (run by the intake check) ----------------------------------------


def record_assignment(
    *,
    lead: Lead,
    owner: User | None,
    previous_owner_id: int | None,
    strategy: str,
    by: User | None,
    rule: AssignmentRule | None = None,
    reason: str = "",
    created: bool = False,
) -> LeadAssignment:
    """Append a line to the lead's assignment history and (re)start its first-response clock
    when the lead is still new and an SLA covers its source."""
    row = LeadAssignment.objects.create(
        lead=lead,
        owner=owner,
        previous_owner_id=previous_owner_id,
        rule=rule,
        rule_name=rule.name if rule else "",
        strategy=strategy,
        by=by,
        reason=reason[:REASON_LENGTH],
    )
    if owner is not None and lead.status == LeadStatus.NEW:
        _start_clock(lead, owner, row.at, created=created)
    return row


def _start_clock(lead: Lead, owner: User, at: datetime, *, created: bool = False) -> None:
    """Start (or restart) the lead's first-response clock; ``created``: the lead was just
    inserted, so it has no clock yet (one insert, no lookup — imports run this per row)."""
    sla = sla_for(lead.source_channel, lead.sub_channel)
    if sla is None:
        return
    if created:
        due = at + timedelta(minutes=sla.minutes)
        SlaClock.objects.create(lead=lead, sla=sla, owner=owner, started_at=at, due_at=due)
        return
    clock = SlaClock.objects.filter(lead=lead).first()
    if clock is not None and (clock.escalated_at is not None or clock.responded_at is not None):
        return
    due = at + timedelta(minutes=sla.minutes)
    SlaClock.objects.update_or_create(lead=lead, defaults={"sla": sla, "owner": owner, "started_at": at, "due_at": due})


def lead_responded(lead_ids: Iterable[int]) -> dict[int, datetime]:
    """When each lead had its first response: its first done activity (``activity_lead_idx``)."""
    rows = (
        Activity.objects.filter(lead_id__in=list(lead_ids), done=True)
        .values("lead_id")
        .annotate(first=Min("done_at"))
        .order_by()
    )
    return {row["lead_id"]: row["first"] or timezone.now() for row in rows}


def escalate_missed_slas(*, now: datetime | None = None, batch: int = SLA_BATCH) -> int:
    """The ``routing.first_response_sla`` job: every assigned lead whose clock is due and
    has neither a response nor an escalation yet (``routing_clock_open_due_idx``), in batches
    of ``batch`` by id. A lead that did respond (left "new" or has a done activity) gets its
    ``responded_at``; one that did not is escalated once: ``escalated_at`` and the audit
    event ``routing.lead.sla_missed`` (→ a notification to the owner's manager) in one
    transaction. Unassigned leads wait. Returns the number of escalations."""
    moment = now or _now()
    actor = system_actor()
    escalated = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            clocks = list(
                SlaClock.objects.select_for_update(of=("self",))
                .filter(responded_at__isnull=True, escalated_at__isnull=True, due_at__lte=moment, pk__gt=last_pk)
                .select_related("lead", "sla")
                .order_by("pk")[:batch]
            )
            if not clocks:
                break
            last_pk = clocks[-1].pk
            responded = lead_responded(c.lead_id for c in clocks)
            for clock in clocks:
                lead = clock.lead
                if lead.status != LeadStatus.NEW or lead.pk in responded:
                    clock.responded_at = responded.get(lead.pk, moment)
                    clock.save(update_fields=["responded_at"])
                    continue
                if lead.owner_id is None:
                    continue
                clock.escalated_at = moment
                clock.owner_id = lead.owner_id
                clock.save(update_fields=["escalated_at", "owner"])
                minutes = int((clock.due_at - clock.started_at).total_seconds() // 60)
                record_event(
                    actor=actor,
                    verb="routing.lead.sla_missed",
                    target=lead,
                    data={
                        "owner": lead.owner_id,
                        "minutes": minutes,
                        "due_at": clock.due_at.isoformat(),
                        "source_channel": lead.source_channel,
                    },
                )
                escalated += 1
    return escalated


# --- the intake check ------------------------------------------------------------------------

FINDING = "assignment"


def assignment_before(intake: Intake) -> None:
    """Intake check ``assignment`` (order 40), before the save.

    On create/import: a lead still without an owner after the earlier checks gets one from
    the rules (the decision is kept in ``intake.findings``). On update/claim: the previous
    owner is noted so the after hook can record a change of hands.
    """
    if intake.action in ("create", "import"):
        owner = intake.values.get("owner")
        if owner is not None:
            routed = bool(intake.findings)
            intake.findings.append({"code": FINDING, "preset": True, "routed": routed})
            return
        decision = choose_owner(intake.values)
        if decision is None:
            return
        intake.values["owner"] = decision.owner
        intake.findings.append(
            {
                "code": FINDING,
                "rule_id": decision.rule.pk,
                "owner_id": decision.owner.pk,
                "strategy": decision.strategy,
                "reason": decision.reason,
            }
        )
    elif intake.record is not None:
        intake.findings.append({"code": FINDING, "previous_owner_id": intake.record.owner_id})


def assignment_after(intake: Intake, lead: Lead) -> None:
    """Intake check ``assignment``, after the save: the history line (and SLA clock) for a
    rule's decision, an owner given on creation, or a change of owner on update/claim."""
    finding = next((f for f in intake.findings if f.get("code") == FINDING), None)
    if finding is None:
        return
    actor = intake.actor
    if intake.action in ("create", "import"):
        if finding.get("rule_id") is not None and lead.owner_id is not None:
            rule = AssignmentRule.objects.filter(pk=finding["rule_id"]).first()
            reason = str(finding.get("reason", ""))
            strategy = str(finding.get("strategy", ""))
            record_assignment(
                lead=lead,
                owner=lead.owner,
                previous_owner_id=None,
                strategy=strategy,
                by=actor,
                rule=rule,
                reason=reason,
                created=True,
            )
            record_event(
                actor=actor,
                verb="routing.lead.assigned",
                target=lead,
                data={
                    "owner": lead.owner_id,
                    "rule_id": finding["rule_id"],
                    "rule": rule.name if rule else "",
                    "strategy": strategy,
                    "reason": reason,
                },
            )
        elif finding.get("preset") and lead.owner_id is not None:
            routed = bool(finding.get("routed"))
            record_assignment(
                lead=lead,
                owner=lead.owner,
                previous_owner_id=None,
                strategy=HistoryStrategy.ROUTED if routed else HistoryStrategy.MANUAL,
                by=actor,
                reason="",
                created=True,
            )
        return
    previous = finding.get("previous_owner_id")
    if previous == lead.owner_id:
        return
    reason = intake.options.get("reason", "")
    record_assignment(
        lead=lead,
        owner=lead.owner,
        previous_owner_id=previous,
        strategy=HistoryStrategy.MANUAL,
        by=actor,
        reason=str(reason)[:REASON_LENGTH] if isinstance(reason, str) else "",
    )


def assignment_after_many(intakes: Sequence[Intake], leads: Sequence[Lead]) -> None:
    """Batch form of :func:`assignment_after` (imports): the history lines of leads created
    with a given owner and their first-response clocks are inserted in bulk (SLAs read once
    per source); every other case goes through :func:`assignment_after` lead by lead."""
    history: list[LeadAssignment] = []
    clocks: list[SlaClock] = []
    slas: dict[tuple[str, str], FirstResponseSla | None] = {}
    now = timezone.now()
    for intake, lead in zip(intakes, leads, strict=True):
        finding = next((f for f in intake.findings if f.get("code") == FINDING), None)
        if finding is None:
            continue
        if not (intake.action in ("create", "import") and finding.get("preset") and finding.get("rule_id") is None):
            assignment_after(intake, lead)
            continue
        if lead.owner_id is None:
            continue
        routed = bool(finding.get("routed"))
        history.append(
            LeadAssignment(
                lead=lead,
                owner_id=lead.owner_id,
                previous_owner_id=None,
                strategy=HistoryStrategy.ROUTED if routed else HistoryStrategy.MANUAL,
                by=intake.actor,
                reason="",
                at=now,
            )
        )
        if lead.status == LeadStatus.NEW:
            source = (lead.source_channel, lead.sub_channel)
            if source not in slas:
                slas[source] = sla_for(*source)
            sla = slas[source]
            if sla is not None:
                clocks.append(
                    SlaClock(
                        lead=lead,
                        sla=sla,
                        owner_id=lead.owner_id,
                        started_at=now,
                        due_at=now + timedelta(minutes=sla.minutes),
                    )
                )
    LeadAssignment.objects.bulk_create(history, batch_size=500)
    SlaClock.objects.bulk_create(clocks, batch_size=500)


def preview_assignment(*, actor: User, values: Mapping[str, Any], now: datetime | None = None) -> Decision | None:
    """The rules' dry run for the settings page: what a lead with ``values`` would get now
    (writes nothing, takes no lock)."""
    _require_admin(actor)
    return choose_owner(values, now=now, preview=True)


__all__ = [
    "Decision",
    "ServiceError",
    "SubmitResult",
    "assignment_after",
    "assignment_before",
    "choose_owner",
    "escalate_missed_slas",
    "form_create",
    "form_delete",
    "form_submit",
    "form_update",
    "rule_create",
    "rule_delete",
    "rule_move",
    "rule_update",
    "sla_delete",
    "sla_save",
    "submission_allowed",
    "working_hours_add",
    "working_hours_delete",
]
