"""Project-wide pytest fixtures: personas, logged-in clients and API clients."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.utils import translation

from salesflow.core import test_databases
from salesflow.users.models import User
from salesflow.users.services import api_token_create
from salesflow.users.testing import Personas, make_personas

# Each test process copies a migrated template instead of migrating its own test database.
test_databases.install()

#: Fixtures that open the test database (pytest-django refuses database access without one).
_DB_FIXTURES = frozenset({"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Known-slow tests first (see :func:`_slow_first`); then, on the PostgreSQL run, leave out
    the tests that cannot touch a database.

    pytest-django refuses database access to a test without the ``django_db`` marker or a
    database fixture, so such a test (pure functions: money, totals, normalisation, the
    matcher's quality on in-memory data) runs identically on both databases; ``make test``
    runs it once, on SQLite. ``SALESFLOW_PG_ALL=1`` runs everything on PostgreSQL too.
    """
    _slow_first(items)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or os.environ.get("SALESFLOW_PG_ALL"):
        return
    keep: list[pytest.Item] = []
    pure: list[pytest.Item] = []
    for item in items:
        uses_db = item.get_closest_marker("django_db") is not None or bool(
            _DB_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        )
        (keep if uses_db or item.get_closest_marker("e2e") else pure).append(item)
    if pure:
        config.hook.pytest_deselected(items=pure)
        items[:] = keep


def _db_order(item: pytest.Item) -> int:
    """pytest-django's run order of a test: 0 ordinary database tests (each in a transaction
    rolled back), 1 transactional tests (they flush the database afterwards, so they run after
    every test that expects the migrations' seeded rows), 2 tests without a database."""
    from django.test import TestCase, TransactionTestCase
    from pytest_django.fixtures import validate_django_db

    cls = getattr(item, "cls", None)
    if cls is not None and issubclass(cls, TransactionTestCase):
        return 0 if issubclass(cls, TestCase) else 1
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    transactional = "transactional_db" in fixtures or "live_server" in fixtures
    if marker is not None:
        transaction, reset_sequences, *_rest = validate_django_db(marker)
        transactional = transactional or bool(transaction or reset_sequences)
    if transactional:
        return 1
    return 0 if marker is not None or "db" in fixtures else 2


def _slow_first(items: list[pytest.Item]) -> None:
    """Moves the tests marked ``slow`` to the front of their group of pytest-django's order.

    pytest-xdist (``--dist load``) hands tests out in collection order, in chunks, and a run
    lasts at least as long as its busiest worker: a several-minute test that starts late
    leaves the other worker idle at the end. Started first, it runs while the other worker
    takes the many short tests, which then fill in around it. Within a group only:
    transactional tests still run after every ordinary database test (they flush the
    database, and ordinary tests expect the rows the migrations seed). When the groups are
    not in pytest-django's order (a change in pytest-django), the order is left alone."""
    orders = [_db_order(item) for item in items]
    if orders != sorted(orders):
        return
    keyed = sorted(zip(orders, items, strict=True), key=lambda p: (p[0], p[1].get_closest_marker("slow") is None))
    items[:] = [item for _order, item in keyed]


@pytest.fixture(autouse=True)
def _english_unless_asked() -> Iterator[None]:
    """Every test starts in English, whatever language an earlier test (or a request it made)
    left active: assertions on messages must not depend on test order or xdist scheduling.
    Tests of Chinese text ask for it explicitly (``translation.override("zh-hans")``, or a
    client with ``language="zh-hans"``)."""
    with translation.override("en"):
        yield


@pytest.fixture
def personas(db: None) -> Personas:
    return make_personas()


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    """A browser-like client logged in as the given user (English UI unless asked)."""

    def make(user: User, language: str = "en") -> Client:
        client = Client(headers={"accept-language": language})
        client.force_login(user)
        client.cookies["django_language"] = language
        return client

    return make


class ApiClient:
    """Calls ``/api/v1`` with a real bearer token of ``user``."""

    def __init__(self, user: User) -> None:
        _token, raw = api_token_create(user=user, name="test")
        self.client = Client(headers={"authorization": f"Bearer {raw}", "accept-language": "en"})

    def get(self, path: str, **params: object):  # type: ignore[no-untyped-def]
        return self.client.get(f"/api/v1{path}", params)

    def post(self, path: str, data: object = None):  # type: ignore[no-untyped-def]
        return self.client.post(f"/api/v1{path}", data or {}, content_type="application/json")

    def patch(self, path: str, data: object = None):  # type: ignore[no-untyped-def]
        return self.client.patch(f"/api/v1{path}", data or {}, content_type="application/json")

    def put(self, path: str, data: object = None):  # type: ignore[no-untyped-def]
        return self.client.put(f"/api/v1{path}", data or {}, content_type="application/json")

    def delete(self, path: str):  # type: ignore[no-untyped-def]
        return self.client.delete(f"/api/v1{path}")


@pytest.fixture
def api_for(db: None) -> Callable[[User], ApiClient]:
    return ApiClient


@pytest.fixture
def no_completion_rules(db: None) -> None:
    """Issue 7: no activity type needs an outcome or a next follow-up date when done.

    For tests written about other rules before the completion rules existed (they log done
    calls without an outcome); the rules themselves are tested in
    ``salesflow/activities/tests/test_follow_up_rules.py`` with the seeded settings."""
    from salesflow.activities.models import ActivityKindConfig

    ActivityKindConfig.objects.update(needs_outcome=False, needs_next_follow_up=False)
