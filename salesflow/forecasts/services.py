"""Writes of forecast submissions (销售预测). Every write is a NEW :class:`ForecastEntry`
(the history is kept; the latest revision counts), audited in the same transaction
(``forecasts.submission.created`` / ``forecasts.adjustment.created``).

Who writes (checked here, whatever the caller checked):

* a person's forecast (``rep:<id>``): that person (a rep or a manager who sells), or an
  assistant for a rep delegated to them — :func:`forecast_submit`;
* a team's adjusted figure (``team:<id>``): a manager of the team (or of a team above it) or an
  administrator; the company's (``company``): an administrator — :func:`forecast_adjust`.

Figures are exact amounts in the company currency with ``commit ≤ best case ≤ pipeline``;
the period is a month or a quarter (``core.periods`` key) that has not ended.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.analytics.selectors import Node
from salesflow.core.audit import record_event
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.money import AmountError, company_currency, parse_amount
from salesflow.core.periods import Period
from salesflow.core.schemas import text_error
from salesflow.forecasts.models import NOTE_MAX_LENGTH, EntryKind, ForecastEntry, ForecastReminder
from salesflow.forecasts.selectors import (
    can_adjust,
    can_submit_for,
    forecast_period,
    rollup,
    suggested_by_owner,
)
from salesflow.users.models import User

#: The same person sending the same figures for the same level within this window is one
#: submission (a double click, a retried request), not a new revision.
DOUBLE_SUBMIT_WINDOW = timedelta(seconds=30)


def _clean(
    period_key: Any, commit: Any, best_case: Any, pipeline: Any, note: Any, today: date
) -> tuple[Period, Decimal, Decimal, Decimal, str]:
    """Validate everything, raising one ``ValidationFailed`` naming every bad field."""
    errors: dict[str, list[str]] = {}
    period: Period | None = None
    try:
        period = forecast_period(period_key if isinstance(period_key, str) else "")
    except ValueError:
        errors["period"] = [_("Enter a month or a quarter, such as 2026-12 or 2026-Q4.")]
    if period is not None and period.end < today:
        errors["period"] = [_("This period is over; its forecast can no longer change.")]
    currency = company_currency()
    values: dict[str, Decimal] = {}
    for name, raw in (("commit", commit), ("best_case", best_case), ("pipeline", pipeline)):
        if raw is None or raw == "":
            errors[name] = [_("Enter an amount.")]
            continue
        try:
            values[name] = parse_amount(raw, currency)
        except AmountError as exc:
            errors[name] = [str(exc.message)]
    if "commit" in values and "best_case" in values and values["best_case"] < values["commit"]:
        errors["best_case"] = [_("Best case includes commit, so it cannot be below it.")]
    if "best_case" in values and "pipeline" in values and values["pipeline"] < values["best_case"]:
        errors["pipeline"] = [_("Pipeline includes best case, so it cannot be below it.")]
    note_value = ""
    if note is not None and not isinstance(note, str):
        errors["note"] = [_("Enter text.")]
    else:
        note_value = (note or "").strip()
        if len(note_value) > NOTE_MAX_LENGTH:
            errors["note"] = [
                _("At most %(n)d characters (it has %(count)d).") % {"n": NOTE_MAX_LENGTH, "count": len(note_value)}
            ]
        elif text_error(note_value, multiline=True):
            errors["note"] = [_("Remove the control characters from the text.")]
    if errors or period is None:
        raise ValidationFailed(_("Check the forecast."), field_errors=errors)
    return period, values["commit"], values["best_case"], values["pipeline"], note_value


def _write(
    *,
    actor: User,
    node_key: str,
    kind: EntryKind,
    period: Period,
    figures: tuple[Decimal, Decimal, Decimal],
    suggested: tuple[Decimal, Decimal, Decimal] | None,
    note: str,
    written_at: datetime,
    related: list[Any],
) -> ForecastEntry:
    commit, best_case, pipeline = figures
    latest = ForecastEntry.objects.filter(period_key=period.key, node_key=node_key).order_by("-revision").first()
    if (
        latest is not None
        and latest.author_id == actor.pk
        and (latest.commit, latest.best_case, latest.pipeline, latest.note) == (commit, best_case, pipeline, note)
        and abs(written_at - latest.created_at) <= DOUBLE_SUBMIT_WINDOW
    ):
        return latest  # the same person sent the same figures again at once (a double click)
    revision = (latest.revision if latest is not None else 0) + 1
    try:
        with transaction.atomic():
            entry = ForecastEntry.objects.create(
                node_key=node_key,
                period_key=period.key,
                period_end=period.end,
                kind=kind,
                revision=revision,
                commit=commit,
                best_case=best_case,
                pipeline=pipeline,
                currency=company_currency(),
                suggested_commit=suggested[0] if suggested else None,
                suggested_best_case=suggested[1] if suggested else None,
                suggested_pipeline=suggested[2] if suggested else None,
                note=note,
                author=actor,
                created_at=written_at,
            )
    except IntegrityError:
        # Another write of the same level and period took this revision at the same moment.
        # The same person sending the same figures twice (a double click) gets that entry;
        # anything else must be looked at again.
        other = ForecastEntry.objects.filter(period_key=period.key, node_key=node_key, revision=revision).first()
        if (
            other is not None
            and other.author_id == actor.pk
            and (other.commit, other.best_case, other.pipeline, other.note) == (commit, best_case, pipeline, note)
        ):
            return other
        raise Conflict(
            _("Someone else saved this forecast at the same moment. Reload the page and try again.")
        ) from None
    verb = "forecasts.submission.created" if kind == EntryKind.SUBMISSION else "forecasts.adjustment.created"
    record_event(
        actor=actor,
        verb=verb,
        target=entry,
        data={
            "node": node_key,
            "period": period.key,
            "revision": revision,
            "commit": f"{commit:.2f}",
            "best_case": f"{best_case:.2f}",
            "pipeline": f"{pipeline:.2f}",
            "currency": entry.currency,
        },
        related=related,
    )
    return entry


@transaction.atomic
def forecast_submit(
    *,
    actor: User,
    rep: User,
    period_key: str,
    commit: Decimal | str | int,
    best_case: Decimal | str | int,
    pipeline: Decimal | str | int,
    note: str = "",
    written_at: datetime | None = None,
) -> ForecastEntry:
    """Submit ``rep``'s forecast for a month or quarter as a new revision (the latest counts).

    ``Forbidden`` unless ``actor`` is ``rep`` or an assistant ``rep`` is delegated to;
    ``ValidationFailed`` naming ``period``, ``commit``, ``best_case``, ``pipeline`` or
    ``note``; ``Conflict`` when a different write took the same revision at the same moment
    (the same person's identical double submission returns the first entry). The deals'
    suggested figures at this moment are stored beside the submitted ones. ``written_at``
    (demo data only) backdates the entry; "today" is then its date."""
    if not can_submit_for(actor, rep):
        raise Forbidden(_("You can submit only your own forecast or that of a rep delegated to you."))
    written_at = written_at or timezone.now()
    today = timezone.localdate(written_at)
    period, commit_v, best_v, pipeline_v, note_v = _clean(period_key, commit, best_case, pipeline, note, today)
    suggestion = suggested_by_owner([rep.pk], period, today).of(rep.pk)
    return _write(
        actor=actor,
        node_key=f"rep:{rep.pk}",
        kind=EntryKind.SUBMISSION,
        period=period,
        figures=(commit_v, best_v, pipeline_v),
        suggested=suggestion.as_tuple(),
        note=note_v,
        written_at=written_at,
        related=[rep],
    )


@transaction.atomic
def forecast_adjust(
    *,
    actor: User,
    node: Node,
    period_key: str,
    commit: Decimal | str | int,
    best_case: Decimal | str | int,
    pipeline: Decimal | str | int,
    note: str = "",
    written_at: datetime | None = None,
) -> ForecastEntry:
    """Record a manager's (team) or an administrator's (team or company) own figure for the
    level ``node`` as a new revision; the sum of what was submitted below stays beside it.

    ``Forbidden`` unless ``actor`` may adjust ``node`` (``selectors.can_adjust``; a person's
    forecast is never adjusted, only submitted); errors otherwise as :func:`forecast_submit`.
    The level's sum of the level below at this moment is stored as the suggested figures."""
    if node.kind == "rep" or not can_adjust(actor, node):
        raise Forbidden(_("You can adjust only the forecast of a team you manage (administrators: the company)."))
    written_at = written_at or timezone.now()
    today = timezone.localdate(written_at)
    period, commit_v, best_v, pipeline_v, note_v = _clean(period_key, commit, best_case, pipeline, note, today)
    below = rollup(node, period, today).level.below
    return _write(
        actor=actor,
        node_key=node.key,
        kind=EntryKind.ADJUSTMENT,
        period=period,
        figures=(commit_v, best_v, pipeline_v),
        suggested=below.as_tuple(),
        note=note_v,
        written_at=written_at,
        related=[],
    )


def reminder_send(*, user: User, period: Period, due: date) -> ForecastReminder | None:
    """Remind ``user`` (as the system actor) that their forecast of ``period`` is due on
    ``due`` — once: returns ``None`` when they were reminded of that period already.
    Audited ``forecasts.reminder.sent`` (the notification rule tells the user)."""
    from salesflow.users.services import system_actor

    try:
        with transaction.atomic():
            reminder = ForecastReminder.objects.create(user=user, period_key=period.key, due_on=due)
            record_event(
                actor=system_actor(),
                verb="forecasts.reminder.sent",
                target=reminder,
                data={"user": user.pk, "period": period.key, "due": due.isoformat()},
            )
    except IntegrityError:
        return None
    return reminder
