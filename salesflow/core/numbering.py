"""Gapless document numbers per kind and year (QT-2026-00001, HT-2026-00001…).

Guarantee: within one kind and year the numbers handed out by committed transactions are
1, 2, 3… with no gap and no repeat, on SQLite and PostgreSQL alike.

How: the caller's transaction (the service that creates the document) increments the
sequence row with one ``UPDATE … SET last = last + 1`` and reads it back. The UPDATE
takes the row lock on PostgreSQL (a concurrent creator waits until this transaction
commits or rolls back) and the database write lock on SQLite (Salesflow opens SQLite
transactions ``IMMEDIATE``). If the document is not saved, the whole transaction rolls
back and the number is handed out again: no gap. The first number of a year creates the
row; a concurrent first creator that loses the unique-key race retries the UPDATE.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from salesflow.core.models import DocumentSequence


def next_document_number(kind: str, year: int) -> int:
    """The next number of ``kind`` in ``year``. Must run inside the transaction that saves
    the document (``transaction.atomic``); raises ``TransactionManagementError`` otherwise."""
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("next_document_number needs the caller's transaction")
    for _attempt in range(2):
        if DocumentSequence.objects.filter(kind=kind, year=year).update(last=F("last") + 1):
            return DocumentSequence.objects.values_list("last", flat=True).get(kind=kind, year=year)
        try:
            with transaction.atomic():
                DocumentSequence.objects.create(kind=kind, year=year, last=1)
            return 1
        except IntegrityError:
            continue  # a concurrent creator made the row first: take the next number
    raise RuntimeError("document sequence row vanished")  # pragma: no cover - rows are never deleted


def format_document_number(prefix: str, year: int, number: int) -> str:
    """``QT-2026-00042``: prefix, year and the number padded to five digits."""
    return f"{prefix}-{year}-{number:05d}"
