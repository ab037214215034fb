"""The duplicate warning, access requests, merges and their undo, through the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.http import Http404

from salesflow.activities.models import Activity
from salesflow.attachments.models import Attachment
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_create, lead_update
from salesflow.leads.tests.factories import make_lead
from salesflow.merging.models import AccessRequest, AccessStatus, MergeRecord
from salesflow.merging.services import access_request_create, access_request_decide, merge_undo, record_merge
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import account_create, account_update, contact_create
from salesflow.parties.tests.factories import make_account, make_contact, valid_credit_code
from salesflow.sales.models import Opportunity, OpportunityContact
from salesflow.sales.tests.factories import make_opportunity
from salesflow.tags.models import Tag, TaggedItem
from salesflow.users.models import Share, ShareAccess
from salesflow.users.services import share_grant

pytestmark = pytest.mark.django_db

REASON = {"duplicate_reason": "同名不同人 / a different person"}


def _lead(owner: Any, **fields: Any) -> Lead:
    return lead_create(actor=owner, owner=owner, source_channel="inbound", intake_options=REASON, **fields)


# --- the warning -------------------------------------------------------------------------------


def test_a_lead_with_an_existing_mobile_is_refused_with_the_candidates(personas) -> None:
    existing = _lead(personas.rep, name="王磊", mobile="13800138000", company_name="上海星云智能科技有限公司")
    with pytest.raises(Conflict) as caught:
        lead_create(
            actor=personas.rep, owner=personas.rep, name="王磊", source_channel="inbound", mobile="138 0013 8000"
        )
    assert caught.value.code == "possible_duplicates"
    [item] = caught.value.data["duplicates"]
    assert item["kind"] == "lead" and item["id"] == existing.pk
    assert item["visible"] is True and item["writable"] is True
    assert item["label"] == str(existing) and item["url"] == f"/leads/{existing.pk}/"
    assert item["owner"] == str(personas.rep) and item["score"] >= 0.8 and item["reasons"]
    assert Lead.objects.count() == 1


def test_a_record_the_actor_cannot_see_is_named_by_kind_and_owner_only(personas) -> None:
    hidden = _lead(personas.outsider, name="秘密客户", mobile="13900139000", email="secret@example.com")
    # the same mobile and email under another name: the same person (6 + 6 - 3.5 - 2 log-odds)
    with pytest.raises(Conflict) as caught:
        lead_create(
            actor=personas.rep, owner=personas.rep, name="X", source_channel="inbound", mobile="13900139000",
            email="SECRET@example.com",
        )  # fmt: skip
    [item] = caught.value.data["duplicates"]
    assert item == {
        "kind": "lead",
        "id": hidden.pk,
        "score": 0.9985,
        "reasons": ["same mobile", "same email", "different name"],
        "owner": str(personas.outsider),
        "visible": False,
        "writable": False,
        "label": None,
        "url": None,
    }
    assert "秘密客户" not in str(caught.value.data) and "secret@" not in str(caught.value.data)


def test_save_anyway_records_the_reason_and_the_candidates(personas) -> None:
    first = _lead(personas.rep, name="王磊", mobile="13800138000")
    second = lead_create(
        actor=personas.rep,
        owner=personas.rep,
        name="王磊",
        source_channel="inbound",
        mobile="13800138000",
        intake_options={"duplicate_reason": "  他是同名同号的另一个项目  "},
    )
    event = AuditEvent.objects.get(verb="merging.duplicate.saved_anyway", target_id=second.pk)
    assert event.data == {
        "reason": "他是同名同号的另一个项目",
        "candidates": [{"kind": "lead", "id": first.pk, "score": 0.9991}],  # same mobile, same name
        "action": "create",
    }


@pytest.mark.parametrize("via", ["import", "merge", "convert"])
def test_imports_merges_and_conversions_are_not_stopped(personas, via) -> None:
    _lead(personas.rep, name="王磊", mobile="13800138000")
    lead_create(
        actor=personas.rep, owner=personas.rep, name="王磊", source_channel="inbound", mobile="13800138000",
        intake_options={"via": via},
    )  # fmt: skip
    assert Lead.objects.count() == 2
    assert not AuditEvent.objects.filter(verb="merging.duplicate.saved_anyway").exists()


def test_blank_reason_does_not_count_and_hostile_reasons_are_refused(personas) -> None:
    _lead(personas.rep, name="王磊", mobile="13800138000")
    kwargs: dict[str, Any] = {"actor": personas.rep, "owner": personas.rep, "name": "王磊", "source_channel": "inbound"}
    with pytest.raises(Conflict):
        lead_create(mobile="13800138000", intake_options={"duplicate_reason": "   "}, **kwargs)
    with pytest.raises(ValidationFailed) as nul:
        lead_create(mobile="13800138000", intake_options={"duplicate_reason": "a\x00b"}, **kwargs)
    assert "duplicate_reason" in nul.value.field_errors
    with pytest.raises(ValidationFailed) as huge:
        lead_create(mobile="13800138000", intake_options={"duplicate_reason": "长" * 50_000}, **kwargs)
    assert "duplicate_reason" in huge.value.field_errors
    assert Lead.objects.count() == 1


def test_update_checks_only_when_identity_changes_and_never_matches_itself(personas) -> None:
    a = _lead(personas.rep, name="甲", mobile="13800138001")
    b = _lead(personas.rep, name="甲甲", mobile="13800138002")
    lead_update(actor=personas.rep, lead=a, notes="only notes")  # no identity change: no check
    # its own mobile is not a duplicate (b: same name, another mobile, scores 0.5)
    lead_update(actor=personas.rep, lead=a, name="甲甲")
    with pytest.raises(Conflict) as caught:
        lead_update(actor=personas.rep, lead=a, mobile="13800138002")
    assert [d["id"] for d in caught.value.data["duplicates"]] == [b.pk]
    lead_update(actor=personas.rep, lead=a, mobile="13800138002", intake_options=REASON)
    assert AuditEvent.objects.filter(verb="merging.duplicate.saved_anyway", target_id=a.pk).exists()


def test_accounts_and_contacts_are_checked_too(personas) -> None:
    account = account_create(actor=personas.rep, owner=personas.rep, name="上海星云智能科技有限公司")
    with pytest.raises(Conflict) as caught:
        account_create(actor=personas.rep, owner=personas.rep, name="上海星云智能科技有限公司")
    assert caught.value.data["duplicates"][0]["kind"] == "account"
    other = account_create(actor=personas.rep, owner=personas.rep, name="北京另一家有限公司")
    with pytest.raises(Conflict):
        account_update(actor=personas.rep, account=other, name="上海星云智能科技有限公司")
    contact = contact_create(actor=personas.rep, account=account, name="王磊", mobile="13700137000")
    with pytest.raises(Conflict) as again:
        contact_create(actor=personas.rep, account=account, name="王磊", mobile="137 0013 7000")
    # the person at the same company is a candidate; the company's account is not
    assert [(d["kind"], d["id"]) for d in again.value.data["duplicates"]] == [("contact", contact.pk)]
    # the same name and mobile at a company in another region is another person
    contact_create(actor=personas.rep, account=other, name="王磊", mobile="13700137000")
    assert Contact.objects.count() == 2


# --- access requests ---------------------------------------------------------------------------


def test_access_request_granted_shares_the_record_and_is_audited(personas) -> None:
    lead = _lead(personas.outsider, name="秘密客户", mobile="13900139000")
    request = access_request_create(actor=personas.rep, kind="lead", object_id=lead.pk, message="我们在跟进同一家")
    assert request.owner_id == personas.outsider.pk and request.status == AccessStatus.PENDING
    with pytest.raises(Conflict) as twice:
        access_request_create(actor=personas.rep, kind="lead", object_id=lead.pk)
    assert twice.value.code == "pending"
    with pytest.raises(Forbidden):
        access_request_decide(actor=personas.rep, request=request, grant=True)
    with pytest.raises(Forbidden):
        access_request_decide(actor=personas.manager, request=request, grant=True)  # not above the owner
    access_request_decide(actor=personas.outsider, request=request, grant=True)
    request.refresh_from_db()
    assert request.status == AccessStatus.GRANTED and request.decided_by == personas.outsider
    share = Share.objects.get(object_id=lead.pk, content_type=ContentType.objects.get_for_model(Lead))
    assert share.grantee_user == personas.rep and share.access == ShareAccess.READ
    verbs = set(AuditEvent.objects.filter(target_id=request.pk).values_list("verb", flat=True))
    assert {"merging.access.requested", "merging.access.granted"} <= verbs
    with pytest.raises(Conflict) as decided:
        access_request_decide(actor=personas.outsider, request=request, grant=False)
    assert decided.value.code == "decided"
    with pytest.raises(Conflict) as allowed:
        access_request_create(actor=personas.rep, kind="lead", object_id=lead.pk)
    assert allowed.value.code == "already_allowed"


def test_access_request_declined_by_the_owners_manager_writes_no_share(personas) -> None:
    account = make_account(personas.outsider, name="华南某公司")
    contact = make_contact(account, name="刘某")
    request = access_request_create(actor=personas.rep, kind="contact", object_id=contact.pk, access="write")
    access_request_decide(actor=personas.other_manager, request=request, grant=False)
    request.refresh_from_db()
    assert request.status == AccessStatus.DECLINED and request.decided_by == personas.other_manager
    assert not Share.objects.exists()
    assert AuditEvent.objects.filter(verb="merging.access.declined", target_id=request.pk).exists()


def test_access_request_for_a_contact_shares_its_account(personas) -> None:
    account = make_account(personas.outsider)
    contact = make_contact(account)
    request = access_request_create(actor=personas.rep, kind="contact", object_id=contact.pk, access="write")
    access_request_decide(actor=personas.admin, request=request, grant=True)
    share = Share.objects.get()
    assert share.object_id == account.pk and share.access == ShareAccess.WRITE


def test_access_request_hostile_input(personas) -> None:
    lead = _lead(personas.outsider, name="x", mobile="13900139000")
    with pytest.raises(ValidationFailed):
        access_request_create(actor=personas.rep, kind="opportunity", object_id=lead.pk)
    with pytest.raises(ValidationFailed):
        access_request_create(actor=personas.rep, kind="lead", object_id=lead.pk, access="owner")
    with pytest.raises(ValidationFailed):
        access_request_create(actor=personas.rep, kind="lead", object_id=lead.pk, message="a\x00")
    with pytest.raises(ValidationFailed):
        access_request_create(actor=personas.rep, kind="lead", object_id=lead.pk, message="x" * 50_000)
    with pytest.raises(Http404):
        access_request_create(actor=personas.rep, kind="lead", object_id=10**12)
    with pytest.raises(Forbidden):
        access_request_create(actor=personas.support, kind="lead", object_id=lead.pk)
    assert not AccessRequest.objects.exists()


# --- merge and undo ----------------------------------------------------------------------------


def _rows(model: Any, **filters: Any) -> set[int]:
    return set(model.objects.filter(**filters).values_list("pk", flat=True))


def _tag(name: str, record: Any) -> TaggedItem:
    tag, _created = Tag.objects.get_or_create(name=name)
    return TaggedItem.objects.create(
        tag=tag, content_type=ContentType.objects.get_for_model(record), object_id=record.pk
    )


def _attachment(record: Any, n: int) -> Attachment:
    return Attachment.objects.create(
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        file_name=f"f{n}.pdf",
        stored_path=f"x/{record.pk}-{n}",
        size=1,
        mime_type="application/pdf",
        sha256="0" * 64,
    )


def test_account_merge_moves_every_related_kind_and_undo_restores_exactly(personas) -> None:
    rep = personas.rep
    code = valid_credit_code()
    survivor = make_account(rep, name="上海星云智能科技有限公司", phone="021-1")
    loser = make_account(rep, name="上海星云智能科技", credit_code=code, website="https://x.example")
    s_contact, l_contact = make_contact(survivor), make_contact(loser)
    l_deal = make_opportunity(rep, account=loser)
    l_activity = Activity.objects.create(kind="call", subject="call", owner=rep, account=loser)
    l_lead = make_lead(owner=rep, converted_account=loser)
    l_attachment = _attachment(loser, 1)
    shared_tag = _tag("VIP", survivor)
    dup_tag = _tag("VIP", loser)  # the survivor has it already: dropped, not duplicated
    own_tag = _tag("华东", loser)
    share = share_grant(actor=rep, target=loser, grantee_user=personas.teammate, access=ShareAccess.READ)
    loser_row = {f.attname: getattr(loser, f.attname) for f in Account._meta.concrete_fields}
    survivor_before = Account.objects.get(pk=survivor.pk)

    merge = record_merge(
        actor=rep,
        kind="account",
        survivor=survivor,
        loser=loser,
        field_choices={"credit_code": "loser", "website": "loser", "phone": "survivor"},
    )
    assert not Account.objects.filter(pk=loser.pk).exists()
    survivor.refresh_from_db()
    assert survivor.credit_code == code and survivor.website == "https://x.example" and survivor.phone == "021-1"
    assert _rows(Contact, account=survivor) == {s_contact.pk, l_contact.pk}
    assert _rows(Opportunity, account=survivor) == {l_deal.pk}
    assert _rows(Activity, account=survivor) == {l_activity.pk}
    assert _rows(Lead, converted_account=survivor) == {l_lead.pk}
    ct = ContentType.objects.get_for_model(Account)
    assert _rows(Attachment, content_type=ct, object_id=survivor.pk) == {l_attachment.pk}
    assert _rows(TaggedItem, content_type=ct, object_id=survivor.pk) == {shared_tag.pk, own_tag.pk}
    assert not TaggedItem.objects.filter(pk=dup_tag.pk).exists()
    assert _rows(Share, content_type=ct, object_id=survivor.pk) == {share.pk}
    event = AuditEvent.objects.get(verb="merging.record.merged")
    assert event.target_id == survivor.pk and event.data["loser"] == loser.pk and event.data["moved"] == 7

    merge_undo(actor=rep, merge=merge)
    restored = Account.objects.get(pk=loser.pk)
    assert {f.attname: getattr(restored, f.attname) for f in Account._meta.concrete_fields} == loser_row
    survivor.refresh_from_db()
    assert survivor.credit_code == survivor_before.credit_code and survivor.website == survivor_before.website
    assert _rows(Contact, account=survivor) == {s_contact.pk}
    assert _rows(Contact, account=loser) == {l_contact.pk}
    assert _rows(Opportunity, account=loser) == {l_deal.pk}
    assert _rows(Activity, account=loser) == {l_activity.pk}
    assert _rows(Lead, converted_account=loser) == {l_lead.pk}
    assert _rows(Attachment, content_type=ct, object_id=loser.pk) == {l_attachment.pk}
    assert _rows(TaggedItem, content_type=ct, object_id=loser.pk) == {dup_tag.pk, own_tag.pk}
    assert _rows(TaggedItem, content_type=ct, object_id=survivor.pk) == {shared_tag.pk}
    assert _rows(Share, content_type=ct, object_id=loser.pk) == {share.pk}
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == rep
    assert AuditEvent.objects.filter(verb="merging.record.merge_undone", target_id=survivor.pk).exists()
    with pytest.raises(Conflict) as again:
        merge_undo(actor=rep, merge=merge)
    assert again.value.code == "undone"


def test_contact_merge_dedupes_deal_links(personas) -> None:
    rep = personas.rep
    account = make_account(rep)
    survivor, loser = make_contact(account, name="王磊"), make_contact(account, name="王磊 ", email="w@x.cn")
    deal_both = make_opportunity(rep, account=account)
    deal_loser = make_opportunity(rep, account=account)
    OpportunityContact.objects.create(opportunity=deal_both, contact=survivor)
    dup = OpportunityContact.objects.create(opportunity=deal_both, contact=loser)
    moved = OpportunityContact.objects.create(opportunity=deal_loser, contact=loser)
    activity = Activity.objects.create(kind="call", subject="c", owner=rep, contact=loser)
    merge = record_merge(actor=rep, kind="contact", survivor=survivor, loser=loser, field_choices={"email": "loser"})
    assert OpportunityContact.objects.filter(contact=survivor).count() == 2
    assert not OpportunityContact.objects.filter(pk=dup.pk).exists()
    assert OpportunityContact.objects.get(pk=moved.pk).contact_id == survivor.pk
    assert Activity.objects.get(pk=activity.pk).contact_id == survivor.pk
    assert Contact.objects.get(pk=survivor.pk).email == "w@x.cn"
    merge_undo(actor=rep, merge=merge)
    assert OpportunityContact.objects.get(pk=dup.pk).contact_id == loser.pk
    assert OpportunityContact.objects.get(pk=moved.pk).contact_id == loser.pk
    assert Contact.objects.get(pk=survivor.pk).email == ""


def test_lead_merge_moves_activities_and_takes_chosen_values(personas) -> None:
    rep = personas.rep
    survivor = _lead(rep, name="王磊", mobile="13800138000", company_name="星云")
    loser = _lead(rep, name="王磊", mobile="13800138000", email="wang@x.cn", company_name="星云科技")
    activity = Activity.objects.create(kind="call", subject="c", owner=rep, lead=loser)
    merge = record_merge(
        actor=rep,
        kind="lead",
        survivor=survivor,
        loser=loser,
        field_choices={"email": "loser", "company_name": "loser"},
    )
    survivor.refresh_from_db()
    assert survivor.email == "wang@x.cn" and survivor.company_name == "星云科技"
    assert Activity.objects.get(pk=activity.pk).lead_id == survivor.pk
    # the derived columns that changed with the name are kept too, so undo restores them
    # (星云 → 星云科技: another normalised name, the same stem)
    assert sorted(merge.snapshot["survivor_changes"]) == ["company_key", "company_name", "company_norm", "email"]
    merge_undo(actor=rep, merge=merge)
    assert Lead.objects.values_list("company_name", "company_key", "company_norm").get(pk=survivor.pk) == (
        "星云",
        "星云",
        "星云",
    )


def test_undo_is_refused_when_the_survivor_changed_since(personas) -> None:
    rep = personas.rep
    survivor, loser = _lead(rep, name="甲", mobile="13800138000"), _lead(rep, name="乙", mobile="13800138000")
    merge = record_merge(actor=rep, kind="lead", survivor=survivor, loser=loser, field_choices={"name": "loser"})
    lead_update(actor=rep, lead=Lead.objects.get(pk=survivor.pk), name="丙")
    with pytest.raises(Conflict) as caught:
        merge_undo(actor=rep, merge=merge)
    assert caught.value.code == "changed" and "name" in str(caught.value.message)
    assert not Lead.objects.filter(pk=loser.pk).exists()
    assert MergeRecord.objects.get(pk=merge.pk).undone_at is None


def test_merge_rights_and_hostile_input(personas) -> None:
    mine = _lead(personas.rep, name="甲", mobile="13800138000")
    mine2 = _lead(personas.rep, name="乙", mobile="13800138000")
    theirs = _lead(personas.outsider, name="丙", mobile="13800138000")
    with pytest.raises(Forbidden):
        record_merge(actor=personas.rep, kind="lead", survivor=mine, loser=theirs)
    share_grant(actor=personas.outsider, target=theirs, grantee_user=personas.rep, access=ShareAccess.WRITE)
    with pytest.raises(Forbidden):  # a write share does not let you delete, so not merge
        record_merge(actor=personas.rep, kind="lead", survivor=mine, loser=theirs)
    with pytest.raises(Forbidden):
        record_merge(actor=personas.support, kind="lead", survivor=mine, loser=mine2)
    with pytest.raises(ValidationFailed):
        record_merge(actor=personas.rep, kind="lead", survivor=mine, loser=mine)
    with pytest.raises(ValidationFailed):
        record_merge(actor=personas.rep, kind="deal", survivor=mine, loser=mine2)
    with pytest.raises(ValidationFailed):
        record_merge(actor=personas.rep, kind="account", survivor=mine, loser=mine2)
    with pytest.raises(ValidationFailed) as unknown:
        record_merge(actor=personas.rep, kind="lead", survivor=mine, loser=mine2, field_choices={"status": "loser"})
    assert "status" in unknown.value.field_errors
    with pytest.raises(ValidationFailed):
        record_merge(actor=personas.rep, kind="lead", survivor=mine, loser=mine2, field_choices={"name": "both"})
    assert Lead.objects.count() == 3 and not MergeRecord.objects.exists()


def test_undo_refused_when_the_old_id_or_credit_code_is_taken(personas) -> None:
    rep = personas.rep
    code = valid_credit_code()
    survivor, loser = make_account(rep, name="甲公司"), make_account(rep, name="甲公司 ", credit_code=code)
    merge = record_merge(actor=rep, kind="account", survivor=survivor, loser=loser)  # survivor keeps no code
    make_account(rep, name="另一家", credit_code=code)
    with pytest.raises(Conflict) as caught:
        merge_undo(actor=rep, merge=merge)
    assert caught.value.code == "taken"
    assert not Account.objects.filter(pk=loser.pk).exists()
