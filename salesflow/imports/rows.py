"""Turning a file's rows into what the record services take, and writing them.

One code path for the preview and the run: :func:`prepare_batch` reads a batch of rows
(mapped by the job's column mapping), checks every cell (choices in English or Chinese,
dates, exact amounts with ``core.money``, owners by username or display name, accounts by
name), finds rows that already exist by a strong key and — for the preview — the duplicate
candidates of ``dedupe.matching.find_candidates_bulk``. :func:`write_row` then creates the
record through the service of its kind, acting as the importing user, so every check of
the services (actor, visibility, owner assignability, intake checks) applies.

Strong keys ("already exists", the row is skipped, never updated):

- lead: the same mobile or email as an existing lead;
- account: the same unified social credit code or company-name key;
- contact: the same mobile or email as an existing contact;
- opportunity: the same name at the same account;
- every kind: the same external id (the file's ``id`` column) or the same row of the same
  file (file hash + row number) already imported by an earlier job that was not rolled back;
- a later row of the same file with the same key as an earlier one.

Queries: a batch costs a fixed number of queries for lookups (independent of its size);
each written row then costs what its service costs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesflow.core.errors import ServiceError
from salesflow.core.money import AmountError, currency_choices, default_currency, parse_amount
from salesflow.core.normalize import (
    company_name_key,
    credit_code_is_valid,
    mobile_error,
    normalize_credit_code,
    normalize_email,
    normalize_phone,
    phone_error,
)
from salesflow.dedupe.matching import Candidate, find_candidates_bulk
from salesflow.imports.choices import ImportKind, RowState
from salesflow.imports.models import ImportRow
from salesflow.leads.models import Lead
from salesflow.parties.choices import BuyingRole, CompanySize, Grade, Industry, Lifecycle, SourceChannel, SubChannel
from salesflow.parties.models import Account, Contact
from salesflow.parties.permissions import accounts_visible_to
from salesflow.sales.choices import Outcome, StageKind
from salesflow.sales.models import LostReason, Opportunity, Pipeline, Stage
from salesflow.users.models import Territory, User
from salesflow.users.permissions import assignable_users_for
from salesflow.users.policy import visible_owner_ids

MODELS: dict[str, type[Any]] = {"lead": Lead, "account": Account, "contact": Contact, "opportunity": Opportunity}
CHOICES: dict[str, dict[str, Any]] = {
    "lead": {"industry": Industry, "source_channel": SourceChannel, "sub_channel": SubChannel},
    "account": {
        "industry": Industry,
        "size": CompanySize,
        "lifecycle": Lifecycle,
        "grade": Grade,
        "source": SourceChannel,
    },
    "contact": {"buying_role": BuyingRole},
    "opportunity": {},
}
DATE_FIELDS = frozenset({"timeline", "expected_close_date", "closed_at", "created_at"})
AMOUNT_FIELDS = frozenset({"amount", "budget_amount"})
# Fields the file may hold that are not passed to the service as they are.
IGNORED = frozenset({"id", "status", "contact"})
_OUTCOMES = {
    "open": Outcome.OPEN,
    "进行中": Outcome.OPEN,
    "跟进中": Outcome.OPEN,
    "won": Outcome.WON,
    "win": Outcome.WON,
    "赢单": Outcome.WON,
    "赢": Outcome.WON,
    "成交": Outcome.WON,
    "已成交": Outcome.WON,
    "lost": Outcome.LOST,
    "lose": Outcome.LOST,
    "输单": Outcome.LOST,
    "输": Outcome.LOST,
    "丢单": Outcome.LOST,
}
_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_AMOUNT_NOISE = re.compile(r"[,，\s¥￥$€]")


def _norm(value: str) -> str:
    return re.sub(r"\s+", "", str(value)).casefold()


def parse_date(value: str) -> date | None:
    """``YYYY-MM-DD`` (or ``/``, ``.``, ``年月日``; an optional time is ignored) → date;
    ``None`` when the text is no such date."""
    match = _DATE_RE.match(value.strip())
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def historical_moment(day: date, *, not_before: datetime | None = None) -> datetime:
    """Noon of ``day`` in the current time zone, but never after now (nor before ``not_before``)."""
    moment = timezone.make_aware(datetime.combine(day, time(12)))
    moment = min(moment, timezone.now())
    if not_before is not None:
        moment = max(moment, not_before)
    return moment


@dataclass
class RowResult:
    """One row prepared: the service arguments, or the problems found (column, reason)."""

    number: int
    external_id: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    exists: str = ""
    duplicates: list[Candidate] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.errors:
            return RowState.REJECTED
        if self.exists:
            return RowState.SKIPPED
        return RowState.CREATED


def _choice_map(choices: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for value, label in choices.choices:
        out[_norm(value)] = value
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                out.setdefault(_norm(str(label)), value)
    return out


class Context:
    """What a job's rows are checked against: the actor, the mapping and lookups loaded once."""

    def __init__(self, *, actor: User, kind: str, mapping: dict[str, str], file_hash: str, job_id: int | None) -> None:
        self.actor = actor
        self.kind = kind
        self.mapping = dict(mapping)
        self.columns = {f: h for h, f in mapping.items()}
        self.file_hash = file_hash
        self.job_id = job_id
        self.seen: dict[str, int] = {}
        model = MODELS[kind]
        self.max_lengths = {f.name: f.max_length for f in model._meta.concrete_fields if getattr(f, "max_length", None)}
        self.choices = {name: _choice_map(c) for name, c in CHOICES[kind].items()}
        users = list(User.objects.filter(is_active=True).only("pk", "username", "display_name", "first_name"))
        self.users_by_name: dict[str, list[User]] = {}
        for user in users:
            for key in {_norm(user.username), _norm(user.display_name)} - {""}:
                self.users_by_name.setdefault(key, []).append(user)
        self.assignable = set(assignable_users_for(actor).values_list("pk", flat=True))
        self.visible = visible_owner_ids(actor)
        self.territories: dict[str, Territory] = {}
        if "region" in self.columns:
            for territory in Territory.objects.all():
                self.territories.setdefault(_norm(territory.name), territory)
                self.territories.setdefault(_norm(territory.code), territory)
        self.currencies = {code for code, _label in currency_choices()}
        self.pipelines: dict[str, Pipeline] = {}
        self.stages: dict[int, dict[str, Stage]] = {}
        self.lost_reasons: dict[str, LostReason] = {}
        self.default_pipelines: dict[int, Pipeline | str] = {}  # owner → pipeline, or why none
        if kind == ImportKind.OPPORTUNITY:
            for pipeline in Pipeline.objects.filter(is_active=True):
                for key in (pipeline.code, pipeline.name_en, pipeline.name_zh):
                    if key:
                        self.pipelines.setdefault(_norm(key), pipeline)
            for stage in Stage.objects.filter(is_active=True).order_by("position"):
                by_name = self.stages.setdefault(stage.pipeline_id, {})
                for key in (stage.code, stage.name_en, stage.name_zh):
                    if key:
                        by_name.setdefault(_norm(key), stage)
            for reason in LostReason.objects.filter(is_active=True):
                for key in (reason.code, reason.name_en, reason.name_zh):
                    if key:
                        self.lost_reasons.setdefault(_norm(key), reason)

    def column(self, field_name: str) -> str:
        """The file's header holding ``field_name`` (the field's name when it is not mapped)."""
        return self.columns.get(field_name, field_name)


def _owner(ctx: Context, text: str, row: RowResult) -> User | None:
    if not text:
        return ctx.actor
    found = ctx.users_by_name.get(_norm(text), [])
    if not found:
        row.errors.append((ctx.column("owner"), _("No active user has this username or name.")))
        return None
    if len({u.pk for u in found}) > 1:
        row.errors.append((ctx.column("owner"), _("Several users have this name; use the username.")))
        return None
    owner = found[0]
    if owner.pk not in ctx.assignable:
        row.errors.append((ctx.column("owner"), _("You cannot assign records to this user.")))
        return None
    return owner


def _format_error(name: str, text: str) -> str | None:
    """The services' own format checks of contact details, run early for the preview."""
    if name == "mobile":
        return mobile_error(normalize_phone(text))
    if name == "phone":
        return phone_error(normalize_phone(text))
    if name == "email":
        try:
            validate_email(normalize_email(text))
        except ValidationError:
            return _("Enter a valid email address.")
    if name == "credit_code" and not credit_code_is_valid(normalize_credit_code(text)):
        return _("Enter a valid 18-character unified social credit code.")
    return None


def _parse_cells(ctx: Context, cells: dict[str, str], row: RowResult) -> dict[str, Any]:
    """Field values of one row, checked one by one (errors go to ``row.errors``)."""
    out: dict[str, Any] = {}
    currency_field = "budget_currency" if ctx.kind == ImportKind.LEAD else "currency"
    currency = (cells.get(currency_field) or default_currency()).strip().upper()
    if cells.get(currency_field):
        if currency not in ctx.currencies:
            row.errors.append(
                (ctx.column(currency_field), _("“%(currency)s” is not a supported currency.") % {"currency": currency})
            )
        out[currency_field] = currency
    for name, text in cells.items():
        column = ctx.column(name)
        if name in IGNORED or name == currency_field:
            continue
        if name == "owner":
            out["owner"] = _owner(ctx, text, row)
        elif not text:
            continue
        elif name in DATE_FIELDS:
            day = parse_date(text)
            if day is None:
                row.errors.append((column, _("Enter a date as YYYY-MM-DD.")))
            elif name in ("created_at", "closed_at") and day > timezone.localdate():
                row.errors.append((column, _("The date cannot be in the future.")))
            elif day.year < 1990:
                row.errors.append((column, _("The date cannot be before 1990.")))
            else:
                out[name] = day
        elif name in AMOUNT_FIELDS:
            try:
                out[name] = parse_amount(_AMOUNT_NOISE.sub("", text), currency)
            except AmountError as exc:
                row.errors.append((column, str(exc.message)))
        elif name in ctx.choices:
            value = ctx.choices[name].get(_norm(text))
            if value is None:
                row.errors.append((column, _("“%(value)s” is not one of the choices.") % {"value": text[:50]}))
            else:
                out[name] = value
        elif name == "region":
            territory = ctx.territories.get(_norm(text))
            if territory is None:
                row.errors.append((column, _("No territory has this name.")))
            else:
                out["region"] = territory
        else:
            limit = ctx.max_lengths.get(name)
            if limit and len(text) > limit:
                row.errors.append((column, _("Use at most %(max)d characters.") % {"max": limit}))
            elif message := _format_error(name, text):
                row.errors.append((column, message))
            else:
                out[name] = text
    if "owner" not in out:
        out["owner"] = ctx.actor
    return out


def _resolve_accounts(ctx: Context, rows: list[tuple[RowResult, dict[str, Any]]]) -> None:
    """Replace the account names of contact and opportunity rows by visible accounts."""
    keys = {company_name_key(str(v.get("account", ""))) for _r, v in rows if v.get("account")}
    found: dict[str, list[Account]] = {}
    if keys:
        for account in accounts_visible_to(ctx.actor).filter(name_key__in=keys - {""}).select_related("owner"):
            found.setdefault(account.name_key, []).append(account)
    for row, values in rows:
        name = str(values.get("account") or "")
        if not name:
            row.errors.append((ctx.column("account"), _("This field is required.")))
            values.pop("account", None)
            continue
        accounts = found.get(company_name_key(name), [])
        if not accounts:
            row.errors.append((ctx.column("account"), _("No account with this name that you can see.")))
            values.pop("account", None)
        elif len(accounts) > 1:
            row.errors.append((ctx.column("account"), _("Several accounts have this name.")))
            values.pop("account", None)
        else:
            values["account"] = accounts[0]


def _opportunity_fields(ctx: Context, row: RowResult, values: dict[str, Any]) -> None:
    """Pipeline, stage, outcome and lost reason of an opportunity row."""
    owner = values.get("owner")
    pipeline_name = str(values.pop("pipeline", "") or "")
    pipeline: Pipeline | None = None
    if pipeline_name:
        pipeline = ctx.pipelines.get(_norm(pipeline_name))
        if pipeline is None:
            row.errors.append((ctx.column("pipeline"), _("No active pipeline has this name.")))
            return
    elif owner is not None:
        from salesflow.sales.services import default_pipeline_for

        if owner.pk not in ctx.default_pipelines:  # once per owner and job, not per row
            try:
                ctx.default_pipelines[owner.pk] = default_pipeline_for(owner)
            except ServiceError as exc:
                ctx.default_pipelines[owner.pk] = str(exc.message)
        found = ctx.default_pipelines[owner.pk]
        if isinstance(found, str):
            row.errors.append((ctx.column("pipeline"), found))
            return
        pipeline = found
    if pipeline is None:
        return
    values["pipeline"] = pipeline
    outcome_text = str(values.pop("outcome", "") or "")
    outcome = _OUTCOMES.get(_norm(outcome_text)) if outcome_text else None
    if outcome_text and outcome is None:
        row.errors.append((ctx.column("outcome"), _("Use open, won or lost.")))
        return
    stage_name = str(values.pop("stage", "") or "")
    if stage_name:
        stage = ctx.stages.get(pipeline.pk, {}).get(_norm(stage_name))
        if stage is None:
            row.errors.append((ctx.column("stage"), _("The pipeline has no active stage with this name.")))
            return
        if stage.kind == StageKind.WON:
            outcome = outcome or Outcome.WON
        elif stage.kind == StageKind.LOST:
            outcome = outcome or Outcome.LOST
        else:
            values["stage"] = stage
        if stage.kind in (StageKind.WON, StageKind.LOST) and outcome != stage.kind:
            row.errors.append((ctx.column("stage"), _("The stage does not match the outcome.")))
            return
    outcome = outcome or Outcome.OPEN
    values["outcome"] = outcome
    if outcome in (Outcome.WON, Outcome.LOST):
        if "closed_at" not in values:
            row.errors.append((ctx.column("closed_at"), _("Say when the opportunity was closed.")))
        created = values.get("created_at")
        if created is not None and values.get("closed_at") is not None and values["closed_at"] < created:
            row.errors.append((ctx.column("closed_at"), _("The close date is before the creation date.")))
    elif "closed_at" in values:
        row.errors.append((ctx.column("closed_at"), _("Only won or lost opportunities have a close date.")))
    reason_text = str(values.pop("lost_reason", "") or "")
    if outcome == Outcome.LOST:
        reason = ctx.lost_reasons.get(_norm(reason_text or "other"))
        if reason is None:
            row.errors.append((ctx.column("lost_reason"), _("No active lost reason has this name.")))
        values["lost_reason"] = reason


def _strong_keys(kind: str, values: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, label) pairs identifying the record for "already exists"."""
    keys: list[tuple[str, str]] = []
    if kind in (ImportKind.LEAD, ImportKind.CONTACT):
        if mobile := normalize_phone(str(values.get("mobile") or "")):
            keys.append((f"mobile:{mobile}", _("mobile")))
        if email := normalize_email(str(values.get("email") or "")):
            keys.append((f"email:{email}", _("email")))
    elif kind == ImportKind.ACCOUNT:
        if code := normalize_credit_code(str(values.get("credit_code") or "")):
            keys.append((f"credit:{code}", _("unified social credit code")))
        if name_key := company_name_key(str(values.get("name") or "")):
            keys.append((f"name:{name_key}", _("company name")))
    elif kind == ImportKind.OPPORTUNITY:
        account = values.get("account")
        name = str(values.get("name") or "").strip().casefold()
        if isinstance(account, Account) and name:
            keys.append((f"opp:{account.pk}:{name}", _("name at this account")))
    return keys


def _existing_keys(kind: str, rows: Sequence[tuple[RowResult, dict[str, Any]]]) -> dict[str, str]:
    """Strong key → owner name of an existing record with it (a fixed number of queries)."""
    found: dict[str, str] = {}
    wanted = {key for _r, values in rows for key, _label in _strong_keys(kind, values)}
    if not wanted:
        return found

    def pick(prefix: str) -> set[str]:
        return {k.split(":", 1)[1] for k in wanted if k.startswith(prefix + ":")}

    def owner_name(user: User | None) -> str:
        return str(user) if user is not None else _("nobody")

    if kind == ImportKind.LEAD:
        q = Q(mobile__in=pick("mobile")) | Q(email__in=pick("email"))
        for lead in Lead.objects.filter(q).select_related("owner").only("mobile", "email", "owner"):
            for key in (f"mobile:{lead.mobile}", f"email:{lead.email}"):
                found.setdefault(key, owner_name(lead.owner))
    elif kind == ImportKind.CONTACT:
        q = Q(mobile__in=pick("mobile")) | Q(email__in=pick("email"))
        for contact in (
            Contact.objects.filter(q).select_related("account__owner").only("mobile", "email", "account__owner")
        ):
            for key in (f"mobile:{contact.mobile}", f"email:{contact.email}"):
                found.setdefault(key, owner_name(contact.account.owner))
    elif kind == ImportKind.ACCOUNT:
        q = Q(credit_code__in=pick("credit")) | Q(name_key__in=pick("name"))
        for account in Account.objects.filter(q).select_related("owner").only("credit_code", "name_key", "owner"):
            if account.credit_code:
                found.setdefault(f"credit:{account.credit_code}", owner_name(account.owner))
            found.setdefault(f"name:{account.name_key}", owner_name(account.owner))
    elif kind == ImportKind.OPPORTUNITY:
        pairs = [k.split(":", 2) for k in wanted]
        account_ids = {int(p[1]) for p in pairs}
        names = {p[2] for p in pairs}
        for opp in (
            Opportunity.objects.filter(account_id__in=account_ids)
            .select_related("owner")
            .only("name", "account_id", "owner")
        ):
            name = opp.name.strip().casefold()
            if name in names:
                found.setdefault(f"opp:{opp.account_id}:{name}", owner_name(opp.owner))
    return found


def fingerprint(kind: str, file_hash: str, number: int) -> str:
    """The key of row ``number`` of the file with ``file_hash`` (same file, same row)."""
    return f"{kind}:{file_hash}:{number}"


def external_key(kind: str, external_id: str) -> str:
    return f"{kind}:{external_id}"[:200] if external_id else ""


def _imported_before(ctx: Context, rows: Sequence[RowResult]) -> dict[str, int]:
    """Fingerprints and external keys of these rows already imported by another job → job id."""
    fps = {fingerprint(ctx.kind, ctx.file_hash, r.number) for r in rows}
    exts = {external_key(ctx.kind, r.external_id) for r in rows if r.external_id}
    qs = ImportRow.objects.filter(state=RowState.CREATED).filter(Q(fingerprint__in=fps) | Q(external_key__in=exts))
    if ctx.job_id is not None:
        qs = qs.exclude(job_id=ctx.job_id)
    found: dict[str, int] = {}
    for fp, ext, job_id in qs.values_list("fingerprint", "external_key", "job_id"):
        found[fp] = job_id
        if ext:
            found[ext] = job_id
    return found


def prepare_batch(
    ctx: Context, batch: Sequence[tuple[int, list[str]]], headers: Sequence[str], *, duplicates: bool = False
) -> list[RowResult]:
    """Check one batch of ``(row number, cells)``; with ``duplicates`` also attach the
    duplicate candidates of each valid lead, account or contact row."""
    index = {h: i for i, h in enumerate(headers)}
    prepared: list[tuple[RowResult, dict[str, Any]]] = []
    for number, cells in batch:
        by_field = {f: cells[index[h]] for h, f in ctx.mapping.items() if h in index}
        row = RowResult(number=number, external_id=by_field.get("id", "")[:150])
        values = _parse_cells(ctx, by_field, row)
        prepared.append((row, values))
    if ctx.kind in (ImportKind.CONTACT, ImportKind.OPPORTUNITY):
        _resolve_accounts(ctx, prepared)
    if ctx.kind == ImportKind.OPPORTUNITY:
        for row, values in prepared:
            _opportunity_fields(ctx, row, values)
    existing = _existing_keys(ctx.kind, prepared)
    before = _imported_before(ctx, [r for r, _v in prepared])
    for row, values in prepared:
        row.values = values
        fp = fingerprint(ctx.kind, ctx.file_hash, row.number)
        ext = external_key(ctx.kind, row.external_id)
        if fp in before or (ext and ext in before):
            row.exists = _("Already imported by import #%(job)d.") % {"job": before.get(fp) or before[ext]}
            continue
        for key, label in _strong_keys(ctx.kind, values):
            if key in existing:
                row.exists = _("Already exists: a record with the same %(key)s (owner: %(owner)s).") % {
                    "key": label,
                    "owner": existing[key],
                }
                break
            if key in ctx.seen and ctx.seen[key] != row.number:
                row.exists = _("Same %(key)s as row %(row)d of this file.") % {"key": label, "row": ctx.seen[key]}
                break
        if not row.errors and not row.exists:
            for key, _label in _strong_keys(ctx.kind, values):
                ctx.seen.setdefault(key, row.number)
    if duplicates and ctx.kind != ImportKind.OPPORTUNITY:
        valid = [(r, v) for r, v in prepared if not r.errors]
        if valid:
            candidates = find_candidates_bulk(
                ctx.kind,  # type: ignore[arg-type]
                [_dedupe_values(ctx.kind, v) for _r, v in valid],
                limit=3,
            )
            for (row, _values), found in zip(valid, candidates, strict=True):
                row.duplicates = found
    return [r for r, _v in prepared]


def _dedupe_values(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in values.items()
        if k in ("name", "mobile", "phone", "email", "company_name", "credit_code", "account")
    }


def candidate_label(ctx: Context, candidate: Candidate) -> str:
    """A duplicate candidate as the importing user may see it: its name when they see its
    owner's records, else only that it belongs to someone else."""
    if ctx.visible is None or candidate.owner_id in ctx.visible:
        return candidate.label
    return _("a record of another owner")


# ------------------------------------------------------------------------------ writing


def write_row(ctx: Context, row: RowResult) -> tuple[str, int]:
    """Create the record of a valid ``row`` through its service as ``ctx.actor``; returns
    (kind, pk). Raises the service's ``ServiceError`` when it refuses the row."""
    values = dict(row.values)
    created_day = values.pop("created_at", None)
    created_at = historical_moment(created_day) if created_day else None
    options = {"via": "import", "import_job": ctx.job_id, "import_row": row.number}
    actor = ctx.actor
    if ctx.kind == ImportKind.LEAD:
        from salesflow.leads.services import lead_create

        lead = lead_create(
            actor=actor,
            intake_action="import",
            intake_options=options,
            created_at=created_at,
            name=values.pop("name", ""),
            source_channel=values.pop("source_channel", ""),
            owner=values.pop("owner"),
            **values,
        )
        return "lead", lead.pk
    if ctx.kind == ImportKind.ACCOUNT:
        from salesflow.parties.services import account_create

        account = account_create(
            actor=actor,
            intake_action="import",
            intake_options=options,
            created_at=created_at,
            name=values.pop("name", ""),
            owner=values.pop("owner"),
            **values,
        )
        return "account", account.pk
    if ctx.kind == ImportKind.CONTACT:
        from salesflow.parties.services import contact_create

        values.pop("owner", None)
        contact = contact_create(
            actor=actor,
            intake_action="import",
            intake_options=options,
            created_at=created_at,
            account=values.pop("account"),
            name=values.pop("name", ""),
            **values,
        )
        return "contact", contact.pk
    from salesflow.sales.services import opportunity_close, opportunity_create

    outcome = values.pop("outcome", Outcome.OPEN)
    closed_day = values.pop("closed_at", None)
    lost_reason = values.pop("lost_reason", None)
    opp = opportunity_create(
        actor=actor,
        created_at=created_at,
        account=values.pop("account"),
        owner=values.pop("owner"),
        name=values.pop("name", ""),
        **values,
    )
    if outcome in (Outcome.WON, Outcome.LOST) and closed_day is not None:
        opportunity_close(
            actor=actor,
            opportunity=opp,
            outcome=outcome,
            lost_reason=lost_reason,
            closed_on=closed_day,
            closed_at=historical_moment(closed_day, not_before=opp.created_at),
            note=_("Imported"),
        )
    return "opportunity", opp.pk


def _batch_arguments(ctx: Context, rows: Sequence[RowResult]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``*_create_many`` services' ``rows`` and ``intake_options`` for valid import rows:
    the values with the created day as a historical moment, and each row's import origin."""
    arguments: list[dict[str, Any]] = []
    options: list[dict[str, Any]] = []
    for row in rows:
        values = dict(row.values)
        created_day = values.pop("created_at", None)
        values["created_at"] = historical_moment(created_day) if created_day else None
        values.setdefault("name", "")
        if ctx.kind == ImportKind.LEAD:
            values.setdefault("source_channel", "")
        if ctx.kind == ImportKind.CONTACT:
            values.pop("owner", None)
        if ctx.kind == ImportKind.OPPORTUNITY:
            # write_row's close: a won or lost row with its close day, noted as imported
            outcome = values.pop("outcome", Outcome.OPEN)
            closed_day = values.pop("closed_at", None)
            lost_reason = values.pop("lost_reason", None)
            if outcome in (Outcome.WON, Outcome.LOST) and closed_day is not None:
                values.update(outcome=outcome, closed_on=closed_day, lost_reason=lost_reason, note=_("Imported"))
        arguments.append(values)
        options.append({"via": "import", "import_job": ctx.job_id, "import_row": row.number})
    return arguments, options


# Kinds written a batch at a time (:func:`write_rows`): all of them.
BATCHED_KINDS = frozenset({ImportKind.LEAD, ImportKind.ACCOUNT, ImportKind.CONTACT, ImportKind.OPPORTUNITY})


def write_rows(ctx: Context, rows: Sequence[RowResult]) -> list[tuple[int | None, ServiceError | None]]:
    """:func:`write_row` for many valid rows of a batched kind at once, through the kind's
    ``*_create_many`` service (``leads.services.lead_create_many``,
    ``parties.services.account_create_many`` / ``contact_create_many``,
    ``sales.services.opportunity_create_many``: the same checks as the one-row services,
    written in bulk); per row (same order) the new record's pk or the
    service's refusal. Raises what the service raises for the whole batch (nothing of any
    row is then written)."""
    arguments, options = _batch_arguments(ctx, rows)
    if ctx.kind == ImportKind.LEAD:
        from salesflow.leads.services import lead_create_many

        leads = lead_create_many(actor=ctx.actor, rows=arguments, intake_action="import", intake_options=options)
        return [(item.lead.pk if item.lead is not None else None, item.error) for item in leads]
    if ctx.kind == ImportKind.OPPORTUNITY:
        from salesflow.sales.services import opportunity_create_many

        deals = opportunity_create_many(actor=ctx.actor, rows=arguments)
        return [(item.record.pk if item.record is not None else None, item.error) for item in deals]
    from salesflow.parties.services import account_create_many, contact_create_many

    create = account_create_many if ctx.kind == ImportKind.ACCOUNT else contact_create_many
    done = create(actor=ctx.actor, rows=arguments, intake_action="import", intake_options=options)
    return [(item.record.pk if item.record is not None else None, item.error) for item in done]


def service_errors(ctx: Context, exc: ServiceError) -> list[tuple[str, str]]:
    """A service's refusal as (column, reason) pairs, columns named by the file's headers."""
    aliases = {"closed_on": "closed_at", "company_key": "company_name", "name_key": "name"}
    if not exc.field_errors:
        return [("", str(exc.message))]
    return [
        (ctx.column(aliases.get(name, name)), message)
        for name, messages in exc.field_errors.items()
        for message in messages
    ]


def iter_batches(rows: Sequence[tuple[int, list[str]]], size: int) -> Iterable[Sequence[tuple[int, list[str]]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


Hook = Callable[[int], None]
