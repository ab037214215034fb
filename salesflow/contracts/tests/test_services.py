"""Services of contracts: creation (from an accepted quote, directly), approval paths (no
engine; a fake engine's pending → approved / rejected / withdrawn), signing and the archive,
change orders with versions and diff, renewal reminders and the renewal opportunity."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from salesflow.attachments.models import Attachment
from salesflow.attachments.services import attachment_add
from salesflow.contracts.models import Contract, ContractLine, ContractStatus, ContractVersion
from salesflow.contracts.selectors import version_diff
from salesflow.contracts.services import (
    amendment_create,
    amendment_submit,
    amendment_update,
    contract_create,
    contract_create_from_quote,
    contract_renew,
    contract_sign,
    contract_submit,
    contract_update,
    renewal_reminders_run,
)
from salesflow.contracts.tests.conftest import FakeEngine, World, direct_lines, make_accepted_quote
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.quotes.models import Quote, QuoteStatus
from salesflow.sales.tests.factories import make_opportunity

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name: str = "已签合同.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def verbs(contract: Contract) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_id=contract.pk, verb__startswith="contracts.")
        .order_by("id")
        .values_list("verb", flat=True)
    )


def make_direct(world: World, **kwargs: object) -> Contract:
    rep = world.personas.rep
    return contract_create(
        actor=rep,
        account=world.account,
        title="网关与培训",
        opportunity=world.opportunity,
        terms={"start_date": date(2026, 1, 1), "end_date": date(2026, 12, 31), "payment_terms": "货到 30 天"},
        lines=direct_lines(),
        **kwargs,  # type: ignore[arg-type]
    )


def signed(world: World, no_engine: None = None) -> Contract:
    contract = make_direct(world)
    contract_submit(actor=world.personas.rep, contract=contract)
    return contract_sign(actor=world.personas.rep, contract=contract, signed_on=date(2026, 1, 5), upload=pdf())


# ------------------------------------------------------------------------------ creation


def test_from_accepted_quote_copies_account_owner_lines_and_totals_exactly(world: World, accepted_quote: Quote) -> None:
    contract = contract_create_from_quote(
        actor=world.personas.rep, quote=accepted_quote, terms={"end_date": date(2027, 6, 30)}
    )
    year = timezone.localdate().year
    assert contract.number == f"HT-{year}-00001"
    assert (contract.account, contract.owner, contract.opportunity, contract.quote) == (
        world.account,
        world.personas.rep,
        world.opportunity,
        accepted_quote,
    )
    assert contract.currency == "CNY" and contract.total == Decimal("161945.00")
    assert contract.status == ContractStatus.DRAFT
    assert contract.payment_terms == "预付 30%，验收后 70%"  # the quote's terms when none are given
    version = ContractVersion.objects.get(contract=contract)
    assert (version.version, version.subtotal, version.discount, version.net, version.tax, version.total) == (
        1,
        Decimal("151250.00"),
        Decimal("6000.00"),
        Decimal("145250.00"),
        Decimal("16695.00"),
        Decimal("161945.00"),
    )
    lines = list(version.lines.order_by("position"))
    source = list(accepted_quote.accepted_version.lines.order_by("position"))  # type: ignore[union-attr]
    fields = ["product_id", "code", "name_zh", "unit", "quantity", "unit_price", "discount_percent", "tax_rate"]
    fields += ["gross", "discount", "net", "tax", "total"]
    assert [[getattr(x, f) for f in fields] for x in lines] == [[getattr(x, f) for f in fields] for x in source]
    assert verbs(contract) == ["contracts.contract.created"]
    assert version.terms["end_date"] == "2027-06-30"


def test_from_quote_refuses_a_quote_not_accepted_and_a_second_contract(world: World) -> None:
    sent = make_accepted_quote(world, status=QuoteStatus.SENT)
    with pytest.raises(Conflict):
        contract_create_from_quote(actor=world.personas.rep, quote=sent)
    quote = make_accepted_quote(world)
    contract_create_from_quote(actor=world.personas.rep, quote=quote)
    with pytest.raises(Conflict) as exc:
        contract_create_from_quote(actor=world.personas.rep, quote=quote)
    assert exc.value.code == "contract_exists"
    assert Contract.objects.count() == 1


def test_from_quote_refuses_who_may_not_write_for_the_owner(world: World, accepted_quote: Quote) -> None:
    for who in ("support", "teammate", "outsider"):
        with pytest.raises(Forbidden):
            contract_create_from_quote(actor=getattr(world.personas, who), quote=accepted_quote)
    assert Contract.objects.count() == 0
    # the assistant delegated to the rep and the manager may
    contract = contract_create_from_quote(actor=world.personas.assistant, quote=accepted_quote)
    assert contract.owner == world.personas.rep


def test_direct_creation_prices_lines_through_doctotals_and_numbers_without_gaps(world: World) -> None:
    contract = make_direct(world)
    version = ContractVersion.objects.get(contract=contract)
    lines = list(version.lines.order_by("position"))
    assert [(ln.gross, ln.discount, ln.net, ln.tax, ln.total) for ln in lines] == [
        (Decimal("24000.00"), Decimal("0.00"), Decimal("24000.00"), Decimal("3120.00"), Decimal("27120.00")),
        (Decimal("4999.98"), Decimal("500.00"), Decimal("4499.98"), Decimal("270.00"), Decimal("4769.98")),
    ]
    assert (version.subtotal, version.discount, version.net, version.tax, version.total) == (
        Decimal("28999.98"),
        Decimal("500.00"),
        Decimal("28499.98"),
        Decimal("3390.00"),
        Decimal("31889.98"),
    )
    assert contract.total == Decimal("31889.98")
    with pytest.raises(ValidationFailed):  # a refused creation gives its number back
        contract_create(actor=world.personas.rep, account=world.account, title="", lines=direct_lines())
    second = make_direct(world)
    year = timezone.localdate().year
    assert (contract.number, second.number) == (f"HT-{year}-00001", f"HT-{year}-00002")


def test_direct_creation_with_a_product_takes_its_price_and_tax(world: World) -> None:
    contract = contract_create(
        actor=world.personas.rep,
        account=world.account,
        title="标准版",
        lines=[{"product_id": world.software.pk, "quantity": "2"}],
    )
    line = ContractLine.objects.get(version__contract=contract)
    assert (line.code, line.unit_price, line.tax_rate, line.total) == (
        "MES-STD",
        Decimal("120000.00"),
        Decimal("13.00"),
        Decimal("271200.00"),
    )


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"name_zh": "x", "quantity": "NaN", "unit_price": "1"}, "lines.0.quantity"),
        ({"name_zh": "x", "quantity": "1", "unit_price": "1e999"}, "lines.0.unit_price"),
        ({"name_zh": "x", "quantity": "1", "unit_price": "999999999999999"}, "lines.0.unit_price"),
        ({"name_zh": "x", "quantity": "1", "unit_price": "1.234"}, "lines.0.unit_price"),
        ({"name_zh": "x", "quantity": "-1", "unit_price": "1"}, "lines.0.quantity"),
        ({"name_zh": "x", "quantity": "1", "unit_price": "1", "discount_percent": "101"}, "lines.0.discount_percent"),
        ({"name_zh": "a\x00b", "quantity": "1", "unit_price": "1"}, "lines.0.name_zh"),
        ({"quantity": "1", "unit_price": "1"}, "lines.0.name_zh"),
        ({"product_id": 999999, "quantity": "1"}, "lines.0.product_id"),
        ({"name_zh": "x", "unit_price": "1", "colour": "red"}, "lines.0"),
        ({"name_zh": "x", "quantity": "999999999", "unit_price": "9999999999"}, "lines"),
    ],
)
def test_direct_creation_refuses_hostile_lines_naming_the_field(
    world: World, line: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        contract_create(actor=world.personas.rep, account=world.account, title="t", lines=[line])
    assert field in exc.value.field_errors
    assert Contract.objects.count() == 0


def test_direct_creation_refuses_bad_terms(world: World) -> None:
    with pytest.raises(ValidationFailed) as exc:
        contract_create(
            actor=world.personas.rep,
            account=world.account,
            title="t" * 201,
            terms={"start_date": date(2026, 5, 1), "end_date": date(2026, 4, 1), "special_clauses": "x" * 50_000},
        )
    assert set(exc.value.field_errors) == {"title", "end_date", "special_clauses"}
    other = make_opportunity(world.personas.rep, name="别的")
    with pytest.raises(ValidationFailed) as exc:
        contract_create(actor=world.personas.rep, account=world.account, title="t", opportunity=other)
    assert "opportunity_id" in exc.value.field_errors
    assert Contract.objects.count() == 0


# ------------------------------------------------------------------------------ approval


def test_submit_without_an_engine_approves_at_once(world: World, no_engine: None) -> None:
    contract = make_direct(world)
    contract_submit(actor=world.personas.rep, contract=contract)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.APPROVED
    assert ContractVersion.objects.get(contract=contract).status == ContractStatus.APPROVED
    assert verbs(contract) == [
        "contracts.contract.created",
        "contracts.contract.submitted",
        "contracts.contract.approved",
    ]


def test_submit_with_the_engine_waits_then_the_callback_approves(world: World, fake_engine: FakeEngine) -> None:
    contract = make_direct(world)
    contract_update(actor=world.personas.rep, contract=contract, changes={"special_clauses": "违约金 30%"})
    contract_submit(actor=world.personas.rep, contract=contract)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.PENDING_APPROVAL
    facts = fake_engine.submissions[0]["facts"]
    assert facts["amount"] == Decimal("31889.98") and facts["currency"] == "CNY"
    assert facts["non_standard_terms"] is True
    assert facts["discount_percent"] == Decimal("10.00")
    assert facts["owner_id"] == world.personas.rep.pk and facts["team_id"] == world.personas.rep.team_id
    assert facts["product_lines"] == []
    with pytest.raises(Conflict) as exc:  # under approval: no edits
        contract_update(actor=world.personas.rep, contract=contract, changes={"title": "改"})
    assert exc.value.code == "under_approval"
    fake_engine.decide("contracts.contract", contract, "approved", world.personas.manager)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.APPROVED
    with pytest.raises(Conflict):  # approved: still no edits
        contract_update(actor=world.personas.rep, contract=contract, changes={"title": "改"})


def test_rejection_and_withdrawal_bring_the_draft_back_with_the_comment(world: World, fake_engine: FakeEngine) -> None:
    contract = make_direct(world)
    contract_submit(actor=world.personas.rep, contract=contract)
    fake_engine.decide("contracts.contract", contract, "rejected", world.personas.manager, "付款条件太宽松")
    contract.refresh_from_db()
    version = ContractVersion.objects.get(contract=contract)
    assert (contract.status, version.status, version.decision_comment) == ("draft", "draft", "付款条件太宽松")
    contract_update(actor=world.personas.rep, contract=contract, changes={"payment_terms": "预付 50%"})
    contract_submit(actor=world.personas.rep, contract=contract)
    assert ContractVersion.objects.get(contract=contract).decision_comment == ""
    fake_engine.decide("contracts.contract", contract, "withdrawn", world.personas.rep)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFT
    rejected = AuditEvent.objects.filter(verb="contracts.contract.rejected").order_by("id")
    assert [e.data["withdrawn"] for e in rejected] == [False, True]


def test_submit_refuses_a_contract_without_lines(world: World, no_engine: None) -> None:
    contract = contract_create(actor=world.personas.rep, account=world.account, title="空")
    with pytest.raises(ValidationFailed) as exc:
        contract_submit(actor=world.personas.rep, contract=contract)
    assert "lines" in exc.value.field_errors


# ------------------------------------------------------------------------------ signing


def test_signing_attaches_the_file_and_archives_the_contract(world: World, no_engine: None) -> None:
    contract = make_direct(world)
    with pytest.raises(Conflict):  # a draft cannot be signed
        contract_sign(actor=world.personas.rep, contract=contract, signed_on=date(2026, 1, 5), upload=pdf())
    contract_submit(actor=world.personas.rep, contract=contract)
    with pytest.raises(ValidationFailed) as exc:
        contract_sign(
            actor=world.personas.rep,
            contract=contract,
            signed_on=timezone.localdate() + timedelta(days=1),
            upload=None,
        )
    assert set(exc.value.field_errors) == {"signed_on", "file"}
    with pytest.raises(ValidationFailed):  # content must match the name: not a PDF
        contract_sign(
            actor=world.personas.rep,
            contract=contract,
            signed_on=date(2026, 1, 5),
            upload=SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf"),
        )
    assert Attachment.objects.count() == 0
    contract = contract_sign(actor=world.personas.rep, contract=contract, signed_on=date(2026, 1, 5), upload=pdf())
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SIGNED and contract.signed_on == date(2026, 1, 5)
    attachment = Attachment.objects.get()
    assert (contract.signed_file, attachment.kind, attachment.file_name) == (attachment, "contract", "已签合同.pdf")
    assert ContractVersion.objects.get(contract=contract).status == ContractStatus.SIGNED


def test_a_signed_contract_and_its_versions_refuse_every_edit(world: World, no_engine: None) -> None:
    contract = signed(world)
    rep = world.personas.rep
    before = Contract.objects.values().get(pk=contract.pk)
    for call in (
        lambda: contract_update(actor=rep, contract=contract, changes={"title": "改"}),
        lambda: contract_update(actor=rep, contract=contract, changes={}, lines=direct_lines()[:1]),
        lambda: contract_submit(actor=rep, contract=contract),
        lambda: contract_sign(actor=rep, contract=contract, signed_on=date(2026, 1, 6), upload=pdf()),
    ):
        with pytest.raises(Conflict):
            call()
    v1 = ContractVersion.objects.get(contract=contract, version=1)
    with pytest.raises(Conflict):  # version 1 is no change order
        amendment_update(actor=rep, version=v1, changes={"payment_terms": "x"})
    with pytest.raises(Forbidden):  # the archived files are read-only too
        attachment_add(actor=rep, record=contract, upload=pdf("另一份.pdf"), kind="other")
    assert Contract.objects.values().get(pk=contract.pk) == before
    assert Attachment.objects.count() == 1


# ------------------------------------------------------------------------------ change orders


def test_change_order_versions_apply_on_approval_and_keep_the_old_version(world: World, no_engine: None) -> None:
    contract = signed(world)
    rep = world.personas.rep
    version = amendment_create(actor=rep, contract=contract, reason="客户追加网关，取消培训")
    year = timezone.localdate().year
    assert (version.version, version.number, version.status) == (2, f"BG-{year}-00001", "draft")
    assert version.total == Decimal("31889.98") and version.lines.count() == 2
    with pytest.raises(Conflict):  # one open change order at a time
        amendment_create(actor=rep, contract=contract, reason="再改")
    amendment_update(
        actor=rep,
        version=version,
        changes={"end_date": date(2027, 6, 30), "payment_terms": "货到 60 天"},
        lines=[
            {"name_zh": "数据采集网关", "unit": "台", "quantity": "5", "unit_price": "8000.00", "tax_rate": "13"},
            {"name_zh": "远程运维", "unit": "年", "quantity": "1", "unit_price": "10000", "tax_rate": "6"},
        ],
    )
    contract.refresh_from_db()
    assert contract.total == Decimal("31889.98")  # not before approval
    amendment_submit(actor=rep, version=version)
    contract.refresh_from_db()
    version.refresh_from_db()
    assert contract.current_version == version and version.status == ContractStatus.APPROVED
    assert contract.total == Decimal("55800.00")  # 5 × 8000 × 1.13 + 10000 × 1.06
    assert (contract.end_date, contract.payment_terms, contract.status) == (date(2027, 6, 30), "货到 60 天", "signed")
    v1 = ContractVersion.objects.get(contract=contract, version=1)
    assert (v1.total, v1.terms["end_date"], v1.lines.count()) == (Decimal("31889.98"), "2026-12-31", 2)
    diff = version_diff(contract, 1, 2).as_dict()
    assert diff["terms"] == {"end_date": ["2026-12-31", "2027-06-30"], "payment_terms": ["货到 30 天", "货到 60 天"]}
    assert [x["name"] for x in diff["lines_added"]] == ["远程运维"]
    assert [x["name"] for x in diff["lines_removed"]] == ["现场培训"]
    assert diff["lines_changed"] == [
        {"name": "数据采集网关", "changes": {"quantity": ["3.000", "5.000"], "total": ["27120.00", "45200.00"]}}
    ]
    assert diff["totals"]["total"] == ["31889.98", "55800.00"]
    assert version_diff(contract, 2, 2).empty
    applied = AuditEvent.objects.get(verb="contracts.amendment.approved")
    assert applied.data["changes"]["total"] == ["31889.98", "55800.00"]
    assert applied.data["number"] == version.number
    with pytest.raises(Conflict):  # an approved change order is archived
        amendment_update(actor=rep, version=version, changes={"payment_terms": "x"})


def test_change_order_through_the_engine_pending_rejected_then_approved(world: World, fake_engine: FakeEngine) -> None:
    contract = make_direct(world)
    rep = world.personas.rep
    contract_submit(actor=rep, contract=contract)
    fake_engine.decide("contracts.contract", contract, "approved", world.personas.manager)
    contract_sign(actor=rep, contract=contract, signed_on=date(2026, 1, 5), upload=pdf())
    version = amendment_create(actor=rep, contract=contract, reason="延期")
    amendment_update(actor=rep, version=version, changes={"end_date": date(2027, 12, 31)})
    amendment_submit(actor=rep, version=version)
    version.refresh_from_db()
    assert version.status == ContractStatus.PENDING_APPROVAL
    assert fake_engine.submissions[-1]["kind"] == "contracts.amendment"
    with pytest.raises(Conflict):
        amendment_update(actor=rep, version=version, changes={"end_date": date(2028, 1, 1)})
    fake_engine.decide("contracts.amendment", version, "rejected", world.personas.manager, "请说明原因")
    version.refresh_from_db()
    assert (version.status, version.decision_comment) == ("draft", "请说明原因")
    amendment_submit(actor=rep, version=version)
    fake_engine.decide("contracts.amendment", version, "approved", world.personas.manager)
    contract.refresh_from_db()
    assert contract.current_version_id == version.pk and contract.end_date == date(2027, 12, 31)


def test_change_orders_need_a_signed_contract_and_a_reason(world: World, no_engine: None) -> None:
    contract = make_direct(world)
    with pytest.raises(Conflict):
        amendment_create(actor=world.personas.rep, contract=contract, reason="x")
    contract = signed(world)
    with pytest.raises(ValidationFailed) as exc:
        amendment_create(actor=world.personas.rep, contract=contract, reason="  ")
    assert "reason" in exc.value.field_errors
    with pytest.raises(Forbidden):
        amendment_create(actor=world.personas.support, contract=contract, reason="x")
    assert ContractVersion.objects.filter(contract=contract).count() == 1


# ------------------------------------------------------------------------------ renewal


def test_renewal_reminders_are_sent_once_per_end_date(world: World, no_engine: None) -> None:
    today = timezone.localdate()
    soon = signed(world)
    Contract.objects.filter(pk=soon.pk).update(end_date=today + timedelta(days=30))
    later = signed(world)
    Contract.objects.filter(pk=later.pk).update(end_date=today + timedelta(days=90))
    draft = make_direct(world)
    Contract.objects.filter(pk=draft.pk).update(end_date=today + timedelta(days=10))
    assert renewal_reminders_run(today=today, days_before=60) == 1
    assert renewal_reminders_run(today=today, days_before=60) == 0
    assert renewal_reminders_run(today=today + timedelta(days=1), days_before=60) == 0
    event = AuditEvent.objects.get(verb="contracts.contract.renewal_due")
    assert event.target_id == soon.pk
    assert event.data == {
        "owner": world.personas.rep.pk,
        "end_date": (today + timedelta(days=30)).isoformat(),
        "days_left": 30,
    }


def test_renew_creates_a_linked_opportunity_through_the_sales_service(world: World, no_engine: None) -> None:
    contract = signed(world)
    end = timezone.localdate() + timedelta(days=40)
    Contract.objects.filter(pk=contract.pk).update(end_date=end)
    contract.refresh_from_db()
    with pytest.raises(Forbidden):
        contract_renew(actor=world.personas.support, contract=contract)
    opportunity = contract_renew(actor=world.personas.rep, contract=contract)
    assert (opportunity.name, opportunity.amount, opportunity.expected_close_date, opportunity.account) == (
        "续约：网关与培训",
        Decimal("31889.98"),
        end,
        world.account,
    )
    assert opportunity.owner == world.personas.rep and opportunity.outcome == "open"
    contract.refresh_from_db()
    assert contract.renewal_opportunity == opportunity
    assert AuditEvent.objects.filter(verb="sales.opportunity.created", target_id=opportunity.pk).exists()
    with pytest.raises(Conflict):
        contract_renew(actor=world.personas.rep, contract=contract)


def test_renewal_days_come_from_the_settings_row(personas) -> None:  # type: ignore[no-untyped-def]
    from salesflow.contracts.services import contract_settings_save, renewal_reminder_days

    assert renewal_reminder_days() == 60  # no row yet: the default
    contract_settings_save(actor=personas.admin, renewal_reminder_days=30)
    assert renewal_reminder_days() == 30
