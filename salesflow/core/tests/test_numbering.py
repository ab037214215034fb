"""Gapless document numbers (``core.numbering``): 1..n without gap or repeat, also under
concurrent creators on PostgreSQL, and a rolled-back creation gives its number back."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from salesflow.core.models import DocumentSequence
from salesflow.core.numbering import format_document_number, next_document_number


def test_format() -> None:
    assert format_document_number("QT", 2026, 42) == "QT-2026-00042"


@pytest.mark.django_db
def test_needs_the_callers_transaction() -> None:
    with pytest.raises(transaction.TransactionManagementError):
        # pytest-django wraps tests in a transaction; leave it to test the guard
        connection.in_atomic_block = False
        try:
            next_document_number("test", 2026)
        finally:
            connection.in_atomic_block = True


@pytest.mark.django_db
def test_sequential_per_kind_and_year() -> None:
    with transaction.atomic():
        assert [next_document_number("quote", 2026) for _ in range(3)] == [1, 2, 3]
        assert next_document_number("quote", 2027) == 1
        assert next_document_number("contract", 2026) == 1


@pytest.mark.django_db
def test_a_rolled_back_creation_gives_its_number_back() -> None:
    with transaction.atomic():
        assert next_document_number("quote", 2026) == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        assert next_document_number("quote", 2026) == 2
        raise RuntimeError("the document was not saved")
    with transaction.atomic():
        assert next_document_number("quote", 2026) == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_creators_get_one_to_n_without_gap_or_repeat() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("threads share one SQLite file lock; the concurrency test runs on PostgreSQL")
    workers, each = 8, 5
    numbers: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(workers)

    def work(index: int) -> None:
        try:
            start.wait()
            for attempt in range(each):
                try:
                    with transaction.atomic():
                        number = next_document_number("quote", 2031)
                        if (index + attempt) % 4 == 0:
                            raise LookupError("rolled back: the number is handed out again")
                    with lock:
                        numbers.append(number)
                except LookupError:
                    pass
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    assert DocumentSequence.objects.get(kind="quote", year=2031).last == len(numbers)
