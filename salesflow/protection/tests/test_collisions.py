"""Collisions (撞单): opened on create, import and claim; the arbiter; decisions."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType

from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.intake import Intake, run_after, run_before
from salesflow.core.models import AuditEvent, AuditLink
from salesflow.leads.models import Lead
from salesflow.parties.models import Account
from salesflow.parties.tests.factories import make_contact
from salesflow.protection.choices import CollisionStatus
from salesflow.protection.models import Collision
from salesflow.protection.selectors import arbiter_for
from salesflow.protection.services import collision_decide, get_collision_for_user
from salesflow.protection.tests.factories import new_account, new_lead
from salesflow.users.choices import Role
from salesflow.users.models import Share, Team, User

pytestmark = pytest.mark.django_db

# notifications sit above this app: reach the model by name
Notification = apps.get_model("notifications", "Notification")


def _account_collision(personas) -> tuple[Collision, Account, Account]:
    existing = new_account(personas.teammate, personas.teammate, "上海星河科技有限公司")
    new = new_account(personas.rep, personas.rep, "上海星河科技")
    return Collision.objects.get(new_kind="account", new_id=new.pk), new, existing


def test_creating_another_reps_company_opens_a_collision_without_blocking(personas, committed) -> None:
    with committed():
        collision, new, existing = _account_collision(personas)
    assert new.owner == personas.rep  # the save went through
    assert (collision.existing_kind, collision.existing_id) == ("account", existing.pk)
    assert (collision.claimant, collision.holder, collision.arbiter) == (
        personas.rep,
        personas.teammate,
        personas.manager,
    )
    assert collision.status == CollisionStatus.OPEN and collision.action == "create"
    assert collision.score >= 0.85 and collision.reasons
    ct = ContentType.objects.get_for_model(Account)
    event = AuditEvent.objects.get(verb="protection.collision.opened", target_type=ct, target_id=new.pk)
    assert event.data["holder"] == personas.teammate.pk
    notified = set(Notification.objects.filter(kind="protection.collision.opened").values_list("recipient", flat=True))
    assert notified == {personas.rep.pk, personas.teammate.pk, personas.manager.pk}


def test_no_collision_with_ones_own_record(personas) -> None:
    new_account(personas.rep, personas.rep, "上海星河科技有限公司")
    new_account(personas.rep, personas.rep, "上海星河科技")
    assert not Collision.objects.exists()


def test_an_imported_lead_with_another_reps_mobile_opens_a_collision(personas) -> None:
    held = new_lead(personas.teammate, personas.teammate, mobile="13911112222")
    imported = new_lead(personas.rep, personas.rep, mobile="139 1111 2222", intake_action="import")
    collision = Collision.objects.get()
    assert (collision.new_kind, collision.new_id, collision.existing_id) == ("lead", imported.pk, held.pk)
    assert collision.action == "import" and "same mobile" in collision.reason_texts


def test_a_contact_at_the_reps_account_matching_another_reps_lead(personas) -> None:
    held = new_lead(personas.teammate, personas.teammate, mobile="13922223333")
    account = new_account(personas.rep, personas.rep, "独立客户公司")
    from salesflow.parties.services import contact_create

    # the lead's person (王先生, same mobile) now a contact at the rep's account
    contact = contact_create(
        actor=personas.rep,
        account=account,
        name="王先生",
        mobile="13922223333",
        intake_options={"duplicate_reason": "t"},
    )
    collision = Collision.objects.get(new_kind="contact")
    assert (collision.new_id, collision.existing_kind, collision.existing_id) == (contact.pk, "lead", held.pk)
    assert collision.score == 0.9991 and collision.reason_texts[:2] == ["same mobile", "same name"]
    # another person who shares the number is no collision (same mobile, different name: 0.62)
    contact_create(
        actor=personas.rep, account=account, name="赵六", mobile="13922223333", intake_options={"duplicate_reason": "t"}
    )
    assert Collision.objects.count() == 1


def test_claiming_a_record_another_rep_protects_opens_a_collision(personas) -> None:
    from datetime import timedelta

    from django.utils import timezone

    held = new_lead(personas.teammate, personas.teammate, mobile="13933334444")
    Lead.objects.filter(pk=held.pk).update(protected_until=timezone.now() + timedelta(days=5))
    pooled = new_lead(personas.admin, None, mobile="13933334444", name="王先生")
    assert not Collision.objects.exists()  # unassigned: no claimant yet
    # the pool's claim service runs the intake checks like this
    intake = run_before(Intake(kind="lead", action="claim", actor=personas.rep, values={}, record=pooled))
    Lead.objects.filter(pk=pooled.pk).update(owner=personas.rep)
    run_after(intake, pooled)
    collision = Collision.objects.get()
    assert (collision.claimant, collision.holder, collision.action) == (personas.rep, personas.teammate, "claim")
    assert any("protected by its owner until" in r for r in collision.reason_texts)


def test_conversion_opens_no_collision(personas) -> None:
    from salesflow.leads.services import lead_convert
    from salesflow.leads.tests.factories import qualified_lead

    new_account(personas.teammate, personas.teammate, "转换测试公司")
    lead = qualified_lead(owner=personas.rep, company_name="转换测试有限公司", credit_code="")
    lead_convert(actor=personas.rep, lead=lead, intake_options={"duplicate_reason": "t"})
    assert not Collision.objects.exists()


# --- the arbiter -------------------------------------------------------------------------------


def test_the_arbiter_is_the_lowest_manager_above_both(personas) -> None:
    assert arbiter_for(personas.rep, personas.teammate) == personas.manager
    # a sub-team with its own manager: its members meet the teammate only at the department
    lead_team = User.objects.create(username="sub_mgr", role=Role.MANAGER, team=personas.team_a, display_name="组长")
    sub = Team.objects.create(name="华东一组A", parent=personas.team_a, manager=lead_team)
    sub_rep = User.objects.create(username="sub_rep", role=Role.REP, team=sub, display_name="周七")
    sub_rep2 = User.objects.create(username="sub_rep2", role=Role.REP, team=sub, display_name="吴八")
    assert arbiter_for(sub_rep, sub_rep2) == lead_team
    assert arbiter_for(sub_rep, personas.teammate) == personas.manager
    # separate trees, or one of the reps is the only manager: the administrators decide
    assert arbiter_for(personas.rep, personas.outsider) is None
    assert arbiter_for(personas.outsider, personas.other_manager) is None


# --- deciding ------------------------------------------------------------------------------


def test_keep_leaves_both_owners(personas, committed) -> None:
    collision, new, existing = _account_collision(personas)
    with committed():
        collision_decide(actor=personas.manager, collision=collision, decision="keep", note="两家分公司")
    collision.refresh_from_db()
    assert collision.status == "decided" and collision.decided_by == personas.manager and collision.decided_at
    new.refresh_from_db()
    existing.refresh_from_db()
    assert (new.owner, existing.owner) == (personas.rep, personas.teammate)
    ct = ContentType.objects.get_for_model(Account)
    event = AuditEvent.objects.get(verb="protection.collision.decided")
    assert event.target_type == ct and event.target_id == new.pk
    linked = set(AuditLink.objects.filter(event=event, content_type=ct).values_list("object_id", flat=True))
    assert linked == {new.pk, existing.pk}  # on both records' timelines
    recipients = set(
        Notification.objects.filter(kind="protection.collision.decided").values_list("recipient", flat=True)
    )
    assert recipients == {personas.rep.pk, personas.teammate.pk}


def test_transfer_the_new_record_to_the_holder(personas) -> None:
    collision, new, existing = _account_collision(personas)
    collision_decide(actor=personas.manager, collision=collision, decision="transfer", direction="to_holder")
    new.refresh_from_db()
    existing.refresh_from_db()
    assert (new.owner, existing.owner) == (personas.teammate, personas.teammate)


def test_transfer_the_existing_record_to_the_claimant(personas) -> None:
    held = new_lead(personas.teammate, personas.teammate, mobile="13944445555")
    mine = new_lead(personas.rep, personas.rep, mobile="13944445555")
    collision = Collision.objects.get()
    collision_decide(actor=personas.admin, collision=collision, decision="transfer", direction="to_claimant")
    held.refresh_from_db()
    mine.refresh_from_db()
    assert (held.owner, mine.owner) == (personas.rep, personas.rep)


def test_an_accounts_transfer_moves_its_open_deals_not_its_closed_ones(personas) -> None:
    from salesflow.sales.choices import Outcome
    from salesflow.sales.models import Opportunity
    from salesflow.sales.tests.factories import make_opportunity

    collision, _new, existing = _account_collision(personas)
    open_deal = make_opportunity(personas.teammate, account=existing, name="星河二期")
    won = make_opportunity(personas.teammate, account=existing, name="星河一期")
    Opportunity.objects.filter(pk=won.pk).update(outcome=Outcome.WON)
    collision_decide(actor=personas.manager, collision=collision, decision="transfer", direction="to_claimant")
    existing.refresh_from_db()
    owners = dict(Opportunity.objects.filter(account=existing).values_list("name", "owner"))
    assert existing.owner == personas.rep
    assert owners == {"星河二期": personas.rep.pk, "星河一期": personas.teammate.pk}
    assert AuditEvent.objects.filter(verb="sales.opportunity.updated", target_id=open_deal.pk).count() == 1


def test_share_gives_the_claimant_write_access_to_the_existing_record(personas) -> None:
    collision, _new, existing = _account_collision(personas)
    collision_decide(actor=personas.manager, collision=collision, decision="share")
    existing.refresh_from_db()
    assert existing.owner == personas.teammate
    share = Share.objects.get(object_id=existing.pk, content_type=ContentType.objects.get_for_model(Account))
    assert (share.grantee_user, share.access) == (personas.rep, "write")


def test_a_contacts_transfer_moves_its_account(personas) -> None:
    held_account = new_account(personas.teammate, personas.teammate, "联系人所在公司")
    make_contact(held_account, name="钱九", mobile="13955556666")
    mine = new_lead(personas.rep, personas.rep, mobile="13955556666", name="钱九")
    collision = Collision.objects.get(new_id=mine.pk)
    assert collision.existing_kind == "contact"
    collision_decide(actor=personas.manager, collision=collision, decision="transfer", direction="to_claimant")
    held_account.refresh_from_db()
    assert held_account.owner == personas.rep


def test_only_an_arbiter_decides(personas) -> None:
    collision, _new, _existing = _account_collision(personas)
    for who in ("rep", "teammate", "assistant", "support"):
        with pytest.raises(Forbidden):
            collision_decide(actor=getattr(personas, who), collision=collision, decision="keep")
    # the claimant and holder read it; other trees do not even see it
    assert get_collision_for_user(personas.rep, collision.pk) == collision
    with pytest.raises(Forbidden):
        get_collision_for_user(personas.rep, collision.pk, decide=True)
    for who in ("outsider", "other_manager"):
        with pytest.raises(Collision.DoesNotExist):
            get_collision_for_user(getattr(personas, who), collision.pk)
        with pytest.raises(Forbidden):
            collision_decide(actor=getattr(personas, who), collision=collision, decision="keep")
    collision.refresh_from_db()
    assert collision.status == "open"


def test_a_decision_is_checked_and_made_once(personas) -> None:
    collision, _new, _existing = _account_collision(personas)
    with pytest.raises(ValidationFailed) as exc:
        collision_decide(actor=personas.manager, collision=collision, decision="transfer")
    assert "direction" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        collision_decide(actor=personas.manager, collision=collision, decision="delete")
    assert "decision" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        collision_decide(actor=personas.manager, collision=collision, decision="keep", note="x" * 2001)
    assert "note" in exc.value.field_errors
    collision_decide(actor=personas.manager, collision=collision, decision="keep")
    with pytest.raises(Conflict):
        collision_decide(actor=personas.manager, collision=collision, decision="share")
    assert not Share.objects.exists()


def test_a_transfer_the_arbiter_may_not_assign_is_refused_and_nothing_changes(personas) -> None:
    collision, new, _existing = _account_collision(personas)
    User.objects.filter(pk=personas.teammate.pk).update(is_active=False)
    with pytest.raises(ValidationFailed):
        collision_decide(actor=personas.manager, collision=collision, decision="transfer", direction="to_holder")
    collision.refresh_from_db()
    new.refresh_from_db()
    assert collision.status == "open" and new.owner == personas.rep
