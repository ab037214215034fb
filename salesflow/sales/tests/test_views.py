"""Web UI: persona matrix, board drag-and-drop endpoints, forms and query-count bounds."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from salesflow.core.models import AuditEvent
from salesflow.sales.models import Competitor, LostReason, Opportunity, OpportunityContact, StageChange
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_account, make_competitor, make_contact, make_opportunity, stage
from salesflow.users.testing import REP_RECORD_ACCESS

pytestmark = pytest.mark.django_db

HX_BOARD = {"HX-Request": "true", "HX-Target": "board"}

# persona → (can read, can write); unseen is 404, seen-but-read-only is 403
MATRIX = REP_RECORD_ACCESS


def state(opp):
    opp = Opportunity.objects.get(pk=opp.pk)
    return (
        opp.name,
        opp.amount,
        opp.stage_id,
        opp.outcome,
        opp.probability,
        StageChange.objects.filter(opportunity=opp).count(),
        AuditEvent.objects.filter(target_id=opp.pk, verb__startswith="sales.").count(),
    )


def data_value(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{re.escape(testid)}"[^>]*data-value="([^"]*)"', html)
    assert match, testid
    return match.group(1)


# ------------------------------------------------------------------ persona matrix


@pytest.mark.parametrize("persona", list(MATRIX))
def test_detail_and_list_matrix(personas, client_for, persona):
    can_read, _can_write = MATRIX[persona]
    opp = make_opportunity(personas.rep, name="矩阵商机")
    client = client_for(getattr(personas, persona))
    response = client.get(reverse("opportunities:detail", args=[opp.pk]))
    assert response.status_code == (200 if can_read else 404)
    listing = client.get(reverse("opportunities:list")).content.decode()
    assert ("矩阵商机" in listing) is can_read
    board = client.get(reverse("opportunities:board")).content.decode()
    assert (f'data-testid="board-card-{opp.pk}"' in board) is can_read


@pytest.mark.parametrize("persona", list(MATRIX))
def test_write_matrix(personas, client_for, persona):
    can_read, can_write = MATRIX[persona]
    denied = 404 if not can_read else 403
    opp = make_opportunity(personas.rep, name="原名", amount="100")
    client = client_for(getattr(personas, persona))
    detail = reverse("opportunities:detail", args=[opp.pk])

    response = client.get(reverse("opportunities:edit", args=[opp.pk]))
    assert response.status_code == (200 if can_write else denied)

    before = state(opp)
    response = client.post(reverse("opportunities:move", args=[opp.pk]), {"stage": stage("demo").pk})
    if can_write:
        assert response.status_code == 302 and response["Location"] == detail
        assert Opportunity.objects.get(pk=opp.pk).stage.code == "demo"
    else:
        assert response.status_code == denied
        assert state(opp) == before

    before = state(opp)
    edit = {"name": "新名", "amount": "200", "currency": "CNY", "probability": "55", "forecast_category": "commit"}
    edit["owner"] = str(personas.rep.pk)
    response = client.post(reverse("opportunities:edit", args=[opp.pk]), edit)
    if can_write:
        assert response.status_code == 302
        assert Opportunity.objects.get(pk=opp.pk).name == "新名"
    else:
        assert response.status_code == denied
        assert state(opp) == before

    before = state(opp)
    response = client.post(reverse("opportunities:close", args=[opp.pk]), {"outcome": "won"})
    if can_write:
        assert response.status_code == 302
        assert Opportunity.objects.get(pk=opp.pk).outcome == "won"
        response = client.post(reverse("opportunities:reopen", args=[opp.pk]))
        assert response.status_code == 302
        assert Opportunity.objects.get(pk=opp.pk).outcome == "open"
    else:
        assert response.status_code == denied
        assert state(opp) == before

    before = state(opp)
    response = client.post(reverse("opportunities:delete", args=[opp.pk]))
    if can_write:
        assert response.status_code == 302
        assert not Opportunity.objects.filter(pk=opp.pk).exists()
    else:
        assert response.status_code == denied
        assert state(opp) == before


@pytest.mark.parametrize("persona", ["teammate", "support", "outsider"])
def test_denied_board_drop_changes_nothing_and_reports(personas, client_for, persona):
    opp = make_opportunity(personas.rep, amount="100")
    before = state(opp)
    client = client_for(getattr(personas, persona))
    response = client.post(
        reverse("opportunities:move", args=[opp.pk]), {"stage": "demo", "pipeline": opp.pipeline_id}, headers=HX_BOARD
    )
    assert response.status_code == (403 if persona == "support" else 404)
    assert 'data-testid="board-error"' in response.content.decode()
    assert state(opp) == before
    response = client.post(reverse("opportunities:close", args=[opp.pk]), {"outcome": "won"}, headers=HX_BOARD)
    assert response.status_code in (403, 404)
    assert state(opp) == before


# -------------------------------------------------------------------------- board


def test_board_columns_totals_and_testids(personas, client_for):
    rep = personas.rep
    make_opportunity(rep, amount="100000", stage_code="prospect")
    make_opportunity(rep, amount="50000", stage_code="prospect")
    make_opportunity(rep, amount="25000", stage_code="qualification")
    make_opportunity(personas.teammate, amount="999999", stage_code="prospect")
    html = client_for(rep).get(reverse("opportunities:board")).content.decode()
    for code in ("prospect", "qualification", "needs", "demo", "proposal", "negotiation"):
        assert f'data-testid="board-column-{code}"' in html
    assert 'data-testid="won-zone"' in html and 'data-testid="lost-zone"' in html
    assert data_value(html, "column-count-prospect") == "2"
    assert data_value(html, "column-amount-prospect") == "150000.00"
    assert data_value(html, "column-weighted-prospect") == "15000.00"
    assert data_value(html, "column-count-qualification") == "1"
    assert data_value(html, "column-amount-qualification") == "25000.00"
    assert data_value(html, "column-weighted-qualification") == "5000.00"
    assert re.search(r"¥150,?000<", html)  # grouping depends on core's money filter
    assert "Sortable.min.js" in html
    # the manager sees the teammate's deal too
    html = client_for(personas.manager).get(reverse("opportunities:board")).content.decode()
    assert data_value(html, "column-count-prospect") == "3"
    assert data_value(html, "column-amount-prospect") == "1149999.00"


def test_board_drop_moves_and_rerenders(personas, client_for):
    opp = make_opportunity(personas.rep, amount="1000", stage_code="prospect")
    client = client_for(personas.rep)
    response = client.post(
        reverse("opportunities:move", args=[opp.pk]),
        {"stage": str(stage("demo").pk), "pipeline": str(opp.pipeline_id)},
        headers=HX_BOARD,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # a partial
    assert data_value(html, "column-count-demo") == "1"
    assert data_value(html, "column-weighted-demo") == "500.00"
    assert data_value(html, "column-count-prospect") == "0"
    assert Opportunity.objects.get(pk=opp.pk).stage.code == "demo"


def test_board_refused_drop_snaps_back_with_message(personas, client_for):
    opp = make_opportunity(personas.rep, stage_code="demo")
    opportunity_close(
        actor=personas.rep, opportunity=opp, outcome="paused", resume_date=timezone.localdate() + timedelta(days=9)
    )
    other = make_opportunity(personas.rep, stage_code="demo")
    before = state(opp)
    client = client_for(personas.rep)
    response = client.post(reverse("opportunities:move", args=[opp.pk]), {"stage": "needs"}, headers=HX_BOARD)
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="board-error"' in html
    assert f'data-testid="board-card-{other.pk}"' in html
    assert state(opp) == before
    # a won/lost stage code is refused by move (close is the way)
    response = client.post(reverse("opportunities:move", args=[other.pk]), {"stage": "won"}, headers=HX_BOARD)
    assert response.status_code == 400
    assert Opportunity.objects.get(pk=other.pk).outcome == "open"


def test_board_won_and_lost_zones(personas, client_for):
    won = make_opportunity(personas.rep, amount="300", stage_code="negotiation")
    lost = make_opportunity(personas.rep, amount="200", stage_code="demo")
    competitor = make_competitor("SAP")
    client = client_for(personas.rep)
    response = client.post(reverse("opportunities:close", args=[won.pk]), {"outcome": "won"}, headers=HX_BOARD)
    assert response.status_code == 200
    assert f'data-testid="board-card-{won.pk}"' not in response.content.decode()
    won.refresh_from_db()
    assert (won.outcome, won.stage.code, won.probability) == ("won", "won", 100)

    # lost without a reason: refused, the card stays
    response = client.post(reverse("opportunities:close", args=[lost.pk]), {"outcome": "lost"}, headers=HX_BOARD)
    assert response.status_code == 400
    assert f'data-testid="board-card-{lost.pk}"' in response.content.decode()
    assert Opportunity.objects.get(pk=lost.pk).outcome == "open"

    reason = LostReason.objects.get(code="competitor")
    response = client.post(
        reverse("opportunities:close", args=[lost.pk]),
        {"outcome": "lost", "lost_reason": reason.pk, "lost_to": competitor.pk, "note": "价格战"},
        headers=HX_BOARD,
    )
    assert response.status_code == 200
    lost.refresh_from_db()
    assert (lost.outcome, lost.stage.code, lost.lost_reason, lost.lost_to) == ("lost", "lost", reason, competitor)
    assert lost.outcome_note == "价格战"


def test_board_stalled_marker_and_more_link(personas, client_for):
    opp = make_opportunity(personas.rep, stage_code="prospect")
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=timezone.now() - timedelta(days=20))
    html = client_for(personas.rep).get(reverse("opportunities:board")).content.decode()
    assert f'data-testid="stalled-marker-{opp.pk}"' in html
    assert 'data-testid="column-stalled-prospect"' in html


def test_board_pipeline_selector_only_with_several_pipelines(personas, client_for):
    from salesflow.sales.tests.factories import make_pipeline

    client = client_for(personas.rep)
    assert 'data-testid="pipeline-select"' not in client.get(reverse("opportunities:board")).content.decode()
    other = make_pipeline()
    html = client.get(reverse("opportunities:board"), {"pipeline": other.pk}).content.decode()
    assert 'data-testid="pipeline-select"' in html
    assert 'data-testid="board-column-offer"' in html
    assert 'data-testid="board-column-prospect"' not in html


# ---------------------------------------------------------------- query counts


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("persona", ["rep", "manager", "admin"])
def test_board_and_list_query_counts_do_not_grow(personas, client_for, django_assert_max_num_queries, persona):
    user = getattr(personas, persona)
    client = client_for(user)
    codes = ["prospect", "qualification", "demo"]
    for i in range(3):
        make_opportunity(personas.rep, stage_code=codes[i])
    urls = [reverse("opportunities:board"), reverse("opportunities:list")]
    baseline = {url: _count_queries(client, url) for url in urls}
    for i in range(20):
        make_opportunity(personas.rep if i % 2 else personas.teammate, stage_code=codes[i % 3])
    for url in urls:
        with django_assert_max_num_queries(baseline[url]):
            assert client.get(url).status_code == 200


def test_detail_query_count_does_not_grow(personas, client_for, django_assert_max_num_queries):
    opp = make_opportunity(personas.rep)
    client = client_for(personas.rep)
    url = reverse("opportunities:detail", args=[opp.pk])
    baseline = _count_queries(client, url)
    account = opp.account
    contacts = [make_contact(account) for _ in range(5)]
    from salesflow.sales.services import opportunity_move_stage, opportunity_update

    opportunity_update(
        actor=personas.rep,
        opportunity=opp,
        contacts=[(c, "influencer") for c in contacts],
        competitors=[make_competitor() for _ in range(4)],
    )
    for code in ["qualification", "needs", "demo", "proposal", "needs", "negotiation"]:
        opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage(code))
    with django_assert_max_num_queries(baseline):
        response = client.get(url)
    html = response.content.decode()
    assert html.count('data-testid="stage-change-') == 7
    assert html.count('data-testid="contact-role-') == 5


# ------------------------------------------------------------------ pages & forms


def test_detail_page_content(personas, client_for):
    account = make_account(personas.rep, "星辰科技")
    kp = make_contact(account, "王总", title="CTO")
    opp = make_opportunity(personas.rep, account=account, name="数据平台", amount="123456.78", next_step="安排演示")
    OpportunityContact.objects.create(opportunity=opp, contact=kp, role="decision_maker")
    html = client_for(personas.rep).get(reverse("opportunities:detail", args=[opp.pk])).content.decode()
    assert re.search(r"¥123,?456\.78", html)
    assert 'data-testid="step-prospect"' in html and 'data-testid="move-to-demo"' in html
    assert 'data-testid="mark-won"' in html and 'data-testid="mark-lost"' in html
    assert f"?opportunity={opp.pk}" in html  # the activity panel embed
    assert "Decision maker (KP)" in html
    assert "安排演示" in html
    # read-only persona gets no action buttons
    html = client_for(personas.support).get(reverse("opportunities:detail", args=[opp.pk])).content.decode()
    assert 'data-testid="mark-won"' not in html and 'data-testid="move-to-demo"' not in html


def test_detail_page_in_chinese(personas, client_for):
    opp = make_opportunity(personas.rep)
    html = (
        client_for(personas.rep, language="zh-hans")
        .get(reverse("opportunities:detail", args=[opp.pk]))
        .content.decode()
    )
    assert "阶段历史" in html
    assert "潜在客户与初次接触" in html
    html = client_for(personas.rep, language="zh-hans").get(reverse("opportunities:board")).content.decode()
    assert "赢单" in html and "输单" in html


def test_create_form_preselects_account_and_maps_contacts(personas, client_for):
    account = make_account(personas.rep, "目标客户")
    kp = make_contact(account, "李总")
    make_contact(account, "张工")
    other_account = make_account(personas.teammate, "别人的客户")
    client = client_for(personas.rep)
    html = client.get(reverse("opportunities:create"), {"account": account.pk}).content.decode()
    assert f'<option value="{account.pk}" selected>' in html
    assert "李总" in html and "张工" in html
    assert "别人的客户" not in html
    competitor = Competitor.objects.create(name="Oracle")
    response = client.post(
        reverse("opportunities:create"),
        {
            "account": account.pk,
            "name": "新商机",
            "stage": stage("qualification").pk,
            "amount": "88000",
            "currency": "CNY",
            "owner": personas.rep.pk,
            f"contact_role_{kp.pk}": "decision_maker",
            "competitors": [competitor.pk],
        },
    )
    assert response.status_code == 302
    opp = Opportunity.objects.get(name="新商机")
    assert response["Location"] == reverse("opportunities:detail", args=[opp.pk])
    assert (opp.account, opp.stage.code, opp.probability, opp.amount) == (
        account,
        "qualification",
        20,
        Decimal("88000.00"),
    )
    assert list(opp.contact_roles.values_list("contact__name", "role")) == [("李总", "decision_maker")]
    assert list(opp.competitors.all()) == [competitor]
    # an account the user cannot see: 404 on preselect, form error on post
    assert client.get(reverse("opportunities:create"), {"account": other_account.pk}).status_code == 404
    response = client.post(
        reverse("opportunities:create"),
        {
            "account": other_account.pk,
            "name": "偷偷建",
            "stage": stage("prospect").pk,
            "amount": "1",
            "currency": "CNY",
            "owner": personas.rep.pk,
        },
    )
    assert response.status_code == 400
    assert not Opportunity.objects.filter(name="偷偷建").exists()


def test_create_form_validation_errors(personas, client_for):
    account = make_account(personas.rep)
    client = client_for(personas.rep)
    response = client.post(
        reverse("opportunities:create"),
        {
            "account": account.pk,
            "name": "",
            "stage": stage("prospect").pk,
            "amount": "-5",
            "currency": "CNY",
            "owner": personas.outsider.pk,
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"name", "amount", "owner"}
    assert not Opportunity.objects.exists()


def test_support_cannot_create(personas, client_for):
    assert client_for(personas.support).get(reverse("opportunities:create")).status_code == 403


def test_contact_roles_partial(personas, client_for):
    account = make_account(personas.rep)
    make_contact(account, "赵经理")
    client = client_for(personas.rep)
    html = client.get(reverse("opportunities:contact_roles"), {"account": account.pk}).content.decode()
    assert "赵经理" in html
    hidden = make_account(personas.outsider)
    make_contact(hidden, "不可见联系人")
    html = client.get(reverse("opportunities:contact_roles"), {"account": hidden.pk}).content.decode()
    assert "不可见联系人" not in html


def test_edit_keeps_contacts_and_changes_roles(personas, client_for):
    opp = make_opportunity(personas.rep, amount="100")
    c1 = make_contact(opp.account, "甲")
    c2 = make_contact(opp.account, "乙")
    OpportunityContact.objects.create(opportunity=opp, contact=c1, role="user")
    client = client_for(personas.rep)
    response = client.get(reverse("opportunities:edit", args=[opp.pk]))
    assert response.status_code == 200
    response = client.post(
        reverse("opportunities:edit", args=[opp.pk]),
        {
            "name": opp.name,
            "amount": "100",
            "currency": "CNY",
            "probability": "10",
            "forecast_category": "pipeline",
            "owner": personas.rep.pk,
            f"contact_role_{c1.pk}": "decision_maker",
            f"contact_role_{c2.pk}": "purchaser",
        },
    )
    assert response.status_code == 302
    assert sorted(opp.contact_roles.values_list("contact__name", "role")) == [
        ("乙", "purchaser"),
        ("甲", "decision_maker"),
    ]


def test_edit_invalid_probability_shows_error(personas, client_for):
    opp = make_opportunity(personas.rep)
    before = state(opp)
    response = client_for(personas.rep).post(
        reverse("opportunities:edit", args=[opp.pk]),
        {
            "name": "x",
            "amount": "1",
            "currency": "CNY",
            "probability": "150",
            "forecast_category": "pipeline",
            "owner": personas.rep.pk,
        },
    )
    assert response.status_code == 400
    assert "probability" in response.context["form"].errors
    assert state(opp) == before


def test_close_page_lost_requires_reason(personas, client_for):
    opp = make_opportunity(personas.rep)
    client = client_for(personas.rep)
    response = client.get(reverse("opportunities:close", args=[opp.pk]), {"outcome": "lost"})
    assert response.status_code == 200
    assert 'data-testid="close-form"' in response.content.decode()
    before = state(opp)
    response = client.post(reverse("opportunities:close", args=[opp.pk]), {"outcome": "lost"})
    assert response.status_code == 400
    assert "lost_reason" in response.context["form"].errors
    assert state(opp) == before
    response = client.post(
        reverse("opportunities:close", args=[opp.pk]),
        {"outcome": "paused", "resume_date": (timezone.localdate() + timedelta(days=5)).isoformat()},
    )
    assert response.status_code == 302
    assert Opportunity.objects.get(pk=opp.pk).outcome == "paused"


def test_list_search_filter_sort_and_htmx_partial(personas, client_for):
    make_opportunity(personas.rep, name="Alpha", amount="1")
    make_opportunity(personas.rep, name="Beta", amount="3", stage_code="demo")
    make_opportunity(personas.rep, name="Gamma", amount="2")
    client = client_for(personas.rep)
    html = client.get(reverse("opportunities:list"), {"sort": "-amount"}).content.decode()
    assert html.index("Beta") < html.index("Gamma") < html.index("Alpha")
    html = client.get(reverse("opportunities:list"), {"stage": stage("demo").pk}).content.decode()
    assert "Beta" in html and "Alpha" not in html
    response = client.get(
        reverse("opportunities:list"), {"q": "gam"}, headers={"HX-Request": "true", "HX-Target": "opportunity-results"}
    )
    html = response.content.decode()
    assert "<html" not in html and "Gamma" in html and "Alpha" not in html
    # junk filters are ignored, not an error
    assert (
        client.get(reverse("opportunities:list"), {"owner": "x", "close_from": "nope", "sort": "evil"}).status_code
        == 200
    )


def test_list_paginates(personas, client_for):
    for i in range(27):
        make_opportunity(personas.rep, name=f"Deal {i:02d}")
    client = client_for(personas.rep)
    html = client.get(reverse("opportunities:list"), {"sort": "name"}).content.decode()
    assert "Deal 24" in html and "Deal 25" not in html
    html = client.get(reverse("opportunities:list"), {"sort": "name", "page": 2}).content.decode()
    assert "Deal 25" in html and "Deal 26" in html and "Deal 24" not in html


def test_delete_confirm_page(personas, client_for):
    opp = make_opportunity(personas.rep, name="删掉我")
    client = client_for(personas.rep)
    response = client.get(reverse("opportunities:delete", args=[opp.pk]))
    assert response.status_code == 200 and "删掉我" in response.content.decode()
    assert Opportunity.objects.filter(pk=opp.pk).exists()
