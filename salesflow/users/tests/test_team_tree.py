"""The team tree behind every visibility rule: depth, several managed teams, delegation,
inactive users, and cycles (refused in the admin, harmless in the functions)."""

from __future__ import annotations

import pytest
from django.test import Client

from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.permissions import (
    assignable_users_for,
    team_subtree_ids,
    visible_owner_ids,
    writable_owner_ids,
)
from salesflow.users.services import system_actor
from salesflow.users.testing import PASSWORD

pytestmark = pytest.mark.django_db


def _user(username: str, role: str = Role.REP, team: Team | None = None, *, active: bool = True) -> User:
    user = User(username=username, role=role, team=team, is_active=active)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def tree() -> dict[str, Team]:
    """company → region → (east, west); east → east-1 (four levels)."""
    company = Team.objects.create(name="company")
    region = Team.objects.create(name="region", parent=company)
    east = Team.objects.create(name="east", parent=region)
    west = Team.objects.create(name="west", parent=region)
    east1 = Team.objects.create(name="east-1", parent=east)
    other = Team.objects.create(name="other")
    return {"company": company, "region": region, "east": east, "west": west, "east1": east1, "other": other}


def test_subtree_covers_every_level(tree: dict[str, Team]) -> None:
    ids = team_subtree_ids([tree["company"].pk])
    assert ids == {t.pk for name, t in tree.items() if name != "other"}
    assert team_subtree_ids([tree["east"].pk]) == {tree["east"].pk, tree["east1"].pk}
    assert team_subtree_ids([tree["east1"].pk]) == {tree["east1"].pk}


def test_top_manager_sees_reps_three_levels_down(tree: dict[str, Team]) -> None:
    boss = _user("boss", Role.MANAGER, tree["company"])
    tree["company"].manager = boss
    tree["company"].save()
    deep = _user("deep", team=tree["east1"])
    west = _user("westrep", team=tree["west"])
    outsider = _user("outsider", team=tree["other"])
    ids = visible_owner_ids(boss)
    assert ids is not None and {boss.pk, deep.pk, west.pk} <= ids and outsider.pk not in ids


def test_manager_of_several_teams_sees_all_of_them_only(tree: dict[str, Team]) -> None:
    multi = _user("multi", Role.MANAGER)
    tree["east1"].manager = multi
    tree["east1"].save()
    tree["other"].manager = multi
    tree["other"].save()
    a = _user("a", team=tree["east1"])
    b = _user("b", team=tree["other"])
    c = _user("c", team=tree["west"])
    assert visible_owner_ids(multi) == {multi.pk, a.pk, b.pk}
    assert c.pk not in set(assignable_users_for(multi).values_list("pk", flat=True))


def test_assistant_for_two_reps(tree: dict[str, Team]) -> None:
    r1, r2, r3 = _user("r1", team=tree["east"]), _user("r2", team=tree["west"]), _user("r3", team=tree["east"])
    assistant = _user("asst", Role.ASSISTANT, tree["east"])
    assistant.delegated_reps.add(r1, r2)
    assert visible_owner_ids(assistant) == {assistant.pk, r1.pk, r2.pk}
    assert writable_owner_ids(assistant) == {assistant.pk, r1.pk, r2.pk}
    assert r3.pk not in (visible_owner_ids(assistant) or set())


def test_inactive_users_see_nothing_and_are_not_assignable(tree: dict[str, Team]) -> None:
    boss = _user("boss", Role.MANAGER, tree["region"])
    tree["region"].manager = boss
    tree["region"].save()
    gone = _user("gone", team=tree["east"], active=False)
    # the records of a departed rep stay visible to the manager…
    assert gone.pk in (visible_owner_ids(boss) or set())
    # …but nobody may make them the owner of anything, and they see nothing themselves
    assert not assignable_users_for(boss).filter(pk=gone.pk).exists()
    assert visible_owner_ids(gone) == set() and writable_owner_ids(gone) == set()
    inactive_boss = _user("oldboss", Role.MANAGER, active=False)
    tree["west"].manager = inactive_boss
    tree["west"].save()
    assert visible_owner_ids(inactive_boss) == set()


def test_subtree_terminates_on_a_cycle_in_the_data(tree: dict[str, Team]) -> None:
    # written past the admin's validation, as a raw update could
    Team.objects.filter(pk=tree["company"].pk).update(parent=tree["east1"])
    ids = team_subtree_ids([tree["east"].pk])
    assert ids == {t.pk for name, t in tree.items() if name != "other"}


def test_admin_refuses_a_team_cycle(tree: dict[str, Team]) -> None:
    admin = User.objects.create_superuser("root", "root@example.com", PASSWORD, role=Role.ADMIN)
    client = Client()
    client.force_login(admin)
    company = tree["company"]
    for parent in (tree["east1"], company):
        response = client.post(
            f"/admin/users/team/{company.pk}/change/",
            {"name": company.name, "parent": parent.pk, "manager": ""},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 200  # the form again, with the error
        assert "cannot be placed below itself" in response.content.decode()
        company.refresh_from_db()
        assert company.parent_id is None
    # a legal move still works
    response = client.post(
        f"/admin/users/team/{tree['west'].pk}/change/",
        {"name": "west", "parent": tree["east"].pk, "manager": ""},
    )
    assert response.status_code == 302
    assert Team.objects.get(pk=tree["west"].pk).parent_id == tree["east"].pk


def test_system_actor_sees_and_writes_everything_but_cannot_log_in() -> None:
    system = system_actor()
    assert system_actor().pk == system.pk
    assert visible_owner_ids(system) is None and writable_owner_ids(system) is None
    assert not system.has_usable_password() and not system.is_active
    assert not Client().login(username="system", password="")
    assert not assignable_users_for(system).filter(pk=system.pk).exists()


def test_system_actor_is_named_in_the_readers_language() -> None:
    from django.utils import translation

    system = system_actor()
    with translation.override("zh-hans"):
        assert str(system) == "系统"
    with translation.override("en"):
        assert str(system) == "System"
