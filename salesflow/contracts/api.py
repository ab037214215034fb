"""``/api/v1/contracts``: list, create (directly or from an accepted quote), read with versions,
change a draft, submit for approval, sign with the signed file, open/change/submit change
orders, the diff between two versions, renew. The same services as the pages; unseen records
are 404, seen but not writable 403, edits of documents under approval or signed 409."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router
from ninja.files import UploadedFile

from salesflow.contracts.models import Contract, ContractLine, ContractStatus, ContractVersion
from salesflow.contracts.permissions import get_contract_for_user, get_quote_for_user
from salesflow.contracts.schemas import (
    AmendmentIn,
    AmendmentPatch,
    ContractDetailOut,
    ContractFilters,
    ContractIn,
    ContractListOut,
    ContractPatch,
    ContractVersionOut,
    DiffQuery,
    FromQuoteIn,
    RenewOut,
    SignIn,
    TerminateIn,
)
from salesflow.contracts.selectors import contract_list, version_diff, version_of, versions_of
from salesflow.contracts.services import (
    KIND_AMENDMENT,
    KIND_CONTRACT,
    amendment_create,
    amendment_submit,
    amendment_update,
    contract_create,
    contract_create_from_quote,
    contract_renew,
    contract_sign,
    contract_submit,
    contract_terminate,
    contract_update,
)
from salesflow.core import approvals
from salesflow.core.errors import ValidationFailed
from salesflow.core.keyset import api_page
from salesflow.core.money import format_amount
from salesflow.parties.permissions import get_account_for_user
from salesflow.sales.permissions import get_opportunity_for_user
from salesflow.users.models import User
from salesflow.users.permissions import assignable_owner

router = Router(tags=["contracts"])

TERM_NAMES = ("start_date", "end_date", "payment_terms", "delivery_terms", "special_clauses", "non_standard_terms")


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _line_out(line: ContractLine, currency: str) -> dict[str, Any]:
    return {
        "position": line.position,
        "product_id": line.product_id,
        "code": line.code,
        "name_zh": line.name_zh,
        "name_en": line.name_en,
        "unit": line.unit,
        "quantity": str(line.quantity),
        "unit_price": format_amount(line.unit_price, currency),
        "discount_percent": str(line.discount_percent),
        "tax_rate": str(line.tax_rate),
        **{name: format_amount(getattr(line, name), currency) for name in ("gross", "discount", "net", "tax", "total")},
    }


def _version_out(version: ContractVersion, currency: str, *, lines: bool = False) -> dict[str, Any]:
    return {
        "version": version.version,
        "number": version.number,
        "status": version.status,
        "change_summary": version.change_summary,
        "decision_comment": version.decision_comment,
        "terms": version.terms,
        "prices_include_tax": version.prices_include_tax,
        **{
            name: format_amount(getattr(version, name), currency)
            for name in ("subtotal", "discount", "net", "tax", "total")
        },
        "approved_at": version.approved_at,
        "created_at": version.created_at,
        "lines": [_line_out(line, currency) for line in version.lines.all()] if lines else None,
    }


def _out(contract: Contract) -> dict[str, Any]:
    return {
        "id": contract.pk,
        "number": contract.number,
        "title": contract.title,
        "status": contract.status,
        "account": {"id": contract.account_id, "name": contract.account.name},
        "owner": {"id": contract.owner_id, "name": str(contract.owner)},
        "opportunity_id": contract.opportunity_id,
        "quote_id": contract.quote_id,
        "currency": contract.currency,
        "total": format_amount(contract.total, contract.currency),
        "start_date": contract.start_date,
        "end_date": contract.end_date,
        "payment_terms": contract.payment_terms,
        "delivery_terms": contract.delivery_terms,
        "special_clauses": contract.special_clauses,
        "non_standard_terms": contract.non_standard_terms,
        "signed_on": contract.signed_on,
        "signed_file_id": contract.signed_file_id,
        "current_version": contract.current_version.version if contract.current_version else None,
        "renewal_opportunity_id": contract.renewal_opportunity_id,
        "terminated_on": contract.terminated_on,
        "termination_reason": contract.termination_reason,
        "terminated_by_id": contract.terminated_by_id,
        "expired_on": contract.expired_on,
        "created_at": contract.created_at,
        "url": reverse("contracts:detail", args=[contract.pk]),
    }


def _detail(user: User, pk: int) -> dict[str, Any]:
    contract = get_contract_for_user(user, pk)
    versions = versions_of(contract)
    current = version_of(contract, contract.current_version.version if contract.current_version else 1)
    request_id = approvals.pending_request_id(KIND_CONTRACT, contract)
    if request_id is None:
        pending = [v for v in versions if v.status == ContractStatus.PENDING_APPROVAL and v.version > 1]
        if pending:
            request_id = approvals.pending_request_id(KIND_AMENDMENT, pending[-1])
    return {
        **_out(contract),
        "approval_request_id": request_id,
        "decision_comment": current.decision_comment,
        "versions": [_version_out(v, contract.currency) for v in versions],
        "lines": [_line_out(line, contract.currency) for line in current.lines.all()],
    }


def _terms(payload: Any, *, partial: bool) -> dict[str, Any]:
    fields = payload.model_fields_set if partial else set(TERM_NAMES)
    return {name: getattr(payload, name) for name in TERM_NAMES if name in fields}


def _lines(payload: Any) -> list[dict[str, Any]] | None:
    if payload.lines is None:
        return None
    return [line.model_dump(exclude_unset=True) for line in payload.lines]


@router.get("", response=ContractListOut, summary="List contracts")
@router.get("/", response=ContractListOut, include_in_schema=False)
def list_contracts(request: HttpRequest, filters: Query[ContractFilters]) -> dict[str, Any]:
    """Contracts you may read (owner scope or the deal's readers), filtered and sorted; keyset
    pages through ``cursor``."""
    if filters.status and filters.status not in ContractStatus.values:
        raise ValidationFailed(_("The input is not valid."), field_errors={"status": [_("Choose a listed status.")]})
    qs = contract_list(
        _user(request),
        status=filters.status or None,
        owner_id=filters.owner_id,
        account_id=filters.account_id,
        ending_within=filters.ending_within_days,
        q=filters.q.strip() or None,
        sort=filters.sort,
    ).select_related("current_version")
    if filters.opportunity_id is not None:
        qs = qs.filter(opportunity_id=filters.opportunity_id)
    page = api_page(qs, cursor=filters.cursor, limit=filters.limit, offset=filters.offset)
    page["items"] = [_out(c) for c in page["items"]]
    return page


@router.post("", response={201: ContractDetailOut}, summary="Create a contract directly")
@router.post("/", response={201: ContractDetailOut}, include_in_schema=False)
def create_contract(request: HttpRequest, payload: ContractIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    account = get_account_for_user(user, payload.account_id)
    opportunity = get_opportunity_for_user(user, payload.opportunity_id) if payload.opportunity_id else None
    owner = assignable_owner(user, payload.owner_id) if payload.owner_id and payload.owner_id != user.pk else user
    contract = contract_create(
        actor=user,
        account=account,
        title=payload.title,
        owner=owner,
        opportunity=opportunity,
        currency=payload.currency or None,
        prices_include_tax=payload.prices_include_tax,
        terms=_terms(payload, partial=False),
        lines=_lines(payload) or [],
    )
    return 201, _detail(user, contract.pk)


@router.post("/from-quote", response={201: ContractDetailOut}, summary="Create a contract from an accepted quote")
def create_from_quote(request: HttpRequest, payload: FromQuoteIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    quote = get_quote_for_user(user, payload.quote_id)
    contract = contract_create_from_quote(
        actor=user, quote=quote, title=payload.title, terms=_terms(payload, partial=False)
    )
    return 201, _detail(user, contract.pk)


@router.get("/{int:contract_id}", response=ContractDetailOut, summary="A contract with its versions")
def get_contract(request: HttpRequest, contract_id: int) -> dict[str, Any]:
    return _detail(_user(request), contract_id)


@router.patch("/{int:contract_id}", response=ContractDetailOut, summary="Change a draft contract")
def patch_contract(request: HttpRequest, contract_id: int, payload: ContractPatch) -> dict[str, Any]:
    user = _user(request)
    contract = get_contract_for_user(user, contract_id, write=True)
    changes = {name: getattr(payload, name) for name in payload.model_fields_set if name != "lines"}
    contract_update(actor=user, contract=contract, changes=changes, lines=_lines(payload))
    return _detail(user, contract_id)


@router.post("/{int:contract_id}/submit", response=ContractDetailOut, summary="Submit for approval")
def submit_contract(request: HttpRequest, contract_id: int) -> dict[str, Any]:
    user = _user(request)
    contract_submit(actor=user, contract=get_contract_for_user(user, contract_id, write=True))
    return _detail(user, contract_id)


@router.post("/{int:contract_id}/sign", response=ContractDetailOut, summary="Record the signature")
def sign_contract(
    request: HttpRequest, contract_id: int, data: Form[SignIn], file: File[UploadedFile | None] = None
) -> dict[str, Any]:
    """``multipart/form-data`` with ``signed_on`` and the signed ``file`` (PDF, image, docx…).
    The contract is then archived read-only."""
    unknown = (set(request.POST) - {"signed_on"}) | (set(request.FILES) - {"file"})
    if unknown or len(request.FILES.getlist("file")) > 1:
        errors = {name: [_("Unknown or read-only field.")] for name in sorted(unknown)}
        if len(request.FILES.getlist("file")) > 1:
            errors["file"] = [_("Send one file per request.")]
        raise ValidationFailed(_("The input is not valid."), field_errors=errors)
    user = _user(request)
    contract = get_contract_for_user(user, contract_id, write=True)
    contract_sign(actor=user, contract=contract, signed_on=data.signed_on, upload=file)
    return _detail(user, contract_id)


@router.get(
    "/{int:contract_id}/versions/{int:version}", response=ContractVersionOut, summary="One version with its lines"
)
def get_version(request: HttpRequest, contract_id: int, version: int) -> dict[str, Any]:
    contract = get_contract_for_user(_user(request), contract_id)
    return _version_out(version_of(contract, version), contract.currency, lines=True)


@router.get("/{int:contract_id}/diff", response=dict[str, Any], summary="What changed between two versions")
def get_diff(request: HttpRequest, contract_id: int, query: Query[DiffQuery]) -> dict[str, Any]:
    """``?from=1&to=2``: terms changed ``{field: [old, new]}``, lines added, removed and changed
    (quantity, unit price, discount, tax rate, total) and the totals that changed."""
    contract = get_contract_for_user(_user(request), contract_id)
    missing = {
        name: [_("Give a version number.")] for name in ("from", "to") if getattr(query, f"{name}_version") is None
    }
    if missing:
        raise ValidationFailed(_("The input is not valid."), field_errors=missing)
    return version_diff(contract, query.from_version, query.to_version).as_dict()


@router.post("/{int:contract_id}/amendments", response={201: ContractVersionOut}, summary="Open a change order")
def create_amendment(request: HttpRequest, contract_id: int, payload: AmendmentIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    contract = get_contract_for_user(user, contract_id, write=True)
    version = amendment_create(actor=user, contract=contract, reason=payload.reason)
    return 201, _version_out(version_of(contract, version.version), contract.currency, lines=True)


@router.patch(
    "/{int:contract_id}/amendments/{int:version}", response=ContractVersionOut, summary="Change a draft change order"
)
def patch_amendment(request: HttpRequest, contract_id: int, version: int, payload: AmendmentPatch) -> dict[str, Any]:
    user = _user(request)
    contract = get_contract_for_user(user, contract_id, write=True)
    target = version_of(contract, version)
    changes = {name: getattr(payload, name) for name in payload.model_fields_set if name != "lines"}
    amendment_update(actor=user, version=target, changes=changes, lines=_lines(payload))
    return _version_out(version_of(contract, version), contract.currency, lines=True)


@router.post(
    "/{int:contract_id}/amendments/{int:version}/submit", response=ContractVersionOut, summary="Submit a change order"
)
def submit_amendment(request: HttpRequest, contract_id: int, version: int) -> dict[str, Any]:
    user = _user(request)
    contract = get_contract_for_user(user, contract_id, write=True)
    amendment_submit(actor=user, version=version_of(contract, version))
    return _version_out(version_of(contract, version), contract.currency, lines=True)


@router.post("/{int:contract_id}/renew", response={201: RenewOut}, summary="Create the renewal opportunity")
def renew_contract(request: HttpRequest, contract_id: int) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    contract = get_contract_for_user(user, contract_id, write=True)
    opportunity = contract_renew(actor=user, contract=contract)
    return 201, {
        "opportunity_id": opportunity.pk,
        "name": opportunity.name,
        "amount": format_amount(opportunity.amount, opportunity.currency),
        "expected_close_date": opportunity.expected_close_date,
    }


@router.post("/{int:contract_id}/terminate", response=ContractDetailOut, summary="Terminate a signed contract early")
def terminate_contract(request: HttpRequest, contract_id: int, payload: TerminateIn) -> dict[str, Any]:
    """Managers, administrators and the owner: the contract becomes ``terminated`` (read-only);
    the instalments of its payment plan due after the date are cancelled."""
    user = _user(request)
    contract = get_contract_for_user(user, contract_id, write=True)
    contract_terminate(actor=user, contract=contract, terminated_on=payload.terminated_on, reason=payload.reason)
    return _detail(user, contract.pk)
