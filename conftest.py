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
    """On the PostgreSQL run, leave out the tests that cannot touch a database.

    pytest-django refuses database access to a test without the ``django_db`` marker or a
    database fixture, so such a test (pure functions: money, totals, normalisation, the
    matcher's quality on in-memory data) runs identically on both databases; ``make test``
    runs it once, on SQLite. ``SALESFLOW_PG_ALL=1`` runs everything on PostgreSQL too.
    """
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
