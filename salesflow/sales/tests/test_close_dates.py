"""Actual close dates (issue 6, defects 1–3 and 7): ``closed_on`` / ``close_date`` kept by the
services, the close-date filter and sort, the win confirmation, the account becoming a
customer, deals past their expected close date and the BANT entry stage."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from salesflow.core.errors import ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.parties.choices import Lifecycle
from salesflow.parties.models import Account
from salesflow.sales.config_services import stage_update
from salesflow.sales.models import LostReason, Opportunity, OpportunityFieldChange
from salesflow.sales.selectors import opportunities_past_close, opportunity_list
from salesflow.sales.services import (
    bant_entry_stage,
    default_pipeline,
    opportunity_change_pipeline,
    opportunity_close,
    opportunity_reopen,
    opportunity_update,
)
from salesflow.sales.tests.factories import make_account, make_opportunity, make_pipeline, stage
from salesflow.users.models import ShareAccess
from salesflow.users.services import share_grant

pytestmark = pytest.mark.django_db


def today() -> date:
    return timezone.localdate()


def reason() -> LostReason:
    return LostReason.objects.filter(is_active=True).first()  # type: ignore[return-value]


# ------------------------------------------------------------------- services


def test_won_records_the_actual_close_date_not_the_expected_one(personas):
    """Defect 1: a deal won on a day with a later expected close date is filed under the win."""
    expected = today() + timedelta(days=120)
    opp = make_opportunity(personas.rep, expected_close_date=expected)
    assert (opp.closed_on, opp.close_date) == (None, expected)
    won_on = today() - timedelta(days=3)
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won", closed_on=won_on)
    opp.refresh_from_db()
    assert (opp.outcome, opp.closed_on, opp.close_date, opp.expected_close_date) == ("won", won_on, won_on, expected)
    event = AuditEvent.objects.get(verb="sales.opportunity.won")
    assert event.data["closed_on"] == won_on.isoformat()
    row = OpportunityFieldChange.objects.get(opportunity=opp, field="closed_on")
    assert (row.old_date, row.new_date, row.new_value) == (None, won_on, won_on.isoformat())


def test_close_date_defaults_to_today_for_won_and_lost_only(personas):
    won = make_opportunity(personas.rep)
    lost = make_opportunity(personas.rep)
    paused = make_opportunity(personas.rep, expected_close_date=today() + timedelta(days=9))
    opportunity_close(actor=personas.rep, opportunity=won, outcome="won")
    opportunity_close(actor=personas.rep, opportunity=lost, outcome="lost", lost_reason=reason())
    opportunity_close(actor=personas.rep, opportunity=paused, outcome="paused", resume_date=today() + timedelta(days=5))
    for opp in (won, lost, paused):
        opp.refresh_from_db()
    assert (won.closed_on, won.close_date) == (today(), today())
    assert (lost.closed_on, lost.close_date) == (today(), today())
    assert (paused.closed_on, paused.close_date) == (None, today() + timedelta(days=9))


@pytest.mark.parametrize(
    ("closed_on", "outcome"),
    [
        (date.today() + timedelta(days=2), "won"),
        (date(1999, 12, 31), "won"),
        (date(1999, 12, 31), "lost"),
        (date.today() - timedelta(days=1), "upgraded"),
    ],
)
def test_close_date_in_the_future_too_old_or_for_another_outcome_is_refused(personas, closed_on, outcome):
    opp = make_opportunity(personas.rep)
    with pytest.raises(ValidationFailed) as exc:
        opportunity_close(
            actor=personas.rep, opportunity=opp, outcome=outcome, closed_on=closed_on, lost_reason=reason()
        )
    assert list(exc.value.field_errors) == ["closed_on"]
    opp.refresh_from_db()
    assert (opp.outcome, opp.closed_on, opp.closed_at) == ("open", None, None)
    assert not AuditEvent.objects.filter(verb__startswith="sales.opportunity.", verb__endswith=outcome).exists()


def test_won_with_a_final_amount_keeps_it_in_the_field_history(personas):
    opp = make_opportunity(personas.rep, amount="10000")
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won", amount="12345.60")
    opp.refresh_from_db()
    assert opp.amount == Decimal("12345.60")
    rows = OpportunityFieldChange.objects.filter(opportunity=opp, field="amount").order_by("id")
    assert [(r.old_amount, r.new_amount) for r in rows][-1] == (Decimal("10000.00"), Decimal("12345.60"))
    event = AuditEvent.objects.get(verb="sales.opportunity.won")
    assert (event.data["amount"], event.data["previous_amount"]) == ("12345.60", "10000.00")


@pytest.mark.parametrize("amount", ["-5", "NaN", "1e30", "12.345", "abc"])
def test_won_with_a_bad_amount_changes_nothing(personas, amount):
    opp = make_opportunity(personas.rep, amount="10000")
    with pytest.raises(ValidationFailed) as exc:
        opportunity_close(actor=personas.rep, opportunity=opp, outcome="won", amount=amount)
    assert list(exc.value.field_errors) == ["amount"]
    opp.refresh_from_db()
    assert (opp.outcome, opp.amount) == ("open", Decimal("10000.00"))


def test_a_final_amount_is_only_for_won(personas):
    opp = make_opportunity(personas.rep)
    with pytest.raises(ValidationFailed) as exc:
        opportunity_close(actor=personas.rep, opportunity=opp, outcome="lost", lost_reason=reason(), amount="5")
    assert list(exc.value.field_errors) == ["amount"]


def test_reopen_clears_the_close_date_and_update_keeps_close_date_current(personas):
    expected = today() + timedelta(days=30)
    opp = make_opportunity(personas.rep, expected_close_date=expected)
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won", closed_on=today() - timedelta(days=1))
    # the expected close date of a won deal may change; the close date stays the actual one
    opportunity_update(actor=personas.rep, opportunity=opp, expected_close_date=expected + timedelta(days=1))
    opp.refresh_from_db()
    assert opp.close_date == today() - timedelta(days=1)
    # correcting the actual close date
    opportunity_update(actor=personas.rep, opportunity=opp, closed_on=today() - timedelta(days=2))
    opp.refresh_from_db()
    assert (opp.closed_on, opp.close_date) == (today() - timedelta(days=2), today() - timedelta(days=2))
    with pytest.raises(ValidationFailed) as exc:
        opportunity_update(actor=personas.rep, opportunity=opp, closed_on=today() + timedelta(days=1))
    assert list(exc.value.field_errors) == ["closed_on"]
    opportunity_reopen(actor=personas.rep, opportunity=opp)
    opp.refresh_from_db()
    assert (opp.outcome, opp.closed_on, opp.close_date) == ("open", None, expected + timedelta(days=1))
    opportunity_update(actor=personas.rep, opportunity=opp, expected_close_date=None)
    opp.refresh_from_db()
    assert opp.close_date is None
    with pytest.raises(ValidationFailed) as exc:
        opportunity_update(actor=personas.rep, opportunity=opp, closed_on=today())
    assert list(exc.value.field_errors) == ["closed_on"]


def test_change_pipeline_keeps_the_close_date(personas):
    other = make_pipeline()
    opp = make_opportunity(personas.rep)
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won", closed_on=today() - timedelta(days=4))
    opportunity_change_pipeline(actor=personas.rep, opportunity=opp, pipeline=other, stage=other.stages.get(kind="won"))
    opp.refresh_from_db()
    assert (opp.closed_on, opp.close_date) == (today() - timedelta(days=4), today() - timedelta(days=4))


# --------------------------------------------------------------- account lifecycle


def test_first_win_makes_the_account_a_customer_audited_once(personas):
    account = make_account(personas.rep)
    first = make_opportunity(personas.rep, account=account)
    second = make_opportunity(personas.rep, account=account)
    assert account.lifecycle == Lifecycle.PROSPECT
    opportunity_close(actor=personas.rep, opportunity=first, outcome="won")
    account.refresh_from_db()
    assert account.lifecycle == Lifecycle.CUSTOMER
    event = AuditEvent.objects.get(verb="parties.account.lifecycle_changed")
    assert event.data["changes"] == {"lifecycle": ["prospect", "customer"]}
    assert (event.data["reason"], event.data["opportunity"]) == ("won_deal", first.pk)
    opportunity_close(actor=personas.rep, opportunity=second, outcome="won")
    assert AuditEvent.objects.filter(verb="parties.account.lifecycle_changed").count() == 1
    # reopening does not downgrade
    opportunity_reopen(actor=personas.rep, opportunity=first)
    opportunity_reopen(actor=personas.rep, opportunity=second)
    account.refresh_from_db()
    assert account.lifecycle == Lifecycle.CUSTOMER


def test_the_lifecycle_service_checks_the_actor_and_the_deal_itself(personas):
    """``account_record_win`` is not a back door to edit accounts: it needs write access to a
    WON deal OF THAT account, and refuses anything else without writing."""
    from django.http import Http404

    from salesflow.core.errors import Conflict, Forbidden
    from salesflow.parties.services import account_record_win

    account = make_account(personas.rep)
    open_deal = make_opportunity(personas.rep, account=account)
    other = make_opportunity(personas.rep, account=make_account(personas.rep))
    opportunity_close(actor=personas.rep, opportunity=other, outcome="won")
    Account.objects.filter(pk=account.pk).update(lifecycle=Lifecycle.PROSPECT)
    with pytest.raises(Conflict):  # not won
        account_record_win(actor=personas.rep, account=account, opportunity_id=open_deal.pk)
    with pytest.raises(Conflict):  # another account's deal
        account_record_win(actor=personas.rep, account=account, opportunity_id=other.pk)
    with pytest.raises(Http404):  # a deal the actor cannot see
        account_record_win(actor=personas.outsider, account=account, opportunity_id=other.pk)
    with pytest.raises(Forbidden):  # seen, not writable
        account_record_win(actor=personas.support, account=account, opportunity_id=other.pk)
    account.refresh_from_db()
    assert account.lifecycle == Lifecycle.PROSPECT
    assert AuditEvent.objects.filter(verb="parties.account.lifecycle_changed").count() == 1  # other's account


def test_lost_does_not_change_the_lifecycle_and_partners_stay_partners(personas):
    account = make_account(personas.rep)
    opportunity_close(
        actor=personas.rep,
        opportunity=make_opportunity(personas.rep, account=account),
        outcome="lost",
        lost_reason=reason(),
    )
    account.refresh_from_db()
    assert account.lifecycle == Lifecycle.PROSPECT
    partner = make_account(personas.rep)
    Account.objects.filter(pk=partner.pk).update(lifecycle=Lifecycle.PARTNER)
    opportunity_close(actor=personas.rep, opportunity=make_opportunity(personas.rep, account=partner), outcome="won")
    partner.refresh_from_db()
    assert partner.lifecycle == Lifecycle.PARTNER
    assert not AuditEvent.objects.filter(verb="parties.account.lifecycle_changed").exists()


def test_a_deal_shared_read_write_can_be_won_and_its_account_becomes_a_customer(personas):
    """The winner may not edit the account: the win itself authorises the lifecycle change."""
    account = make_account(personas.rep)
    opp = make_opportunity(personas.rep, account=account)
    share_grant(actor=personas.rep, target=opp, grantee_user=personas.other_manager, access=ShareAccess.WRITE)
    from salesflow.parties.permissions import can_write_account

    assert not can_write_account(personas.other_manager, account)
    opportunity_close(actor=personas.other_manager, opportunity=opp, outcome="won")
    account.refresh_from_db()
    assert account.lifecycle == Lifecycle.CUSTOMER
    assert AuditEvent.objects.get(verb="parties.account.lifecycle_changed").actor == personas.other_manager


# --------------------------------------------------------------------- selectors


def test_won_this_month_filter_uses_the_actual_close_date(personas):
    """``outcome=won`` + this month's dates: deals won this month, whatever their expected date."""
    start = today().replace(day=1)
    won_now = make_opportunity(personas.rep, name="本月赢单", expected_close_date=today() + timedelta(days=200))
    opportunity_close(actor=personas.rep, opportunity=won_now, outcome="won", closed_on=start)
    won_before = make_opportunity(personas.rep, name="上月赢单", expected_close_date=start)
    opportunity_close(actor=personas.rep, opportunity=won_before, outcome="won", closed_on=start - timedelta(days=1))
    make_opportunity(personas.rep, name="进行中", expected_close_date=start)
    end = start + timedelta(days=40)
    names = [o.name for o in opportunity_list(personas.rep, outcome="won", close_from=start, close_to=end)]
    assert names == ["本月赢单"]
    every = {o.name for o in opportunity_list(personas.rep, close_from=start, close_to=end)}
    assert every == {"本月赢单", "进行中"}
    by_close = [o.name for o in opportunity_list(personas.rep, sort="close")]
    assert by_close == ["上月赢单", "本月赢单", "进行中"]  # same day: by id


def test_past_close_deals_are_flagged_and_filtered(personas):
    late = make_opportunity(personas.rep, name="逾期", expected_close_date=today() - timedelta(days=1))
    make_opportunity(personas.rep, name="今天", expected_close_date=today())
    make_opportunity(personas.rep, name="无日期")
    closed = make_opportunity(personas.rep, name="已赢", expected_close_date=today() - timedelta(days=10))
    opportunity_close(actor=personas.rep, opportunity=closed, outcome="won")
    hidden = make_opportunity(personas.outsider, expected_close_date=today() - timedelta(days=3))
    assert [o.name for o in opportunity_list(personas.rep, overdue=True)] == ["逾期"]
    assert list(opportunities_past_close(personas.rep)) == [late]
    assert late.is_past_close and hidden.is_past_close
    closed.refresh_from_db()
    assert not closed.is_past_close


# ------------------------------------------------------------------ BANT stage


def test_bant_entry_stage_is_the_stage_after_the_bant_stage_and_is_configurable(personas):
    b2b = default_pipeline()
    assert stage("qualification").is_bant_gate
    assert bant_entry_stage(b2b) == stage("needs")
    stage_update(actor=personas.admin, stage=stage("needs"), is_bant_gate=True)
    assert not stage("qualification").is_bant_gate  # the mark moved
    assert bant_entry_stage(b2b) == stage("demo")
    with pytest.raises(ValidationFailed) as exc:
        stage_update(actor=personas.admin, stage=stage("won"), is_bant_gate=True)
    assert list(exc.value.field_errors) == ["is_bant_gate"]
    stage_update(actor=personas.admin, stage=stage("needs"), is_bant_gate=False)
    assert bant_entry_stage(b2b) is None
    assert Opportunity.objects.count() == 0


# ------------------------------------------------------------------ views and API

HX_BOARD = {"HX-Request": "true", "HX-Target": "board"}


def test_won_on_the_deal_page_is_a_confirmation_not_one_click(personas, client_for):
    """Defect 2: "Won" opens a form with the final amount and the close date."""
    opp = make_opportunity(personas.rep, amount="8800")
    client = client_for(personas.rep)
    detail = client.get(f"/opportunities/{opp.pk}/").content.decode()
    button = detail.split('data-testid="mark-won"')[0].rsplit("<", 1)[1]
    assert button.startswith("a ") and "?outcome=won" in button  # a link to the confirmation
    page = client.get(f"/opportunities/{opp.pk}/close/?outcome=won").content.decode()
    assert 'name="amount"' in page and 'value="8800.00"' in page
    assert f'name="closed_on" value="{today().isoformat()}"' in page.replace(' class="form-control"', "")
    assert f'max="{today().isoformat()}"' in page
    assert 'name="lost_reason"' not in page
    won_on = today() - timedelta(days=2)
    response = client.post(
        f"/opportunities/{opp.pk}/close/",
        {"outcome": "won", "fixed_outcome": "won", "amount": "9000", "closed_on": won_on.isoformat()},
    )
    assert response.status_code == 302
    opp.refresh_from_db()
    assert (opp.outcome, opp.amount, opp.closed_on) == ("won", Decimal("9000.00"), won_on)


def test_close_page_refuses_a_future_date_and_changes_nothing(personas, client_for):
    opp = make_opportunity(personas.rep)
    response = client_for(personas.rep).post(
        f"/opportunities/{opp.pk}/close/",
        {"outcome": "won", "fixed_outcome": "won", "closed_on": (today() + timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 400
    assert "The close date cannot be in the future." in response.content.decode()
    opp.refresh_from_db()
    assert (opp.outcome, opp.closed_on) == ("open", None)


def test_board_drop_on_won_sends_the_confirmed_amount_and_date(personas, client_for):
    opp = make_opportunity(personas.rep, amount="100")
    client = client_for(personas.rep)
    board = client.get("/opportunities/board/").content.decode()
    assert 'data-testid="won-modal"' in board and 'data-amount="100.00"' in board
    won_on = today() - timedelta(days=1)
    response = client.post(
        f"/opportunities/{opp.pk}/close/",
        {"outcome": "won", "amount": "150", "closed_on": won_on.isoformat()},
        headers=HX_BOARD,
    )
    assert response.status_code == 200
    opp.refresh_from_db()
    assert (opp.outcome, opp.amount, opp.closed_on) == ("won", Decimal("150.00"), won_on)


def test_list_filters_won_this_month_and_overdue_with_badges(personas, client_for):
    start = today().replace(day=1)
    won = make_opportunity(personas.rep, name="十二月赢单", expected_close_date=today() + timedelta(days=120))
    opportunity_close(actor=personas.rep, opportunity=won, outcome="won", closed_on=start)
    late = make_opportunity(personas.rep, name="逾期商机", expected_close_date=today() - timedelta(days=2))
    client = client_for(personas.rep)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    page = client.get(
        "/opportunities/", {"outcome": "won", "close_from": start.isoformat(), "close_to": end.isoformat()}
    ).content.decode()
    assert "十二月赢单" in page and "逾期商机" not in page
    assert f'data-testid="close-date-{won.pk}"' in page
    page = client.get("/opportunities/", {"overdue": "1"}).content.decode()
    assert "逾期商机" in page and "十二月赢单" not in page
    assert f'data-testid="past-close-{late.pk}"' in page
    detail = client.get(f"/opportunities/{late.pk}/").content.decode()
    assert 'data-testid="past-close-badge"' in detail
    board = client.get("/opportunities/board/").content.decode()
    assert f'data-testid="past-close-{late.pk}"' in board


def test_account_page_shows_customer_after_the_win(personas, client_for):
    account = make_account(personas.rep)
    opp = make_opportunity(personas.rep, account=account)
    client = client_for(personas.rep)
    assert ">Prospect<" in client.get(f"/accounts/{account.pk}/").content.decode()
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won")
    page = client.get(f"/accounts/{account.pk}/").content.decode()
    assert 'data-testid="account-lifecycle">Customer<' in page


def test_api_close_with_date_and_amount_and_won_this_month(personas, api_for):
    api = api_for(personas.rep)
    start = today().replace(day=1)
    opp = make_opportunity(personas.rep, amount="100", expected_close_date=today() + timedelta(days=300))
    response = api.post(
        f"/opportunities/{opp.pk}/close", {"outcome": "won", "closed_on": start.isoformat(), "amount": "120.50"}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["closed_on"], body["close_date"], body["amount"]) == (start.isoformat(), start.isoformat(), "120.50")
    listed = api.get("/opportunities", outcome="won", close_from=start.isoformat(), close_to=today().isoformat()).json()
    assert [item["id"] for item in listed["items"]] == [opp.pk]
    late = make_opportunity(personas.rep, expected_close_date=today() - timedelta(days=1))
    overdue = api.get("/opportunities", overdue="true").json()
    assert [(item["id"], item["past_close"]) for item in overdue["items"]] == [(late.pk, True)]
    bad = api.patch(f"/opportunities/{opp.pk}", {"closed_on": (today() + timedelta(days=1)).isoformat()})
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["closed_on"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"outcome": "won", "closed_on": "2999-01-01"}, "closed_on"),
        ({"outcome": "won", "amount": "NaN"}, "amount"),
        ({"outcome": "won", "amount": "-1"}, "amount"),
        ({"outcome": "paused", "resume_date": "2999-01-01", "closed_on": "2020-01-01"}, "closed_on"),
    ],
)
def test_api_close_refuses_bad_dates_and_amounts(personas, api_for, payload, field):
    opp = make_opportunity(personas.rep, amount="100")
    response = api_for(personas.rep).post(f"/opportunities/{opp.pk}/close", payload)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    opp.refresh_from_db()
    assert (opp.outcome, opp.amount, opp.closed_on) == ("open", Decimal("100.00"), None)


def test_edit_form_corrects_the_close_date_of_a_won_deal_only(personas, client_for):
    opp = make_opportunity(personas.rep)
    client = client_for(personas.rep)
    assert 'name="closed_on"' not in client.get(f"/opportunities/{opp.pk}/edit/").content.decode()
    opportunity_close(actor=personas.rep, opportunity=opp, outcome="won")
    assert 'name="closed_on"' in client.get(f"/opportunities/{opp.pk}/edit/").content.decode()
    fields = {"name": opp.name, "amount": "10000", "currency": "CNY", "probability": "100"}
    fields |= {"forecast_category": "closed", "owner": personas.rep.pk}
    earlier = today() - timedelta(days=6)
    response = client.post(f"/opportunities/{opp.pk}/edit/", {**fields, "closed_on": earlier.isoformat()})
    assert response.status_code == 302
    opp.refresh_from_db()
    assert (opp.closed_on, opp.close_date) == (earlier, earlier)
    future = (today() + timedelta(days=1)).isoformat()
    response = client.post(f"/opportunities/{opp.pk}/edit/", {**fields, "closed_on": future})
    assert response.status_code == 400
    opp.refresh_from_db()
    assert opp.closed_on == earlier
