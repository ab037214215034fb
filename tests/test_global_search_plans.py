"""Global search on short and very common terms (issue 6, performance): every plan the
selector may pick returns the same first page — the one computed here from the lists'
visibility and the stored rows — for every persona, in a fixed order, with a query count
that does not depend on the data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction

from salesflow.core.visibility import model_for_kind, readable_rows
from salesflow.leads.services import lead_create
from salesflow.parties.services import account_create, contact_create
from salesflow.pools.models import PoolLead
from salesflow.pools.tests.factories import make_pool
from salesflow.sales.services import opportunity_create, opportunity_update
from salesflow.search import selectors
from salesflow.search.documents import fold
from salesflow.search.models import SearchEntry
from salesflow.search.selectors import parse_query, search
from salesflow.users.services import share_grant
from salesflow.users.testing import Personas, make_personas

pytestmark = pytest.mark.django_db

ACCOUNT_NAMES = [
    "公司",
    "公司甲",
    "公司乙",
    "北京公司",
    "上海某公司",
    "阿拉公司",
    "zeta 公司",
    "大有限公司",
    "星河贸易",
    "公园",
]
PEOPLE = ["王", "王一", "王芳", "王芳芳", "小王", "汪洋", "Wang Li", "王公", "李公司"]
PLANS = {
    "as configured": {},
    "every term common, window covers the kind": {"COMMON_MATCHES": 1, "WINDOW": 10_000},
    "every term common, a window of three rows": {"COMMON_MATCHES": 1, "WINDOW": 3},
    "every term common, a window of one row": {"COMMON_MATCHES": 1, "WINDOW": 1},
    "a term is common from 3 matches, window of two rows": {"COMMON_MATCHES": 3, "WINDOW": 2},
    "sparse common term: match set probed from one id, at most five": {
        "COMMON_MATCHES": 1,
        "WINDOW": 1,
        "PROBE_BATCH": 1,
        "PROBE_MAX": 5,
    },
    "rare terms probed in batches of two": {"PROBE_BATCH": 2},
    "rare terms probed from one id; a rep's filtered by owner": {"PROBE_BATCH": 1, "OWNER_FILTER_IDS": 1},
}
ANYWAY = {"duplicate_reason": "search test data: similar names on purpose"}
#: expected pages by (user id, term), shared by the module's tests (see ``world``)
Expected = dict[tuple[int, str], dict[str, list[int]]]
TERMS = ["公司", "王", "王芳", "公司甲", "有限公司", "wang", "w", "公 司", "王 公司", "没有"]


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[tuple[Personas, dict[str, Any], Expected]]:
    """The personas, the crowd and the expected pages (see :func:`expected_page`), built once
    for the module inside a transaction rolled back at the end; each test runs in its own
    savepoint on top (like Django's ``TestCase.setUpTestData``), so what one test changes
    (``test_a_wrong_stored_owner_never_shows_a_row`` rewrites search rows) is gone for the
    next. The expected pages are computed once per persona and term: they depend on the
    stored rows and the lists' visibility only, not on the plan a test forces."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            people = make_personas()
            yield people, _crowd(people), {}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def personas(world: tuple[Personas, dict[str, Any], Expected]) -> Personas:
    return world[0]


@pytest.fixture
def crowd(world: tuple[Personas, dict[str, Any], Expected]) -> dict[str, Any]:
    return world[1]


@pytest.fixture
def expected_page(world: tuple[Personas, dict[str, Any], Expected]) -> Callable[[Any, str], dict[str, list[int]]]:
    """:func:`expected` for the module's data, computed once per (user, term)."""
    cache = world[2]

    def page(user: Any, q: str) -> dict[str, list[int]]:
        key = (user.pk, q)
        if key not in cache:
            cache[key] = expected(user, q)
        return cache[key]

    return page


def _crowd(personas: Personas) -> dict[str, Any]:
    """Accounts, contacts, deals and leads of three owners in two teams, most of them
    matching ``公司`` and many a title starting with ``王``; one lead shared with the outsider."""
    owners = [personas.rep, personas.teammate, personas.outsider]
    shared = None
    for i, name in enumerate(ACCOUNT_NAMES):
        owner = owners[i % 3]
        account = account_create(actor=owner, owner=owner, name=name, intake_options=ANYWAY)
        contact_create(actor=owner, account=account, name=PEOPLE[i % len(PEOPLE)], intake_options=ANYWAY)
        opportunity_create(actor=owner, account=account, owner=owner, name=f"{PEOPLE[(i + 3) % len(PEOPLE)]}项目")
        lead = lead_create(
            actor=owner,
            owner=owner,
            name=PEOPLE[(i + 1) % len(PEOPLE)],
            source_channel="inbound",
            mobile=f"139{i:08d}",
            company_name=name,
            intake_options=ANYWAY,
        )
        if owner == personas.rep and shared is None:
            shared = lead
    assert shared is not None
    share_grant(actor=personas.rep, target=shared, grantee_user=personas.outsider, access="read")
    # read through something else than the owner (the owners' walks cannot meet these): an
    # outsider's account and its contact, reached by the rep's deal on it (access follows
    # the work), and an unowned lead in a pool of the rep's team
    foreign = account_create(actor=personas.outsider, owner=personas.outsider, name="王氏公司", intake_options=ANYWAY)
    contact_create(actor=personas.outsider, account=foreign, name="王五", intake_options=ANYWAY)
    deal = opportunity_create(actor=personas.outsider, account=foreign, owner=personas.outsider, name="王氏项目")
    opportunity_update(actor=personas.admin, opportunity=deal, owner=personas.rep)
    pool = make_pool(personas.team_a)
    pooled = lead_create(
        actor=personas.admin,
        owner=None,
        name="王池",
        mobile="13900000099",
        source_channel="inbound",
        company_name="池中公司",
        intake_options=ANYWAY,
    )
    PoolLead.objects.create(lead=pooled, pool=pool, reason="test")
    return {"shared": shared, "foreign": foreign, "pooled": pooled}


def expected(user: Any, q: str) -> dict[str, list[int]]:
    """Every hit per kind, in order, computed without the selector: readable rows (the lists'
    visibility), every term in the stored text (or the title starting with a short term),
    titles starting with the whole term first, then by title key and record id."""
    parsed = parse_query(q)
    needle = fold(q).strip()
    out: dict[str, list[int]] = {}
    for kind in ("account", "contact", "opportunity", "lead"):
        model = model_for_kind(kind)
        assert model is not None
        rows = readable_rows(user, model)
        assert rows is not None
        visible = set(rows.values_list("pk", flat=True))
        hits = []
        for entry in SearchEntry.objects.filter(kind=kind, object_id__in=visible):
            if parsed.prefix:
                ok = entry.title_key.startswith(parsed.prefix)
            else:
                ok = all(term in entry.text for term in [*parsed.substrings, *parsed.residual])
            if ok:
                hits.append(entry)
        hits.sort(key=lambda e: (not e.title_key.startswith(needle), e.title_key, e.object_id))
        if hits:
            out[kind] = [e.object_id for e in hits]
    return out


def got(user: Any, q: str, limit: int) -> dict[str, tuple[list[int], bool]]:
    return {g.kind: ([h.record_id for h in g.hits], g.more) for g in search(user, q, limit=limit)}


@pytest.mark.parametrize("plan", list(PLANS))
@pytest.mark.parametrize("wide", [False, True], ids=["scope as is", "every scope wide"])
def test_every_plan_finds_the_same_first_page(personas, crowd, expected_page, monkeypatch, plan, wide):
    for name, value in PLANS[plan].items():
        monkeypatch.setattr(selectors, name, value)
    if wide:  # managers' and support's probe-per-hit form (a department's scope)
        monkeypatch.setattr(selectors, "wide_scope", lambda user: True)
    checked = 0
    for persona, user in personas.all().items():
        for q in TERMS:
            full = expected_page(user, q)
            for limit in (2, 20):
                page = {kind: (ids[:limit], len(ids) > limit) for kind, ids in full.items()}
                assert got(user, q, limit) == page, (persona, q, limit)
                checked += 1
    assert checked == 8 * len(TERMS) * 2


def test_order_and_visibility_of_a_common_term(personas, crowd, monkeypatch):
    monkeypatch.setattr(selectors, "COMMON_MATCHES", 1)
    monkeypatch.setattr(selectors, "WINDOW", 2)
    titles = {g.kind: [h.title for h in g.hits] for g in search(personas.admin, "公司", limit=4)}
    # titles starting with the term first (the exact one first), then the rest by title
    assert titles["account"] == ["公司", "公司乙", "公司甲", "zeta 公司"]  # code-point order: 乙 < 甲
    # the rep owns accounts 0, 3, 6 and 9 (公园 does not match) and reads the outsider's
    # 王氏公司 through a deal; the teammate's are not found
    rep = {g.kind: [h.title for h in g.hits] for g in search(personas.rep, "公司", limit=20)}
    assert rep["account"] == ["公司", "zeta 公司", "北京公司", "王氏公司"]
    outsider = {g.kind: [h.record_id for h in g.hits] for g in search(personas.outsider, "王", limit=20)}
    assert crowd["shared"].pk in outsider["lead"]  # shared with them, though the rep owns it


def test_the_rows_read_beyond_the_owner_are_found(personas, crowd):
    """The rep reads an outsider's account through a deal and an unowned pooled lead: the
    search finds them though no walk of the rep's own rows meets them."""
    rep = {g.kind: [h.record_id for h in g.hits] for g in search(personas.rep, "王", limit=20)}
    assert crowd["foreign"].pk in rep["account"]
    assert crowd["pooled"].pk in rep["lead"]
    common = {g.kind: [h.record_id for h in g.hits] for g in search(personas.rep, "公司", limit=20)}
    assert crowd["foreign"].pk in common["account"]


@pytest.mark.parametrize("q", ["王", "公司"])
def test_a_wrong_stored_owner_never_shows_a_row(personas, crowd, monkeypatch, q):
    """Every row the owners' walks meet still passes the visibility probe: a search row
    claiming the rep owns the teammate's and the outsider's records shows none of them."""
    monkeypatch.setattr(selectors, "COMMON_MATCHES", 1)
    theirs = SearchEntry.objects.exclude(owner_id=personas.rep.pk)
    assert theirs.exclude(owner_id=None).update(owner_id=personas.rep.pk) > 0
    visible = {
        (kind, pk)
        for kind in ("account", "contact", "opportunity", "lead")
        for pk in readable_rows(personas.rep, model_for_kind(kind)).values_list("pk", flat=True)  # type: ignore[arg-type, union-attr]
    }
    for group in search(personas.rep, q, limit=50):
        assert all((group.kind, h.record_id) in visible for h in group.hits), (q, group.kind)
