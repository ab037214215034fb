"""Opportunity pages: list, pipeline board, detail, create/edit/delete and the stage
and outcome actions. Views parse input, check access, call a service and render."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from salesflow.core.audit import timeline_for
from salesflow.core.bulk import BULK_MAX, run_bulk_form
from salesflow.core.errors import Forbidden, ServiceError, ValidationFailed
from salesflow.core.web import apply_service_error, page_number, paginate, render_list, wants_fragment
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import contacts_visible_to, get_account_for_user
from salesflow.sales.choices import Outcome, StageKind
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
)
from salesflow.sales.exports import opportunity_rows
from salesflow.sales.forms import (
    BoardFilterForm,
    ChangePipelineForm,
    CloseForm,
    MoveForm,
    OpportunityBulkForm,
    OpportunityCreateForm,
    OpportunityEditForm,
    OpportunityFilterForm,
    PipelineCopyForm,
    PipelineCreateForm,
    PipelineSettingsForm,
    PipelineTeamsForm,
    StageMoveForm,
    StageOrderForm,
    StageSettingsForm,
)
from salesflow.sales.gates import GateRefused
from salesflow.sales.models import (
    Opportunity,
    OpportunityContact,
    Pipeline,
    Stage,
    TeamDefaultPipeline,
    TeamPipeline,
)
from salesflow.sales.permissions import (
    can_manage_opportunity,
    can_override_gates,
    can_write_opportunity,
    get_opportunity_for_user,
    opportunities_visible_to,
)
from salesflow.sales.selectors import (
    OPPORTUNITY_SORTS,
    StallStatus,
    active_lost_reasons,
    active_pipelines,
    active_stages,
    board,
    competitors_all,
    month_bounds,
    open_stages,
    opportunities_for_account,
    opportunity_detail,
    opportunity_list,
    order_by_for,
    owner_filter_choices,
    pipeline_by_ref,
    pipeline_change_options,
    pipelines_for,
    pipelines_for_settings,
    stage_in_pipeline,
    stages_in_use,
    stages_with_history,
    stall_rules,
    stall_status,
    stuck_matrix,
    writable_accounts_for,
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
from salesflow.sales.stuck_html import stuck_rows_html
from salesflow.tags.selectors import parse_tag_id, tag_choices, tag_step
from salesflow.tags.services import tag_bulk_action
from salesflow.users.models import User
from salesflow.users.permissions import writable_owner_ids

CONTACT_OPTIONS_LIMIT = 200
BOARD_TARGET = "board"


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _opportunity(request: HttpRequest, pk: int, *, write: bool = False) -> Opportunity:
    """The opportunity through the access function; "seen but not writable" → HTTP 403."""
    return get_opportunity_for_user(_user(request), pk, write=write)


def _error_text(exc: ServiceError) -> str:
    details = [m for msgs in exc.field_errors.values() for m in msgs]
    return " ".join([str(exc.message), *details]) if details else str(exc.message)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


# ------------------------------------------------------------------------------ list


def _sort_headers(current: str) -> dict[str, dict[str, Any]]:
    """Per sortable column: whether it is the active sort, its direction and the next key."""
    headers = {}
    for key in OPPORTUNITY_SORTS:
        active = current.lstrip("-") == key
        desc = current.startswith("-")
        headers[key] = {"active": active, "desc": active and desc, "next": f"-{key}" if active and not desc else key}
    return headers


def opportunity_list_view(request: HtmxRequest) -> HttpResponse:
    user = _user(request)
    pipelines = active_pipelines()
    form = OpportunityFilterForm(request.GET or None, user=user, stages=active_stages(), pipelines=pipelines)
    filters = form.values() if request.GET else {}
    sort_key, _fields = order_by_for(request.GET.get("sort"))
    qs = opportunity_list(
        user,
        q=filters.get("q"),
        stage=filters.get("stage") or None,
        outcome=filters.get("outcome") or None,
        owner=_int_or_none(filters.get("owner")),
        account=_int_or_none(request.GET.get("account")),
        pipeline=filters.get("pipeline") or None,
        close_from=filters.get("close_from"),
        close_to=filters.get("close_to"),
        overdue=bool(filters.get("overdue")),
        sort=sort_key,
        stalled=bool(filters.get("stalled")),
    )
    qs = tag_step(qs, parse_tag_id(request.GET.get("tag")))  # salesflow.tags
    page = paginate(qs, page_number(request))
    now = timezone.now()
    today = timezone.localdate()
    month_start = today.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    context = {
        "won_this_month": f"outcome=won&close_from={month_start.isoformat()}&close_to={month_end.isoformat()}",
        "form": form,
        "page": page,
        "rows": _stall_rows(page, now),
        "sort": sort_key,
        "sort_headers": _sort_headers(sort_key),
        **_bulk_context(user),
    }
    return render_list(
        request,
        page="sales/list.html",
        fragment="sales/partials/list_results.html",
        context=context,
        target="opportunity-results",
    )


def _stall_rows(page: Any, now: Any) -> list[tuple[Opportunity, StallStatus]]:
    """Each row of the page with its stall state (one query for the team percentiles)."""
    rows = list(page)
    rules = stall_rules(sorted({opp.stage_id for opp in rows}))
    return [(opp, stall_status(opp, opp.stage, now, rules)) for opp in rows]


# ----------------------------------------------------------------------------- board


def _board_pipeline(user: User, value: str | None) -> Pipeline:
    """The pipeline asked for, else the user's default (their team's, else the global one)."""
    pipeline = pipeline_by_ref(value) if value else None
    if pipeline is None:
        try:
            pipeline = default_pipeline_for(user)
        except ValidationFailed:
            raise Http404("no active pipeline") from None
    return pipeline


def _board_context(request: HttpRequest, params: Any, *, error: str | None = None) -> dict[str, Any]:
    """The board for the filters in ``params`` (invalid filters are ignored here; the page
    shows them as form errors, see ``board_view``)."""
    user = _user(request)
    form = BoardFilterForm(params)
    values = form.values()
    pipeline = _board_pipeline(user, values.get("pipeline"))
    owner = values.get("owner")
    q = (values.get("q") or "").strip()
    tag = values.get("tag")  # salesflow.tags
    return {
        "board": board(user, pipeline=pipeline, owner=owner, q=q, tag=tag, filters=form.board_filters()),
        "owner_filter": owner,
        "tag_filter": tag,
        "q": q,
        "board_error": error,
        "filter_form": form,
        **_board_filter_links(form),
    }


def _board_filter_links(form: BoardFilterForm) -> dict[str, Any]:
    """The valid filters as query strings: sent again with every drop (``filter_query``),
    and carried to the list behind "+N more" (``more_query``: the filters the list has)."""
    query = form.query()
    values = form.values()
    more = {k: v for k, v in query.items() if k in ("owner", "q")}
    if values.get("month"):
        start, end = month_bounds(values["month"])
        more.update(close_from=start.isoformat(), close_to=(end - timedelta(days=1)).isoformat())
    return {
        "filter_query": urlencode(query),
        "more_query": urlencode(more),
        "filter_count": len([k for k in query if k != "pipeline"]),
    }


def _board_partial(
    request: HttpRequest, *, error: str | None = None, status: int = 200, refusal: dict[str, Any] | None = None
) -> HttpResponse:
    """The board re-rendered from the database after a drag-and-drop action.

    The filters come with the POST so the user sees the same board; on a refused action
    the card snaps back because the columns are drawn from the stored state. A move
    refused by a stage gate shows the unmet criteria in the column it was dropped on
    (``refusal``, see ``_gate_refusal``).
    """
    context = _board_context(request, request.POST, error=error)
    context["gate_refusal"] = refusal
    return render(request, "sales/partials/board.html", context, status=status)


#: what a refused move or win is retried with when a manager overrides (form fields kept)
_RETRY_FIELDS = ("stage", "outcome", "closed_on", "amount", "note", "fixed_outcome")


def _gate_refusal(request: HttpRequest, opp: Opportunity, exc: GateRefused, url: str) -> dict[str, Any]:
    """What the refusal panel shows: the target stage, each unmet criterion, and for a
    manager over the owner or an administrator the override form retrying the same POST
    (``url`` with the same fields) with a reason."""
    user = _user(request)
    return {
        "opportunity": opp,
        "stage": exc.stage,
        "unmet": exc.unmet,
        "won": exc.stage.kind == "won",
        "can_override": can_override_gates(user, opp),
        "url": url,
        "values": [(k, request.POST[k]) for k in _RETRY_FIELDS if request.POST.get(k)],
        "board": _from_board(cast(HtmxRequest, request)),
    }


def _from_board(request: HtmxRequest) -> bool:
    return bool(request.htmx) and request.htmx.target == BOARD_TARGET


def board_view(request: HtmxRequest) -> HttpResponse:
    user = _user(request)
    context = _board_context(request, request.GET)
    if not wants_fragment(request, target=BOARD_TARGET):
        context.update(
            owners=owner_filter_choices(user),
            lost_reasons=list(active_lost_reasons()),
            competitors=list(competitors_all()[:500]),
            tags=tag_choices(),
        )
    # A bad filter (a month like "2026-13", an amount like "NaN") is shown on the form
    # and left out of the board: HTTP 400, never a 500.
    status = 400 if context["filter_form"].errors else 200
    return render_list(
        request,
        page="sales/board.html",
        fragment="sales/partials/board.html",
        context=context,
        target=BOARD_TARGET,
        status=status,
    )


# ---------------------------------------------------------------------------- detail


def opportunity_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "sales/detail.html", _detail_context(request, _opportunity(request, pk)))


def _detail_context(request: HttpRequest, opp: Opportunity) -> dict[str, Any]:
    user = _user(request)
    detail = opportunity_detail(opp)
    return {
        "opportunity": opp,
        "detail": detail,
        "can_write": can_write_opportunity(user, opp),
        "can_delete": can_manage_opportunity(user, opp),
        "events": timeline_for(opp, user=user),
        "open_stages": [s for s in detail.stages if s.is_open],
        "current_position": opp.stage.position,
    }


# ----------------------------------------------------------------------- create/edit


def _account_contacts(user: User, account: Account) -> list[Contact]:
    return list(contacts_visible_to(user).filter(account=account).order_by("name", "id")[:CONTACT_OPTIONS_LIMIT])


def _writable_account(user: User, value: str | None) -> Account | None:
    pk = _int_or_none(value)
    return writable_accounts_for(user).filter(pk=pk).first() if pk else None


def opportunity_create_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if writable_owner_ids(user) == set():
        raise PermissionDenied(_("You may not create opportunities."))
    account: Account | None = None
    if request.method == "POST":
        account = _writable_account(user, request.POST.get("account"))
    elif request.GET.get("account"):
        account = get_account_for_user(user, request.GET["account"], write=True)
    contacts = _account_contacts(user, account) if account else []
    form = OpportunityCreateForm(request.POST or None, user=user, account=account, contacts=contacts)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            opp = opportunity_create(
                actor=user,
                account=data["account"],
                owner=data["owner"],
                name=data["name"],
                amount=data["amount"],
                currency=data["currency"],
                pipeline=data["pipeline"],
                stage=data["stage"],
                expected_close_date=data["expected_close_date"],
                next_step=data["next_step"],
                next_step_date=data["next_step_date"],
                description=data["description"],
                contacts=form.cleaned_contacts(),
                competitors=data["competitors"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The opportunity “%(name)s” was created.") % {"name": opp.name})
            return redirect("opportunities:detail", pk=opp.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "sales/form.html", {"form": form, "account": account, "creating": True}, status=status)


@require_GET
def stage_options_view(request: HttpRequest) -> HttpResponse:
    """htmx partial: the open stages of the pipeline chosen on the create form (only a
    pipeline the user may start deals in; anything else gives no options)."""
    user = _user(request)
    pk = _int_or_none(request.GET.get("pipeline"))
    pipeline = pipelines_for(user).filter(pk=pk).first() if pk and pk < 2**31 else None
    stages = list(open_stages().filter(pipeline=pipeline)) if pipeline is not None else []
    return render(request, "sales/partials/stage_options.html", {"stages": stages})


def contact_roles_view(request: HttpRequest) -> HttpResponse:
    """htmx partial: the buying-role rows for the account chosen on the create form."""
    user = _user(request)
    account = _writable_account(user, request.GET.get("account"))
    contacts = _account_contacts(user, account) if account else []
    form = OpportunityCreateForm(user=user, account=account, contacts=contacts)
    return render(request, "sales/partials/contact_roles.html", {"form": form, "account": account})


def opportunity_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    opp = _opportunity(request, pk, write=True)
    roles = list(OpportunityContact.objects.filter(opportunity=opp).select_related("contact"))
    contacts = {r.contact_id: r.contact for r in roles}
    for contact in _account_contacts(user, opp.account):
        contacts.setdefault(contact.pk, contact)
    form = OpportunityEditForm(
        request.POST or None,
        user=user,
        opportunity=opp,
        contacts=sorted(contacts.values(), key=lambda c: (c.name, c.pk)),
        initial_roles={r.contact_id: r.role for r in roles},
        competitor_ids=list(opp.competitors.values_list("pk", flat=True)),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # A won or lost deal's close date is corrected here; left empty it stays as it is.
        extra: dict[str, Any] = {"closed_on": data["closed_on"]} if form.has_closed_on and data["closed_on"] else {}
        try:
            opportunity_update(
                actor=user,
                opportunity=opp,
                **extra,
                name=data["name"],
                amount=data["amount"],
                currency=data["currency"],
                probability=data["probability"],
                forecast_category=data["forecast_category"],
                expected_close_date=data["expected_close_date"],
                next_step=data["next_step"],
                next_step_date=data["next_step_date"],
                owner=data["owner"],
                description=data["description"],
                contacts=form.cleaned_contacts(),
                competitors=data["competitors"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The opportunity was saved."))
            return redirect("opportunities:detail", pk=opp.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "sales/form.html", {"form": form, "opportunity": opp, "account": opp.account}, status=status)


def opportunity_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    opp = _opportunity(request, pk, write=True)
    if not can_manage_opportunity(user, opp):  # a read-write share never deletes
        raise Forbidden(_("You may not change this opportunity."))
    if request.method == "POST":
        name = opp.name
        opportunity_delete(actor=user, opportunity=opp)
        messages.success(request, _("The opportunity “%(name)s” was deleted.") % {"name": name})
        return redirect("opportunities:list")
    return render(request, "sales/delete.html", {"opportunity": opp})


# --------------------------------------------------------------- stage and outcome


def _action_failed(request: HtmxRequest, exc: ServiceError | Http404) -> HttpResponse:
    if isinstance(exc, Http404):
        if _from_board(request):
            return _board_partial(request, error=_("The opportunity was not found."), status=404)
        raise exc
    if _from_board(request):
        return _board_partial(request, error=_error_text(exc), status=exc.status_code)
    if isinstance(exc, Forbidden):
        raise PermissionDenied(str(exc.message)) from exc
    raise exc


@require_POST
def opportunity_move_view(request: HtmxRequest, pk: int) -> HttpResponse:
    """Move to another open stage (detail page form or a board drop)."""
    user = _user(request)
    form = MoveForm(request.POST)
    try:
        opp = get_opportunity_for_user(user, pk, write=True)
        stage = stage_in_pipeline(opp.pipeline_id, form.data.get("stage", "")) if form.is_valid() else None
        if stage is None:
            raise ValidationFailed(
                _("The opportunity could not be moved."), field_errors={"stage": [_("Select a valid stage.")]}
            )
        opportunity_move_stage(
            actor=user, opportunity=opp, stage=stage, override_reason=request.POST.get("override_reason")
        )
    except Http404 as exc:
        return _action_failed(request, exc)
    except GateRefused as exc:
        # Stage gates: show every unmet criterion where the card was dropped (the board is
        # re-rendered from the database, so the card is back in its column), or on the page.
        refusal = _gate_refusal(request, opp, exc, reverse("opportunities:move", args=[opp.pk]))
        if _from_board(request):
            return _board_partial(request, status=409, refusal=refusal)
        context = {**_detail_context(request, opp), "gate_refusal": refusal}
        return render(request, "sales/detail.html", context, status=409)
    except ServiceError as exc:
        if _from_board(request) or isinstance(exc, Forbidden):
            return _action_failed(request, exc)
        messages.error(request, _error_text(exc))
        return redirect("opportunities:detail", pk=pk)
    if _from_board(request):
        return _board_partial(request)
    messages.success(request, _("Moved to “%(stage)s”.") % {"stage": stage.label})
    return redirect("opportunities:detail", pk=opp.pk)


def opportunity_close_view(request: HtmxRequest, pk: int) -> HttpResponse:
    """Won / lost / paused / upgraded. GET shows the form: ``?outcome=won`` is the win
    confirmation (final amount and close date), ``?outcome=lost`` asks for the reason;
    a POST from the page or from a board drop closes the deal."""
    user = _user(request)
    if request.method != "POST":
        opp = _opportunity(request, pk, write=True)
        fixed = request.GET.get("outcome", "")
        fixed = fixed if fixed in (Outcome.WON, Outcome.LOST, Outcome.PAUSED, Outcome.UPGRADED) else ""
        form = CloseForm(initial={"outcome": fixed or Outcome.WON}, opportunity=opp)
        return render(request, "sales/close.html", {"opportunity": opp, "form": form, "fixed_outcome": fixed})
    form = CloseForm(request.POST)
    fixed = request.POST.get("fixed_outcome", "")
    try:
        opp = get_opportunity_for_user(user, pk, write=True)
        form = CloseForm(request.POST, opportunity=opp)
        if not form.is_valid():
            raise ValidationFailed(
                _("The opportunity could not be closed."),
                field_errors={k: [str(m) for m in v] for k, v in form.errors.items()},
            )
        data = form.cleaned_data
        opportunity_close(
            actor=user,
            opportunity=opp,
            override_reason=request.POST.get("override_reason"),
            **form.service_kwargs(),
        )
    except Http404 as exc:
        return _action_failed(request, exc)
    except GateRefused as exc:
        refusal = _gate_refusal(request, opp, exc, reverse("opportunities:close", args=[opp.pk]))
        if _from_board(request):
            return _board_partial(request, status=409, refusal=refusal)
        context = {"opportunity": opp, "form": form, "fixed_outcome": fixed, "gate_refusal": refusal}
        return render(request, "sales/close.html", context, status=409)
    except ServiceError as exc:
        if _from_board(request) or isinstance(exc, Forbidden):
            return _action_failed(request, exc)
        if form.is_bound and not form.errors:
            apply_service_error(form, exc)
        status = exc.status_code
        context = {"opportunity": opp, "form": form, "fixed_outcome": fixed}
        return render(request, "sales/close.html", context, status=status)
    if _from_board(request):
        return _board_partial(request)
    labels = {
        Outcome.WON: _("The opportunity was marked as won."),
        Outcome.LOST: _("The opportunity was marked as lost."),
        Outcome.PAUSED: _("The opportunity was paused."),
        Outcome.UPGRADED: _("The opportunity was marked as upgraded."),
    }
    messages.success(request, labels[Outcome(data["outcome"])])
    return redirect("opportunities:detail", pk=opp.pk)


@require_POST
def opportunity_reopen_view(request: HtmxRequest, pk: int) -> HttpResponse:
    user = _user(request)
    opp = _opportunity(request, pk, write=True)
    stage_ref = request.POST.get("stage", "").strip()
    stage = stage_in_pipeline(opp.pipeline_id, stage_ref) if stage_ref else None
    try:
        if stage_ref and stage is None:
            raise ValidationFailed(
                _("The opportunity could not be reopened."), field_errors={"stage": [_("Select a valid stage.")]}
            )
        opportunity_reopen(actor=user, opportunity=opp, stage=stage)
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The opportunity was reopened."))
    return redirect(reverse("opportunities:detail", args=[opp.pk]))


def opportunity_change_pipeline_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the deal to another pipeline: GET shows the stage choice grouped by pipeline."""
    user = _user(request)
    opp = _opportunity(request, pk, write=True)
    form = ChangePipelineForm(request.POST or None, options=pipeline_change_options(opp))
    if request.method == "POST" and form.is_valid():
        target = form.chosen_stage()
        try:
            opportunity_change_pipeline(actor=user, opportunity=opp, pipeline=target.pipeline, stage=target)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Moved to “%(pipeline)s · %(stage)s”.") % {"pipeline": target.pipeline.label, "stage": target.label},
            )
            return redirect("opportunities:detail", pk=opp.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "sales/change_pipeline.html", {"opportunity": opp, "form": form}, status=status)


# --- the account page's deals panel (htmx) -----------------------------------------------------

ACCOUNT_PANEL_LIMIT = 20


@require_GET
def account_opportunities_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """``GET /opportunities/for-account/<pk>/panel/``: the account's deals the reader may see
    (stage, amount, close date), at most ``ACCOUNT_PANEL_LIMIT`` with a link to the filtered
    list. 404 when the account is not visible. Three queries whatever the number of deals."""
    user = _user(request)
    account = get_account_for_user(user, pk)
    rows = list(opportunities_for_account(user, account)[: ACCOUNT_PANEL_LIMIT + 1])
    return render(
        request,
        "sales/partials/account_panel.html",
        {
            "account": account,
            "deals": rows[:ACCOUNT_PANEL_LIMIT],
            "has_more": len(rows) > ACCOUNT_PANEL_LIMIT,
            "today": timezone.localdate(),
        },
    )


# ------------------------------------------------------------------------ bulk actions


def _bulk_context(user: User, data: Any = None) -> dict[str, Any]:
    return {
        "bulk_form": OpportunityBulkForm(data, user=user, stages=active_stages()),
        "bulk_url": reverse("opportunities:bulk"),
        "bulk_refresh": "#opportunity-results",
        "bulk_max": f"{BULK_MAX:,}",
    }


def opportunities_matching(user: User, params: QueryDict) -> QuerySet[Opportunity]:
    """The rows of the opportunity list for these query parameters: the same function the
    export uses (``sales.exports.opportunity_rows``: the list's form, filters, tag and sort)."""
    return opportunity_rows(user, params)


def _opportunity_action(user: User, form: OpportunityBulkForm) -> Callable[[Opportunity], object]:
    action = form.cleaned_data["action"]
    tagging = tag_bulk_action(actor=user, action=action, tag_id=form.cleaned_data.get("tag"))
    if tagging is not None:
        return tagging
    if action == "assign":
        owner = form.require("owner")
        return lambda opp: opportunity_update(actor=user, opportunity=opp, owner=owner)
    if action == "stage":
        stage = form.require("stage")
        reason = (form.cleaned_data.get("override_reason") or "").strip() or None
        return lambda opp: opportunity_move_stage(actor=user, opportunity=opp, stage=stage, override_reason=reason)
    return lambda opp: opportunity_delete(actor=user, opportunity=opp)


@require_POST
def opportunity_bulk_view(request: HttpRequest) -> HttpResponse:
    """Apply one action to the ticked deals or to every deal matching the list's filters."""
    user = _user(request)
    return run_bulk_form(
        request,
        OpportunityBulkForm(request.POST, user=user, stages=active_stages()),
        visible=opportunities_visible_to(user),
        matching=lambda params: opportunities_matching(user, params),
        action=lambda form: _opportunity_action(user, form),
        fallback=reverse("opportunities:list"),
    )


# ------------------------------------------------ pipeline settings (administrators)
# Settings → Pipelines (/settings/pipelines/, namespace "sales"): list, create, copy,
# edit a pipeline and its teams, add/edit/reorder/hide stages. Every write goes through
# sales.config_services, which checks the actor again.


def _require_admin(request: HttpRequest) -> User:
    user = _user(request)
    if not user.is_admin:
        raise PermissionDenied(_("Only administrators configure the sales pipelines."))
    return user


def _settings_pipeline(pk: int) -> Pipeline:
    pipeline = Pipeline.objects.filter(pk=pk).first() if pk < 2**31 else None
    if pipeline is None:
        raise Http404("no such pipeline")
    return pipeline


def _settings_stage(pk: int) -> Stage:
    stage = Stage.objects.select_related("pipeline").filter(pk=pk).first() if pk < 2**31 else None
    if stage is None:
        raise Http404("no such stage")
    return stage


def _pipeline_values(pipeline: Pipeline) -> dict[str, Any]:
    return {f: getattr(pipeline, f) for f in ("code", "name_zh", "name_en", "position", "is_active", "is_default")}


def _stage_values(stage: Stage) -> dict[str, Any]:
    fields = ("name_zh", "name_en", "probability", "forecast_category", "rotting_days", "guidance_zh", "guidance_en")
    return {f: getattr(stage, f) for f in (*fields, "is_bant_gate")}


def _stage_table_context(pipeline: Pipeline) -> dict[str, Any]:
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position"))
    in_use = stages_in_use(pipeline)
    history = stages_with_history(pipeline)
    return {
        "pipeline": pipeline,
        "stage_rows": [
            {"stage": s, "deals": in_use.get(s.pk, 0), "deletable": not in_use.get(s.pk) and s.pk not in history}
            for s in stages
        ],
    }


def _stage_table(
    request: HttpRequest, pipeline: Pipeline, *, error: str | None = None, status: int = 200
) -> HttpResponse:
    context = {**_stage_table_context(pipeline), "stage_error": error}
    return render(request, "sales/settings/partials/stage_table.html", context, status=status)


@require_http_methods(["GET", "POST"])
def pipeline_settings_view(request: HttpRequest) -> HttpResponse:
    """Every pipeline (hidden ones too) with its stages and teams; a form to create one."""
    user = _require_admin(request)
    form = PipelineCreateForm(request.POST or None, prefix="new")
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = pipeline_create(
                actor=user,
                code=form.cleaned_data["code"],
                name_en=form.cleaned_data["name_en"],
                name_zh=form.cleaned_data["name_zh"],
                is_active=False,
                position=(Pipeline.objects.order_by("-position").values_list("position", flat=True).first() or 0) + 1,
                starter_stages=True,
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The pipeline “%(name)s” was created.") % {"name": pipeline.label})
            return redirect("sales:pipeline_edit", pk=pipeline.pk)
    status = 400 if request.method == "POST" else 200
    context = {"pipelines": list(pipelines_for_settings()), "form": form}
    return render(request, "sales/settings/pipelines.html", context, status=status)


@require_http_methods(["GET", "POST"])
def pipeline_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One pipeline: its fields, its teams, its stages (drag and drop or up/down), a copy form."""
    user = _require_admin(request)
    pipeline = _settings_pipeline(pk)
    form = PipelineSettingsForm(request.POST or None, initial=_pipeline_values(pipeline))
    if request.method == "POST" and form.is_valid():
        before = _pipeline_values(pipeline)
        changes = {k: v for k, v in form.cleaned_data.items() if before.get(k) != v}
        try:
            pipeline_update(actor=user, pipeline=pipeline, **changes)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The pipeline was saved."))
            return redirect("sales:pipeline_edit", pk=pipeline.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "sales/settings/pipeline.html", _pipeline_page(pipeline, form=form), status=status)


def _pipeline_page(pipeline: Pipeline, **forms_: Any) -> dict[str, Any]:
    teams = list(TeamPipeline.objects.filter(pipeline=pipeline).values_list("team_id", flat=True))
    defaults = list(TeamDefaultPipeline.objects.filter(pipeline=pipeline).values_list("team_id", flat=True))
    context: dict[str, Any] = {
        "pipeline": pipeline,
        "form": PipelineSettingsForm(initial=_pipeline_values(pipeline)),
        "teams_form": PipelineTeamsForm(initial={"teams": teams, "default_for": defaults}),
        "copy_form": PipelineCopyForm(
            prefix="copy",
            initial={
                "code": f"{pipeline.code}-copy"[:50],
                "name_zh": f"{pipeline.name_zh}（副本）"[:100],
                "name_en": f"{pipeline.name_en} (copy)"[:100],
            },
        ),
        "stage_form": StageSettingsForm(creating=True, prefix="stage"),
        **_stage_table_context(pipeline),
    }
    context.update(forms_)
    return context


@require_POST
def pipeline_teams_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_admin(request)
    pipeline = _settings_pipeline(pk)
    form = PipelineTeamsForm(request.POST)
    if form.is_valid():
        try:
            pipeline_set_teams(
                actor=user,
                pipeline=pipeline,
                teams=list(form.cleaned_data["teams"]),
                default_for=list(form.cleaned_data["default_for"]),
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The pipeline's teams were saved."))
            return redirect("sales:pipeline_edit", pk=pipeline.pk)
    return render(request, "sales/settings/pipeline.html", _pipeline_page(pipeline, teams_form=form), status=400)


@require_POST
def pipeline_copy_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_admin(request)
    source = _settings_pipeline(pk)
    form = PipelineCopyForm(request.POST, prefix="copy")
    if form.is_valid():
        try:
            copy = pipeline_copy(
                actor=user,
                source=source,
                code=form.cleaned_data["code"],
                name_en=form.cleaned_data["name_en"],
                name_zh=form.cleaned_data["name_zh"],
                is_active=source.is_active,
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The pipeline was copied as “%(name)s”.") % {"name": copy.label})
            return redirect("sales:pipeline_edit", pk=copy.pk)
    return render(request, "sales/settings/pipeline.html", _pipeline_page(source, copy_form=form), status=400)


@require_POST
def stage_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_admin(request)
    pipeline = _settings_pipeline(pk)
    form = StageSettingsForm(request.POST, creating=True, prefix="stage")
    if form.is_valid():
        data = form.cleaned_data
        # a new open stage goes before the won and lost stages; an end stage goes last
        order = list(Stage.objects.filter(pipeline=pipeline).order_by("position").values_list("kind", flat=True))
        first_end = next((i for i, kind in enumerate(order, start=1) if kind != StageKind.OPEN), None)
        position = first_end if data["kind"] == StageKind.OPEN else None
        try:
            stage_create(actor=user, pipeline=pipeline, position=position, **data)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The stage was added."))
            return redirect("sales:pipeline_edit", pk=pipeline.pk)
    return render(request, "sales/settings/pipeline.html", _pipeline_page(pipeline, stage_form=form), status=400)


def _stage_criteria_url(stage: Stage) -> str | None:
    """The stage-gates panel (sales:stage_criteria, another module) once it exists."""
    try:
        return reverse("sales:stage_criteria", args=[stage.pk])
    except NoReverseMatch:
        return None


@require_http_methods(["GET", "POST"])
def stage_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_admin(request)
    stage = _settings_stage(pk)
    form = StageSettingsForm(request.POST or None, initial=_stage_values(stage))
    if request.method == "POST" and form.is_valid():
        before = _stage_values(stage)
        changes = {k: v for k, v in form.cleaned_data.items() if before.get(k) != v}
        try:
            stage_update(actor=user, stage=stage, **changes)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The stage was saved."))
            return redirect("sales:pipeline_edit", pk=stage.pipeline_id)
    context = {
        "stage": stage,
        "pipeline": stage.pipeline,
        "form": form,
        "deals": stages_in_use(stage.pipeline).get(stage.pk, 0),
        "stage_criteria_url": _stage_criteria_url(stage),
    }
    return render(request, "sales/settings/stage.html", context, status=400 if request.method == "POST" else 200)


def _after_stage_action(request: HttpRequest, pipeline: Pipeline, exc: ServiceError | None = None) -> HttpResponse:
    """htmx: the stage table again (with the refusal, 409/400); else back to the page."""
    if request.headers.get("HX-Request"):
        if exc is not None:
            return _stage_table(request, pipeline, error=_error_text(exc), status=exc.status_code)
        return _stage_table(request, pipeline)
    if exc is not None:
        messages.error(request, _error_text(exc))
    return redirect("sales:pipeline_edit", pk=pipeline.pk)


@require_POST
def stage_reorder_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The new order after a drag and drop (``order``: every stage id, comma-separated)."""
    user = _require_admin(request)
    pipeline = _settings_pipeline(pk)
    form = StageOrderForm(request.POST)
    if not form.is_valid():
        exc: ServiceError = ValidationFailed(
            _("The order could not be read."), field_errors={k: [str(m) for m in v] for k, v in form.errors.items()}
        )
        return _after_stage_action(request, pipeline, exc)
    stages = {s.pk: s for s in Stage.objects.filter(pipeline=pipeline)}
    try:
        wanted = [stages[i] for i in form.stage_ids()]
    except KeyError:
        wanted = []
    try:
        stage_reorder(actor=user, pipeline=pipeline, stages=wanted)
    except ServiceError as exc:
        return _after_stage_action(request, pipeline, exc)
    return _after_stage_action(request, pipeline)


@require_POST
def stage_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One stage one place up or down (buttons: the keyboard way to reorder)."""
    user = _require_admin(request)
    stage = _settings_stage(pk)
    pipeline = stage.pipeline
    form = StageMoveForm(request.POST)
    order = list(Stage.objects.filter(pipeline=pipeline).order_by("position"))
    if not form.is_valid():
        return _after_stage_action(
            request, pipeline, ValidationFailed(_("The order could not be read."), field_errors={"direction": []})
        )
    if form.is_valid():
        index = next(i for i, s in enumerate(order) if s.pk == stage.pk)
        other = index - 1 if form.cleaned_data["direction"] == "up" else index + 1
        if 0 <= other < len(order):
            order[index], order[other] = order[other], order[index]
            try:
                stage_reorder(actor=user, pipeline=pipeline, stages=order)
            except ServiceError as exc:
                return _after_stage_action(request, pipeline, exc)
    return _after_stage_action(request, pipeline)


@require_POST
def stage_deactivate_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_admin(request)
    stage = _settings_stage(pk)
    try:
        stage_deactivate(actor=user, stage=stage)
    except ServiceError as exc:
        return _after_stage_action(request, stage.pipeline, exc)
    return _after_stage_action(request, stage.pipeline)


@require_POST
def stage_activate_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_admin(request)
    stage = _settings_stage(pk)
    try:
        stage_update(actor=user, stage=stage, is_active=True)
    except ServiceError as exc:
        return _after_stage_action(request, stage.pipeline, exc)
    return _after_stage_action(request, stage.pipeline)


@require_POST
def stage_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a never-used stage; a used one is refused (409: hide it instead)."""
    user = _require_admin(request)
    stage = _settings_stage(pk)
    pipeline = stage.pipeline
    try:
        stage_delete(actor=user, stage=stage)
    except ServiceError as exc:
        return _after_stage_action(request, pipeline, exc)
    return _after_stage_action(request, pipeline)


# -------------------------------------------------------- where is each rep stuck


def stuck_view(request: HttpRequest) -> HttpResponse:
    """Reps in the viewer's scope × the open stages of one pipeline (``?pipeline=`` id or
    code, default the default pipeline): count, value, median and worst days in stage and
    stalled deals per cell, each cell linking to the list filtered to that owner and stage.
    People without open deals in the pipeline are hidden (a line says how many) unless
    ``?include_empty=1``."""
    user = _user(request)
    pipeline = _board_pipeline(user, request.GET.get("pipeline"))
    include_empty = request.GET.get("include_empty", "") in ("1", "true", "on")
    matrix = stuck_matrix(user, pipeline=pipeline, include_empty=include_empty)
    rows_html = stuck_rows_html(matrix, reverse("opportunities:list"))
    return render(request, "sales/stuck.html", {"matrix": matrix, "rows_html": rows_html})
