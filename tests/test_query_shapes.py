"""The query shapes chosen for speed at scale keep the answers exact.

- Board cards: dated deals by close date (one index-walking query per column), undated
  ones last and only when the dated ones do not fill the column; cards and totals match
  a plain recomputation for every persona.
- Accounts reached through the work (a deal, converted lead or activity in the reader's
  scope) are visible, in one statement, whether probed with ``EXISTS`` (wide scopes) or
  collected with ``IN``; contacts follow their accounts either way.
- The deal list loads account, owner, pipeline and stage by prefetch: same rows, same
  order, constant query count.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesflow.activities.services import activity_create
from salesflow.parties.models import Account
from salesflow.parties.permissions import accounts_visible_to, contacts_visible_to
from salesflow.sales.permissions import opportunities_visible_to
from salesflow.sales.selectors import BOARD_CARD_ORDER, board, opportunity_list
from salesflow.sales.services import default_pipeline
from salesflow.sales.tests.factories import make_account, make_contact, make_opportunity
from salesflow.users import policy

# issue 7: these tests log done calls without an outcome (the rules: test_follow_up_rules.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_completion_rules")]


def _prospect(b):
    return next(c for c in b.columns if c.stage.code == "prospect")


def test_board_cards_dated_first_then_undated_by_id(personas):
    rep = personas.rep
    undated = [make_opportunity(rep, amount=1, expected_close_date=None) for _ in range(2)]
    dated = [make_opportunity(rep, amount=2, expected_close_date=date(2030, 3, d)) for d in (9, 2, 5)]
    col = _prospect(board(rep, pipeline=default_pipeline(), card_limit=4))
    assert col.count == 5
    assert [c.opportunity.pk for c in col.cards] == [dated[1].pk, dated[2].pk, dated[0].pk, undated[0].pk]
    assert col.more == 1
    # a full column of dated deals never reaches for the undated ones
    col = _prospect(board(rep, pipeline=default_pipeline(), card_limit=3))
    assert [c.opportunity.pk for c in col.cards] == [dated[1].pk, dated[2].pk, dated[0].pk]


@pytest.mark.parametrize("persona", ["rep", "manager", "support", "assistant", "admin"])
def test_board_cards_and_totals_match_a_recomputation(personas, persona):
    for owner, day in [(personas.rep, 4), (personas.teammate, 1), (personas.outsider, 2), (personas.rep, 3)]:
        make_opportunity(owner, amount=day * 100, expected_close_date=date(2030, 1, day))
    make_opportunity(personas.teammate, amount=50, expected_close_date=None)
    user = getattr(personas, persona)
    col = _prospect(board(user, pipeline=default_pipeline(), card_limit=3))
    expected = opportunities_visible_to(user).filter(stage=col.stage, outcome="open").order_by(*BOARD_CARD_ORDER)
    assert col.count == expected.count()
    assert col.amount == sum((o.amount for o in expected), Decimal("0.00"))
    assert [c.opportunity.pk for c in col.cards] == [o.pk for o in expected[:3]]


def test_board_query_count_does_not_depend_on_the_number_of_deals(personas):
    manager = personas.manager
    make_opportunity(personas.rep, amount=1)
    with CaptureQueriesContext(connection) as few:
        board(manager, pipeline=default_pipeline())
    for i in range(8):
        make_opportunity(personas.teammate, amount=i + 1, expected_close_date=date(2030, 1, i + 1))
        make_opportunity(personas.rep, amount=i + 1, expected_close_date=None)
    manager = type(manager).objects.get(pk=manager.pk)
    with CaptureQueriesContext(connection) as many:
        board(manager, pipeline=default_pipeline(), card_limit=4)
    # one more query at most: the undated cards, needed when dated ones do not fill a column
    assert len(many) <= len(few) + 1


@pytest.mark.parametrize(
    ("wide", "probe"), [(False, False), (True, False), (False, True)], ids=["union", "exists", "probe"]
)
def test_account_reached_only_through_the_work_is_visible_in_one_statement(personas, monkeypatch, wide, probe):
    # wide scopes (a department manager's) and probes of given ids test each account with
    # EXISTS; a narrow scope's lists start from a UNION of its accounts
    monkeypatch.setattr(policy, "WIDE_SCOPE_OWNERS", 0 if wide else 1000)
    outsider_account = make_account(personas.outsider)
    # the rep's deal and activity stay on accounts that were handed to the outsider later
    through_deal = make_account(personas.rep)
    make_opportunity(personas.rep, account=through_deal)
    through_activity = make_account(personas.rep)
    activity_create(actor=personas.rep, kind="call", subject="拜访", account=through_activity)
    Account.objects.filter(pk__in=[through_deal.pk, through_activity.pk]).update(owner=personas.outsider)
    mine = make_account(personas.rep)
    for account in (outsider_account, through_deal, through_activity, mine):
        make_contact(account)

    for user, visible in [
        (personas.rep, {mine, through_deal, through_activity}),
        (personas.manager, {mine, through_deal, through_activity}),
        (personas.teammate, set()),
    ]:
        fresh = type(user).objects.get(pk=user.pk)  # no cached scope
        ids = {a.pk for a in (mine, through_deal, through_activity, outsider_account)}
        qs = accounts_visible_to(fresh, probe=probe).filter(pk__in=ids)
        with CaptureQueriesContext(connection) as queries:
            got = set(qs)
        assert got == visible, user.username
        sql = queries.captured_queries[-1]["sql"]
        # probes: one scalar subquery per work link (never hashed by PostgreSQL)
        assert ("LIMIT 1) IS NOT NULL" in sql) is (wide or probe)
        assert ("UNION" in sql) is not (wide or probe)
        assert len([q for q in queries.captured_queries if "parties_account" in q["sql"]]) == 1
        contacts = contacts_visible_to(fresh, probe=probe).filter(account__in=ids)
        contact_ids = set(contacts.values_list("account_id", flat=True))
        assert contact_ids == {a.pk for a in visible}, user.username
    # access through the work is read-only: the outsider's account stays theirs
    assert accounts_visible_to(personas.outsider).filter(pk=outsider_account.pk).exists()


def test_deal_list_loads_its_relations_without_a_join(personas, django_assert_max_num_queries):
    for i in range(3):
        make_opportunity(personas.rep, amount=i + 1)
    make_opportunity(personas.teammate, amount=9)
    qs = opportunity_list(personas.manager, sort="-amount")
    sql = str(qs.query)
    assert "sales_stage" not in sql and "users_user" not in sql and "parties_account" not in sql
    with django_assert_max_num_queries(5):  # deals, then accounts, owners, pipelines, stages by id
        rows = [(o.amount, o.pipeline.code, o.stage.code, o.account.name, o.owner.username) for o in qs]
    assert [r[0] for r in rows] == [Decimal("9.00"), Decimal("3.00"), Decimal("2.00"), Decimal("1.00")]
    assert {r[1:3] for r in rows} == {(default_pipeline().code, "prospect")}
    assert {r[4] for r in rows} == {"rep", "teammate"}
    # the stage sort still orders by the configured pipeline and stage positions
    assert [o.pk for o in opportunity_list(personas.manager, sort="stage")] == sorted(o.pk for o in qs)


def test_shares_are_an_index_condition_beside_the_owner(personas):
    """``owner_id IN (…) OR id IN (shared ids)``: on PostgreSQL the shared ids are an array
    (``= ANY(ARRAY(…))``), which an index scan takes, where ``IN (subquery)`` inside an ``OR``
    is a hashed filter tested row by row; SQLite keeps ``IN``. Same rows either way."""
    mine = make_opportunity(personas.rep, amount=1)
    shared = make_opportunity(personas.outsider, amount=2)
    make_opportunity(personas.outsider, amount=3)
    from salesflow.users.services import share_grant

    share_grant(actor=personas.outsider, target=shared, grantee_user=personas.rep)
    rep = type(personas.rep).objects.get(pk=personas.rep.pk)
    qs = opportunities_visible_to(rep)
    sql = str(qs.query)
    if connection.vendor == "postgresql":
        assert "= ANY(ARRAY(SELECT" in sql
    else:
        assert "ANY(" not in sql
    assert set(qs) == {mine, shared}


@pytest.mark.parametrize("wide", [False, True], ids=["own-columns", "joined"])
def test_activities_through_their_account_deal_or_lead_are_the_same_rows_either_way(personas, monkeypatch, wide):
    """A narrow scope tests an activity's own link columns (``account_id IN (the reader's
    accounts)``…), a wide one the joined owners; the outsider's activities on the rep's
    account, deal and lead are visible to the rep and the manager either way, nothing else."""
    from salesflow.activities.permissions import activities_visible_to
    from salesflow.activities.tests.factories import make_activity
    from salesflow.leads.tests.factories import make_lead

    monkeypatch.setattr(policy, "WIDE_SCOPE_OWNERS", 0 if wide else 1000)
    outsider = personas.outsider
    account = make_account(personas.rep)
    deal = make_opportunity(personas.rep, amount=1)
    Account.objects.filter(pk=deal.account_id).update(owner=outsider)  # only the deal is the rep's
    lead = make_lead(owner=personas.rep)
    linked = {
        make_activity(outsider, account=account),
        make_activity(outsider, opportunity=deal),
        make_activity(outsider, lead=lead),
    }
    own = make_activity(personas.rep)
    make_activity(outsider, account=make_account(outsider))  # nobody's business but the outsider's
    for user, expected in [
        (personas.rep, linked | {own}),
        (personas.manager, linked | {own}),
        (personas.teammate, set()),
    ]:
        fresh = type(user).objects.get(pk=user.pk)
        qs = activities_visible_to(fresh)
        where = str(qs.query).split("WHERE", 1)[1]
        assert ('"parties_account"."owner_id"' in where) is wide
        assert set(qs) == expected, user.username
