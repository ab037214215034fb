"""Selectors: board columns and exact totals, stalled detection, list filters and sorting."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from salesflow.sales.models import LostReason, Opportunity
from salesflow.sales.selectors import board, opportunity_list
from salesflow.sales.services import default_pipeline, opportunity_close, opportunity_update
from salesflow.sales.tests.factories import make_account, make_opportunity, make_pipeline

pytestmark = pytest.mark.django_db


def columns(b):
    return {c.stage.code: c for c in b.columns}


def test_board_totals_are_exact(personas):
    rep = personas.rep
    make_opportunity(rep, amount="100000", stage_code="prospect")  # 10 %
    make_opportunity(rep, amount="50000", stage_code="prospect")  # 10 %
    make_opportunity(rep, amount="25000", stage_code="qualification")  # 20 %
    override = make_opportunity(rep, amount="33333.33", stage_code="demo")
    opportunity_update(actor=rep, opportunity=override, probability=33)
    make_opportunity(rep, amount="99999", stage_code="demo", currency="USD")  # counted, not summed
    won = make_opportunity(rep, amount="777", stage_code="demo")
    opportunity_close(actor=rep, opportunity=won, outcome="won")  # not on the board
    make_opportunity(personas.teammate, amount="5000000", stage_code="prospect")  # not visible to rep

    b = board(rep, pipeline=default_pipeline())
    cols = columns(b)
    assert list(cols) == ["prospect", "qualification", "needs", "demo", "proposal", "negotiation"]
    assert (cols["prospect"].count, cols["prospect"].amount, cols["prospect"].weighted) == (
        2,
        Decimal("150000.00"),
        Decimal("15000.00"),
    )
    assert (cols["qualification"].count, cols["qualification"].amount, cols["qualification"].weighted) == (
        1,
        Decimal("25000.00"),
        Decimal("5000.00"),
    )
    # 33333.33 × 33 % = 10999.9989 → 11000.00 (rounded once, half-up)
    assert (cols["demo"].count, cols["demo"].amount, cols["demo"].weighted) == (
        2,
        Decimal("33333.33"),
        Decimal("11000.00"),
    )
    assert cols["demo"].other_currency_count == 1
    assert (cols["needs"].count, cols["needs"].amount, cols["needs"].weighted) == (0, Decimal("0"), Decimal("0"))
    assert (b.count, b.amount, b.weighted) == (5, Decimal("208333.33"), Decimal("31000.00"))
    assert [len(c.cards) for c in b.columns] == [2, 1, 0, 2, 0, 0]
    assert b.won_stage is not None and b.won_stage.code == "won"
    assert b.lost_stage is not None and b.lost_stage.code == "lost"


def test_board_visibility_for_manager_and_support(personas):
    make_opportunity(personas.rep, amount="100", stage_code="prospect")
    make_opportunity(personas.teammate, amount="200", stage_code="prospect")
    make_opportunity(personas.outsider, amount="400", stage_code="prospect")
    for user, expected in [
        (personas.rep, Decimal("100.00")),
        (personas.teammate, Decimal("200.00")),
        (personas.manager, Decimal("300.00")),
        (personas.support, Decimal("300.00")),
        (personas.assistant, Decimal("100.00")),
        (personas.other_manager, Decimal("400.00")),
        (personas.admin, Decimal("700.00")),
    ]:
        col = columns(board(user, pipeline=default_pipeline()))["prospect"]
        assert col.amount == expected, user
        assert sum(c.opportunity.amount for c in col.cards) == expected, user
    support_cards = columns(board(personas.support, pipeline=default_pipeline()))["prospect"].cards
    assert {c.can_write for c in support_cards} == {False}


def test_board_filters_owner_and_search(personas):
    a = make_account(personas.rep, "华为技术")
    make_opportunity(personas.rep, account=a, name="云平台", amount="100")
    make_opportunity(personas.teammate, name="ERP", amount="200")
    b = board(personas.manager, pipeline=default_pipeline(), owner=personas.teammate.pk)
    assert columns(b)["prospect"].amount == Decimal("200.00")
    b = board(personas.manager, pipeline=default_pipeline(), q="华为")
    assert [c.opportunity.name for c in columns(b)["prospect"].cards] == ["云平台"]


def test_board_caps_cards_per_column(personas):
    for i in range(5):
        make_opportunity(personas.rep, amount=i + 1, expected_close_date=date(2030, 1, 5 - i))
    b = board(personas.rep, pipeline=default_pipeline(), card_limit=3)
    col = columns(b)["prospect"]
    assert col.count == 5
    assert col.amount == Decimal("15.00")
    assert [c.opportunity.amount for c in col.cards] == [Decimal("5.00"), Decimal("4.00"), Decimal("3.00")]
    assert col.more == 2


def test_stalled_cards(personas):
    fresh = make_opportunity(personas.rep, stage_code="prospect")  # rotting_days 14
    old = make_opportunity(personas.rep, stage_code="prospect")
    Opportunity.objects.filter(pk=old.pk).update(stage_entered_at=timezone.now() - timedelta(days=15))
    b = board(personas.rep, pipeline=default_pipeline())
    col = columns(b)["prospect"]
    stalled = {c.opportunity.pk: (c.stalled, c.days_in_stage) for c in col.cards}
    assert stalled == {fresh.pk: (False, 0), old.pk: (True, 15)}
    assert col.stalled_count == 1


def test_board_of_another_pipeline(personas):
    other = make_pipeline()
    make_opportunity(personas.rep, amount="10")
    from salesflow.sales.services import opportunity_create

    opportunity_create(
        actor=personas.rep,
        account=make_account(personas.rep),
        owner=personas.rep,
        name="零售",
        amount="60",
        stage=other.stages.get(code="offer"),
    )
    b = board(personas.rep, pipeline=other)
    assert [c.stage.code for c in b.columns] == ["new", "offer"]
    assert columns(b)["offer"].weighted == Decimal("36.00")
    assert len(b.pipelines) == 2


def test_list_filters_and_sorts(personas):
    a = make_account(personas.rep, "甲公司")
    o1 = make_opportunity(personas.rep, account=a, name="B 项目", amount="300", expected_close_date=date(2030, 3, 1))
    o2 = make_opportunity(personas.rep, name="A 项目", amount="100", stage_code="demo")
    o3 = make_opportunity(personas.rep, name="C 项目", amount="200", expected_close_date=date(2030, 1, 1))
    opportunity_close(
        actor=personas.rep, opportunity=o3, outcome="lost", lost_reason=LostReason.objects.get(code="price")
    )
    make_opportunity(personas.teammate, name="A 不可见")
    rep = personas.rep
    assert list(opportunity_list(rep, sort="name")) == [o2, o1, o3]
    assert list(opportunity_list(rep, sort="-amount")) == [o1, o3, o2]
    assert list(opportunity_list(rep, sort="close"))[:2] == [o3, o1]
    assert list(opportunity_list(rep, sort="bogus; drop table")) == [o3, o2, o1]  # default: newest first
    assert list(opportunity_list(rep, q="甲公司")) == [o1]
    assert list(opportunity_list(rep, stage="demo")) == [o2]
    assert list(opportunity_list(rep, stage=o2.stage_id)) == [o2]
    assert list(opportunity_list(rep, outcome="lost")) == [o3]
    assert list(opportunity_list(rep, close_from=date(2030, 2, 1))) == [o1]
    assert list(opportunity_list(rep, close_to=date(2030, 2, 1))) == [o3]
    assert list(opportunity_list(rep, account=a.pk)) == [o1]
    assert list(opportunity_list(rep, pipeline="b2b", sort="name")) == [o2, o1, o3]
    assert opportunity_list(rep, q="不可见").count() == 0
    assert opportunity_list(personas.manager, q="不可见").count() == 1
