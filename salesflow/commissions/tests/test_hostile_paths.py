"""The project's hostile-input checks (``tests/test_hostile.py``) on the commission endpoints
that take an id in their path, with a world holding a commission statement (the project's
``world`` fixture has no ``commissions`` entry yet: see the lead's integration note)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from salesflow.commissions import selectors
from salesflow.commissions.choices import Basis
from salesflow.commissions.selectors import TargetInfo
from salesflow.commissions.services import statement_generate
from salesflow.commissions.tests.util import plan, rule, won
from tests import test_hostile as hostile

pytestmark = pytest.mark.django_db
PATH_OPS = [op for op in hostile.OPERATIONS if op.path.startswith("/api/v1/commissions/") and "{" in op.path]
YEAR = timezone.localdate().year - 1


@pytest.fixture
def world(personas: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    monkeypatch.setattr(selectors, "rep_target", lambda rep, metric, period: TargetInfo(None, None, None))
    pl = plan(YEAR)
    rule(pl, Basis.WON, "3.00")
    won(personas.rep, "1000.00", date(YEAR, 3, 5))
    statement = statement_generate(actor=personas.admin, rep=personas.rep, period_key=f"{YEAR}-03")
    return {"commissions": statement.pk}


def test_every_commission_path_is_covered() -> None:
    assert len(PATH_OPS) >= 12


@pytest.mark.parametrize("op", [op for op in PATH_OPS if op in hostile.BODY_WRITES], ids=str)
def test_hostile_bodies(personas, api_for, world, op) -> None:  # type: ignore[no-untyped-def]
    hostile.test_write_endpoints_refuse_hostile_bodies(personas, api_for, world, op)


@pytest.mark.parametrize("op", PATH_OPS, ids=str)
def test_hostile_ids(personas, api_for, world, op) -> None:  # type: ignore[no-untyped-def]
    hostile.test_hostile_ids_in_paths_are_404_envelopes(personas, api_for, world, op)


@pytest.mark.parametrize("op", [op for op in PATH_OPS if op.method == "get"], ids=str)
def test_hostile_query_strings(personas, api_for, world, op) -> None:  # type: ignore[no-untyped-def]
    hostile.test_lists_refuse_hostile_query_strings(personas, api_for, world, op)


@pytest.mark.parametrize("op", [op for op in PATH_OPS if op.method in ("post", "patch", "delete")], ids=str)
def test_other_methods(personas, api_for, world, op) -> None:  # type: ignore[no-untyped-def]
    hostile.test_other_methods_are_405_envelopes(personas, api_for, world, op)
