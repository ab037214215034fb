"""``/api/v1/leads``: list, read, create, change, delete, qualify, disqualify, reopen, convert.

Endpoints parse with schemas, resolve ids through the access functions and call the same
services as the web pages; refusals come back in the API's error envelope.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.core.bulk import BulkOut, filter_query, run_bulk_api
from salesflow.core.errors import ValidationFailed
from salesflow.core.keyset import api_page
from salesflow.leads.models import DisqualifyReason, Lead
from salesflow.leads.permissions import get_lead_for_user, leads_visible_to
from salesflow.leads.schemas import (
    ConvertIn,
    ConvertOut,
    DisqualifyIn,
    DisqualifyReasonOut,
    LeadBulkIn,
    LeadHandOffIn,
    LeadIn,
    LeadListOut,
    LeadListQuery,
    LeadOut,
    LeadPatch,
    QualifyIn,
)
from salesflow.leads.selectors import disqualify_reasons, lead_list
from salesflow.leads.services import (
    LeadChanges,
    lead_convert,
    lead_create,
    lead_delete,
    lead_disqualify,
    lead_hand_off,
    lead_mark_contacted,
    lead_qualify,
    lead_reopen,
    lead_update,
)
from salesflow.parties.permissions import get_account_for_user
from salesflow.parties.schemas import ErrorOut  # issue 8: 409 possible_duplicates
from salesflow.sales.models import Stage
from salesflow.sales.selectors import pipeline_by_ref
from salesflow.tags.selectors import tag_step
from salesflow.tags.services import tag_bulk_action
from salesflow.users.models import Territory, User
from salesflow.users.permissions import assignable_owner, assignable_users_for

router = Router(tags=["leads"])


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("The input is not valid."), field_errors={field: [message]})


_BODY_NAMES = {"owner": "owner_id", "region": "region_id", "account": "account_id", "stage": "stage_id"}


@contextmanager
def _body_field_names() -> Iterator[None]:
    """Report a service's field errors under the names the client sent (``owner`` → ``owner_id``)."""
    try:
        yield
    except ValidationFailed as exc:
        exc.field_errors = {_BODY_NAMES.get(k, k): v for k, v in exc.field_errors.items()}
        raise


def _owner(actor: User, pk: int | None, *, current: Lead | None = None) -> User | None:
    """The user ``pk`` if ``actor`` may assign to them (the current owner is always accepted)."""
    if pk is None:
        return None
    if current is not None and current.owner_id == pk:
        return current.owner
    owner = assignable_users_for(actor).filter(pk=pk).first()
    if owner is None:
        raise _invalid("owner_id", _("You cannot assign leads to this user."))
    return owner


def _region(pk: int | None) -> Territory | None:
    if pk is None:
        return None
    region = Territory.objects.filter(pk=pk).first()
    if region is None:
        raise _invalid("region_id", _("Unknown region."))
    return region


@router.get("", response=LeadListOut, summary="Leads the caller can see, filtered, sorted and paged")
@router.get("/", response=LeadListOut, include_in_schema=False)
def list_leads(request: HttpRequest, filters: Query[LeadListQuery]) -> dict[str, Any]:
    qs = _filtered(_actor(request), filters).select_related("disqualify_reason")
    return api_page(qs, cursor=filters.cursor, limit=filters.limit, offset=filters.offset)


@router.get("/disqualify-reasons", response=list[DisqualifyReasonOut], summary="Active disqualify reasons")
def list_disqualify_reasons(request: HttpRequest) -> list[DisqualifyReason]:
    return list(disqualify_reasons())


@router.get("/{int:lead_id}", response=LeadOut, summary="One lead")
def get_lead(request: HttpRequest, lead_id: int) -> Lead:
    return get_lead_for_user(_actor(request), lead_id)


@router.post("", response={201: LeadOut, 409: ErrorOut}, summary="Create a lead")
@router.post("/", response={201: LeadOut, 409: ErrorOut}, include_in_schema=False)
def create_lead(request: HttpRequest, payload: LeadIn) -> tuple[int, Lead]:
    actor = _actor(request)
    data = payload.dict()
    owner_id = data.pop("owner_id")
    owner = _owner(actor, owner_id) if "owner_id" in payload.model_fields_set else actor
    region = _region(data.pop("region_id"))
    options = _duplicate_options(data)
    with _body_field_names():
        lead = lead_create(actor=actor, owner=owner, region=region, intake_options=options, **data)
    return 201, lead


def _duplicate_options(data: dict[str, Any]) -> dict[str, Any]:
    """Issue 8: ``duplicate_reason`` (save past the duplicate warning) as an intake option."""
    reason = data.pop("duplicate_reason", None)
    return {"duplicate_reason": reason} if reason else {}


@router.patch("/{int:lead_id}", response={200: LeadOut, 409: ErrorOut}, summary="Change some fields of a lead")
def update_lead(request: HttpRequest, lead_id: int, payload: LeadPatch) -> Lead:
    actor = _actor(request)
    lead = get_lead_for_user(actor, lead_id, write=True)
    data: dict[str, Any] = payload.dict(exclude_unset=True)
    options = _duplicate_options(data)
    if "owner_id" in data:
        data["owner"] = _owner(actor, data.pop("owner_id"), current=lead)
    if "region_id" in data:
        data["region"] = _region(data.pop("region_id"))
    with _body_field_names():
        return lead_update(actor=actor, lead=lead, intake_options=options, **cast(LeadChanges, data))


@router.delete("/{int:lead_id}", response={204: None}, summary="Delete a lead (not once converted)")
def delete_lead(request: HttpRequest, lead_id: int) -> tuple[int, None]:
    actor = _actor(request)
    lead_delete(actor=actor, lead=get_lead_for_user(actor, lead_id, write=True))
    return 204, None


@router.post("/{int:lead_id}/qualify", response=LeadOut, summary="Record BANT answers and qualify the lead")
def qualify_lead(request: HttpRequest, lead_id: int, payload: QualifyIn) -> Lead:
    actor = _actor(request)
    lead = get_lead_for_user(actor, lead_id, write=True)
    return lead_qualify(actor=actor, lead=lead, **payload.dict())


@router.post("/{int:lead_id}/disqualify", response=LeadOut, summary="Disqualify the lead with a reason")
def disqualify_lead(request: HttpRequest, lead_id: int, payload: DisqualifyIn) -> Lead:
    actor = _actor(request)
    lead = get_lead_for_user(actor, lead_id, write=True)
    reason = DisqualifyReason.objects.filter(code=payload.reason).first()
    if reason is None:
        raise _invalid("reason", _("Unknown disqualify reason."))
    return lead_disqualify(actor=actor, lead=lead, reason=reason, note=payload.note)


@router.post("/{int:lead_id}/hand-off", response=LeadOut, summary="Hand a marketing lead (MQL) off to sales (SQL)")
def hand_off_lead(request: HttpRequest, lead_id: int, payload: LeadHandOffIn) -> Lead:
    actor = _actor(request)
    lead = get_lead_for_user(actor, lead_id, write=True)
    return lead_hand_off(actor=actor, lead=lead, note=payload.note)


@router.post("/{int:lead_id}/reopen", response=LeadOut, summary="Reopen a disqualified lead")
def reopen_lead(request: HttpRequest, lead_id: int) -> Lead:
    actor = _actor(request)
    return lead_reopen(actor=actor, lead=get_lead_for_user(actor, lead_id, write=True))


@router.post("/{int:lead_id}/convert", response=ConvertOut, summary="Convert a qualified lead")
def convert_lead(request: HttpRequest, lead_id: int, payload: ConvertIn) -> dict[str, Any]:
    actor = _actor(request)
    lead = get_lead_for_user(actor, lead_id, write=True)
    account = None
    if payload.account_id is not None:
        try:
            account = get_account_for_user(actor, payload.account_id, write=True)
        except Http404:
            raise _invalid("account_id", _("Unknown account.")) from None
    stage = None
    if payload.stage_id is not None:
        stage = Stage.objects.select_related("pipeline").filter(pk=payload.stage_id).first()
        if stage is None:
            raise _invalid("stage_id", _("Unknown stage."))
    pipeline = None
    if payload.pipeline is not None:
        pipeline = pipeline_by_ref(payload.pipeline)
        if pipeline is None:
            raise _invalid("pipeline", _("Unknown pipeline."))
    with _body_field_names():
        result = lead_convert(
            actor=actor,
            lead=lead,
            account=account,
            create_contact=payload.create_contact,
            contact_role=payload.contact_role,
            create_opportunity=payload.create_opportunity,
            opportunity_name=payload.opportunity_name,
            amount=payload.amount,
            expected_close_date=payload.expected_close_date,
            stage=stage,
            pipeline=pipeline,
        )
    return {
        "lead_id": result.lead.pk,
        "account_id": result.account.pk,
        "account_created": result.account_created,
        "contact_id": result.contact.pk if result.contact else None,
        "contact_created": result.contact_created,
        "opportunity_id": result.opportunity.pk if result.opportunity else None,
    }


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


def _filtered(user: User, filters: LeadListQuery) -> QuerySet[Lead]:
    """The leads of ``GET /leads`` for these filters; the bulk ``filter`` uses the same."""
    qs = lead_list(
        user,
        q=filters.q,
        status=filters.status,
        source_channel=filters.source_channel,
        owner=filters.owner_id or None,
        sort=filters.sort,
        stage=filters.stage,
        extra={"sla": filters.sla},
    )
    return tag_step(qs, filters.tag_id)  # salesflow.tags


def _leads_matching(user: User, data: dict[str, Any]) -> QuerySet[Lead]:
    return _filtered(user, filter_query(LeadListQuery, data))


@router.post("/bulk", response=BulkOut, summary="One action on many leads")
def bulk_leads(request: HttpRequest, payload: LeadBulkIn) -> dict[str, Any]:
    """``assign``, ``contacted``, ``disqualify`` (with ``reason``), ``reopen``, ``tag_add``,
    ``tag_remove`` or ``delete`` on the given ``ids`` or every lead matching ``filter``; each
    lead through its service. Returns how many succeeded and why each other failed."""
    actor = _actor(request)

    def action() -> Any:
        tagging = tag_bulk_action(actor=actor, action=payload.action, tag_id=payload.tag_id)
        if tagging is not None:
            return tagging
        if payload.action == "assign":
            owner = assignable_owner(actor, payload.owner_id)
            return lambda lead: lead_update(actor=actor, lead=lead, owner=owner)
        if payload.action == "contacted":
            return lambda lead: lead_mark_contacted(actor=actor, lead=lead)
        if payload.action == "disqualify":
            reason = disqualify_reasons().filter(code=payload.reason or "").first()
            if reason is None:
                raise ValidationFailed(
                    _("The input is not valid."), field_errors={"reason": [_("Select a valid reason.")]}
                )
            return lambda lead: lead_disqualify(actor=actor, lead=lead, reason=reason)
        if payload.action == "reopen":
            return lambda lead: lead_reopen(actor=actor, lead=lead)
        return lambda lead: lead_delete(actor=actor, lead=lead)

    return run_bulk_api(
        payload, visible=leads_visible_to(actor), matching=lambda d: _leads_matching(actor, d), action=action
    )
