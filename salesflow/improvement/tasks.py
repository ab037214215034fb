"""The control plans' daily job (to be listed in ``salesflow/schedule.py`` as
``improvement.control_check``): every project under control is checked for drift."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

from salesflow.improvement.models import Phase, Project
from salesflow.improvement.services import project_control_check


def check_all(today: dt.date) -> dict[int, int]:
    """Check each project in control or closed with a control plan; returns
    {project id: new signals}. A failing project does not stop the others (it is logged)."""
    import logging

    out: dict[int, int] = {}
    ids = list(
        Project.objects.filter(phase__in=(Phase.CONTROL, Phase.CLOSED), control_centre__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        project = Project.objects.get(pk=pk)
        try:
            out[pk] = len(project_control_check(project=project, today=today))
        except Exception:  # one broken project must not stop the others
            logging.getLogger(__name__).exception("control check of improvement project %s failed", pk)
    return out


@task()
def check_control_plans(slot: str = "") -> int:
    """Daily: the Western Electric check of every control plan through ``slot`` (the day,
    ISO) or today; writes ``improvement.project.drifted`` for each project with new
    signals. Idempotent for the day. Returns how many projects drifted."""
    try:
        today = dt.date.fromisoformat(slot) if slot else timezone.localdate()
    except ValueError:
        today = timezone.localdate()
    return sum(1 for n in check_all(today).values() if n)
