"""Intake checks (准入检查): rules that run whenever a lead, account or contact comes in or
changes identity — created by hand or through the API, imported, claimed from a pool,
converted from a lead, or edited.

The record services (``leads.services.lead_create``, ``parties.services.account_create``…)
own these moments, but the rules that apply at them live in apps *above* the record apps
(duplicate check, known-customer registry, collision arbitration, pools and caps,
assignment, scoring), which the services may not import. So the services call
:func:`run_before` and :func:`run_after`, and those apps register what to do from their
``AppConfig.ready()``::

    from salesflow.core.intake import IntakeCheck, register_intake_check

    register_intake_check(IntakeCheck(
        code="known_customer",
        order=10,
        kinds=frozenset({"lead", "account"}),
        before=refuse_or_route_known_customer,   # (intake) -> None; may raise or change intake.values
        after=None,                              # (intake, record) -> None
    ))

Guarantees:

- ``before`` checks run in ``order`` (then ``code``) inside the service's transaction,
  after the service validated its own input and before anything is written. A check
  refuses by raising a ``ServiceError`` (``Conflict`` for "this already exists / belongs to
  someone", ``ValidationFailed`` for a field); the service writes nothing then. A check may
  change ``intake.values`` (e.g. route a known customer's lead to its owner by setting
  ``values["owner"]``) and append machine-readable ``intake.findings``; the service saves
  what ``values`` holds after the checks.
- ``after`` hooks run in the same order inside the same transaction once the record is
  saved (``intake.record`` is then the saved record), so a failure there rolls the save
  back too. Use them for follow-on writes (open a collision case, queue a score).
- ``intake.options`` carries what the caller asked for, untouched by the services:
  ``duplicate_reason`` (save although duplicates were shown), ``via`` (``"convert"``,
  ``"import"``, ``"merge"``… when a service calls another one) and keys a check documents.
- With no check registered (the record apps on their own) nothing happens.

Batches (imports): :func:`run_before_many` and :func:`run_after_many` run the same checks
over many intakes at once. A check may register ``before_many`` / ``after_many`` to do its
lookups once per batch (a fixed number of queries); without them its per-record ``before``
/ ``after`` runs for each intake. The outcome is the same as calling :func:`run_before` and
:func:`run_after` intake by intake, in order: a refusal of one intake (returned, not
raised) stops the later checks for that intake only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from salesflow.core.errors import ServiceError

IntakeKind = Literal["lead", "account", "contact"]
IntakeAction = Literal["create", "update", "import", "claim", "convert", "merge"]


@dataclass
class Intake:
    """One record arriving or changing, as the checks see it.

    ``values`` are the normalised field values the service is about to save (foreign keys
    as model instances, e.g. ``owner``, ``account``); ``record`` is the existing record on
    ``update``/``claim``/``convert`` (``None`` on create) and the saved record in ``after``
    hooks; ``actor`` is the user acting (``users.models.User``; typed loosely because the
    core sits below the users app).
    """

    kind: IntakeKind
    action: IntakeAction
    actor: Any
    values: dict[str, Any]
    record: Any = None
    options: Mapping[str, Any] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)


Before = Callable[[Intake], None]
After = Callable[[Intake, Any], None]
# (intakes) -> {position in intakes: refusal}; may change each intake's values/findings.
BeforeMany = Callable[[Sequence[Intake]], dict[int, ServiceError]]
# (intakes, their saved records, same order) -> None
AfterMany = Callable[[Sequence[Intake], Sequence[Any]], None]


@dataclass(frozen=True)
class IntakeCheck:
    """A registered rule: ``before`` may refuse or adjust, ``after`` may write follow-ons.

    ``kinds`` and ``actions`` limit where it runs (empty ``actions`` = every action).
    ``before_many`` / ``after_many`` are optional batch forms of ``before`` / ``after`` with
    the same outcome per intake (used by :func:`run_before_many` / :func:`run_after_many`).
    """

    code: str
    order: int
    kinds: frozenset[str]
    before: Before | None = None
    after: After | None = None
    actions: frozenset[str] = frozenset()
    before_many: BeforeMany | None = None
    after_many: AfterMany | None = None


_CHECKS: dict[str, IntakeCheck] = {}


def register_intake_check(check: IntakeCheck) -> None:
    """Register (or replace, by ``code``) an intake check. Call from ``AppConfig.ready()``."""
    _CHECKS[check.code] = check


def unregister_intake_check(code: str) -> None:
    """Remove a check (tests that exercise a record app on its own)."""
    _CHECKS.pop(code, None)


def registered_checks() -> list[IntakeCheck]:
    """The registered checks in running order."""
    return sorted(_CHECKS.values(), key=lambda c: (c.order, c.code))


def _applies(check: IntakeCheck, intake: Intake) -> bool:
    return intake.kind in check.kinds and (not check.actions or intake.action in check.actions)


def run_before(intake: Intake) -> Intake:
    """Run every applicable ``before`` check on ``intake`` (may raise; may change values)."""
    for check in registered_checks():
        if check.before is not None and _applies(check, intake):
            check.before(intake)
    return intake


def run_after(intake: Intake, record: Any) -> None:
    """Run every applicable ``after`` hook for the saved ``record``."""
    intake.record = record
    for check in registered_checks():
        if check.after is not None and _applies(check, intake):
            check.after(intake, record)


def run_before_many(intakes: Sequence[Intake]) -> dict[int, ServiceError]:
    """Run every applicable ``before`` check over ``intakes`` (a batch); returns the
    refusals by position. A refused intake is not shown to the later checks. Errors other
    than ``ServiceError`` propagate."""
    refused: dict[int, ServiceError] = {}
    for check in registered_checks():
        if check.before is None and check.before_many is None:
            continue
        live = [(i, it) for i, it in enumerate(intakes) if i not in refused and _applies(check, it)]
        if not live:
            continue
        if check.before_many is not None:
            found = check.before_many([it for _i, it in live])
            for position, error in found.items():
                refused[live[position][0]] = error
            continue
        assert check.before is not None
        for i, it in live:
            try:
                check.before(it)
            except ServiceError as exc:
                refused[i] = exc
    return refused


def run_after_many(intakes: Sequence[Intake], records: Sequence[Any]) -> None:
    """Run every applicable ``after`` hook for the saved ``records`` (same order as
    ``intakes``); a ``ServiceError`` propagates (the caller's transaction rolls back)."""
    for intake, record in zip(intakes, records, strict=True):
        intake.record = record
    for check in registered_checks():
        live = [(it, rec) for it, rec in zip(intakes, records, strict=True) if _applies(check, it)]
        if not live:
            continue
        if check.after_many is not None:
            check.after_many([it for it, _r in live], [rec for _it, rec in live])
        elif check.after is not None:
            for it, rec in live:
                check.after(it, rec)
