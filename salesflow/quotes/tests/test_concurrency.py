"""Concurrent quote creation on PostgreSQL: numbers 1..n, no gap, no repeat."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from salesflow.quotes.models import Quote
from salesflow.quotes.services import quote_create
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import make_personas


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_quote_creation_numbers() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (row locks between threads)")
    personas = make_personas()
    deal = make_opportunity(personas.rep)
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def work() -> None:
        try:
            start.wait()
            quote_create(actor=personas.rep, opportunity=deal, lines=[{"name_zh": "x", "unit_price": "1"}])
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in Quote.objects.values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5, 6]
