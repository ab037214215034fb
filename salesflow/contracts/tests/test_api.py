"""``/api/v1/contracts`` through real tokens: the flow, hostile input (400 naming the field,
nothing written), personas (404 unseen, 403 read-only), 409 on archived documents, keyset
pages and a bounded query count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from salesflow.contracts.models import Contract, ContractStatus, ContractVersion
from salesflow.contracts.services import contract_create
from salesflow.contracts.tests.conftest import World, direct_lines
from salesflow.quotes.models import Quote
from salesflow.users.models import User
from salesflow.users.testing import PERSONA_NAMES, expected_denial

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def body(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "title": "网关与培训",
        "account_id": world.account.pk,
        "opportunity_id": world.opportunity.pk,
        "end_date": "2026-12-31",
        "start_date": "2026-01-01",
        "payment_terms": "货到 30 天",
        "lines": direct_lines(),
        **extra,
    }


def sign(user: User, contract_id: int, name: str = "signed.pdf") -> Any:
    from salesflow.users.services import api_token_create

    _token, raw = api_token_create(user=user, name="sign")
    client = Client(headers={"authorization": f"Bearer {raw}", "accept-language": "en"})
    return client.post(
        f"/api/v1/contracts/{contract_id}/sign",
        {"signed_on": "2026-01-05", "file": SimpleUploadedFile(name, PDF, content_type="application/pdf")},
    )


def test_the_whole_flow_through_the_api(world: World, api_for: Callable[[User], Any], no_engine: None) -> None:
    api = api_for(world.personas.rep)
    created = api.post("/contracts", body(world))
    assert created.status_code == 201, created.content
    data = created.json()
    cid = data["id"]
    assert data["total"] == "31889.98" and data["status"] == "draft" and data["number"].startswith("HT-")
    assert [line["total"] for line in data["lines"]] == ["27120.00", "4769.98"]
    patched = api.patch(f"/contracts/{cid}", {"special_clauses": "违约金 20%", "title": "网关、培训"})
    assert patched.status_code == 200 and patched.json()["title"] == "网关、培训"
    assert api.post(f"/contracts/{cid}/submit").json()["status"] == "approved"
    signed = sign(world.personas.rep, cid)
    assert signed.status_code == 200, signed.content
    assert signed.json()["status"] == "signed" and signed.json()["signed_file_id"]
    refused = api.patch(f"/contracts/{cid}", {"title": "改"})
    assert refused.status_code == 409 and refused.json()["code"] == "contract_signed"
    amendment = api.post(f"/contracts/{cid}/amendments", {"reason": "延期半年"})
    assert amendment.status_code == 201 and amendment.json()["version"] == 2
    assert amendment.json()["number"].startswith("BG-")
    edited = api.patch(
        f"/contracts/{cid}/amendments/2",
        {
            "end_date": "2027-06-30",
            "lines": [{"name_zh": "数据采集网关", "quantity": 5, "unit_price": "8000", "tax_rate": 13}],
        },
    )
    assert edited.status_code == 200, edited.content
    assert edited.json()["total"] == "45200.00"
    submitted = api.post(f"/contracts/{cid}/amendments/2/submit")
    assert submitted.json()["status"] == "approved"
    detail = api.get(f"/contracts/{cid}").json()
    assert (detail["total"], detail["end_date"], detail["current_version"]) == ("45200.00", "2027-06-30", 2)
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    diff = api.get(f"/contracts/{cid}/diff", **{"from": 1, "to": 2}).json()
    assert diff["terms"] == {"end_date": ["2026-12-31", "2027-06-30"]}
    assert [x["name"] for x in diff["lines_removed"]] == ["现场培训"]
    assert diff["lines_changed"][0]["changes"]["quantity"] == ["3.000", "5.000"]
    old = api.get(f"/contracts/{cid}/versions/1").json()
    assert old["total"] == "31889.98" and len(old["lines"]) == 2
    assert api.patch(f"/contracts/{cid}/amendments/2", {"reason": "x"}).status_code == 409
    renewed = api.post(f"/contracts/{cid}/renew")
    assert renewed.status_code == 201 and renewed.json()["name"] == "续约：网关、培训"
    assert api.post(f"/contracts/{cid}/renew").status_code == 409


def test_create_from_an_accepted_quote(world: World, api_for: Callable[[User], Any], accepted_quote: Quote) -> None:
    api = api_for(world.personas.rep)
    response = api.post("/contracts/from-quote", {"quote_id": accepted_quote.pk, "end_date": "2027-12-31"})
    assert response.status_code == 201, response.content
    assert response.json()["total"] == "161945.00" and response.json()["quote_id"] == accepted_quote.pk
    assert (
        api_for(world.personas.outsider).post("/contracts/from-quote", {"quote_id": accepted_quote.pk}).status_code
        == 404
    )
    assert api.post("/contracts/from-quote", {"quote_id": accepted_quote.pk}).status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "a\x00b"}, "title"),
        ({"payment_terms": "x" * 50_000}, "payment_terms"),
        ({"colour": "red"}, "colour"),
        ({"account_id": "abc"}, "account_id"),
        ({"end_date": "2026-13-45"}, "end_date"),
        ({"lines": [{"name_zh": "x", "quantity": "NaN", "unit_price": "1"}]}, "lines.0.quantity"),
        ({"lines": [{"name_zh": "x", "quantity": 1, "unit_price": "99999999999999999"}]}, "lines.0.unit_price"),
        ({"lines": [{"name_zh": "x", "quantity": 1, "unit_price": 1, "evil": 1}]}, "evil"),
        ({"lines": "not a list"}, "lines"),
        ({"non_standard_terms": "maybe"}, "non_standard_terms"),
    ],
)
def test_hostile_input_is_a_400_naming_the_field(
    world: World, api_for: Callable[[User], Any], change: dict[str, Any], field: str
) -> None:
    response = api_for(world.personas.rep).post("/contracts", body(world, **change))
    assert response.status_code == 400, response.content
    assert field in str(response.json()), response.json()
    assert Contract.objects.count() == 0


def test_malformed_json_and_unseen_ids(world: World, api_for: Callable[[User], Any], personas: Any) -> None:
    api = api_for(world.personas.rep)
    raw = api.client.post("/api/v1/contracts", "{not json", content_type="application/json")
    assert raw.status_code == 400
    from salesflow.sales.tests.factories import make_account, make_opportunity

    hidden = make_account(personas.outsider)
    assert api.post("/contracts", body(world, account_id=hidden.pk)).status_code == 404
    assert api.post("/contracts", body(world, opportunity_id=make_opportunity(personas.outsider).pk)).status_code == 404
    assert api.post("/contracts", body(world, account_id=2**62)).status_code == 404
    assert api.get("/contracts/999999").status_code == 404
    assert Contract.objects.count() == 0


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_personas_read_and_write_a_reps_contract(
    world: World, api_for: Callable[[User], Any], persona: str, no_engine: None
) -> None:
    contract = contract_create(actor=world.personas.rep, account=world.account, title="甲", lines=direct_lines())
    api = api_for(getattr(world.personas, persona))
    read = api.get(f"/contracts/{contract.pk}")
    denied = expected_denial(persona, write=False)
    assert read.status_code == (denied or 200)
    listed = api.get("/contracts").json()["items"]
    assert [c["id"] for c in listed] == ([] if denied else [contract.pk])
    write = api.patch(f"/contracts/{contract.pk}", {"title": "乙"})
    denied_write = expected_denial(persona, write=True)
    assert write.status_code == (denied_write or 200)
    contract.refresh_from_db()
    assert contract.title == ("甲" if denied_write else "乙")


def test_a_deal_reader_reads_the_contract(world: World, api_for: Callable[[User], Any]) -> None:
    from salesflow.users.services import share_grant

    contract = contract_create(
        actor=world.personas.rep, account=world.account, title="甲", opportunity=world.opportunity
    )
    share_grant(actor=world.personas.rep, target=world.opportunity, grantee_user=world.personas.teammate)
    api = api_for(world.personas.teammate)
    assert api.get(f"/contracts/{contract.pk}").status_code == 200
    assert api.patch(f"/contracts/{contract.pk}", {"title": "乙"}).status_code == 403


def test_sign_refuses_bad_files_and_unknown_fields(
    world: World, api_for: Callable[[User], Any], no_engine: None
) -> None:
    contract = contract_create(actor=world.personas.rep, account=world.account, title="甲", lines=direct_lines())
    api = api_for(world.personas.rep)
    assert sign(world.personas.rep, contract.pk).status_code == 409  # a draft
    api.post(f"/contracts/{contract.pk}/submit")
    from salesflow.users.services import api_token_create

    _token, raw = api_token_create(user=world.personas.rep, name="x")
    client = Client(headers={"authorization": f"Bearer {raw}"})
    bad = client.post(
        f"/api/v1/contracts/{contract.pk}/sign",
        {"signed_on": "2026-01-05", "file": SimpleUploadedFile("x.pdf", b"<html>no</html>")},
    )
    assert bad.status_code == 400 and "file" in bad.json()["errors"]
    extra = client.post(f"/api/v1/contracts/{contract.pk}/sign", {"signed_on": "2026-01-05", "evil": "1"})
    assert extra.status_code == 400 and "evil" in extra.json()["errors"]
    assert sign(world.personas.support, contract.pk).status_code == 403
    contract.refresh_from_db()
    assert contract.status == ContractStatus.APPROVED and contract.signed_file_id is None


def test_list_filters_keyset_pages_and_query_bound(
    world: World, api_for: Callable[[User], Any], django_assert_max_num_queries: Any
) -> None:
    ids = []
    for index in range(7):
        contract = contract_create(
            actor=world.personas.rep,
            account=world.account,
            title=f"合同 {index}",
            terms={"end_date": date(2030, 1, 1 + index)},
            lines=direct_lines(),
        )
        ids.append(contract.pk)
    api = api_for(world.personas.manager)
    with django_assert_max_num_queries(12):
        first = api.get("/contracts", limit=3, sort="end_date").json()
    assert first["count"] == 7 and [c["id"] for c in first["items"]] == ids[:3]
    second = api.get("/contracts", limit=3, sort="end_date", cursor=first["next_cursor"]).json()
    assert second["count"] is None and [c["id"] for c in second["items"]] == ids[3:6]
    assert api.get("/contracts", status="signed").json()["count"] == 0
    assert api.get("/contracts", status="bogus").status_code == 400
    assert api.get("/contracts", cursor="garbage").status_code == 400
    assert api.get("/contracts", owner_id=world.personas.rep.pk, account_id=world.account.pk).json()["count"] == 7
    assert ContractVersion.objects.count() == 7
