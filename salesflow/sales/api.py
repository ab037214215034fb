"""Opportunities API (mounted at ``/api/v1/opportunities``).

Endpoints parse input, resolve every id through an access function, call the same
services as the web pages and present the result. Configuration routes
(``/pipelines``, ``/lost-reasons``, ``/competitors``) are declared before the
``/{id}`` routes, which only match integers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.core.bulk import BulkOut, filter_query, run_bulk_api
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.keyset import api_page
from salesflow.core.money import currency_choices, format_amount
from salesflow.parties.models import Contact
from salesflow.parties.permissions import get_account_for_user, get_contact_for_user
from salesflow.sales.choices import StallRecipient
from salesflow.sales.config_services import (
    pipeline_copy,
    pipeline_create,
    pipeline_set_teams,
    pipeline_update,
    stage_create,
    stage_deactivate,
    stage_delete,
    stage_reorder,
    stage_update,
    stall_step_delete,
    stall_step_save,
)
from salesflow.sales.gate_services import (
    CriterionChanges,
    opportunity_checklist_tick,
    stage_criterion_create,
    stage_criterion_delete,
    stage_criterion_update,
)
from salesflow.sales.gates import criterion_label, criterion_types, opportunity_checklist
from salesflow.sales.models import (
    Competitor,
    LostReason,
    Opportunity,
    Pipeline,
    Stage,
    StageChange,
    StageCriterion,
    StallEscalationStep,
    TeamDefaultPipeline,
    TeamPipeline,
)
from salesflow.sales.permissions import get_opportunity_for_user, opportunities_visible_to
from salesflow.sales.schemas import (
    ChangePipelineIn,
    ChecklistItemOut,
    CloseIn,
    CompetitorOut,
    CompetitorRef,
    ContactRoleIn,
    ContactRoleOut,
    CriterionIn,
    CriterionOut,
    CriterionPatchIn,
    CriterionTypeOut,
    FieldChangeOut,
    LostReasonOut,
    OpportunityBulkIn,
    OpportunityCreateIn,
    OpportunityFilters,
    OpportunityOut,
    OpportunityPage,
    OpportunityPatchIn,
    OpportunityTotalsOut,
    PipelineConfigOut,
    PipelineCopyIn,
    PipelineCreateIn,
    PipelineOut,
    PipelinePatchIn,
    ReopenIn,
    StageChangeOut,
    StageChecklistOut,
    StageConfigOut,
    StageCreateIn,
    StageMoveIn,
    StageOut,
    StagePatchIn,
    StageRef,
    StageReorderIn,
    StallStepIn,
    StallStepOut,
    StallStepPatchIn,
    StuckCellOut,
    StuckOut,
    StuckQuery,
    StuckRowOut,
    TickIn,
)
from salesflow.sales.selectors import (
    OpportunityTotals,
    StallRules,
    active_lost_reasons,
    competitors_all,
    field_history_for,
    opportunity_list,
    opportunity_totals,
    pipeline_by_ref,
    pipelines_for_settings,
    pipelines_with_stages,
    stage_changes_for,
    stage_in_pipeline,
    stall_rules,
    stall_status,
    stuck_matrix,
    with_relations,
)
from salesflow.sales.services import (
    default_pipeline_for,
    opportunity_change_pipeline,
    opportunity_close,
    opportunity_create,
    opportunity_delete,
    opportunity_move_stage,
    opportunity_reopen,
    opportunity_update,
)
from salesflow.tags.selectors import tag_refs, tag_step
from salesflow.tags.services import tag_bulk_action
from salesflow.users.models import User
from salesflow.users.permissions import assignable_owner, assignable_users_for
from salesflow.users.policy import unrestricted

router = Router(tags=["opportunities"])

MAX_LIMIT = 200


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("The input is not valid."), field_errors={field: [message]})


@contextmanager
def _api_field_names() -> Iterator[None]:
    """Report service field errors under the API's input names (``owner`` → ``owner_id``)."""
    try:
        yield
    except ValidationFailed as exc:
        exc.field_errors = {API_FIELD_NAMES.get(k, k): v for k, v in exc.field_errors.items()}
        raise


API_FIELD_NAMES = {
    "owner": "owner_id",
    "competitors": "competitor_ids",
    "account": "account_id",
    "lost_to": "lost_to_id",
}


def _stage_ref(stage: Stage) -> StageRef:
    return StageRef(id=stage.pk, code=stage.code, name=stage.label, kind=stage.kind, probability=stage.probability)


def _out(opp: Opportunity, rules: StallRules | None = None) -> OpportunityOut:
    """Serialise an opportunity loaded with ``with_relations`` (no queries here but the
    stall rule's percentiles when ``rules`` is not given)."""
    stall = stall_status(opp, opp.stage, timezone.now(), rules)
    return OpportunityOut(
        id=opp.pk,
        name=opp.name,
        account_id=opp.account_id,
        account_name=opp.account.name,
        owner_id=opp.owner_id,
        owner_name=str(opp.owner),
        pipeline_id=opp.pipeline_id,
        stage=_stage_ref(opp.stage),
        amount=format_amount(opp.amount, opp.currency),
        currency=opp.currency,
        probability=opp.probability,
        forecast_category=opp.forecast_category,
        expected_close_date=opp.expected_close_date,
        next_step=opp.next_step,
        next_step_date=opp.next_step_date,
        outcome=opp.outcome,
        lost_reason=opp.lost_reason.code if opp.lost_reason else None,
        lost_to_id=opp.lost_to_id,
        outcome_note=opp.outcome_note,
        resume_date=opp.resume_date,
        closed_at=opp.closed_at,
        closed_on=opp.closed_on,
        close_date=opp.close_date,
        past_close=opp.is_past_close,
        stage_entered_at=opp.stage_entered_at,
        stalled=stall.stalled,
        days_in_stage=stall.days_in_stage,
        stall_threshold_days=stall.threshold_days,
        stall_basis=cast(Any, stall.basis),
        stall_sample_size=stall.sample_size,
        description=opp.description,
        contacts=[
            ContactRoleOut(contact_id=r.contact_id, name=r.contact.name, role=r.role) for r in opp.contact_roles.all()
        ],
        competitors=[CompetitorRef(id=c.pk, name=c.name) for c in opp.competitors.all()],
        tags=tag_refs(opp),
        created_at=opp.created_at,
        updated_at=opp.updated_at,
    )


def _fetch(user: User, pk: int) -> OpportunityOut:
    return _out(with_relations(opportunity_list(user)).get(pk=pk))


def _contacts(
    user: User, items: list[ContactRoleIn], *, already_linked: Collection[int] = ()
) -> list[tuple[Contact, str]]:
    """Resolve contact ids through the access function (contacts already on the deal stay usable)."""
    result: list[tuple[Contact, str]] = []
    for item in items:
        if item.contact_id in already_linked:
            contact = Contact.objects.get(pk=item.contact_id)
        else:
            contact = get_contact_for_user(user, item.contact_id)
        result.append((contact, str(item.role.value)))
    return result


def _competitors(ids: list[int]) -> list[Competitor]:
    found = list(Competitor.objects.filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise _invalid("competitor_ids", _("Unknown competitor."))
    return found


def _owner(user: User, owner_id: int) -> User:
    owner = assignable_users_for(user).filter(pk=owner_id).first()
    if owner is None:
        raise _invalid("owner_id", _("You cannot assign records to this user."))
    return owner


def _currency(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if code not in {c for c, _label in currency_choices()}:
        raise _invalid("currency", _("“%(currency)s” is not a supported currency.") % {"currency": value})
    return code


# ------------------------------------------------------------------ configuration


@router.get("/pipelines", response=list[PipelineOut], summary="Active pipelines with their stages")
def pipelines(request: HttpRequest) -> list[PipelineOut]:
    return [
        PipelineOut(
            id=p.pk,
            code=p.code,
            name=p.label,
            is_default=p.is_default,
            stages=[
                StageOut(
                    id=s.pk,
                    code=s.code,
                    name=s.label,
                    name_en=s.name_en,
                    name_zh=s.name_zh,
                    position=s.position,
                    probability=s.probability,
                    forecast_category=s.forecast_category,
                    kind=s.kind,
                    rotting_days=s.rotting_days,
                )
                for s in p.stages.all()
            ],
        )
        for p in pipelines_with_stages()
    ]


@router.get("/lost-reasons", response=list[LostReasonOut], summary="Active lost reasons")
def lost_reasons(request: HttpRequest) -> list[LostReasonOut]:
    return [LostReasonOut(id=r.pk, code=r.code, name=r.label) for r in active_lost_reasons()]


@router.get("/competitors", response=list[CompetitorOut], summary="Competitors")
def competitors(request: HttpRequest) -> list[CompetitorOut]:
    return [CompetitorOut(id=c.pk, name=c.name, website=c.website) for c in competitors_all()[:1000]]


# ------------------------------------------------- where is each rep stuck (issue 7)


@router.get("/stuck", response=StuckOut, summary="Where is each rep stuck: reps × open stages of a pipeline")
def stuck(request: HttpRequest, query: Query[StuckQuery]) -> StuckOut:
    """The matrix of the page ``/opportunities/stuck/``: the people in the caller's scope
    (a manager's team subtree, everyone for an administrator, a rep alone) × the open stages
    of the pipeline; per cell the open deals' count, value in the company currency, median
    and longest whole days in the stage, and how many are stalled. People with no open deal
    in the pipeline are left out (``hidden`` says how many) unless ``include_empty=true``."""
    pipeline = pipeline_by_ref(query.pipeline) if query.pipeline else default_pipeline_for(_user(request))
    if pipeline is None:
        raise _invalid("pipeline", _("Unknown pipeline."))
    m = stuck_matrix(_user(request), pipeline=pipeline, include_empty=query.include_empty)
    return StuckOut(
        pipeline_id=pipeline.pk,
        currency=m.currency,
        stages=[_stage_ref(s) for s in m.stages],
        rows=[
            StuckRowOut(
                owner_id=row.owner.pk,
                owner_name=str(row.owner),
                cells=[
                    StuckCellOut(
                        stage_id=c.stage.pk,
                        stage_code=c.stage.code,
                        count=c.count,
                        amount=str(c.amount),
                        unconverted=c.unconverted,
                        median_days=None if c.median_days is None else f"{c.median_days.normalize():f}",
                        worst_days=c.worst_days,
                        stalled=c.stalled,
                    )
                    for c in row.cells
                ],
            )
            for row in m.rows
        ],
        hidden=m.hidden,
        rates={code: str(rate.rate) for code, rate in m.rates.items()},
        unconverted=m.unconverted,
    )


# ---------------------------------------------------------------------- collection


@router.get("", response=OpportunityPage, summary="Visible opportunities, filtered and paginated")
@router.get("/", response=OpportunityPage, include_in_schema=False)
def list_opportunities(
    request: HttpRequest,
    filters: Query[OpportunityFilters],
) -> OpportunityPage:
    qs = _filtered(_user(request), filters)
    page = api_page(with_relations(qs), cursor=filters.cursor, limit=filters.limit, offset=filters.offset)
    rules = stall_rules(sorted({o.stage_id for o in page["items"]}))  # one query for the page
    return OpportunityPage(
        count=page["count"],
        items=[_out(o, rules) for o in page["items"]],
        next_cursor=page["next_cursor"],
        totals=_totals_out(opportunity_totals(qs)) if filters.totals and not filters.cursor else None,
    )


def _totals_out(totals: OpportunityTotals) -> OpportunityTotalsOut:
    warning = None
    if totals.unconverted:
        warning = _("%(n)d deals in %(codes)s are left out of the sums: no exchange rate is valid today.") % {
            "n": totals.unconverted_count,
            "codes": ", ".join(sorted(totals.unconverted)),
        }
    return OpportunityTotalsOut(
        count=totals.count,
        currency=totals.currency,
        amount=str(totals.amount),
        weighted=str(totals.weighted),
        rates={code: str(rate.rate) for code, rate in totals.rates.items()},
        unconverted=totals.unconverted,
        warning=warning,
    )


@router.post("", response={201: OpportunityOut}, summary="Create an opportunity")
@router.post("/", response={201: OpportunityOut}, include_in_schema=False)
def create_opportunity(request: HttpRequest, payload: OpportunityCreateIn) -> tuple[int, OpportunityOut]:
    user = _user(request)
    account = get_account_for_user(user, payload.account_id, write=True)
    owner = _owner(user, payload.owner_id) if payload.owner_id is not None else user
    pipeline = None
    if payload.pipeline is not None:
        pipeline = pipeline_by_ref(payload.pipeline)
        if pipeline is None:
            raise _invalid("pipeline", _("Unknown pipeline."))
    stage = None
    if payload.stage is not None:
        stage = stage_in_pipeline((pipeline or default_pipeline_for(owner)).pk, payload.stage)
        if stage is None:
            raise _invalid("stage", _("Unknown stage."))
    with _api_field_names():
        opp = opportunity_create(
            actor=user,
            account=account,
            owner=owner,
            name=payload.name,
            amount=payload.amount,
            currency=_currency(payload.currency),
            pipeline=pipeline,
            stage=stage,
            expected_close_date=payload.expected_close_date,
            next_step=payload.next_step,
            next_step_date=payload.next_step_date,
            description=payload.description,
            contacts=_contacts(user, payload.contacts),
            competitors=_competitors(payload.competitor_ids),
        )
    return 201, _fetch(user, opp.pk)


# ------------------------------------------------------------------------- member


@router.get("/{int:opportunity_id}", response=OpportunityOut, summary="One opportunity")
def get_opportunity(request: HttpRequest, opportunity_id: int) -> OpportunityOut:
    user = _user(request)
    get_opportunity_for_user(user, opportunity_id)
    return _fetch(user, opportunity_id)


@router.patch("/{int:opportunity_id}", response=OpportunityOut, summary="Change fields (not the stage)")
def patch_opportunity(request: HttpRequest, opportunity_id: int, payload: OpportunityPatchIn) -> OpportunityOut:
    user = _user(request)
    opp = get_opportunity_for_user(user, opportunity_id, write=True)
    sent = payload.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("name", "next_step", "description"):
        if name in sent:
            changes[name] = getattr(payload, name) or ""
    for name in ("expected_close_date", "next_step_date", "closed_on"):
        if name in sent:
            changes[name] = getattr(payload, name)
    for name in ("amount", "probability", "forecast_category"):
        if name in sent:
            value = getattr(payload, name)
            if value is None:
                raise _invalid(name, _("This field cannot be null."))
            changes[name] = value
    if "currency" in sent:
        currency = _currency(payload.currency)
        if currency is None:
            raise _invalid("currency", _("This field cannot be null."))
        changes["currency"] = currency
    if "owner_id" in sent:
        if payload.owner_id is None:
            raise _invalid("owner_id", _("This field cannot be null."))
        changes["owner"] = (
            opp.owner if payload.owner_id == opp.owner_id else User.objects.filter(pk=payload.owner_id).first()
        )
        if changes["owner"] is None:
            raise _invalid("owner_id", _("You cannot assign records to this user."))
    if "contacts" in sent:
        linked = set(opp.contact_roles.values_list("contact_id", flat=True))
        changes["contacts"] = _contacts(user, payload.contacts or [], already_linked=linked)
    if "competitor_ids" in sent:
        changes["competitors"] = _competitors(payload.competitor_ids or [])
    with _api_field_names():
        opportunity_update(actor=user, opportunity=opp, **changes)
    return _fetch(user, opp.pk)


@router.delete("/{int:opportunity_id}", response={204: None}, summary="Delete an opportunity")
def delete_opportunity(request: HttpRequest, opportunity_id: int) -> tuple[int, None]:
    user = _user(request)
    opp = get_opportunity_for_user(user, opportunity_id, write=True)
    opportunity_delete(actor=user, opportunity=opp)
    return 204, None


@router.post("/{int:opportunity_id}/move", response=OpportunityOut, summary="Move to another open stage")
def move_opportunity(request: HttpRequest, opportunity_id: int, payload: StageMoveIn) -> OpportunityOut:
    user = _user(request)
    opp = get_opportunity_for_user(user, opportunity_id, write=True)
    stage = stage_in_pipeline(opp.pipeline_id, payload.stage)
    if stage is None:
        raise _invalid("stage", _("Unknown stage."))
    with _api_field_names():
        opportunity_move_stage(actor=user, opportunity=opp, stage=stage, override_reason=payload.override_reason)
    return _fetch(user, opp.pk)


@router.post("/{int:opportunity_id}/close", response=OpportunityOut, summary="Won, lost, paused or upgraded")
def close_opportunity(request: HttpRequest, opportunity_id: int, payload: CloseIn) -> OpportunityOut:
    user = _user(request)
    opp = get_opportunity_for_user(user, opportunity_id, write=True)
    reason = None
    if payload.lost_reason:
        reason = LostReason.objects.filter(code=payload.lost_reason).first()
        if reason is None:
            raise _invalid("lost_reason", _("Unknown lost reason."))
    lost_to = None
    if payload.lost_to_id is not None:
        lost_to = Competitor.objects.filter(pk=payload.lost_to_id).first()
        if lost_to is None:
            raise _invalid("lost_to_id", _("Unknown competitor."))
    with _api_field_names():
        opportunity_close(
            actor=user,
            opportunity=opp,
            outcome=payload.outcome,
            lost_reason=reason,
            lost_to=lost_to,
            note=payload.note,
            resume_date=payload.resume_date,
            closed_on=payload.closed_on,
            amount=payload.amount,
            override_reason=payload.override_reason,
        )
    return _fetch(user, opp.pk)


@router.post("/{int:opportunity_id}/reopen", response=OpportunityOut, summary="Back to open")
def reopen_opportunity(request: HttpRequest, opportunity_id: int, payload: ReopenIn | None = None) -> OpportunityOut:
    user = _user(request)
    opp = get_opportunity_for_user(user, opportunity_id, write=True)
    stage = None
    if payload is not None and payload.stage is not None:
        stage = stage_in_pipeline(opp.pipeline_id, payload.stage)
        if stage is None:
            raise _invalid("stage", _("Unknown stage."))
    opportunity_reopen(actor=user, opportunity=opp, stage=stage)
    return _fetch(user, opp.pk)


@router.post(
    "/{int:opportunity_id}/change-pipeline", response=OpportunityOut, summary="Move to another pipeline and stage"
)
def change_pipeline(request: HttpRequest, opportunity_id: int, payload: ChangePipelineIn) -> OpportunityOut:
    user = _user(request)
    opp = get_opportunity_for_user(user, opportunity_id, write=True)
    pipeline = pipeline_by_ref(payload.pipeline)
    if pipeline is None:
        raise _invalid("pipeline", _("Unknown pipeline."))
    stage = stage_in_pipeline(pipeline.pk, payload.stage)
    if stage is None:
        raise _invalid("stage", _("Unknown stage."))
    opportunity_change_pipeline(actor=user, opportunity=opp, pipeline=pipeline, stage=stage)
    return _fetch(user, opp.pk)


@router.get("/{int:opportunity_id}/stage-changes", response=list[StageChangeOut], summary="Stage history")
def stage_changes(request: HttpRequest, opportunity_id: int) -> list[StageChangeOut]:
    opp = get_opportunity_for_user(_user(request), opportunity_id)
    changes: list[StageChange] = list(stage_changes_for(opp))
    return [
        StageChangeOut(
            id=c.pk,
            from_stage=_stage_ref(c.from_stage) if c.from_stage else None,
            to_stage=_stage_ref(c.to_stage),
            changed_by_id=c.changed_by_id,
            changed_by_name=str(c.changed_by) if c.changed_by else None,
            changed_at=c.changed_at,
            duration_seconds=c.duration_seconds,
            from_position=c.from_position,
            to_position=c.to_position,
            owner_id=c.owner_id,
            owner_team_id=c.owner_team_id,
            amount=f"{c.amount:.2f}" if c.amount is not None else None,
            currency=c.currency,
            probability=c.probability,
            is_regression=c.is_regression,
            gate_overridden=c.gate_overridden,
        )
        for c in changes
    ]


@router.get(
    "/{int:opportunity_id}/field-changes",
    response=list[FieldChangeOut],
    summary="History of amount, close date, probability, forecast category, stage, owner, pipeline and outcome",
)
def field_changes(request: HttpRequest, opportunity_id: int) -> list[FieldChangeOut]:
    opp = get_opportunity_for_user(_user(request), opportunity_id)
    return [
        FieldChangeOut(
            id=c.pk,
            field=c.field,
            old_value=c.old_value,
            new_value=c.new_value,
            currency=c.currency,
            changed_by_id=c.changed_by_id,
            changed_at=c.changed_at,
        )
        for c in field_history_for(opp)
    ]


# --- bulk actions (core.bulk) ----------------------------------------------------------------------


def _filtered(user: User, filters: OpportunityFilters) -> QuerySet[Opportunity]:
    """The deals of ``GET /opportunities`` for these filters; the bulk ``filter`` uses the same."""
    qs = opportunity_list(
        user,
        q=filters.q,
        stage=filters.stage,
        outcome=filters.outcome,
        owner=filters.owner_id,
        account=filters.account_id,
        pipeline=filters.pipeline,
        close_from=filters.close_from,
        close_to=filters.close_to,
        overdue=filters.overdue,
        sort=filters.sort,
        stalled=filters.stalled,
    )
    return tag_step(qs, filters.tag_id)  # salesflow.tags


def _opportunities_matching(user: User, data: dict[str, Any]) -> QuerySet[Opportunity]:
    return _filtered(user, filter_query(OpportunityFilters, data))


@router.post("/bulk", response=BulkOut, summary="One action on many opportunities")
def bulk_opportunities(request: HttpRequest, payload: OpportunityBulkIn) -> dict[str, Any]:
    """``assign``, ``stage`` (an open stage: each deal must be in its pipeline), ``tag_add``,
    ``tag_remove`` or ``delete`` on the given ``ids`` or every deal matching ``filter``; each
    deal through its service. Returns how many succeeded and why each other failed."""
    user = _user(request)

    def action() -> Any:
        tagging = tag_bulk_action(actor=user, action=payload.action, tag_id=payload.tag_id)
        if tagging is not None:
            return tagging
        if payload.action == "assign":
            owner = assignable_owner(user, payload.owner_id)
            return lambda opp: opportunity_update(actor=user, opportunity=opp, owner=owner)
        if payload.action == "stage":
            ref = (payload.stage or "").strip()
            stages = (
                Stage.objects.filter(pk=int(ref)) if ref.isdigit() and len(ref) < 18 else Stage.objects.filter(code=ref)
            )
            found = list(stages.select_related("pipeline")[:50]) if ref else []
            if not found:
                raise ValidationFailed(
                    _("The input is not valid."), field_errors={"stage": [_("Select a valid stage.")]}
                )
            by_pipeline = {s.pipeline_id: s for s in found}

            def move(opp: Opportunity) -> object:
                stage = by_pipeline.get(opp.pipeline_id, found[0])
                return opportunity_move_stage(
                    actor=user, opportunity=opp, stage=stage, override_reason=payload.override_reason
                )

            return move
        return lambda opp: opportunity_delete(actor=user, opportunity=opp)

    return run_bulk_api(
        payload,
        visible=opportunities_visible_to(user),
        matching=lambda d: _opportunities_matching(user, d),
        action=action,
    )


# ------------------------------------------- pipeline configuration (administrators)
# The settings pages' services (sales.config_services): 403 for non-administrators,
# 400 naming the field, 409 for a stage that deals use.


def _config_pipeline(pk: int) -> Pipeline:
    pipeline = Pipeline.objects.filter(pk=pk).first() if 0 < pk < 2**63 else None
    if pipeline is None:
        raise Http404("no such pipeline")
    return pipeline


def _config_stage(pipeline: Pipeline, pk: int) -> Stage:
    stage = (
        Stage.objects.filter(pipeline=pipeline, pk=pk).select_related("pipeline").first() if 0 < pk < 2**63 else None
    )
    if stage is None:
        raise Http404("no such stage")
    return stage


def _require_config_admin(request: HttpRequest) -> User:
    user = _user(request)
    if not user.is_admin:
        raise Forbidden(_("Only administrators may change the sales pipelines."))
    return user


def _config_out(pipeline: Pipeline) -> PipelineConfigOut:
    p = pipelines_for_settings().get(pk=pipeline.pk)
    return PipelineConfigOut(
        id=p.pk,
        code=p.code,
        name_en=p.name_en,
        name_zh=p.name_zh,
        is_default=p.is_default,
        is_active=p.is_active,
        position=p.position,
        team_ids=[link.team_id for link in p.team_links.all()],
        default_for_team_ids=[d.team_id for d in p.default_for_teams.all()],
        stages=[
            StageConfigOut(
                id=s.pk,
                code=s.code,
                name_en=s.name_en,
                name_zh=s.name_zh,
                position=s.position,
                kind=s.kind,
                probability=s.probability,
                forecast_category=s.forecast_category,
                rotting_days=s.rotting_days,
                guidance_en=s.guidance_en,
                guidance_zh=s.guidance_zh,
                is_active=s.is_active,
                is_bant_gate=s.is_bant_gate,
            )
            for s in p.stages.all()
        ],
    )


@router.get(
    "/pipelines/config", response=list[PipelineConfigOut], summary="Every pipeline's configuration (administrators)"
)
def pipeline_configs(request: HttpRequest) -> list[PipelineConfigOut]:
    _require_config_admin(request)
    return [_config_out(p) for p in pipelines_for_settings()]


@router.get(
    "/pipelines/{int:pipeline_id}", response=PipelineConfigOut, summary="One pipeline's configuration (administrators)"
)
def pipeline_config(request: HttpRequest, pipeline_id: int) -> PipelineConfigOut:
    pipeline = _config_pipeline(pipeline_id)  # 404 first, then 403
    _require_config_admin(request)
    return _config_out(pipeline)


@router.post("/pipelines", response={201: PipelineConfigOut}, summary="Create a pipeline (administrators)")
def create_pipeline(request: HttpRequest, payload: PipelineCreateIn) -> tuple[int, PipelineConfigOut]:
    pipeline = pipeline_create(actor=_user(request), **payload.dict())
    return 201, _config_out(pipeline)


@router.patch("/pipelines/{int:pipeline_id}", response=PipelineConfigOut, summary="Change a pipeline (administrators)")
def patch_pipeline(request: HttpRequest, pipeline_id: int, payload: PipelinePatchIn) -> PipelineConfigOut:
    pipeline = _config_pipeline(pipeline_id)
    user = _require_config_admin(request)
    data = payload.dict(exclude_unset=True)
    team_ids = data.pop("team_ids", None)
    default_ids = data.pop("default_for_team_ids", None)
    for key, value in data.items():
        if value is None:
            raise _invalid(key, _("This field cannot be null."))
    with transaction.atomic():  # both services or neither
        if data:
            pipeline_update(actor=user, pipeline=pipeline, **data)
        if team_ids is not None or default_ids is not None:
            current_teams = list(TeamPipeline.objects.filter(pipeline=pipeline).values_list("team_id", flat=True))
            current_defaults = list(
                TeamDefaultPipeline.objects.filter(pipeline=pipeline).values_list("team_id", flat=True)
            )
            with _config_field_names():
                pipeline_set_teams(
                    actor=user,
                    pipeline=pipeline,
                    teams=team_ids if team_ids is not None else current_teams,
                    default_for=default_ids if default_ids is not None else current_defaults,
                )
    return _config_out(pipeline)


@contextmanager
def _config_field_names() -> Iterator[None]:
    try:
        yield
    except ValidationFailed as exc:
        names = {"teams": "team_ids", "default_for": "default_for_team_ids", "stages": "stage_ids"}
        exc.field_errors = {names.get(k, k): v for k, v in exc.field_errors.items()}
        raise


@router.post(
    "/pipelines/{int:pipeline_id}/copy", response={201: PipelineConfigOut}, summary="Copy a pipeline (administrators)"
)
def copy_pipeline(request: HttpRequest, pipeline_id: int, payload: PipelineCopyIn) -> tuple[int, PipelineConfigOut]:
    source = _config_pipeline(pipeline_id)
    user = _require_config_admin(request)
    data = payload.dict()
    if data["is_active"] is None:
        data["is_active"] = source.is_active
    copy = pipeline_copy(actor=user, source=source, **data)
    return 201, _config_out(copy)


@router.post(
    "/pipelines/{int:pipeline_id}/stages",
    response={201: PipelineConfigOut},
    summary="Add a stage to a pipeline (administrators)",
)
def create_stage(request: HttpRequest, pipeline_id: int, payload: StageCreateIn) -> tuple[int, PipelineConfigOut]:
    pipeline = _config_pipeline(pipeline_id)
    user = _require_config_admin(request)
    stage_create(actor=user, pipeline=pipeline, **payload.dict())
    return 201, _config_out(pipeline)


@router.patch(
    "/pipelines/{int:pipeline_id}/stages/{int:stage_id}",
    response=PipelineConfigOut,
    summary="Change a stage; is_active=false hides it, 409 while deals sit in it (administrators)",
)
def patch_stage(request: HttpRequest, pipeline_id: int, stage_id: int, payload: StagePatchIn) -> PipelineConfigOut:
    pipeline = _config_pipeline(pipeline_id)
    stage = _config_stage(pipeline, stage_id)
    user = _require_config_admin(request)
    data = payload.dict(exclude_unset=True)
    for key, value in data.items():
        if value is None and key != "rotting_days":
            raise _invalid(key, _("This field cannot be null."))
    hide = data.get("is_active") is False
    if hide:
        data.pop("is_active")
    with transaction.atomic():
        if data:
            stage_update(actor=user, stage=stage, **data)
        if hide:
            stage_deactivate(actor=user, stage=stage)
    return _config_out(pipeline)


@router.post(
    "/pipelines/{int:pipeline_id}/stages/reorder",
    response=PipelineConfigOut,
    summary="Put a pipeline's stages in a new order (administrators)",
)
def reorder_stages(request: HttpRequest, pipeline_id: int, payload: StageReorderIn) -> PipelineConfigOut:
    pipeline = _config_pipeline(pipeline_id)
    user = _require_config_admin(request)
    by_id = {s.pk: s for s in Stage.objects.filter(pipeline=pipeline)}
    unknown = [pk for pk in payload.stage_ids if pk not in by_id]
    if unknown:
        raise _invalid("stage_ids", _("Unknown stage."))
    with _config_field_names():
        stage_reorder(actor=user, pipeline=pipeline, stages=[by_id[pk] for pk in payload.stage_ids])
    return _config_out(pipeline)


@router.delete(
    "/pipelines/{int:pipeline_id}/stages/{int:stage_id}",
    response={204: None},
    summary="Delete a never-used stage; 409 for a stage deals use (hide it instead) (administrators)",
)
def delete_stage(request: HttpRequest, pipeline_id: int, stage_id: int) -> tuple[int, None]:
    stage = _config_stage(_config_pipeline(pipeline_id), stage_id)
    stage_delete(actor=_require_config_admin(request), stage=stage)
    return 204, None


# --------------------------------------------------------------------------- stage gates
# Entry criteria of stages (administrators) and a deal's checklist (salesflow.sales.gates).


def _criterion_out(c: StageCriterion) -> CriterionOut:
    return CriterionOut(
        id=c.pk,
        stage_id=c.stage_id,
        kind=c.kind,
        params=c.params if isinstance(c.params, dict) else {},
        label=criterion_label(c),
        label_en=c.label_en,
        label_zh=c.label_zh,
        position=c.position,
        is_active=c.is_active,
    )


def _admin(request: HttpRequest) -> User:
    user = _user(request)
    if not unrestricted(user):
        raise Forbidden(_("Only administrators may change entry criteria."))
    return user


def _stage_for_admin(stage_id: int) -> Stage:
    stage = Stage.objects.select_related("pipeline").filter(pk=stage_id).first()
    if stage is None:
        raise Http404("stage not found")
    return stage


def _criterion_for_admin(criterion_id: int) -> StageCriterion:
    criterion = StageCriterion.objects.select_related("stage").filter(pk=criterion_id).first()
    if criterion is None:
        raise Http404("criterion not found")
    return criterion


@router.get("/criterion-types", response=list[CriterionTypeOut], summary="Entry-criterion types (stage gates)")
def criterion_types_list(request: HttpRequest) -> list[CriterionTypeOut]:
    return [
        CriterionTypeOut(code=t.code, label=str(t.label), help_text=str(t.help_text), manual=t.manual)
        for t in criterion_types()
    ]


@router.get("/stages/{int:stage_id}/criteria", response=list[CriterionOut], summary="A stage's entry criteria (admin)")
def stage_criteria_list(request: HttpRequest, stage_id: int) -> list[CriterionOut]:
    stage = _stage_for_admin(stage_id)  # unknown ids are 404 for everyone
    _admin(request)
    return [_criterion_out(c) for c in stage.criteria.order_by("position", "id")]


@router.post(
    "/stages/{int:stage_id}/criteria", response={201: CriterionOut}, summary="Add an entry criterion to a stage (admin)"
)
def stage_criteria_create(request: HttpRequest, stage_id: int, payload: CriterionIn) -> tuple[int, CriterionOut]:
    stage = _stage_for_admin(stage_id)
    user = _admin(request)
    criterion = stage_criterion_create(
        actor=user,
        stage=stage,
        kind=payload.kind,
        params=payload.params,
        label_en=payload.label_en,
        label_zh=payload.label_zh,
        position=payload.position,
        is_active=payload.is_active,
    )
    return 201, _criterion_out(criterion)


@router.patch("/criteria/{int:criterion_id}", response=CriterionOut, summary="Change an entry criterion (admin)")
def stage_criteria_patch(request: HttpRequest, criterion_id: int, payload: CriterionPatchIn) -> CriterionOut:
    criterion = _criterion_for_admin(criterion_id)
    user = _admin(request)
    changes = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None or k == "params"}
    stage_criterion_update(actor=user, criterion=criterion, **cast(CriterionChanges, changes))
    return _criterion_out(criterion)


@router.delete("/criteria/{int:criterion_id}", response={204: None}, summary="Remove an entry criterion (admin)")
def stage_criteria_delete(request: HttpRequest, criterion_id: int) -> tuple[int, None]:
    criterion = _criterion_for_admin(criterion_id)
    stage_criterion_delete(actor=_admin(request), criterion=criterion)
    return 204, None


def _checklist_out(opp: Opportunity) -> list[StageChecklistOut]:
    return [
        StageChecklistOut(
            stage=_stage_ref(block.stage),
            current=block.current,
            items=[
                ChecklistItemOut(
                    criterion_id=r.criterion.pk,
                    code=r.code,
                    label=r.label,
                    met=r.met,
                    explanation=r.explanation,
                    manual=r.manual,
                )
                for r in block.results
            ],
        )
        for block in opportunity_checklist(opp)
    ]


@router.get(
    "/{int:opportunity_id}/checklist",
    response=list[StageChecklistOut],
    summary="Entry criteria of the deal's current and next stage, each met or not",
)
def checklist(request: HttpRequest, opportunity_id: int) -> list[StageChecklistOut]:
    return _checklist_out(get_opportunity_for_user(_user(request), opportunity_id))


@router.post(
    "/{int:opportunity_id}/checklist/{int:criterion_id}",
    response=list[StageChecklistOut],
    summary="Tick or untick a checklist item on the deal",
)
def checklist_tick(
    request: HttpRequest, opportunity_id: int, criterion_id: int, payload: TickIn | None = None
) -> list[StageChecklistOut]:
    user = _user(request)
    opp = get_opportunity_for_user(user, opportunity_id, write=True)
    criterion = StageCriterion.objects.select_related("stage").filter(pk=criterion_id).first()
    if criterion is None or criterion.stage.pipeline_id != opp.pipeline_id:
        raise Http404("criterion not found")
    opportunity_checklist_tick(
        actor=user, opportunity=opp, criterion=criterion, ticked=payload.ticked if payload is not None else True
    )
    return _checklist_out(opp)


# ------------------------------------------------ the stall escalation ladder (administrators)


def _ladder_admin(request: HttpRequest) -> User:
    user = _user(request)
    if not unrestricted(user):
        raise Forbidden(_("Only administrators may change the sales pipelines."))
    return user


def _stall_step_out(step: StallEscalationStep) -> StallStepOut:
    return StallStepOut(
        id=step.pk,
        after_days_stalled=step.after_days_stalled,
        notify=step.notify,
        notify_label=str(StallRecipient(step.notify).label) if step.notify in StallRecipient.values else step.notify,
        is_active=step.is_active,
    )


def _stall_step(step_id: int) -> StallEscalationStep:
    step = StallEscalationStep.objects.filter(pk=step_id).first() if step_id < 2**31 else None
    if step is None:
        raise Http404("step not found")
    return step


@router.get("/stall-ladder", response=list[StallStepOut], summary="The stall escalation ladder (administrators)")
def stall_ladder_list(request: HttpRequest) -> list[StallStepOut]:
    _ladder_admin(request)
    return [_stall_step_out(s) for s in StallEscalationStep.objects.order_by("after_days_stalled", "id")]


@router.post("/stall-ladder", response={201: StallStepOut}, summary="Add a stall escalation step (administrators)")
def stall_ladder_add(request: HttpRequest, payload: StallStepIn) -> tuple[int, StallStepOut]:
    step = stall_step_save(
        actor=_user(request),
        after_days_stalled=payload.after_days_stalled,
        notify=payload.notify,
        is_active=payload.is_active,
    )
    return 201, _stall_step_out(step)


@router.patch("/stall-ladder/{int:step_id}", response=StallStepOut, summary="Change a stall escalation step")
def stall_ladder_patch(request: HttpRequest, step_id: int, payload: StallStepPatchIn) -> StallStepOut:
    step = _stall_step(step_id)  # an unknown id is 404 before the role check
    user = _ladder_admin(request)
    values = payload.model_dump(exclude_unset=True)
    step = stall_step_save(
        actor=user,
        step=step,
        after_days_stalled=values.get("after_days_stalled", step.after_days_stalled),
        notify=values.get("notify") or step.notify,
        is_active=step.is_active if values.get("is_active") is None else values["is_active"],
    )
    return _stall_step_out(step)


@router.delete("/stall-ladder/{int:step_id}", response={204: None}, summary="Delete a stall escalation step")
def stall_ladder_delete(request: HttpRequest, step_id: int) -> tuple[int, None]:
    step = _stall_step(step_id)
    user = _ladder_admin(request)
    stall_step_delete(actor=user, step=step)
    return 204, None
