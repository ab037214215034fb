"""The process-intelligence jobs (to be listed in ``salesflow/schedule.py``): keep the fact
tables of ``process.models`` up to date so the process pages read pre-aggregated rows."""

from __future__ import annotations

from django.utils import translation
from django_tasks import task

from salesflow.process.facts import refresh_facts


@task()
def refresh_process_facts(slot: str = "") -> dict[str, int]:
    """Every 10 minutes: fold in the new stage exits and the deals changed since the last
    run, and re-derive the open stays; then recompute the company's and every team's default
    process views whose snapshots are no longer fresh (``pages.refresh_defaults``: ``views``
    in the result). Idempotent."""
    from salesflow.process.pages import refresh_defaults

    counts = refresh_facts(full=False)
    return {**counts, "views": refresh_defaults()}


@task()
def rebuild_process_facts(slot: str = "") -> dict[str, int]:
    """Nightly: rebuild the fact tables from scratch (picks up edited accounts' segments and
    deleted deals). Idempotent."""
    return refresh_facts(full=True)


@task()
def refresh_view(kind: str, params: dict[str, str], language: str = "") -> bool:
    """Recompute one process page's snapshot (``kind`` "summary" or "control"; ``params``: the
    cleaned filters a reader found stale, already checked for that reader) in ``language``, and
    store it. The filters are parsed again as the system actor (who sees every node); a node,
    stage or filter gone since is skipped (``False``). Idempotent (it overwrites the snapshot)."""
    from salesflow.process.forms import ControlFilterForm, ProcessFilterForm
    from salesflow.process.pages import cached
    from salesflow.users.services import system_actor

    form_class = ControlFilterForm if kind == "control" else ProcessFilterForm
    with translation.override(language or None):
        form = form_class(dict(params), user=system_actor())
        if kind not in ("summary", "control") or not form.is_valid():
            return False
        cached(kind, form.process(), fresh=True)
    return True
