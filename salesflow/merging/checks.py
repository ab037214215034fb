"""The duplicate warning (疑似重复): an intake check run before a lead, account or contact is
created or its identity changes.

Registered from ``MergingConfig.ready()`` (code ``duplicates``, order 30, actions
``create``/``update``). Guarantees:

- It asks the one matcher (:func:`salesflow.dedupe.matching.find_candidates`, default
  threshold) for candidates; on ``update`` only when an identity field changed (name,
  company, mobile, email, credit code, phone, a contact's account) and never matching the
  record itself.
- With candidates, unless ``intake.options`` holds a non-blank ``duplicate_reason`` or
  ``via`` is ``import``/``merge``/``convert``, it raises
  ``Conflict(code="possible_duplicates")`` whose ``data["duplicates"]`` describes each
  candidate for the actor (:func:`describe_candidates`). Nothing is written.
- For a contact, accounts are no candidates (the matcher matches a contact's company to
  its own account); leads and contacts are.
- A record the actor may not see is named by its kind and owner only: no name, no contact
  details, no link.
- Saved anyway, the record's timeline gets ``merging.duplicate.saved_anyway`` with the
  candidates (kind, id, score) and the reason, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from salesflow.core.audit import record_event
from salesflow.core.errors import Conflict, ValidationFailed
from salesflow.core.intake import Intake
from salesflow.dedupe.matching import Candidate, find_candidates
from salesflow.leads.permissions import leads_visible_to, leads_writable_by
from salesflow.parties.permissions import (
    accounts_visible_to,
    accounts_writable_by,
    contacts_visible_to,
    contacts_writable_by,
)
from salesflow.users.models import User

#: the fields whose change re-runs the check on update, per kind
IDENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "lead": ("name", "company_name", "mobile", "email", "credit_code", "phone"),
    "account": ("name", "credit_code", "phone"),
    "contact": ("name", "mobile", "email", "phone", "account"),
}
#: ``via`` values that never stop for the warning (imports report duplicates themselves)
QUIET_VIAS = frozenset({"import", "merge", "convert"})
REASON_LENGTH = 2000

DETAIL_URLS = {"lead": "leads:detail", "account": "accounts:detail", "contact": "contacts:detail"}


def clean_reason(raw: object) -> str:
    """The "save anyway" reason, stripped; ``ValidationFailed`` (field ``duplicate_reason``)
    for NUL bytes or more than 2,000 characters."""
    reason = str(raw or "").strip()
    errors: list[str] = []
    if "\x00" in reason:
        errors.append(_("Remove the NUL characters."))
    if len(reason) > REASON_LENGTH:
        errors.append(_("Use at most %(max)d characters.") % {"max": REASON_LENGTH})
    if errors:
        raise ValidationFailed(_("The reason could not be accepted."), field_errors={"duplicate_reason": errors})
    return reason


def _visible_ids(actor: User, kind: str, ids: set[int], *, write: bool) -> set[int]:
    if not ids:
        return set()
    if kind == "lead":
        qs: Any = leads_writable_by(actor) if write else leads_visible_to(actor)
    elif kind == "account":
        qs = accounts_writable_by(actor) if write else accounts_visible_to(actor)
    else:
        qs = contacts_writable_by(actor) if write else contacts_visible_to(actor)
    return set(qs.filter(pk__in=ids).values_list("pk", flat=True))


def describe_candidates(actor: User, candidates: Iterable[Candidate]) -> list[dict[str, Any]]:
    """The candidates as the actor may see them: ``{kind, id, score, reasons, owner, visible,
    writable, url, label}``; ``label`` and ``url`` are ``None`` for a record the actor may not
    see (``owner`` — a display name or ``None`` — is all they learn about it).
    A bounded number of queries (two per kind plus one for the owners)."""
    items = list(candidates)
    by_kind: dict[str, set[int]] = {}
    for c in items:
        by_kind.setdefault(c.kind, set()).add(c.pk)
    visible = {kind: _visible_ids(actor, kind, ids, write=False) for kind, ids in by_kind.items()}
    writable = {kind: _visible_ids(actor, kind, ids, write=True) for kind, ids in by_kind.items()}
    owner_ids = {c.owner_id for c in items if c.owner_id is not None}
    owners = {u.pk: str(u) for u in User.objects.filter(pk__in=owner_ids)} if owner_ids else {}
    out: list[dict[str, Any]] = []
    for c in items:
        seen = c.pk in visible.get(c.kind, set())
        out.append(
            {
                "kind": c.kind,
                "id": c.pk,
                "score": round(float(c.score), 4),
                "reasons": [str(r) for r in c.reasons],
                "owner": owners.get(c.owner_id) if c.owner_id is not None else None,
                "visible": seen,
                "writable": seen and c.pk in writable.get(c.kind, set()),
                "label": c.label if seen else None,
                "url": reverse(DETAIL_URLS[c.kind], args=[c.pk]) if seen else None,
            }
        )
    return out


def _identity_changed(intake: Intake) -> bool:
    record = intake.record
    for name in IDENTITY_FIELDS[intake.kind]:
        if name not in intake.values:
            continue
        new = intake.values[name]
        old = getattr(record, name, None)
        if getattr(new, "pk", new) != getattr(old, "pk", old):
            return True
    return False


class _DuplicateWarning:
    """The ``before``/``after`` pair registered as the ``duplicates`` intake check."""

    finding = "possible_duplicates"

    def before(self, intake: Intake) -> None:
        if str(intake.options.get("via") or "") in QUIET_VIAS:
            return
        reason = clean_reason(intake.options.get("duplicate_reason"))
        exclude: list[tuple[Any, int]] = []
        if intake.action == "update":
            if intake.record is None or not _identity_changed(intake):
                return
            exclude.append((intake.kind, intake.record.pk))
        candidates = find_candidates(intake.kind, intake.values, exclude=exclude)
        if intake.kind == "contact":
            # a person is not a duplicate of a company: the contact's own account (and any
            # account named like it, which is the accounts' own duplicate) is no candidate
            candidates = [c for c in candidates if c.kind != "account"]
        if not candidates:
            return
        if reason:
            intake.findings.append(
                {
                    "code": self.finding,
                    "reason": reason,
                    "candidates": [{"kind": c.kind, "id": c.pk, "score": round(float(c.score), 4)} for c in candidates],
                }
            )
            return
        exc = Conflict(
            _("Possible duplicates exist. Open one of them, request access, or save anyway with a reason."),
            code="possible_duplicates",
        )
        exc.data["duplicates"] = describe_candidates(intake.actor, candidates)
        raise exc

    def after(self, intake: Intake, record: Any) -> None:
        for finding in intake.findings:
            if finding.get("code") == self.finding:
                record_event(
                    actor=intake.actor,
                    verb="merging.duplicate.saved_anyway",
                    target=record,
                    data={"reason": finding["reason"], "candidates": finding["candidates"], "action": intake.action},
                )


warn_duplicates = _DuplicateWarning()
