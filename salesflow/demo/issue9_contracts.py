"""Demo contracts (合同, issue 9): contracts for won deals — from their accepted quotes when
the quotes demo made some, else entered directly with one line — most signed with the signed
PDF, a few amended by an approved change order (变更单), some ending within 60 days so the
renewal reminders have work. Everything goes through the contracts services as the owners."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from salesflow.attachments.samples import pdf_bytes
from salesflow.contracts.models import Contract, ContractStatus
from salesflow.contracts.services import (
    amendment_create,
    amendment_submit,
    amendment_update,
    contract_create,
    contract_create_from_quote,
    contract_sign,
    contract_submit,
    contract_terminate,
    contracts_expire_run,
)
from salesflow.core.errors import ServiceError
from salesflow.quotes.models import Quote, QuoteStatus
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.users.models import User

PAYMENT_TERMS = [
    "合同签订后预付 30%，到货验收后支付 60%，质保金 10% 一年后支付",
    "货到验收后 30 天内付清",
    "分三期：签约 40%、上线 40%、验收 20%",
]
DELIVERY_TERMS = ["合同签订后 45 天内交付并安装调试", "分两批交付，首批 30 天内", "签约后 60 天内完成部署"]
SPECIAL = ["", "", "", "延迟交付每日按合同额 0.05% 计违约金，上限 5%"]
MAX_CONTRACTS = 40


def _pdf(number: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{number} 已签合同.pdf", pdf_bytes(f"Signed contract {number}"))


def write_contracts(users: dict[str, User], today: date, *, seed: int = 9) -> int:
    """Create the demo contracts unless some exist; returns how many were created."""
    if Contract.objects.exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data
    quotes = list(
        Quote.objects.filter(status=QuoteStatus.ACCEPTED, accepted_version__isnull=False, contracts__isnull=True)
        .select_related("owner", "opportunity")
        .order_by("pk")[:MAX_CONTRACTS]
    )
    created: list[Contract] = []
    for index, quote in enumerate(quotes):
        start, end = _period(rng, today, index, quote.opportunity.close_date if quote.opportunity else None)
        try:
            created.append(contract_create_from_quote(actor=quote.owner, quote=quote, terms=_terms(rng, start, end)))
        except ServiceError:
            continue
    if not quotes:
        deals = Opportunity.objects.filter(outcome=Outcome.WON).select_related("owner", "account")
        for index, deal in enumerate(deals.order_by("-amount", "pk")[:MAX_CONTRACTS]):
            start, end = _period(rng, today, index, deal.close_date)
            amount = deal.amount if deal.amount > 0 else Decimal("50000")
            try:
                created.append(
                    contract_create(
                        actor=deal.owner,
                        account=deal.account,
                        title=deal.name,
                        opportunity=deal,
                        currency=deal.currency,
                        prices_include_tax=True,
                        terms=_terms(rng, start, end),
                        lines=[
                            {
                                "name_zh": deal.name[:200],
                                "unit": "项",
                                "quantity": "1",
                                "unit_price": amount,
                                "tax_rate": "13",
                            }
                        ],
                    )
                )
            except ServiceError:
                continue
    for index, contract in enumerate(created):
        _progress(contract, index, today)
    return len(created)


def _period(rng: random.Random, today: date, index: int, closed: date | None) -> tuple[date, date]:
    start = closed or today - timedelta(days=rng.randint(30, 300))
    if index % 4 == 1:  # ending within 60 days: renewal reminders
        return min(start, today - timedelta(days=200)), today + timedelta(days=rng.randint(5, 55))
    return start, start + timedelta(days=365 + rng.choice([0, 0, 365]))


def _terms(rng: random.Random, start: date, end: date) -> dict[str, object]:
    return {
        "start_date": start,
        "end_date": end,
        "payment_terms": rng.choice(PAYMENT_TERMS),
        "delivery_terms": rng.choice(DELIVERY_TERMS),
        "special_clauses": rng.choice(SPECIAL),
    }


def _progress(contract: Contract, index: int, today: date) -> None:
    """Most contracts are approved and signed; every fifth stays a draft or under approval;
    every sixth signed one gets an approved change order (extended by half a year)."""
    from salesflow.demo.issue9_quotes import approve_pending

    owner = contract.owner
    if index % 5 == 4:
        return
    try:
        contract_submit(actor=owner, contract=contract)
        if index % 7 != 3:  # the approvers say yes to most; a few wait in their inbox
            approve_pending("contracts.contract", contract.pk)
        contract.refresh_from_db()
        if contract.status != ContractStatus.APPROVED:
            return  # an approval engine holds it: it waits in the approvers' inbox
        signed_on = min(today, (contract.start_date or today))
        contract_sign(actor=owner, contract=contract, signed_on=signed_on, upload=_pdf(contract.number))
        if index % 6 == 0:
            version = amendment_create(actor=owner, contract=contract, reason="客户要求延长服务期半年并增加培训")
            contract.refresh_from_db()
            amendment_update(
                actor=owner,
                version=version,
                changes={"end_date": (contract.end_date or today) + timedelta(days=182)},
            )
            amendment_submit(actor=owner, version=version)
            approve_pending("contracts.amendment", version.pk)
    except ServiceError:
        return


TERMINATION_REASONS = ["客户经营困难，双方协商提前终止", "客户被收购，新母公司统一采购，提前解约"]


def end_contracts(today: date) -> tuple[int, int]:
    """After the payment plans exist: the daily expiry job runs once (signed contracts past
    their end date become expired), and two signed contracts with instalments still to come
    are terminated early by their owners ten days ago, so the contract list's status filter,
    the terminated note and the plan's remaining receivable show real data. Returns (expired,
    terminated)."""
    expired = contracts_expire_run(today=today)
    terminated = 0
    day = today - timedelta(days=10)
    candidates = (
        Contract.objects.filter(status=ContractStatus.SIGNED, signed_on__lte=day, end_date__gt=today)
        .filter(payment_plan__instalments__due_date__gt=day, payment_plan__instalments__is_open=True)
        .select_related("owner")
        .distinct()
        .order_by("pk")
    )
    for contract, reason in zip(list(candidates[:2]), TERMINATION_REASONS, strict=False):
        try:
            contract_terminate(actor=contract.owner, contract=contract, terminated_on=day, reason=reason)
        except ServiceError:
            continue
        terminated += 1
    return expired, terminated


def delete_contracts_demo(users: list[int]) -> int:
    """Delete the contracts of the demo users (versions and lines cascade) and the audit
    trail about them, before their deals, accounts and quotes go (they are protected)."""
    from django.contrib.contenttypes.models import ContentType

    from salesflow.core.models import AuditEvent, AuditLink

    ids = list(Contract.objects.filter(owner_id__in=users).values_list("pk", flat=True))
    if not ids:
        return 0
    ct = ContentType.objects.get_for_model(Contract)
    AuditLink.objects.filter(content_type=ct, object_id__in=ids).delete()
    AuditEvent.objects.filter(target_type=ct, target_id__in=ids).delete()
    Contract.objects.filter(pk__in=ids).update(current_version=None)
    return Contract.objects.filter(pk__in=ids).delete()[1].get("contracts.Contract", 0)
