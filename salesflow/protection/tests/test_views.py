"""Pages: the known-customer list and its upload (CSV, XLSX, hostile files), the collision
queue (who sees what, deciding, query counts), the badges on lead and account pages."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from salesflow.leads.tests.factories import credit_code
from salesflow.protection.listfiles import MAX_FILE_BYTES
from salesflow.protection.models import Collision, KnownCustomer, KnownCustomerLoad
from salesflow.protection.tests.factories import load_list, new_account, new_lead

pytestmark = pytest.mark.django_db

URL = "/settings/known-customers/"


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(client: Any, name: str, data: bytes, source: str = "ERP") -> Any:
    return client.post(URL, {"source_system": source, "file": SimpleUploadedFile(name, data)})


def test_upload_xlsx_with_chinese_headers_then_reload(personas, client_for) -> None:
    code = credit_code()
    data = _xlsx(
        [
            ["客户名称", "统一社会信用代码", "负责人", "销售处", "备注"],
            ["上海星河科技有限公司", code, "张伟", "华东销售处", "忽略"],
            ["坏行", "123", "", "", ""],
        ]
    )
    client = client_for(personas.admin)
    response = _upload(client, "客户名单.xlsx", data)
    assert response.status_code == 302
    load = KnownCustomerLoad.objects.get()
    assert (load.created, load.rejected) == (1, 1)
    kc = KnownCustomer.objects.get()
    assert (kc.owner, kc.sales_office, kc.credit_code) == (personas.rep, "华东销售处", code)
    page = client.get(response["Location"])
    assert page.status_code == 200 and "credit_code" in page.content.decode()
    _upload(client, "客户名单.xlsx", data)
    assert KnownCustomer.objects.count() == 1
    assert KnownCustomerLoad.objects.order_by("-pk").first().updated == 1  # type: ignore[union-attr]


def test_upload_csv_with_english_headers_in_gb18030(personas, client_for) -> None:
    text = "Customer name,Owner,Sales office\r\n北京远山贸易有限公司,teammate,华北销售处\r\n"
    response = _upload(client_for(personas.admin), "list.csv", text.encode("gb18030"))
    assert response.status_code == 302
    assert KnownCustomer.objects.get().owner == personas.teammate


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    "name, data",
    [
        ("list.xlsx", b"Customer name\nA\n"),  # text named .xlsx
        ("list.csv", _xlsx([["客户名称"], ["A"]])),  # xlsx named .csv
        ("list.exe", b"MZ\x90\x00"),
        ("list.csv", b"Customer name\nA\x00B\n"),  # NUL byte
        ("list.csv", b"Name of thing\nA\n"),  # no customer-name column
        ("list.xlsx", _zip_bomb()),
        ("list.csv", b""),
    ],
    ids=["text-as-xlsx", "xlsx-as-csv", "exe", "nul", "no-name-column", "zip-bomb", "empty"],
)
def test_hostile_files_are_refused_before_parsing(personas, client_for, name, data) -> None:
    response = _upload(client_for(personas.admin), name, data)
    assert response.status_code == 400
    assert not KnownCustomerLoad.objects.exists() and not KnownCustomer.objects.exists()


def test_a_huge_file_is_refused(personas, client_for) -> None:
    data = b"Customer name\n" + b"A" * (MAX_FILE_BYTES + 10)
    response = _upload(client_for(personas.admin), "list.csv", data)
    assert response.status_code == 400 and "MB" in response.content.decode()
    assert not KnownCustomerLoad.objects.exists()


@pytest.mark.parametrize("who", ["manager", "rep"])
def test_only_administrators_see_the_list_page(personas, client_for, who) -> None:
    client = client_for(getattr(personas, who))
    assert client.get(URL).status_code == 403
    assert _upload(client, "list.csv", b"Customer name\nA\n").status_code == 403
    assert not KnownCustomer.objects.exists()


def test_badges_on_lead_and_account_pages(personas, client_for) -> None:
    load_list(
        personas.admin,
        [{"company_name": "上海星河科技有限公司", "owner": "teammate", "sales_office": "华东销售处"}],
    )
    lead = new_lead(personas.admin, personas.rep, company_name="上海星河科技")
    account = new_account(personas.teammate, personas.teammate, "上海星河科技有限公司")
    badge = "Existing customer — owner 李娜"
    rep = client_for(personas.rep)
    assert badge in rep.get(f"/leads/{lead.pk}/").content.decode()
    assert badge in rep.get("/leads/").content.decode()
    teammate = client_for(personas.teammate)
    assert badge in teammate.get(f"/accounts/{account.pk}/").content.decode()
    assert badge in teammate.get("/accounts/").content.decode()


def test_the_lead_form_says_where_a_routed_lead_went(personas, client_for) -> None:
    load_list(personas.admin, [{"company_name": "上海星河科技有限公司", "owner": "teammate"}])
    response = client_for(personas.rep).post(
        "/leads/create/",
        {"name": "王先生", "company_name": "上海星河科技", "mobile": "13900001111", "source_channel": "inbound",
         "budget_status": "unknown", "authority_status": "unknown", "owner": personas.rep.pk},
        follow=True,
    )  # fmt: skip
    assert response.redirect_chain[-1][0] == "/leads/"
    assert "routed to 李娜" in response.content.decode()


def test_an_account_form_for_someone_elses_customer_names_the_owner(personas, client_for) -> None:
    load_list(
        personas.admin, [{"company_name": "上海星河科技有限公司", "owner": "teammate", "sales_office": "华东销售处"}]
    )
    response = client_for(personas.rep).post(
        "/accounts/create/", {"name": "上海星河科技", "owner": personas.rep.pk, "lifecycle": "prospect"}
    )
    assert response.status_code in (400, 200)
    assert "existing customer of 华东销售处 — owner 李娜" in response.content.decode()


# --- the collision queue ---------------------------------------------------------------------


def _collisions(personas, count: int) -> list[Collision]:
    for i in range(count):
        new_account(personas.teammate, personas.teammate, f"撞单测试{i}有限公司")
        new_account(personas.rep, personas.rep, f"撞单测试{i}")
        new_lead(personas.teammate, personas.teammate, mobile=f"1370000{i:04d}")
        new_lead(personas.rep, personas.rep, mobile=f"1370000{i:04d}")
    return list(Collision.objects.all())


def test_queue_shows_both_records_and_the_manager_decides(personas, client_for) -> None:
    collision = _collisions(personas, 1)[0]
    client = client_for(personas.manager)
    page = client.get("/collisions/").content.decode()
    assert 'data-testid="decide-form"' in page and "撞单测试0" in page and "李娜" in page
    response = client.post(
        f"/collisions/{collision.pk}/decide/", {"decision": "share", "direction": "", "note": "共同跟进"}
    )
    assert response.status_code == 302
    collision.refresh_from_db()
    assert collision.decision == "share"
    decided = client.get("/collisions/?tab=decided").content.decode()
    assert "共同跟进" in decided


def test_reps_see_their_collisions_read_only_and_others_see_nothing(personas, client_for) -> None:
    collision = _collisions(personas, 1)[0]
    rep_page = client_for(personas.rep).get("/collisions/").content.decode()
    assert f'data-id="{collision.pk}"' in rep_page and 'data-testid="decide-form"' not in rep_page
    rep = client_for(personas.rep)
    assert rep.post(f"/collisions/{collision.pk}/decide/", {"decision": "keep"}).status_code == 403
    outsider = client_for(personas.outsider)
    assert f'data-id="{collision.pk}"' not in outsider.get("/collisions/").content.decode()
    assert outsider.get(f"/collisions/{collision.pk}/").status_code == 404
    assert (
        client_for(personas.other_manager).post(f"/collisions/{collision.pk}/decide/", {"decision": "keep"}).status_code
        == 404
    )
    collision.refresh_from_db()
    assert collision.status == "open"


def test_a_bad_decision_form_is_a_400_and_changes_nothing(personas, client_for) -> None:
    collision = _collisions(personas, 1)[0]
    client = client_for(personas.manager)
    response = client.post(f"/collisions/{collision.pk}/decide/", {"decision": "transfer", "note": "x"})
    assert response.status_code == 400
    response = client.post(f"/collisions/{collision.pk}/decide/", {"decision": "keep", "note": "a\x00b"})
    assert response.status_code == 400
    collision.refresh_from_db()
    assert collision.status == "open"


def test_queue_query_count_is_constant(personas, client_for, django_assert_max_num_queries) -> None:
    _collisions(personas, 2)
    client = client_for(personas.manager)
    client.get("/collisions/")
    with django_assert_max_num_queries(22) as few:
        client.get("/collisions/")
    for i in range(2, 8):
        _more(personas, i)
    assert Collision.objects.count() == 16
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/collisions/")
    assert response.content.decode().count('data-testid="collision-card"') == 16


def _more(personas, i: int) -> None:
    new_account(personas.teammate, personas.teammate, f"撞单测试{i}有限公司")
    new_account(personas.rep, personas.rep, f"撞单测试{i}")
    new_lead(personas.teammate, personas.teammate, mobile=f"1370000{i:04d}")
    new_lead(personas.rep, personas.rep, mobile=f"1370000{i:04d}")


def test_list_page_query_count_is_constant(personas, client_for, django_assert_max_num_queries) -> None:
    load_list(personas.admin, [{"company_name": f"客户{i}有限公司", "owner": "rep"} for i in range(3)])
    client = client_for(personas.admin)
    client.get(URL)
    with django_assert_max_num_queries(20) as few:
        client.get(URL)
    load_list(personas.admin, [{"company_name": f"客户{i}有限公司", "owner": "teammate"} for i in range(3, 40)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(URL).content.decode().count('data-testid="known-customer-row"') == 40
