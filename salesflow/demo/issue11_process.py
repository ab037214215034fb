"""Demo data of process intelligence (issue 11 item 4): nothing of its own — the process
pages read fact tables derived from the deals' stage history, so after the demo's deals
(and the improvement engineer's year of personal-loan history) are written, the facts are
rebuilt once so the pages show them at once instead of after the first scheduled refresh.
Call ``write_process`` LAST in ``generate.create_demo``; ``delete_process`` before the demo's
deals are deleted (the facts cascade with their deals anyway; this also drops snapshots)."""

from __future__ import annotations

import datetime as dt

from salesflow.process.facts import refresh_facts
from salesflow.process.models import DealFact, FactsState, ProcessSnapshot, StageVisit
from salesflow.users.models import User


def write_process(users: dict[str, User], today: dt.date) -> dict[str, int]:
    """Rebuild the process fact tables from the demo's deals; returns their row counts."""
    ProcessSnapshot.objects.all().delete()
    return refresh_facts(full=True)


def delete_process() -> int:
    """Empty the process fact tables and snapshots (derived data; rebuilt by the next
    refresh). Returns the rows deleted."""
    n = ProcessSnapshot.objects.all().delete()[0]
    n += StageVisit.objects.all().delete()[0]
    n += DealFact.objects.all().delete()[0]
    FactsState.objects.all().delete()
    return n
