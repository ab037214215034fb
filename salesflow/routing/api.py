"""JSON API of lead capture and assignment, through the same services as the pages:
``/api/v1/lead-forms``, ``/api/v1/assignment-rules``, ``/api/v1/first-response-slas``
(administrators) and ``/api/v1/leads/{id}/assignments`` (whoever may read the lead)."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Router

from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.leads.permissions import get_lead_for_user
from salesflow.routing.models import AssignmentRule, FirstResponseSla, LeadCaptureForm
from salesflow.routing.permissions import can_configure_routing
from salesflow.routing.schemas import (
    LeadFormIn,
    LeadFormOut,
    LeadFormPatch,
    LeadRoutingOut,
    RoutingMoveIn,
    RoutingRuleIn,
    RoutingRuleOut,
    RoutingRulePatch,
    SlaIn,
    SlaOut,
    SlaPatch,
)
from salesflow.routing.selectors import (
    assignment_history,
    form_by_pk,
    forms_list,
    rule_by_pk,
    rules_list,
    sla_by_pk,
    sla_state,
    slas_list,
)
from salesflow.routing.services import (
    form_create,
    form_delete,
    form_update,
    rule_create,
    rule_delete,
    rule_move,
    rule_update,
    sla_delete,
    sla_save,
)
from salesflow.users.models import Team, Territory, User

forms_router = Router(tags=["lead capture"])
rules_router = Router(tags=["assignment"])
slas_router = Router(tags=["assignment"])
lead_router = Router(tags=["assignment"])


def _admin(request: HttpRequest) -> User:
    user = cast(User, request.user)
    if not can_configure_routing(user):
        raise Forbidden(_("Only administrators configure lead capture and assignment."))
    return user


def _form_out(request: HttpRequest, form: LeadCaptureForm) -> dict[str, Any]:
    return {
        "id": form.pk,
        "name": form.name,
        "token": form.token,
        "public_url": request.build_absolute_uri(reverse("routing:public_form", args=[form.token])),
        "source_channel": form.source_channel,
        "sub_channel": form.sub_channel,
        "campaign": form.campaign,
        "fields": list(form.fields),
        "required_fields": list(form.required_fields),
        "title": form.title,
        "intro": form.intro,
        "consent_text": form.consent_text,
        "thank_you_message": form.thank_you_message,
        "redirect_url": form.redirect_url,
        "allowed_origins": form.origins,
        "is_active": form.is_active,
        "created_at": form.created_at,
    }


def _not_null(data: dict[str, Any], keys: tuple[str, ...], message: str) -> None:
    nulls = [key for key in keys if key in data and data[key] is None]
    if nulls:
        raise ValidationFailed(message, field_errors={key: [_("This field may not be null.")] for key in nulls})


@forms_router.get("", response=list[LeadFormOut], summary="Web-to-lead forms (administrators)")
@forms_router.get("/", response=list[LeadFormOut], include_in_schema=False)
def list_forms(request: HttpRequest) -> list[dict[str, Any]]:
    _admin(request)
    return [_form_out(request, form) for form in forms_list()]


@forms_router.post("", response={201: LeadFormOut}, summary="Add a web-to-lead form")
@forms_router.post("/", response={201: LeadFormOut}, include_in_schema=False)
def create_form(request: HttpRequest, payload: LeadFormIn) -> tuple[int, dict[str, Any]]:
    user = _admin(request)
    form = form_create(actor=user, **payload.model_dump())
    return 201, _form_out(request, form)


@forms_router.get("/{int:form_id}", response=LeadFormOut, summary="One web-to-lead form")
def get_form(request: HttpRequest, form_id: int) -> dict[str, Any]:
    form = form_by_pk(form_id)  # an unknown id is a 404 whoever asks
    _admin(request)
    return _form_out(request, form)


@forms_router.patch("/{int:form_id}", response=LeadFormOut, summary="Change a web-to-lead form")
def update_form(request: HttpRequest, form_id: int, payload: LeadFormPatch) -> dict[str, Any]:
    form = form_by_pk(form_id)
    user = _admin(request)
    data = payload.model_dump(exclude_unset=True)
    _not_null(data, tuple(data), _("The form could not be saved."))
    form_update(actor=user, form=form, **data)
    return _form_out(request, form_by_pk(form_id))


@forms_router.delete("/{int:form_id}", response={204: None}, summary="Delete a web-to-lead form")
def delete_form(request: HttpRequest, form_id: int) -> tuple[int, None]:
    form = form_by_pk(form_id)
    form_delete(actor=_admin(request), form=form)
    return 204, None


def _rule_out(rule: AssignmentRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "territory_id": rule.territory_id,
        "industry": rule.industry,
        "source_channel": rule.source_channel,
        "campaign_contains": rule.campaign_contains,
        "strategy": rule.strategy,
        "user_id": rule.user_id,
        "team_id": rule.team_id,
        "member_ids": sorted(m.pk for m in rule.members.all()),  # a stable order on every database
        "capacity": rule.capacity,
        "respect_working_hours": rule.respect_working_hours,
    }


def _lookup(model: type[Any], pk: int | None, field: str, message: str) -> Any:
    if pk is None:
        return None
    row = model._default_manager.filter(pk=pk).first()
    if row is None:
        raise ValidationFailed(message, field_errors={field: [message]})
    return row


def _rule_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {key: value for key, value in data.items() if not key.endswith("_id") and key != "member_ids"}
    if "territory_id" in data:
        values["territory"] = _lookup(Territory, data["territory_id"], "territory_id", _("Choose a valid territory."))
    if "team_id" in data:
        values["team"] = _lookup(Team, data["team_id"], "team_id", _("Choose a valid team."))
    if "user_id" in data:
        values["user"] = _lookup(User, data["user_id"], "user_id", _("Choose a valid user."))
    if "member_ids" in data:
        ids = list(dict.fromkeys(data["member_ids"]))
        users = list(User.objects.filter(pk__in=ids))
        if len(users) != len(ids):
            message = _("Choose valid users.")
            raise ValidationFailed(message, field_errors={"member_ids": [message]})
        values["members"] = users
    return values


@rules_router.get("", response=list[RoutingRuleOut], summary="Assignment rules in evaluation order (administrators)")
@rules_router.get("/", response=list[RoutingRuleOut], include_in_schema=False)
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    _admin(request)
    return [_rule_out(rule) for rule in rules_list()]


@rules_router.post("", response={201: RoutingRuleOut}, summary="Add an assignment rule")
@rules_router.post("/", response={201: RoutingRuleOut}, include_in_schema=False)
def create_rule(request: HttpRequest, payload: RoutingRuleIn) -> tuple[int, dict[str, Any]]:
    user = _admin(request)
    rule = rule_create(actor=user, **_rule_values(payload.model_dump()))
    return 201, _rule_out(rule)


@rules_router.get("/{int:rule_id}", response=RoutingRuleOut, summary="One assignment rule")
def get_rule(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    rule = rule_by_pk(rule_id)  # an unknown id is a 404 whoever asks
    _admin(request)
    return _rule_out(rule)


@rules_router.patch("/{int:rule_id}", response=RoutingRuleOut, summary="Change an assignment rule")
def update_rule(request: HttpRequest, rule_id: int, payload: RoutingRulePatch) -> dict[str, Any]:
    rule = rule_by_pk(rule_id)
    user = _admin(request)
    data = payload.model_dump(exclude_unset=True)
    _not_null(
        data,
        ("name", "is_active", "industry", "source_channel", "campaign_contains", "strategy", "member_ids"),
        _("The rule could not be saved."),
    )
    rule_update(actor=user, rule=rule, **_rule_values(data))
    return _rule_out(rule_by_pk(rule_id))


@rules_router.post("/{int:rule_id}/move", response=list[RoutingRuleOut], summary="Move a rule up or down the order")
def move_rule(request: HttpRequest, rule_id: int, payload: RoutingMoveIn) -> list[dict[str, Any]]:
    rule = rule_by_pk(rule_id)
    rule_move(actor=_admin(request), rule=rule, direction=payload.direction)
    return [_rule_out(rule) for rule in rules_list()]


@rules_router.delete("/{int:rule_id}", response={204: None}, summary="Delete an assignment rule")
def delete_rule(request: HttpRequest, rule_id: int) -> tuple[int, None]:
    rule = rule_by_pk(rule_id)
    rule_delete(actor=_admin(request), rule=rule)
    return 204, None


def _sla_out(sla: FirstResponseSla) -> dict[str, Any]:
    return {
        "id": sla.pk,
        "source_channel": sla.source_channel,
        "sub_channel": sla.sub_channel,
        "minutes": sla.minutes,
        "is_active": sla.is_active,
    }


@slas_router.get("", response=list[SlaOut], summary="First-response SLAs per source (administrators)")
@slas_router.get("/", response=list[SlaOut], include_in_schema=False)
def list_slas(request: HttpRequest) -> list[dict[str, Any]]:
    _admin(request)
    return [_sla_out(sla) for sla in slas_list()]


@slas_router.post("", response={201: SlaOut}, summary="Add a first-response SLA")
@slas_router.post("/", response={201: SlaOut}, include_in_schema=False)
def create_sla(request: HttpRequest, payload: SlaIn) -> tuple[int, dict[str, Any]]:
    user = _admin(request)
    return 201, _sla_out(sla_save(actor=user, **payload.model_dump()))


@slas_router.patch("/{int:sla_id}", response=SlaOut, summary="Change a first-response SLA")
def update_sla(request: HttpRequest, sla_id: int, payload: SlaPatch) -> dict[str, Any]:
    sla = sla_by_pk(sla_id)  # an unknown id is a 404 whoever asks
    user = _admin(request)
    data = payload.model_dump(exclude_unset=True)
    _not_null(data, tuple(data), _("The SLA could not be saved."))
    saved = sla_save(
        actor=user,
        sla=sla,
        source_channel=sla.source_channel,
        sub_channel=sla.sub_channel,
        minutes=data.get("minutes", sla.minutes),
        is_active=data.get("is_active", sla.is_active),
    )
    return _sla_out(saved)


@slas_router.delete("/{int:sla_id}", response={204: None}, summary="Delete a first-response SLA")
def delete_sla(request: HttpRequest, sla_id: int) -> tuple[int, None]:
    sla = sla_by_pk(sla_id)
    sla_delete(actor=_admin(request), sla=sla)
    return 204, None


@lead_router.get(
    "/{int:lead_id}/assignments", response=LeadRoutingOut, summary="A lead's assignment history and SLA state"
)
def lead_assignments(request: HttpRequest, lead_id: int) -> dict[str, Any]:
    lead = get_lead_for_user(cast(User, request.user), lead_id)
    state = sla_state(lead)
    return {
        "history": [
            {
                "id": row.pk,
                "owner_id": row.owner_id,
                "previous_owner_id": row.previous_owner_id,
                "rule_id": row.rule_id,
                "rule_name": row.rule_name,
                "strategy": row.strategy,
                "at": row.at,
                "by_id": row.by_id,
                "reason": row.reason,
            }
            for row in assignment_history(lead)
        ],
        "sla": None
        if state is None
        else {
            "due_at": state.due_at,
            "minutes": state.minutes,
            "state": state.state,
            "responded_at": state.responded_at,
            "escalated_at": state.escalated_at,
        },
    }
