"""Keyset paging of the web lists (``core.web.paginate``): the pager's Next and Previous links
carry the cursor of the page's last / first row, and following them visits every row once,
in the order of offset paging, for every sort (ties and NULLs included), both ways; a bad or
foreign cursor falls back to the page number; other pages, sorts and filters drop it."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesflow.activities.selectors import activity_list
from salesflow.activities.tests.factories import make_activity
from salesflow.core.web import PageNumber, paginate
from salesflow.leads.selectors import lead_list
from salesflow.leads.tests.factories import make_lead
from salesflow.parties.selectors import account_list, contact_list
from salesflow.sales.selectors import opportunity_list
from salesflow.sales.tests.factories import make_account, make_contact, make_opportunity

pytestmark = pytest.mark.django_db

LISTS: dict[str, tuple[Any, list[str]]] = {
    "leads": (lead_list, ["-created", "created", "name", "-name", "company", "-status"]),
    "accounts": (account_list, ["name", "-name", "created", "-created"]),
    "contacts": (contact_list, ["name", "-name", "created"]),
    "opportunities": (opportunity_list, ["-created", "name", "-amount", "close", "-close", "stage", "-stage"]),
    "activities": (activity_list, ["-created", "created", "due", "-due"]),
}


@pytest.fixture
def rows(personas):
    """Seven rows of each kind for the rep, with duplicate sort values and NULLs."""
    rep = personas.rep
    today = timezone.localdate()
    accounts = [make_account(rep, name=f"客户 {n % 3}") for n in range(7)]
    for n in range(7):
        make_lead(owner=rep, name=f"线索 {n % 2}", company_name=f"公司 {n % 3}", status="new" if n % 2 else "contacted")
        make_contact(accounts[n % 2], name=f"联系人 {n % 3}")
        make_opportunity(
            rep,
            account=accounts[n],
            name=f"商机 {n % 2}",
            amount=1000 * (n % 3),
            expected_close_date=None if n % 3 == 0 else today + timedelta(days=n % 2),
        )
        make_activity(
            rep,
            kind="task" if n % 3 else "call",
            due_at=None if n % 3 == 0 else timezone.now() + timedelta(days=n % 2),
            account=accounts[n],
        )
    return personas


@pytest.mark.parametrize("name", list(LISTS))
def test_following_cursors_both_ways_matches_offset_order(rows, name):
    selector, sorts = LISTS[name]
    for sort in sorts:
        qs = selector(rows.rep, sort=sort)
        expected = [r.pk for r in qs]
        assert len(expected) == 7
        pages, page = [], paginate(qs, PageNumber(1), 3)
        pages.append([r.pk for r in page])
        while page.has_next:
            assert page.next_cursor
            page = paginate(qs, PageNumber(page.next_page_number, after=page.next_cursor), 3)
            assert page.has_previous
            pages.append([r.pk for r in page])
        assert [pk for p in pages for pk in p] == expected, sort
        assert len(pages) == 3
        # and back from the last page, by the Previous links' cursors
        back = [[r.pk for r in page]]
        while page.previous_cursor:
            page = paginate(qs, PageNumber(page.previous_page_number, before=page.previous_cursor), 3)
            back.insert(0, [r.pk for r in page])
        assert page.number == 2 and page.has_previous  # page 1 is linked without a cursor
        assert back == pages[1:], sort


def test_a_deep_page_is_read_from_the_cursor_not_by_offset(rows):
    qs = lead_list(rows.rep, sort="-created")
    second = paginate(qs, PageNumber(2), 3)
    with CaptureQueriesContext(connection) as queries:
        third = paginate(qs, PageNumber(3, after=second.next_cursor), 3)
    assert [r.pk for r in third] == [r.pk for r in qs][6:]
    sql = queries.captured_queries[-1]["sql"]
    assert "OFFSET" not in sql.upper()
    assert "created_at" in sql.split("WHERE", 1)[1]  # the cursor's bound on the sort column


@pytest.mark.parametrize(
    "cursor", ["garbage", "eyJrIjpbIm5hbWUiXSwidiI6WzFdfQ", "x" * 5000], ids=["junk", "sort", "long"]
)
def test_a_bad_or_foreign_cursor_falls_back_to_the_page_number(rows, cursor):
    qs = lead_list(rows.rep, sort="-created")
    page = paginate(qs, PageNumber(2, after=cursor), 3)
    assert [r.pk for r in page] == [r.pk for r in qs][3:6]


def test_the_list_pager_links_carry_the_cursor(rows, client_for):
    for n in range(27):
        make_lead(owner=rows.rep, name=f"批量线索 {n:02d}", company_name="翻页公司")
    client = client_for(rows.rep)
    first = client.get("/leads/", {"q": "批量线索", "sort": "name"})
    html_text = first.content.decode()
    nexts = re.findall(r'href="(\?[^"]*after=[^"]*)"', html_text)
    assert nexts, "the Next link carries ?after="
    second = client.get("/leads/" + html.unescape(nexts[-1]))
    assert second.status_code == 200
    text = second.content.decode()
    assert "批量线索 25" in text and "批量线索 26" in text and "批量线索 24" not in text
    # Previous from page 2 goes to page 1 by number; sort links drop the cursor
    assert 'href="?q=' in text
    assert not re.search(r'data-testid="sort-[^"]*"[^>]*after=', text)
    prev = re.findall(r'href="(\?[^"]*page=1[^"]*)"', text)
    assert prev and all("after=" not in p and "before=" not in p for p in prev)
    # a tampered cursor still answers (the page by number)
    assert client.get("/leads/", {"q": "批量线索", "sort": "name", "page": 2, "after": "bm9wZQ"}).status_code == 200
