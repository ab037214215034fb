"""The duplicate matcher (查重): candidate duplicates of a lead, account or contact among
the leads, contacts and accounts in the database.

This module is the one matcher every caller uses — create and edit forms, the API,
imports, claims, conversion, collision detection, the duplicate report and the
``salesflow duplicates`` command — so "is this a duplicate?" has one answer everywhere.

Public interface (stable; callers depend on it):

- :class:`Candidate` — one existing record that may be the same party, with a score in
  ``[0, 1]`` and the human-readable reasons ("same mobile", "company name 92% similar
  after removing suffixes").
- :func:`find_candidates` — candidates for one incoming record.
- :func:`find_candidates_bulk` — the same for many incoming records at once (imports),
  with a bounded number of queries per batch rather than per row.

It reads without visibility filtering: callers decide what to show (a candidate the user
may not see is named by its owner only, never opened).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import Q
from django.utils.translation import gettext as _

from salesflow.core.normalize import company_name_key, normalize_credit_code, normalize_email, normalize_phone
from salesflow.leads.models import Lead
from salesflow.parties.models import Account, Contact

RecordKind = Literal["lead", "account", "contact"]

# Scores at or above this are shown as "possible duplicates" before saving.
DEFAULT_MIN_SCORE = 0.8


@dataclass(frozen=True)
class Candidate:
    """An existing record that may be the incoming one.

    ``kind``/``pk`` name it; ``owner_id`` is its owner (an account's owner, a contact's
    account's owner, a lead's owner or ``None``); ``label`` is its display name;
    ``score`` in ``[0, 1]``; ``reasons`` are translated phrases, strongest first.
    """

    kind: RecordKind
    pk: int
    score: float
    reasons: tuple[str, ...]
    owner_id: int | None
    label: str


def _keys(kind: RecordKind, values: Mapping[str, Any]) -> dict[str, str]:
    """Normalised matching keys of an incoming record's values."""
    company = values.get("company_name") if kind != "account" else values.get("name")
    if kind == "contact" and not company:
        account = values.get("account")
        company = getattr(account, "name", "") if account is not None else ""
    return {
        "mobile": normalize_phone(str(values.get("mobile") or "")),
        "email": normalize_email(str(values.get("email") or "")),
        "company_key": company_name_key(str(company or "")),
        "credit_code": normalize_credit_code(str(values.get("credit_code") or "")),
    }


def find_candidates(
    kind: RecordKind,
    values: Mapping[str, Any],
    *,
    exclude: Iterable[tuple[RecordKind, int]] = (),
    limit: int = 10,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[Candidate]:
    """Existing leads, contacts and accounts that may be the record ``values`` describe.

    ``values`` uses the record's own field names (``name``, ``mobile``, ``email``,
    ``company_name`` for leads, ``name``/``credit_code`` for accounts, ``account`` for
    contacts); missing keys are blank. ``exclude`` leaves out records (the one being edited).
    Returns at most ``limit`` candidates with ``score >= min_score``, best first.
    """
    return find_candidates_bulk(kind, [values], exclude=exclude, limit=limit, min_score=min_score)[0]


def find_candidates_bulk(
    kind: RecordKind,
    rows: Sequence[Mapping[str, Any]],
    *,
    exclude: Iterable[tuple[RecordKind, int]] = (),
    limit: int = 10,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[list[Candidate]]:
    """:func:`find_candidates` for every row of ``rows`` (same order)."""
    excluded = set(exclude)
    keys = [_keys(kind, row) for row in rows]
    mobiles = {k["mobile"] for k in keys if k["mobile"]}
    emails = {k["email"] for k in keys if k["email"]}
    companies = {k["company_key"] for k in keys if k["company_key"]}
    codes = {k["credit_code"] for k in keys if k["credit_code"]}
    found: list[tuple[RecordKind, int, dict[str, str], int | None, str]] = []
    if mobiles or emails or companies or codes:
        lead_q = Q(mobile__in=mobiles) | Q(email__in=emails) | Q(company_key__in=companies) | Q(credit_code__in=codes)
        for lead in Lead.objects.filter(lead_q).only(
            "pk", "name", "mobile", "email", "company_key", "credit_code", "owner_id"
        ):
            lk = {
                "mobile": lead.mobile,
                "email": lead.email,
                "company_key": lead.company_key,
                "credit_code": lead.credit_code,
            }
            found.append(("lead", lead.pk, lk, lead.owner_id, str(lead)))
        contact_q = Q(mobile__in=mobiles) | Q(email__in=emails)
        for contact in (
            Contact.objects.filter(contact_q)
            .select_related("account")
            .only("pk", "name", "mobile", "email", "account__owner_id", "account__name_key")
        ):
            ck = {"mobile": contact.mobile, "email": contact.email, "company_key": "", "credit_code": ""}
            found.append(("contact", contact.pk, ck, contact.account.owner_id, contact.name))
        account_q = Q(name_key__in=companies) | Q(credit_code__in=codes)
        for account in Account.objects.filter(account_q).only("pk", "name", "name_key", "credit_code", "owner_id"):
            ak = {"mobile": "", "email": "", "company_key": account.name_key, "credit_code": account.credit_code}
            found.append(("account", account.pk, ak, account.owner_id, account.name))
    labels = {
        "credit_code": _("same unified social credit code"),
        "mobile": _("same mobile"),
        "email": _("same email"),
        "company_key": _("same company name after removing suffixes"),
    }
    weights = {"credit_code": 1.0, "mobile": 0.95, "email": 0.9, "company_key": 0.85}
    result: list[list[Candidate]] = []
    for k in keys:
        row_candidates: list[Candidate] = []
        for rkind, pk, rk, owner_id, label in found:
            if (rkind, pk) in excluded:
                continue
            same = [name for name in weights if k[name] and k[name] == rk[name]]
            if not same:
                continue
            score = max(weights[name] for name in same)
            if score < min_score:
                continue
            same.sort(key=lambda name: -weights[name])
            row_candidates.append(Candidate(rkind, pk, score, tuple(str(labels[n]) for n in same), owner_id, label))
        row_candidates.sort(key=lambda c: (-c.score, c.kind, c.pk))
        result.append(row_candidates[:limit])
    return result
