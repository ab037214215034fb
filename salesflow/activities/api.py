"""``/api/v1/activities``: list, read, create, update, delete, complete, and My day.

Endpoints parse the payload, resolve every id through the access functions (unseen →
404, not writable → 403) and call the same services as the web UI.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.activities.choices import ActivityKind
from salesflow.activities.models import Activity, FollowUpEscalationStep
from salesflow.activities.permissions import activities_visible_to, get_activity_for_user
from salesflow.activities.schemas import (
    ActivityBulkIn,
    ActivityFilters,
    ActivityIn,
    ActivityListOut,
    ActivityOut,
    ActivityPatch,
    CalendarFeedOut,
    CheckInIn,
    CompleteIn,
    EscalationStepIn,
    FollowUpSettingsOut,
    KindConfigIn,
    MyDayOut,
    PolicyIn,
)
from salesflow.activities.selectors import activity_list, escalation_steps, kind_configs, my_day
from salesflow.activities.services import (
    activity_check_in,
    activity_complete,
    activity_create,
    activity_delete,
    activity_kind_config_save,
    activity_update,
    escalation_step_delete,
    escalation_step_save,
)
from salesflow.core.bulk import BulkOut, filter_query, run_bulk_api
from salesflow.core.errors import Forbidden, ServiceError, ValidationFailed
from salesflow.core.keyset import api_page
from salesflow.leads.permissions import get_lead_for_user
from salesflow.parties.permissions import get_account_for_user, get_contact_for_user
from salesflow.parties.selectors import follow_up_policies
from salesflow.parties.services import follow_up_policy_save
from salesflow.sales.permissions import get_opportunity_for_user
from salesflow.users.models import User
from salesflow.users.permissions import assignable_owner
from salesflow.users.policy import unrestricted
from salesflow.users.services import calendar_token_create, calendar_token_revoke

router = Router(tags=["activities"])

# Service field names → API field names, so field errors point at what the client sent.
_API_FIELDS = {
    "owner": "owner_id",
    "lead": "lead_id",
    "account": "account_id",
    "contact": "contact_id",
    "opportunity": "opportunity_id",
}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _renamed(exc: ServiceError) -> ServiceError:
    exc.field_errors = {_API_FIELDS.get(k, k): v for k, v in exc.field_errors.items()}
    return exc


def _owner(owner_id: int) -> User:
    owner = User.objects.filter(pk=owner_id, is_active=True).first()
    if owner is None:
        raise ValidationFailed(_("The activity could not be saved."), field_errors={"owner_id": [_("Unknown user.")]})
    return owner


def _reload(user: User, activity: Activity) -> Activity:
    return get_activity_for_user(user, activity.pk)


@router.get("", response=ActivityListOut, summary="List activities")
@router.get("/", response=ActivityListOut, include_in_schema=False)
def list_activities(request: HttpRequest, filters: Query[ActivityFilters]) -> dict[str, Any]:
    """Visible activities, filtered, sorted and paged; ``count`` is the total.

    Record filters (``lead_id``, ``account_id``, ``contact_id``, ``opportunity_id``) must name
    visible records (else 404).
    """
    user = _user(request)
    if filters.lead_id is not None:
        get_lead_for_user(user, filters.lead_id)
    if filters.account_id is not None:
        get_account_for_user(user, filters.account_id)
    if filters.contact_id is not None:
        get_contact_for_user(user, filters.contact_id)
    if filters.opportunity_id is not None:
        get_opportunity_for_user(user, filters.opportunity_id)

    def rows(*, owned: bool = False) -> QuerySet[Activity]:
        return activity_list(
            user,
            q=filters.q,
            kind=filters.kind,
            done=filters.done,
            owner=filters.owner_id,
            due_from=filters.due_from,
            due_to=filters.due_to,
            sort=filters.sort,
            lead=filters.lead_id,
            account=filters.account_id,
            contact=filters.contact_id,
            opportunity=filters.opportunity_id,
            owned=owned,
        )

    # the floor (the same filters over the activities owned in scope, an owner index range)
    # settles a count above the cap without the visibility rule's per-row tests
    floor = None if unrestricted(user) else rows(owned=True)
    return api_page(rows(), cursor=filters.cursor, limit=filters.limit, offset=filters.offset, floor=floor)


@router.get("/my-day", response=MyDayOut, summary="The caller's My day")
def get_my_day(request: HttpRequest, date: str = "") -> dict[str, Any]:
    """Overdue, due today, follow-ups due, deals without a next step and past their expected
    close date for ``date`` (default: today); for a manager or an assistant also ``team``."""
    from datetime import date as date_type

    day = timezone.localdate()
    if date:
        try:
            day = date_type.fromisoformat(date)
        except ValueError:
            raise ValidationFailed(
                _("The input is not valid."), field_errors={"date": [_("Enter a valid date (YYYY-MM-DD).")]}
            ) from None
    result = my_day(_user(request), day)
    return {
        "today": result.today,
        "overdue": result.overdue,
        "due_today": result.due_today,
        "follow_ups": result.follow_ups,
        "no_next_step": result.no_next_step,
        "past_close": result.past_close,
        "team": result.team,
        "accounts_due": result.accounts_due,
    }


@router.get("/{int:activity_id}", response=ActivityOut, summary="Read an activity")
def get_activity(request: HttpRequest, activity_id: int) -> Activity:
    return get_activity_for_user(_user(request), activity_id)


@router.post("", response={201: ActivityOut}, summary="Log or plan an activity")
@router.post("/", response={201: ActivityOut}, include_in_schema=False)
def create_activity(request: HttpRequest, payload: ActivityIn) -> tuple[int, Activity]:
    """Linked records need read access only; unseen ids are 404 and nothing is written."""
    user = _user(request)
    owner = _owner(payload.owner_id) if payload.owner_id is not None else None
    lead = get_lead_for_user(user, payload.lead_id) if payload.lead_id is not None else None
    account = get_account_for_user(user, payload.account_id) if payload.account_id is not None else None
    contact = get_contact_for_user(user, payload.contact_id) if payload.contact_id is not None else None
    opportunity = get_opportunity_for_user(user, payload.opportunity_id) if payload.opportunity_id is not None else None
    try:
        activity = activity_create(
            actor=user,
            kind=payload.kind,
            subject=payload.subject,
            owner=owner,
            description=payload.description,
            due_at=payload.due_at,
            done=payload.done,
            outcome=payload.outcome,
            next_follow_up=payload.next_follow_up,
            lead=lead,
            account=account,
            contact=contact,
            opportunity=opportunity,
        )
    except ServiceError as exc:
        raise _renamed(exc) from None
    return 201, _reload(user, activity)


@router.patch("/{int:activity_id}", response=ActivityOut, summary="Change an activity")
def update_activity(request: HttpRequest, activity_id: int, payload: ActivityPatch) -> Activity:
    user = _user(request)
    activity = get_activity_for_user(user, activity_id, write=True)
    sent = payload.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    for field in ("kind", "subject", "description", "outcome"):
        if field in sent:
            changes[field] = sent[field] or ""
    for field in ("due_at", "next_follow_up"):
        if field in sent:
            changes[field] = sent[field]
    if sent.get("done") is not None:
        changes["done"] = sent["done"]
    if sent.get("owner_id") is not None:
        changes["owner"] = _owner(sent["owner_id"])
    resolvers = {
        "lead": get_lead_for_user,
        "account": get_account_for_user,
        "contact": get_contact_for_user,
        "opportunity": get_opportunity_for_user,
    }
    for name, resolve in resolvers.items():
        key = f"{name}_id"
        if key in sent and sent[key] != getattr(activity, key):
            changes[name] = None if sent[key] is None else resolve(user, sent[key])  # type: ignore[operator]
    try:
        activity_update(actor=user, activity=activity, **changes)
    except ServiceError as exc:
        raise _renamed(exc) from None
    return _reload(user, activity)


@router.delete("/{int:activity_id}", response={204: None}, summary="Delete an activity")
def delete_activity(request: HttpRequest, activity_id: int) -> tuple[int, None]:
    user = _user(request)
    activity = get_activity_for_user(user, activity_id, write=True)
    activity_delete(actor=user, activity=activity)
    return 204, None


@router.post("/{int:activity_id}/complete", response=ActivityOut, summary="Mark an activity done (idempotent)")
def complete_activity(request: HttpRequest, activity_id: int, payload: CompleteIn | None = None) -> Activity:
    user = _user(request)
    activity = get_activity_for_user(user, activity_id, write=True)
    body = payload or CompleteIn()
    activity_complete(actor=user, activity=activity, outcome=body.outcome, next_follow_up=body.next_follow_up)
    return _reload(user, activity)


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


def _activities_matching(user: User, data: dict[str, Any]) -> Any:
    filters = filter_query(ActivityFilters, data)
    return activity_list(
        user,
        q=filters.q,
        kind=filters.kind,
        done=filters.done,
        owner=filters.owner_id,
        due_from=filters.due_from,
        due_to=filters.due_to,
        lead=filters.lead_id,
        account=filters.account_id,
        contact=filters.contact_id,
        opportunity=filters.opportunity_id,
    )


@router.post("/bulk", response=BulkOut, summary="One action on many activities")
def bulk_activities(request: HttpRequest, payload: ActivityBulkIn) -> dict[str, Any]:
    """``assign``, ``complete`` or ``delete`` on the given ``ids`` or every activity matching
    ``filter``; each through its service. Returns how many succeeded and why each other failed."""
    user = _user(request)

    def action() -> Any:
        if payload.action == "assign":
            owner = assignable_owner(user, payload.owner_id)
            return lambda a: activity_update(actor=user, activity=a, owner=owner)
        if payload.action == "complete":
            return lambda a: activity_complete(actor=user, activity=a)
        return lambda a: activity_delete(actor=user, activity=a)

    return run_bulk_api(
        payload, visible=activities_visible_to(user), matching=lambda d: _activities_matching(user, d), action=action
    )


# --- follow-up discipline (issue 7) ------------------------------------------------------------


@router.post("/{int:activity_id}/check-in", response=ActivityOut, summary="Check in at a visit (owner only, once)")
def check_in_activity(request: HttpRequest, activity_id: int, payload: CheckInIn) -> Activity:
    """Records now, the position (``lat``/``lng``) and/or a typed ``address``. 403 unless the
    caller owns the activity; 409 when it is not a visit or already checked in; 400 naming
    ``lat``/``lng``/``address`` for NaN, out-of-range or missing values."""
    user = _user(request)
    activity = get_activity_for_user(user, activity_id)
    activity_check_in(actor=user, activity=activity, lat=payload.lat, lng=payload.lng, address=payload.address)
    return _reload(user, activity)


def _settings() -> dict[str, Any]:
    configs = kind_configs()
    return {
        "policies": follow_up_policies(),
        "kinds": [
            {
                "kind": kind,
                "needs_outcome": getattr(configs.get(kind), "needs_outcome", False),
                "needs_next_follow_up": getattr(configs.get(kind), "needs_next_follow_up", False),
                "counts_as_follow_up": getattr(configs.get(kind), "counts_as_follow_up", True),
            }
            for kind in ActivityKind.values
        ],
        "steps": escalation_steps(),
    }


@router.get("/follow-up/settings", response=FollowUpSettingsOut, summary="Follow-up rules (grades, types, ladder)")
def get_follow_up_settings(request: HttpRequest) -> dict[str, Any]:
    return _settings()


@router.post("/follow-up/policies", response=FollowUpSettingsOut, summary="Set a grade's follow-up frequency")
def put_follow_up_policy(request: HttpRequest, payload: PolicyIn) -> dict[str, Any]:
    """Administrators only (403). 400 naming ``grade``, ``every_days`` (1–365) or ``grace_days`` (0–365)."""
    follow_up_policy_save(
        actor=_user(request), grade=payload.grade, every_days=payload.every_days, grace_days=payload.grace_days
    )
    return _settings()


@router.post("/follow-up/kinds", response=FollowUpSettingsOut, summary="Set an activity type's rules")
def put_kind_config(request: HttpRequest, payload: KindConfigIn) -> dict[str, Any]:
    """Administrators only (403). What completing an activity of ``kind`` requires."""
    activity_kind_config_save(
        actor=_user(request),
        kind=payload.kind,
        needs_outcome=payload.needs_outcome,
        needs_next_follow_up=payload.needs_next_follow_up,
        counts_as_follow_up=payload.counts_as_follow_up,
    )
    return _settings()


@router.post("/follow-up/steps", response=FollowUpSettingsOut, summary="Add or change a ladder step")
def post_escalation_step(request: HttpRequest, payload: EscalationStepIn) -> dict[str, Any]:
    """Administrators only (403). The step at ``position`` (1–20) is created or replaced."""
    escalation_step_save(
        actor=_user(request),
        position=payload.position,
        after_days_over=payload.after_days_over,
        action=payload.action,
    )
    return _settings()


@router.delete("/follow-up/steps/{int:position}", response=FollowUpSettingsOut, summary="Remove a ladder step")
def delete_escalation_step(request: HttpRequest, position: int) -> dict[str, Any]:
    user = _user(request)
    step = FollowUpEscalationStep.objects.filter(position=position).first()
    if step is None:
        raise Http404("step not found")
    if not user.is_admin:
        raise Forbidden(_("Only an administrator may change the follow-up settings."))
    escalation_step_delete(actor=user, step=step)
    return _settings()


@router.post("/calendar-feed", response={201: CalendarFeedOut}, summary="Create or rotate my calendar feed URL")
def create_calendar_feed(request: HttpRequest) -> tuple[int, dict[str, Any]]:
    """The old URL stops working. The returned ``url`` is not shown again."""
    token, raw = calendar_token_create(actor=_user(request))
    return 201, {"url": request.build_absolute_uri(reverse("calendar_feed", args=[raw])), "prefix": token.token_prefix}


@router.delete("/calendar-feed", response={204: None}, summary="Revoke my calendar feed URL")
def delete_calendar_feed(request: HttpRequest) -> tuple[int, None]:
    calendar_token_revoke(actor=_user(request))
    return 204, None
