"""Named personas for tests: the same organisation in every test module.

``销售部`` (managed by ``manager``) contains ``华东一组`` with ``rep``, ``teammate``,
``assistant`` (delegated to ``rep``) and ``support``. ``华南一组`` is a separate tree
with ``outsider`` and its own manager ``other_manager``. ``admin`` sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from salesflow.users.choices import Role
from salesflow.users.models import Team, User

PASSWORD = "Salesflow-test-2026"

#: persona → (may read, may write) a record owned by ``rep``: PRODUCT.md's visibility rules,
#: stated once for every app's persona matrix (unseen → 404, seen but read-only → 403).
REP_RECORD_ACCESS: dict[str, tuple[bool, bool]] = {
    "rep": (True, True),
    "teammate": (False, False),
    "manager": (True, True),
    "outsider": (False, False),
    "other_manager": (False, False),
    "assistant": (True, True),
    "support": (True, False),
    "admin": (True, True),
}
PERSONA_NAMES: list[str] = list(REP_RECORD_ACCESS)
REP_RECORD_READERS = frozenset(who for who, (read, _write) in REP_RECORD_ACCESS.items() if read)
REP_RECORD_WRITERS = frozenset(who for who, (_read, write) in REP_RECORD_ACCESS.items() if write)
#: personas who read the sales archive (personal data) of a contact at an account of ``rep``:
#: the owner, the managers above and administrators; not the assistant, never support.
REP_ARCHIVE_READERS = frozenset({"rep", "manager", "admin"})


def expected_denial(persona: str, *, write: bool) -> int | None:
    """The status a persona gets on a record of ``rep``: 404, 403, or ``None`` when allowed."""
    read_ok, write_ok = REP_RECORD_ACCESS[persona]
    if not read_ok:
        return 404
    if write and not write_ok:
        return 403
    return None


@dataclass
class Personas:
    admin: User
    manager: User
    rep: User
    teammate: User
    assistant: User
    support: User
    outsider: User
    other_manager: User
    team_a: Team
    team_b: Team
    department: Team

    def all(self) -> dict[str, User]:
        return {
            name: getattr(self, name)
            for name in ("admin", "manager", "rep", "teammate", "assistant", "support", "outsider", "other_manager")
        }


def _user(username: str, role: str, team: Team | None, display: str) -> User:
    user = User(username=username, role=role, team=team, display_name=display, email=f"{username}@example.com")
    user.is_superuser = user.is_staff = role == Role.ADMIN
    user.set_password(PASSWORD)
    user.save()
    return user


def make_personas() -> Personas:
    department = Team.objects.create(name="销售部")
    team_a = Team.objects.create(name="华东一组", parent=department)
    team_b = Team.objects.create(name="华南一组")
    admin = _user("admin", Role.ADMIN, None, "系统管理员")
    manager = _user("manager", Role.MANAGER, department, "王经理")
    rep = _user("rep", Role.REP, team_a, "张伟")
    teammate = _user("teammate", Role.REP, team_a, "李娜")
    assistant = _user("assistant", Role.ASSISTANT, team_a, "赵助理")
    support = _user("support", Role.SUPPORT, team_a, "陈工")
    outsider = _user("outsider", Role.REP, team_b, "刘洋")
    other_manager = _user("other_manager", Role.MANAGER, team_b, "孙经理")
    department.manager = manager
    department.save()
    team_b.manager = other_manager
    team_b.save()
    assistant.delegated_reps.add(rep)
    return Personas(
        admin=admin,
        manager=manager,
        rep=rep,
        teammate=teammate,
        assistant=assistant,
        support=support,
        outsider=outsider,
        other_manager=other_manager,
        team_a=team_a,
        team_b=team_b,
        department=department,
    )
