"""Account pages: persona matrix, forms, filters, delete guard."""

from __future__ import annotations

import pytest

from salesflow.core.models import AuditEvent
from salesflow.parties.models import Account
from salesflow.parties.tests.conftest import MATRIX, PERSONAS, account_state
from salesflow.parties.tests.factories import make_account, make_contact, valid_credit_code
from salesflow.users.models import Territory

pytestmark = pytest.mark.django_db


def _names(response) -> set[str]:
    return {a.name for a in response.context["page"].object_list}


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_shows_only_visible_accounts(personas, client_for, rep_account, outsider_account, persona):
    response = client_for(getattr(personas, persona)).get("/accounts/")
    assert response.status_code == 200
    can_read, _ = MATRIX[persona]
    expected = {rep_account.name} if can_read else set()
    if persona in ("outsider", "other_manager", "admin"):
        expected.add(outsider_account.name)
    assert _names(response) == expected


@pytest.mark.parametrize("persona", PERSONAS)
def test_detail(personas, client_for, rep_account, rep_contact, persona):
    response = client_for(getattr(personas, persona)).get(f"/accounts/{rep_account.pk}/")
    can_read, can_write = MATRIX[persona]
    assert response.status_code == (200 if can_read else 404)
    if can_read:
        html = response.content.decode()
        assert rep_contact.name in html
        assert f"/contacts/create/?account={rep_account.pk}" in html if can_write else "account-add-contact" not in html
        assert f"/opportunities/?account={rep_account.pk}" in html
        assert f'hx-get="/activities/panel/?account={rep_account.pk}"' in html
        assert ('data-testid="account-edit"' in html) is can_write


@pytest.mark.parametrize("persona", PERSONAS)
def test_edit(personas, client_for, rep_account, persona):
    client = client_for(getattr(personas, persona))
    _, can_write = MATRIX[persona]
    can_read, _ = MATRIX[persona]
    expected = 200 if can_write else (403 if can_read else 404)
    assert client.get(f"/accounts/{rep_account.pk}/edit/").status_code == expected
    before = account_state(rep_account.pk)
    response = client.post(
        f"/accounts/{rep_account.pk}/edit/",
        {"name": "改名后的客户", "lifecycle": "customer", "owner": personas.rep.pk, "grade": "B"},
    )
    if can_write:
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/{rep_account.pk}/"
        rep_account.refresh_from_db()
        assert (rep_account.name, rep_account.lifecycle, rep_account.grade, rep_account.credit_code) == (
            "改名后的客户",
            "customer",
            "B",
            "",
        )
        assert AuditEvent.objects.filter(verb="parties.account.updated", actor=getattr(personas, persona)).count() == 1
    else:
        assert response.status_code == expected
        assert account_state(rep_account.pk) == before
        assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_delete(personas, client_for, rep_account, persona):
    client = client_for(getattr(personas, persona))
    can_read, can_write = MATRIX[persona]
    expected = 200 if can_write else (403 if can_read else 404)
    assert client.get(f"/accounts/{rep_account.pk}/delete/").status_code == expected
    before = account_state(rep_account.pk)
    response = client.post(f"/accounts/{rep_account.pk}/delete/")
    if can_write:
        assert response.status_code == 302
        assert response["Location"] == "/accounts/"
        assert not Account.objects.filter(pk=rep_account.pk).exists()
    else:
        assert response.status_code == expected
        assert account_state(rep_account.pk) == before


def test_delete_refused_while_contacts_exist(personas, client_for, rep_account, rep_contact):
    client = client_for(personas.rep)
    page = client.get(f"/accounts/{rep_account.pk}/delete/")
    assert b'data-testid="delete-blocked"' in page.content
    response = client.post(f"/accounts/{rep_account.pk}/delete/", follow=True)
    assert response.redirect_chain == [(f"/accounts/{rep_account.pk}/", 302)]
    assert "This account still has related records: contacts: 1." in response.content.decode()
    assert Account.objects.filter(pk=rep_account.pk).exists()


def test_create_sets_owner_and_region(personas, client_for):
    shanghai = Territory.objects.get(code="shanghai")
    code = valid_credit_code()
    client = client_for(personas.manager)
    page = client.get("/accounts/create/")
    assert page.status_code == 200
    owner_choices = {str(pk) for pk, _label in page.context["form"].fields["owner"].choices if pk}
    assert owner_choices == {str(u.pk) for u in (personas.manager, personas.rep, personas.teammate, personas.assistant)}
    response = client.post(
        "/accounts/create/",
        {
            "name": "华东精密制造",
            "credit_code": code.lower(),
            "lifecycle": "prospect",
            "owner": personas.teammate.pk,
            "region": shanghai.pk,
            "industry": "manufacturing",
        },
    )
    account = Account.objects.get(name="华东精密制造")
    assert response["Location"] == f"/accounts/{account.pk}/"
    assert (account.owner_id, account.region_id, account.credit_code) == (personas.teammate.pk, shanghai.pk, code)


def test_create_rejects_unassignable_owner_and_bad_code(personas, client_for):
    client = client_for(personas.rep)
    response = client.post(
        "/accounts/create/", {"name": "华东精密制造", "lifecycle": "prospect", "owner": personas.outsider.pk}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["owner"]
    response = client.post(
        "/accounts/create/",
        {
            "name": "华东精密制造",
            "lifecycle": "prospect",
            "owner": personas.rep.pk,
            "credit_code": "91310000MA1FL0000A",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "credit_code": ["Enter a valid 18-character unified social credit code."]
    }
    assert not Account.objects.exists()


def test_create_forbidden_for_support(personas, client_for):
    client = client_for(personas.support)
    assert client.get("/accounts/create/").status_code == 403
    assert client.post("/accounts/create/", {"name": "x", "lifecycle": "prospect"}).status_code == 403
    assert b'data-testid="account-create"' not in client.get("/accounts/").content
    assert not Account.objects.exists()


def test_edit_duplicate_credit_code_shows_field_error(personas, client_for, rep_account):
    other = make_account(personas.rep, name="另一家", credit_code=valid_credit_code())
    before = account_state(rep_account.pk)
    response = client_for(personas.rep).post(
        f"/accounts/{rep_account.pk}/edit/",
        {"name": "新名字", "lifecycle": "prospect", "owner": personas.rep.pk, "credit_code": other.credit_code},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"credit_code": ["Another account already has this credit code."]}
    assert account_state(rep_account.pk) == before


def test_list_search_filters_and_sort(personas, client_for):
    rep = personas.rep
    a = make_account(
        rep, name="Alpha 制造", lifecycle="customer", grade="A", industry="manufacturing", phone="13900001111"
    )
    b = make_account(
        rep, name="Beta 软件", lifecycle="prospect", grade="B", industry="it", credit_code=valid_credit_code()
    )
    c = make_account(personas.teammate, name="Gamma 物流", lifecycle="customer", grade="A")
    client = client_for(personas.manager)

    def names(**params):
        return [x.name for x in client.get("/accounts/", params).context["page"].object_list]

    assert names() == [a.name, b.name, c.name]
    assert names(sort="-name") == [c.name, b.name, a.name]
    assert names(sort="created") == [a.name, b.name, c.name]
    assert names(sort="-created") == [c.name, b.name, a.name]
    assert names(sort="description") == [a.name, b.name, c.name]  # not whitelisted → default
    assert names(q="beta") == [b.name]
    assert names(q=b.credit_code[:10].lower()) == [b.name]
    assert names(q="1390000") == [a.name]
    assert names(lifecycle="customer") == [a.name, c.name]
    assert names(grade="A", owner=personas.teammate.pk) == [c.name]
    assert names(industry="it") == [b.name]
    assert names(lifecycle="bogus") == [a.name, b.name, c.name]  # invalid filter ignored
    assert [x.name for x in client_for(rep).get("/accounts/", {"q": "gamma"}).context["page"].object_list] == []


def test_list_htmx_returns_table_partial(personas, client_for, rep_account):
    response = client_for(personas.rep).get("/accounts/", {"q": "星云"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'data-testid="account-table"' in html
    assert "<html" not in html
    assert rep_account.name in html


def test_pagination(personas, client_for):
    for i in range(30):
        make_account(personas.rep, name=f"客户 {i:02d}")
    client = client_for(personas.rep)
    first = client.get("/accounts/")
    assert len(first.context["page"].object_list) == 25
    assert first.context["page"].has_next
    second = client.get("/accounts/", {"page": 2})
    assert [a.name for a in second.context["page"].object_list] == [f"客户 {i:02d}" for i in range(25, 30)]


def test_pages_render_in_chinese(personas, client_for, rep_account):
    make_contact(rep_account, name="王磊")
    client = client_for(personas.rep, language="zh-hans")
    html = client.get(f"/accounts/{rep_account.pk}/").content.decode()
    assert "添加联系人" in html
    assert "统一社会信用代码" in html
    assert "客户" in client.get("/accounts/").content.decode()
