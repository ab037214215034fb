"""Bulk actions (批量操作): one action applied to many records, each through its own service.

``run_bulk(records, action)`` calls ``action(record)`` for every record in its own savepoint,
so one refusal (a ``ServiceError``: a record the actor may not change, an owner they may not
assign, a stage that does not apply) rolls back only that record and is reported with the
record's name and the reason; the others commit. The services write one audit event per
record. Views and API endpoints of each app choose the records (the ticked ids, or every row
matching the list's own filters, at most ``BULK_MAX``) and present the ``BulkResult``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Schema
from pydantic import ValidationError as PydanticValidationError

from salesflow.core.errors import ServiceError, ValidationFailed
from salesflow.core.schemas import StrictQuery, StrictSchema

M = TypeVar("M", bound=models.Model)

# At most this many records per bulk action ("all matching the filter" included).
BULK_MAX = 5000


@dataclass
class BulkFailure:
    id: int
    name: str
    detail: str


@dataclass
class BulkResult:
    succeeded: int = 0
    failed: list[BulkFailure] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.succeeded + len(self.failed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "succeeded": self.succeeded,
            "failed": [{"id": f.id, "name": f.name, "detail": f.detail} for f in self.failed],
        }


def error_text(exc: ServiceError) -> str:
    """A service's refusal as one line: the message and the field errors."""
    details = [m for msgs in exc.field_errors.values() for m in msgs if m != str(exc.message)]
    return " ".join([str(exc.message), *details]) if details else str(exc.message)


def run_bulk(records: Iterable[M], action: Callable[[M], object], *, missing: Sequence[int] = ()) -> BulkResult:
    """Apply ``action`` to each record in its own savepoint; ``missing`` ids (asked for but
    not visible) are reported as failures too, so unseen and absent look the same."""
    result = BulkResult()
    for record in records:
        try:
            with transaction.atomic():
                action(record)
        except ServiceError as exc:
            result.failed.append(BulkFailure(record.pk, str(record), error_text(exc)))
        except (PermissionDenied, Http404) as exc:
            result.failed.append(BulkFailure(record.pk, str(record), str(exc) or _("You may not change this record.")))
        else:
            result.succeeded += 1
    for pk in missing:
        result.failed.append(BulkFailure(pk, "", _("Not found.")))
    return result


def parse_ids(values: Iterable[Any], *, field_name: str = "ids") -> list[int]:
    """Distinct positive record ids in order; anything else is a ``ValidationFailed`` on
    ``field_name``; more than ``BULK_MAX`` too."""
    ids: list[int] = []
    seen: set[int] = set()
    for value in values:
        try:
            pk = int(str(value).strip()) if not isinstance(value, bool) else -1
        except (TypeError, ValueError):
            pk = -1
        if not 0 < pk < 2**63:
            raise ValidationFailed(_("The input is not valid."), field_errors={field_name: [_("Not a valid id.")]})
        if pk not in seen:
            seen.add(pk)
            ids.append(pk)
    if len(ids) > BULK_MAX:
        raise ValidationFailed(_("The input is not valid."), field_errors={field_name: [too_many_message()]})
    return ids


def too_many_message() -> str:
    return _("At most %(max)s records at a time; narrow the filter.") % {"max": f"{BULK_MAX:,}"}


def select_records(
    visible: models.QuerySet[M], *, ids: Sequence[int] | None, matching: Callable[[], models.QuerySet[M]] | None
) -> tuple[list[M], list[int]]:
    """The records to act on: the visible ones among ``ids`` (in id order) with the ids not
    found, or every row of ``matching()`` (the list's filters) — at most ``BULK_MAX``."""
    if ids is None:
        assert matching is not None
        rows = list(matching()[: BULK_MAX + 1])
        if len(rows) > BULK_MAX:
            raise ValidationFailed(too_many_message())
        return rows, []
    found = list(visible.filter(pk__in=ids).order_by("pk"))
    present = {r.pk for r in found}
    return found, [pk for pk in ids if pk not in present]


class BulkForm(forms.Form):
    """The common part of every list's bulk form: which records (ticked ``ids`` or ``all``
    rows matching ``filters``, the list's query string) and the ``action``. Apps add the
    fields their actions need (owner, stage, status, tag…)."""

    ids = forms.CharField(required=False)  # several values: read with ``getlist``
    scope = forms.ChoiceField(choices=[("ids", "ids"), ("all", "all")], required=False)
    filters = forms.CharField(required=False, max_length=4000)
    action = forms.ChoiceField(label=gettext_lazy("Action"))
    next = forms.CharField(required=False, max_length=2000)

    # extra field name → the actions (space-separated) that use it; the bar shows it only then
    FIELD_ACTIONS: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, actions: Sequence[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["action"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Choose an action…")), *actions]
        field.widget.attrs.update(
            {"class": "form-select form-select-sm bulk-control", "data-bulk-action": "", "data-testid": "bulk-action"}
        )
        for name in self.FIELD_ACTIONS:
            widget = self.fields[name].widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.TextInput):
                css = "form-control form-control-sm"
            else:
                css = "form-select form-select-sm"
            css += " bulk-control"  # list filter forms that refresh on any select ignore these
            widget.attrs.update(
                {"class": css, "data-testid": f"bulk-{name}", "aria-label": str(self.fields[name].label)}
            )

    @property
    def extra_fields(self) -> list[tuple[forms.BoundField, str]]:
        return [(self[name], actions) for name, actions in self.FIELD_ACTIONS.items()]

    def require(self, name: str) -> Any:
        """The cleaned value of an extra field the chosen action needs (else a field error)."""
        value = self.cleaned_data.get(name)
        if value in (None, ""):
            label = str(self.fields[name].label or name)
            raise ValidationFailed(
                _("%(field)s: this field is required.") % {"field": label},
                field_errors={name: [_("This field is required.")]},
            )
        return value

    def selected_ids(self) -> list[int] | None:
        """The ticked ids, or ``None`` for "all matching the filter"."""
        if self.cleaned_data.get("scope") == "all":
            return None
        data = self.data
        raw = data.getlist("ids") if isinstance(data, QueryDict) else data.get("ids", [])
        ids = parse_ids(raw)
        if not ids:
            raise ValidationFailed(
                _("Select at least one record."), field_errors={"ids": [_("Select at least one record.")]}
            )
        return ids

    def filter_params(self) -> QueryDict:
        return QueryDict(self.cleaned_data.get("filters") or "")


def bulk_response(request: HttpRequest, result: BulkResult | None, *, fallback: str, error: str = "") -> HttpResponse:
    """htmx: the result card (how many succeeded, every failure with its reason);
    otherwise back to the list with the same summary as messages."""
    if getattr(request, "htmx", False):
        return render(request, "components/bulk_result.html", {"result": result, "error": error})
    if error:
        messages.error(request, error)
    elif result is not None:
        messages.success(
            request, _("%(n)d of %(total)d records changed.") % {"n": result.succeeded, "total": result.total}
        )
        for failure in result.failed[:20]:
            messages.error(request, f"{failure.name or failure.id}: {failure.detail}")
    target = request.POST.get("next") or fallback
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = fallback
    return redirect(target)


def run_bulk_form(
    request: HttpRequest,
    form: BulkForm,
    *,
    visible: models.QuerySet[M],
    matching: Callable[[QueryDict], models.QuerySet[M]],
    action: Callable[[Any], Callable[[M], object]],
    fallback: str,
) -> HttpResponse:
    """The whole bulk view once the app built its form: validate, choose the records, run."""
    if not form.is_valid():
        errors = []
        for name, field_errors in form.errors.items():
            text = " ".join(str(m) for m in field_errors)
            label = form.fields[name].label if name in form.fields else None
            errors.append(f"{label}: {text}" if label else text)
        return bulk_response(request, None, fallback=fallback, error=" ".join(errors))
    try:
        ids = form.selected_ids()
        params = form.filter_params()
        apply = action(form)  # validates the action's own fields first
        records, missing = select_records(visible, ids=ids, matching=lambda: matching(params))
        result = run_bulk(records, apply, missing=missing)
    except ValidationFailed as exc:
        return bulk_response(request, None, fallback=fallback, error=error_text(exc))
    return bulk_response(request, result, fallback=fallback)


# --- the API side: POST /api/v1/<resource>/bulk --------------------------------------------------


class BulkIn(StrictSchema):
    """Which records: ``ids`` (at most ``BULK_MAX``) or ``filter`` (the list endpoint's query
    parameters, e.g. ``{"q": "星云", "owner_id": 3}``), exactly one of them. Each resource
    adds its ``action`` and the fields the actions need."""

    ids: list[int] | None = Field(None, max_length=BULK_MAX, description="Record ids")
    filter: dict[str, str | int | bool | None] | None = Field(
        None, description="The list endpoint's query parameters: every visible record they match"
    )


class BulkFailureOut(Schema):
    id: int
    name: str
    detail: str


class BulkOut(Schema):
    succeeded: int = Field(..., description="Records changed")
    failed: list[BulkFailureOut] = Field(..., description="Records refused, each with the reason")


def filter_query(filter_schema: type[StrictQuery], data: dict[str, Any]) -> Any:
    """``data`` parsed as a list endpoint's filters; invalid → ``ValidationFailed`` on ``filter``."""
    try:
        return filter_schema.model_validate(data)
    except PydanticValidationError as exc:
        details = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]]
        raise ValidationFailed(_("The input is not valid."), field_errors={"filter": details}) from None


def run_bulk_api(
    payload: BulkIn,
    *,
    visible: models.QuerySet[M],
    matching: Callable[[dict[str, Any]], models.QuerySet[M]],
    action: Callable[[], Callable[[M], object]],
) -> dict[str, Any]:
    """The whole bulk endpoint once the app parsed its payload."""
    if (payload.ids is None) == (payload.filter is None):
        message = _("Send either ids or filter.")
        raise ValidationFailed(message, field_errors={"ids": [message]})
    ids = parse_ids(payload.ids) if payload.ids is not None else None
    if ids is not None and not ids:
        raise ValidationFailed(
            _("Select at least one record."), field_errors={"ids": [_("Select at least one record.")]}
        )
    apply = action()
    records, missing = select_records(visible, ids=ids, matching=lambda: matching(payload.filter or {}))
    return run_bulk(records, apply, missing=missing).as_dict()
