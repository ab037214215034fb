"""Writes of the duplicates app: access requests (访问申请), merges (合并) and their undo
(撤销合并).

Every function checks the actor itself, runs in one transaction and audits what it did.
Errors are ``ServiceError``s (nothing written): ``ValidationFailed`` for bad input with the
field named, ``Forbidden`` for a right the actor lacks, ``Conflict`` for a state that
forbids the action; ``Http404`` for a record the actor may not see.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, time
from typing import Any, cast

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.audit import record_event
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.services import LeadChanges, lead_update
from salesflow.merging.models import MESSAGE_LENGTH, AccessLevel, AccessRequest, AccessStatus, MergeRecord
from salesflow.merging.permissions import MODELS, can_manage, can_read, can_write, merge_fields, record_owner_id
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import (
    AccountChanges,
    ContactChanges,
    account_update,
    contact_update,
)
from salesflow.search.services import index_record, reindex_records, unindex_record
from salesflow.users.models import User
from salesflow.users.policy import may_manage_shares
from salesflow.users.services import share_grant

#: related rows that point at a record through ``content_type``/``object_id``
GENERIC_MODELS = ("users.Share", "attachments.Attachment", "tags.TaggedItem")
#: columns never copied between records nor compared for undo
_BOOKKEEPING = frozenset({"id", "created_at", "updated_at"})


def _kind(kind: object) -> str:
    if kind not in MODELS:
        raise ValidationFailed(
            _("Choose a lead, an account or a contact."), field_errors={"kind": [_("Unknown kind of record.")]}
        )
    return cast(str, kind)


def _clean_text(value: object, field: str, limit: int) -> str:
    text = str(value or "").strip()
    if "\x00" in text:
        raise ValidationFailed(
            _("The request could not be saved."), field_errors={field: [_("Remove the NUL characters.")]}
        )
    if len(text) > limit:
        message = _("Use at most %(max)d characters.") % {"max": limit}
        raise ValidationFailed(_("The request could not be saved."), field_errors={field: [message]})
    return text


# --- access requests ---------------------------------------------------------------------------


def _share_target(kind: str, record: models.Model) -> models.Model:
    """What a grant shares: the record itself, or a contact's account (contacts follow it)."""
    return cast(Contact, record).account if kind == "contact" else record


@transaction.atomic
def access_request_create(
    *, actor: User, kind: str, object_id: int, message: str = "", access: str = AccessLevel.READ
) -> AccessRequest:
    """Ask the owner of record ``kind``/``object_id`` for ``access`` (read or write).

    The actor may not be able to see the record (that is the point); they learn nothing more
    about it than the duplicate warning showed. Raises ``ValidationFailed`` for an unknown
    kind or access, a message with NUL bytes or over 2,000 characters; ``Http404`` for a
    record that does not exist; ``Conflict`` when the actor already has that access
    (``already_allowed``) or already has a pending request for it (``pending``); ``Forbidden``
    for users who may not write records at all (support, inactive). Audits
    ``merging.access.requested`` (the owner is notified).
    """
    kind = _kind(kind)
    if access not in AccessLevel.values:
        raise ValidationFailed(
            _("The request could not be saved."), field_errors={"access": [_("Choose read only or read and write.")]}
        )
    text = _clean_text(message, "message", MESSAGE_LENGTH)
    if not actor.is_authenticated or not actor.is_active or actor.role == "support":
        raise Forbidden(_("You may not request access to records."))
    model = MODELS[kind]
    qs = model._default_manager.all()
    if kind == "contact":
        qs = qs.select_related("account")
    record = qs.filter(pk=object_id).first()
    if record is None:
        raise Http404("record not found")
    allowed = can_write(actor, kind, object_id) if access == AccessLevel.WRITE else can_read(actor, kind, object_id)
    if allowed:
        raise Conflict(_("You already have this access."), code="already_allowed")
    owner_id = record_owner_id(kind, record)
    try:
        with transaction.atomic():
            request = AccessRequest.objects.create(
                requester=actor, kind=kind, object_id=object_id, owner_id=owner_id, access=access, message=text
            )
    except IntegrityError:
        raise Conflict(_("You already asked for access to this record."), code="pending") from None
    record_event(
        actor=actor,
        verb="merging.access.requested",
        target=request,
        data={"kind": kind, "object_id": object_id, "owner": owner_id, "requester": actor.pk, "access": access},
    )
    return request


def may_decide(actor: User, request: AccessRequest) -> bool:
    """The record's current owner, a manager above them or an administrator decides."""
    model = MODELS[request.kind]
    record = model._default_manager.filter(pk=request.object_id).first()
    owner_id = record_owner_id(request.kind, record) if record is not None else request.owner_id
    return may_manage_shares(actor, owner_id)


@transaction.atomic
def access_request_decide(*, actor: User, request: AccessRequest, grant: bool) -> AccessRequest:
    """Grant (share the record — a contact: its account — with the requester, read or write as
    asked, through ``users.services.share_grant``) or decline a pending request.

    Raises ``Forbidden`` unless ``actor`` may share the record (owner, a manager above the
    owner, an administrator); ``Conflict`` when the request was already decided
    (``decided``) or the record is gone (``record_gone``; the request is then closed as
    declined by nobody only on a later decline). Audits ``merging.access.granted`` or
    ``merging.access.declined`` on the request (and the record's timeline); the requester is
    notified.
    """
    locked = AccessRequest.objects.select_for_update().get(pk=request.pk)
    if not may_decide(actor, locked):
        raise Forbidden(_("Only the owner, a manager above the owner or an administrator may decide."))
    if locked.status != AccessStatus.PENDING:
        raise Conflict(_("This request has already been decided."), code="decided")
    model = MODELS[locked.kind]
    qs = model._default_manager.all()
    if locked.kind == "contact":
        qs = qs.select_related("account")
    record = qs.filter(pk=locked.object_id).first()
    if record is None and grant:
        raise Conflict(_("The record no longer exists."), code="record_gone")
    payload: dict[str, Any] = {
        "kind": locked.kind,
        "object_id": locked.object_id,
        "requester": locked.requester_id,
        "access": locked.access,
    }
    related = [record] if record is not None else []
    if grant and record is not None:
        share = share_grant(
            actor=actor, target=_share_target(locked.kind, record), grantee_user=locked.requester, access=locked.access
        )
        locked.status = AccessStatus.GRANTED
        payload["share_id"] = share.pk
    else:
        locked.status = AccessStatus.DECLINED
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    verb = "merging.access.granted" if grant else "merging.access.declined"
    record_event(actor=actor, verb=verb, target=locked, data=payload, related=related)
    request.status, request.decided_by, request.decided_at = locked.status, locked.decided_by, locked.decided_at
    return locked


# --- merge -------------------------------------------------------------------------------------


def _value(obj: models.Model, name: str) -> Any:
    field = cast(models.Field[Any, Any], obj._meta.get_field(name))
    return getattr(obj, field.attname)


class _Encoder(DjangoJSONEncoder):
    """Django's encoder, but times keep their microseconds (undo restores them exactly)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime | time):
            return o.isoformat()
        return super().default(o)


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=_Encoder))


def _insert(model: type[models.Model], row: Mapping[str, Any]) -> models.Model:
    """Insert a row with the given columns, ``auto_now`` ones included (raises ``IntegrityError``)."""
    values = _from_json(model, row)
    obj = model(**values)
    obj.save(force_insert=True)
    stamped = {
        f.attname: values[f.attname]
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) and f.attname in values
    }
    if stamped:
        model._default_manager.filter(pk=obj.pk).update(**stamped)
        for name, value in stamped.items():
            setattr(obj, name, value)
    return obj


def _row(obj: models.Model) -> dict[str, Any]:
    """Every column of ``obj`` as JSON-safe values, by attribute name."""
    return cast(dict[str, Any], _json({f.attname: f.value_from_object(obj) for f in obj._meta.concrete_fields}))


def _from_json(model: type[models.Model], row: Mapping[str, Any]) -> dict[str, Any]:
    """Column values back from :func:`_row` (dates, decimals parsed by their fields)."""
    out: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        if f.attname in row:
            value = row[f.attname]
            out[f.attname] = value if value is None or isinstance(f, models.JSONField) else f.to_python(value)
    return out


def _relations(model: type[models.Model]) -> list[tuple[type[models.Model], str]]:
    """Every (model, foreign key attname) pointing at ``model``, hidden ones included."""
    out: list[tuple[type[models.Model], str]] = []
    for rel in model._meta.get_fields(include_hidden=True):
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one):
            related = cast(type[models.Model], rel.related_model)
            if related._meta.app_label == "merging":
                continue
            out.append((related, cast(str, rel.field.attname)))  # type: ignore[union-attr]
    return out


def _generic_models() -> list[type[models.Model]]:
    return [apps.get_model(label) for label in GENERIC_MODELS]


def _move_row(model: type[models.Model], pk: Any, changes: dict[str, Any]) -> bool:
    """Point one row elsewhere; ``False`` when a unique constraint refuses (an equal row exists)."""
    try:
        with transaction.atomic():
            model._default_manager.filter(pk=pk).update(**changes)
    except IntegrityError:
        return False
    return True


def _move_related(kind: str, loser_pk: int, survivor_pk: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Move every row that points at the loser to the survivor. Returns ``moved``
    (``{model, field, pk}``) and ``dropped`` (``{model, row}``: rows deleted because the
    survivor already has an equal one — the same tag, the same deal contact, a share)."""
    model = MODELS[kind]
    moved: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    for related, attname in _relations(model):
        label = related._meta.label
        for row in related._default_manager.filter(**{attname: loser_pk}).order_by("pk"):
            if _move_row(related, row.pk, {attname: survivor_pk}):
                moved.append({"model": label, "field": attname, "pk": _json(row.pk)})
            else:
                dropped.append({"model": label, "row": _row(row)})
                related._default_manager.filter(pk=row.pk).delete()
    ct = ContentType.objects.get_for_model(model)
    for generic in _generic_models():
        label = generic._meta.label
        for row in generic._default_manager.filter(content_type=ct, object_id=loser_pk).order_by("pk"):
            if _move_row(generic, row.pk, {"object_id": survivor_pk}):
                moved.append({"model": label, "field": "object_id", "pk": row.pk})
            else:
                dropped.append({"model": label, "row": _row(row)})
                generic._default_manager.filter(pk=row.pk).delete()
    return moved, dropped


def _reindex_moved(moved: list[dict[str, Any]]) -> None:
    """Rewrite the search rows of the moved records (a contact or deal moved to another
    account shows that account's name, and a contact's row carries its owner)."""
    by_model: dict[str, list[int]] = {}
    for item in moved:
        if isinstance(item.get("pk"), int):
            by_model.setdefault(item["model"], []).append(item["pk"])
    for label, pks in by_model.items():
        reindex_records(apps.get_model(label), pks)


def _lock_pair(kind: str, a_pk: int, b_pk: int) -> dict[int, models.Model]:
    qs = MODELS[kind]._default_manager.select_for_update().filter(pk__in=[a_pk, b_pk]).order_by("pk")
    rows = {row.pk: row for row in qs}
    if kind == "contact":
        for contact in rows.values():
            cast(Contact, contact).account = Account.objects.get(pk=cast(Contact, contact).account_id)
    return rows


def _apply(actor: User, kind: str, survivor: models.Model, changes: dict[str, Any]) -> None:
    options = {"via": "merge"}
    if kind == "lead":
        lead_update(actor=actor, lead=cast(Lead, survivor), intake_options=options, **cast(LeadChanges, changes))
    elif kind == "account":
        account_update(
            actor=actor, account=cast(Account, survivor), intake_options=options, **cast(AccountChanges, changes)
        )
    else:
        contact_update(
            actor=actor, contact=cast(Contact, survivor), intake_options=options, **cast(ContactChanges, changes)
        )


@transaction.atomic
def record_merge(
    *,
    actor: User,
    kind: str,
    survivor: models.Model,
    loser: models.Model,
    field_choices: Mapping[str, str] | None = None,
) -> MergeRecord:
    """Merge ``loser`` into ``survivor`` (two leads, accounts or contacts) and return the
    :class:`MergeRecord` that can undo it.

    ``field_choices`` maps a field of :func:`merge_fields` to ``"survivor"`` or ``"loser"``
    (left out: the survivor's value stays). In one transaction, with both rows locked: the
    loser's related rows (for accounts contacts, deals, converted leads, activities,
    follow-up escalations; for contacts activities, deal-contact links and converted
    leads; for leads activities; for every kind attachments, tags and shares) move to the
    survivor — a row the survivor already has (the same tag, the same deal contact) is
    dropped, never duplicated —, the loser is deleted (its search row and shares with it)
    and the chosen values are saved on the survivor through its update service (validated,
    audited; the duplicate warning is quiet for ``via="merge"``).

    Raises ``ValidationFailed`` for an unknown kind, the same record twice, a record of
    another kind, an unknown field or choice; ``Forbidden`` unless ``actor`` may delete both
    records (ownership scope; a share is not enough); ``Conflict`` for a converted lead
    (``converted``) or a record merged meanwhile (``gone``). Audits
    ``merging.record.merged`` on the survivor, shown on the loser's timeline too.
    """
    kind = _kind(kind)
    model = MODELS[kind]
    if not isinstance(survivor, model) or not isinstance(loser, model):
        raise ValidationFailed(_("Both records must be of the chosen kind."), field_errors={"kind": [_("Wrong kind.")]})
    if survivor.pk == loser.pk:
        raise ValidationFailed(
            _("Choose two different records."), field_errors={"loser": [_("This is the same record.")]}
        )
    for record in (survivor, loser):
        if not can_manage(actor, kind, record):
            raise Forbidden(_("You may only merge records you may delete."))
    survivor_pk, loser_pk = cast(int, survivor.pk), cast(int, loser.pk)
    rows = _lock_pair(kind, survivor_pk, loser_pk)
    if len(rows) != 2:
        raise Conflict(_("One of the records no longer exists."), code="gone")
    current, other = rows[survivor_pk], rows[loser_pk]
    if kind == "lead" and LeadStatus.CONVERTED in (cast(Lead, current).status, cast(Lead, other).status):
        raise Conflict(_("A converted lead cannot be merged."), code="converted")
    if kind == "contact" and cast(Contact, current).account_id != cast(Contact, other).account_id:
        raise Conflict(
            _("These contacts belong to different accounts. Merge the accounts first."), code="different_accounts"
        )
    fields = merge_fields(actor, kind, current, other)
    choices = dict(field_choices or {})
    errors: dict[str, list[str]] = {}
    for name, choice in choices.items():
        if name not in fields:
            errors.setdefault(str(name)[:100], []).append(_("This field cannot be merged."))
        elif choice not in ("survivor", "loser"):
            errors.setdefault(name, []).append(_("Choose the survivor's or the other record's value."))
    if errors:
        raise ValidationFailed(_("The merge could not be done."), field_errors=errors)
    changes: dict[str, Any] = {}
    for name in fields:
        if choices.get(name) == "loser" and _value(current, name) != _value(other, name):
            changes[name] = getattr(other, name)
    before = _row(current)
    loser_row = _row(other)
    loser_label = str(other)[:200]
    moved, dropped = _move_related(kind, loser_pk, survivor_pk)
    unindex_record(other)
    other.delete()
    if changes:
        _apply(actor, kind, current, changes)
    fresh = model._default_manager.get(pk=current.pk)
    after = _row(fresh)
    diff = {k: [before[k], after[k]] for k in after if k not in _BOOKKEEPING and before.get(k) != after[k]}
    index_record(fresh)
    _reindex_moved(moved)
    merge = MergeRecord.objects.create(
        kind=kind,
        survivor_id=survivor_pk,
        loser_id=loser_pk,
        loser_label=loser_label,
        actor=actor if actor.pk else None,
        snapshot={"loser": loser_row, "survivor_changes": diff, "moved": moved, "dropped": dropped},
    )
    record_event(
        actor=actor,
        verb="merging.record.merged",
        target=fresh,
        data={
            "kind": kind,
            "merge_id": merge.pk,
            "survivor": survivor_pk,
            "loser": loser_pk,
            "loser_label": loser_label,
            "moved": len(moved),
        },
        related=[model(pk=loser_pk)],
    )
    return merge


def _changed_since(kind: str, survivor: models.Model, diff: Mapping[str, list[Any]]) -> list[str]:
    now = _row(survivor)
    return sorted(name for name, (_old, new) in diff.items() if now.get(name) != new)


@transaction.atomic
def merge_undo(*, actor: User, merge: MergeRecord) -> MergeRecord:
    """Undo ``merge``: recreate the merged-away record with its original id and every column,
    put the survivor's merged fields back to their earlier values, move every moved row
    back and recreate the rows dropped as duplicates.

    Refused with ``Conflict`` (nothing changed) when the merge was already undone
    (``undone``), the survivor is gone (``gone``), one of the survivor's merged fields
    changed since (``changed``, the message names them), a moved row now points at another
    record (``moved_on``), or the old id or a unique value (a credit code) is taken
    (``taken``). Raises ``Forbidden`` unless ``actor`` may delete the survivor. Rows
    deleted since the merge stay deleted. Audits ``merging.record.merge_undone`` on the
    survivor and the restored record.
    """
    locked = MergeRecord.objects.select_for_update().get(pk=merge.pk)
    if locked.undone_at is not None:
        raise Conflict(_("This merge has already been undone."), code="undone")
    kind = _kind(locked.kind)
    model = MODELS[kind]
    qs = model._default_manager.select_for_update()
    survivor = qs.filter(pk=locked.survivor_id).first()
    if survivor is None:
        raise Conflict(_("The record merged into no longer exists."), code="gone")
    if kind == "contact":
        cast(Contact, survivor).account = Account.objects.get(pk=cast(Contact, survivor).account_id)
    if not can_manage(actor, kind, survivor):
        raise Forbidden(_("You may only undo merges of records you may delete."))
    snapshot: dict[str, Any] = locked.snapshot or {}
    diff: dict[str, list[Any]] = snapshot.get("survivor_changes", {})
    changed = _changed_since(kind, survivor, diff)
    if changed:
        names = ", ".join(changed)
        raise Conflict(
            _("The record was changed after the merge (%(fields)s); undo would overwrite that.") % {"fields": names},
            code="changed",
        )
    if model._default_manager.filter(pk=locked.loser_id).exists():
        raise Conflict(_("The merged record's id is in use again; it cannot be restored."), code="taken")
    moved: list[dict[str, Any]] = snapshot.get("moved", [])
    for item in moved:
        related = apps.get_model(item["model"])
        row = related._default_manager.filter(pk=item["pk"]).values(item["field"]).first()
        if row is not None and row[item["field"]] != locked.survivor_id:
            raise Conflict(_("A record moved by the merge has been moved on since; undo is not safe."), code="moved_on")
    # the survivor's earlier values (frees a unique value it took from the loser)
    restore = _from_json(model, {name: old for name, (old, _new) in diff.items()})
    if restore:
        model._default_manager.filter(pk=survivor.pk).update(**restore)
    try:
        with transaction.atomic():
            loser = _insert(model, snapshot.get("loser", {}))
    except IntegrityError:
        raise Conflict(_("Another record now holds a unique value of the merged one."), code="taken") from None
    for item in moved:
        related = apps.get_model(item["model"])
        value = locked.loser_id
        related._default_manager.filter(pk=item["pk"]).update(**{item["field"]: value})
    for item in snapshot.get("dropped", []):
        related = apps.get_model(item["model"])
        try:
            with transaction.atomic():
                _insert(related, item["row"])
        except IntegrityError:
            continue  # an equal row exists again (or its other end is gone): nothing to restore
    fresh_survivor = model._default_manager.get(pk=survivor.pk)
    index_record(fresh_survivor)
    index_record(loser)
    _reindex_moved(moved)
    locked.undone_at = timezone.now()
    locked.undone_by = actor if actor.pk else None
    locked.save(update_fields=["undone_at", "undone_by", "updated_at"])
    record_event(
        actor=actor,
        verb="merging.record.merge_undone",
        target=fresh_survivor,
        data={
            "kind": kind,
            "merge_id": locked.pk,
            "survivor": locked.survivor_id,
            "loser": locked.loser_id,
            "loser_label": locked.loser_label,
        },
        related=[loser],
    )
    merge.undone_at, merge.undone_by = locked.undone_at, locked.undone_by
    return locked
