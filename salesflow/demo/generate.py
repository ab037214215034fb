"""Build (and remove) the demo organisation.

The data has a fixed shape: every random choice comes from ``random.Random(2026)`` in a
fixed order, so two databases seeded on the same day hold the same companies, people,
deals and history. Dates are placed relative to "today" (computed once per run).

Records users meet first (users, accounts, contacts, opportunities) are written through
the services, so they carry their ``created`` audit events; volume (stage history, leads,
activities) is bulk-inserted with the same invariants the services keep: probability and
forecast category come from the stage, ``stage_entered_at`` is the last stage change,
closed deals have ``closed_at``, and every stage change has its audit event.
"""

from __future__ import annotations

import functools
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from time import perf_counter
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from salesflow.activities.models import Activity
from salesflow.attachments.samples import docx_bytes, pdf_bytes, png_bytes
from salesflow.attachments.services import attachment_add, attachment_make_thumbnail, attachments_purge_orphans
from salesflow.core.audit import in_every_language, record_event
from salesflow.core.models import AuditEvent, AuditLink, ExchangeRate
from salesflow.core.normalize import CREDIT_ALPHABET, company_name_key, credit_check_char, credit_code_is_valid
from salesflow.core.services import exchange_rate_create
from salesflow.demo import data, issue8_routing, issue8_scoring
from salesflow.demo.issue8_dedupe import write_match_keys
from salesflow.demo.issue8_imports import write_demo_import
from salesflow.demo.issue8_merging import write_merging_demo  # issue 8
from salesflow.demo.issue8_pools import seed_pools
from salesflow.demo.issue8_protection import delete_protection_demo, write_protection_demo
from salesflow.demo.issue9_approvals import seed_approvals  # issue 9 (approvals)
from salesflow.demo.issue9_billing import delete_billing, write_billing  # issue 9 (billing)
from salesflow.demo.issue9_orders import delete_orders_demo, write_orders  # issue 9 (orders)
from salesflow.leads.choices import BantAnswer, LeadStatus
from salesflow.leads.models import DisqualifyReason, Lead
from salesflow.parties.choices import Grade, Lifecycle
from salesflow.parties.models import Account, Contact, FollowUpPolicy
from salesflow.parties.services import account_create, contact_create
from salesflow.sales.choices import ForecastCategory, Outcome, StageKind
from salesflow.sales.config_services import pipeline_set_teams, pipeline_update
from salesflow.sales.models import Competitor, LostReason, Opportunity, Pipeline, Stage, StageChange, StageCriterion
from salesflow.sales.selectors import refresh_stage_ranks
from salesflow.sales.services import default_pipeline, opportunity_create, stage_dwell_stats_compute
from salesflow.sales.stuck_services import stuck_buckets_rebuild
from salesflow.search.services import reindex
from salesflow.tags.models import Tag
from salesflow.tags.services import tag_add, tag_create
from salesflow.users.choices import Role
from salesflow.users.models import Share, ShareAccess, Team, Territory, User
from salesflow.users.permissions import SYSTEM_USERNAME
from salesflow.users.services import share_grant, system_actor, user_create
from salesflow.workreports.choices import ReportKind, ReportStatus
from salesflow.workreports.models import WorkReport, WorkReportComment
from salesflow.workreports.periods import period_of
from salesflow.workreports.permissions import manager_of
from salesflow.workreports.selectors import report_facts

SEED = 2026
PASSWORD = "demo1234"
MARKER_USERNAME = "demo-admin"

ACCOUNT_COUNT = 200
OPPORTUNITY_COUNT = 300
LEAD_COUNT = 1000
WON_SHARE = 0.25
LOST_SHARE = 0.20

DEPARTMENT = "销售部"
TEAM_EAST = "华东一组"
TEAM_NORTH = "华北一组"
TEAMS: tuple[tuple[str, str | None], ...] = ((DEPARTMENT, None), (TEAM_EAST, DEPARTMENT), (TEAM_NORTH, DEPARTMENT))

# The B2B pipeline's stage codes in order (seeded by ``sales.0003``).
OPEN_STAGES = ("prospect", "qualification", "needs", "demo", "proposal", "negotiation")
WON_STAGE = "won"
LOST_STAGE = "lost"
# Where open deals sit (a funnel) and where lost deals were lost.
OPEN_STAGE_WEIGHTS = (22, 20, 18, 16, 13, 11)
LOST_AT_WEIGHTS = (25, 25, 20, 15, 10, 5)
# Days a deal typically spends in each open stage.
STAGE_DAYS: dict[str, tuple[int, int]] = {
    "prospect": (3, 15),
    "qualification": (5, 20),
    "needs": (7, 30),
    "demo": (7, 25),
    "proposal": (7, 30),
    "negotiation": (10, 40),
}
HISTORY_DAYS = 360
LOST_REASON_WEIGHTS = {
    "price": 25,
    "competitor": 25,
    "no_budget": 15,
    "no_decision": 15,
    "product_fit": 8,
    "timing": 7,
    "relationship": 3,
    "other": 2,
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    team: str | None
    territories: tuple[str, ...] = ()


USERS: tuple[DemoUser, ...] = (
    DemoUser(MARKER_USERNAME, "系统管理员", Role.ADMIN, None),
    DemoUser("wang", "王经理", Role.MANAGER, DEPARTMENT),
    DemoUser("zhangwei", "张伟", Role.REP, TEAM_EAST, ("shanghai", "zhejiang", "fujian")),
    DemoUser("lina", "李娜", Role.REP, TEAM_EAST, ("jiangsu", "anhui", "shandong")),
    DemoUser("liuyang", "刘洋", Role.REP, TEAM_NORTH, ("beijing", "hebei")),
    DemoUser("chenjing", "陈静", Role.REP, TEAM_NORTH, ("tianjin", "shanxi")),
    DemoUser("zhaomin", "赵敏", Role.ASSISTANT, TEAM_EAST),
    DemoUser("zhougong", "周工", Role.SUPPORT, DEPARTMENT),
)
USERNAMES: tuple[str, ...] = tuple(u.username for u in USERS)
EAST_REPS = ("zhangwei", "lina")
NORTH_REPS = ("liuyang", "chenjing")
REPS = EAST_REPS + NORTH_REPS
MANAGER = "wang"
ASSISTANT = "zhaomin"  # delegated to the reps of 华东一组
SUPPORT = "zhougong"


class DemoConflict(Exception):
    """The demo cannot be built here: its usernames are taken by other users (and there is
    no demo organisation), or the default pipeline lacks the B2B stages."""


@dataclass
class DemoResult:
    created: bool
    counts: dict[str, int]
    seconds: float = 0.0


# --- small helpers --------------------------------------------------------------------------------

T = TypeVar("T")

_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def make_credit_code(rng: random.Random, division: str) -> str:
    """A valid code for an enterprise (``91``) registered in ``division`` (6 digits).

    Positions 9–17 are an organisation code (GB 11714) with its own check character.
    """
    if rng.random() < 0.5:
        # Codes issued since 2015 carry "MA" and letters; older ones are the former 8-digit codes.
        org = "MA" + "".join(rng.choice(CREDIT_ALPHABET) for _ in range(6))
    else:
        org = "".join(rng.choice("0123456789") for _ in range(8))
    org_total = sum((int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(org, _ORG_WEIGHTS, strict=True))
    org_check = 11 - org_total % 11
    org += "X" if org_check == 10 else ("0" if org_check == 11 else str(org_check))
    body = f"91{division}{org}"
    code = body + credit_check_char(body)
    assert credit_code_is_valid(code), code
    return code


def weighted(rng: random.Random, options: dict[str, int]) -> str:
    keys = list(options)
    return rng.choices(keys, weights=[options[k] for k in keys])[0]


def chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Clock:
    """Moments relative to the run's "today" (local time), placed in working hours."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.midnight = datetime.combine(today, time.min, tzinfo=timezone.get_current_timezone())

    def at(self, rng: random.Random, day: int, hour: int | None = None) -> datetime:
        """A moment on ``today + day`` between 09:00 and 17:50 (or at ``hour``)."""
        h = rng.randint(9, 17) if hour is None else hour
        return self.midnight + timedelta(days=day, hours=h, minutes=rng.choice((0, 10, 15, 20, 30, 40, 45, 50)))

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def offset_of(self, moment: datetime) -> int:
        return (timezone.localtime(moment).date() - self.today).days


# --- people and companies -------------------------------------------------------------------------


@dataclass
class Person:
    name: str
    surname_py: str
    given_py: str

    def email(self, domain: str, rng: random.Random) -> str:
        style = rng.randint(0, 2)
        if style == 0:
            local = f"{self.given_py}.{self.surname_py}"
        elif style == 1:
            local = f"{self.surname_py}{self.given_py}"
        else:
            local = f"{self.surname_py[0]}{self.given_py}{rng.randint(1, 99)}"
        return f"{local}@{domain}"


def make_person(rng: random.Random) -> Person:
    surname, surname_py = rng.choice(data.SURNAMES)
    parts = [rng.choice(data.GIVEN_CHARS) for _ in range(1 if rng.random() < 0.35 else 2)]
    return Person(surname + "".join(p[0] for p in parts), surname_py, "".join(p[1] for p in parts))


def make_mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"


@dataclass
class Company:
    name: str
    brand: str
    brand_py: str
    industry: str
    territory: str
    city: str
    area_code: str
    division: str


class CompanyNamer:
    """City + 字号 + industry word + 有限公司, never the same name twice."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def make(self, territory: str, industry: str) -> Company:
        rng = self.rng
        city, area_code, divisions = rng.choice(data.CITIES[territory])
        while True:
            first, second = rng.choice(data.BRAND_FIRST), rng.choice(data.BRAND_SECOND)
            brand = first[0] + second[0]
            word = rng.choice(data.INDUSTRY_WORDS[industry])
            suffix = "股份有限公司" if rng.random() < 0.08 else "有限公司"
            name = f"{city}{brand}{word}{suffix}"
            if name not in self.used:
                self.used.add(name)
                return Company(
                    name, brand, first[1] + second[1], industry, territory, city, area_code, rng.choice(divisions)
                )


class CreditCodes:
    """Unique valid credit codes (also unique against codes already in the database)."""

    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self.rng = rng
        self.used = set(taken)

    def make(self, division: str) -> str:
        while True:
            code = make_credit_code(self.rng, division)
            if code not in self.used:
                self.used.add(code)
                return code


def pick_region(rng: random.Random, east: float, north: float) -> str:
    r = rng.random()
    if r < east:
        return rng.choice(data.EAST_TERRITORIES)
    if r < east + north:
        return rng.choice(data.NORTH_TERRITORIES)
    return rng.choice(data.OTHER_TERRITORIES)


def rep_for_region(rng: random.Random, territory: str) -> str:
    if territory in data.EAST_TERRITORIES:
        return rng.choice(EAST_REPS)
    if territory in data.NORTH_TERRITORIES:
        return rng.choice(NORTH_REPS)
    return rng.choice(REPS)


# --- plans (pure Python, decided before anything is written) --------------------------------------


@dataclass
class ContactPlan:
    name: str
    title: str
    department: str
    buying_role: str
    mobile: str
    phone: str
    email: str
    wechat: str
    birthday: date | None
    hobbies: str
    education: str
    places: str
    family: str
    notes: str


@dataclass
class AccountPlan:
    company: Company
    credit_code: str
    size: str
    grade: str
    source: str
    phone: str
    website: str
    address: str
    description: str
    owner: str
    contacts: list[ContactPlan]
    lifecycle: str = Lifecycle.PROSPECT
    created_day: int = 0


@dataclass
class OppPlan:
    account: int
    owner: str
    name: str
    amount: Decimal
    path: list[tuple[str, datetime]]
    outcome: str
    contacts: list[int]
    competitors: list[str]
    expected_close_date: date | None
    next_step: str = ""
    next_step_date: date | None = None
    description: str = ""
    lost_reason: str = ""
    lost_to: str = ""
    outcome_note: str = ""

    @property
    def created_at(self) -> datetime:
        return self.path[0][1]

    @property
    def last_change(self) -> datetime:
        return self.path[-1][1]

    @property
    def current_open_stage(self) -> str:
        return [code for code, _when in self.path if code in OPEN_STAGES][-1]


def plan_contact(rng: random.Random, role: str, domain: str, area_code: str) -> ContactPlan:
    person = make_person(rng)
    title, department = rng.choice(data.TITLES_BY_ROLE[role])
    birthday = None
    if rng.random() < 0.3:
        birthday = date(rng.randint(1965, 1995), rng.randint(1, 12), rng.randint(1, 28))
    return ContactPlan(
        name=person.name,
        title=title,
        department=department,
        buying_role=role,
        mobile=make_mobile(rng),
        phone=f"{area_code}-{rng.randint(5000_0000, 8999_9999)}" if rng.random() < 0.3 else "",
        email=person.email(domain, rng) if rng.random() < 0.65 else "",
        wechat=(f"{person.surname_py}{person.given_py}{rng.randint(1, 999)}" if rng.random() < 0.45 else ""),
        birthday=birthday,
        hobbies="、".join(rng.sample(data.HOBBIES, rng.randint(1, 3))) if rng.random() < 0.25 else "",
        education=rng.choice(data.EDUCATION) if rng.random() < 0.15 else "",
        places=rng.choice(data.PLACES) if rng.random() < 0.08 else "",
        family=rng.choice(data.FAMILY) if rng.random() < 0.1 else "",
        notes=rng.choice(data.CONTACT_NOTES) if rng.random() < 0.1 else "",
    )


def plan_accounts(rng: random.Random, namer: CompanyNamer, codes: CreditCodes) -> list[AccountPlan]:
    plans = []
    sizes = {"micro": 5, "small": 25, "medium": 35, "large": 25, "enterprise": 10}
    grades = {"A": 10, "B": 25, "C": 45, "D": 20}
    sources = {"inbound": 40, "outbound": 30, "referral": 20, "partner": 10}
    role_sets = [
        ["decision_maker"],
        ["decision_maker", "influencer"],
        ["influencer", "purchaser"],
        ["decision_maker", "purchaser", "user"],
        ["decision_maker", "influencer", "user"],
        ["influencer", "user", "other"],
    ]
    for _ in range(ACCOUNT_COUNT):
        territory = pick_region(rng, east=0.5, north=0.35)
        company = namer.make(territory, weighted(rng, data.INDUSTRY_WEIGHTS))
        domain = f"{company.brand_py}{rng.choice(['', 'tech', 'group', 'cn'])}.com.cn"
        n_contacts = rng.choices([1, 2, 3], weights=[35, 40, 25])[0]
        roles = [r for r in rng.choice(role_sets)][:n_contacts]
        while len(roles) < n_contacts:
            roles.append("user")
        building = rng.choice(data.BUILDINGS)
        plans.append(
            AccountPlan(
                company=company,
                credit_code=codes.make(company.division),
                size=weighted(rng, sizes),
                grade=weighted(rng, grades),
                source=weighted(rng, sources),
                phone=f"{company.area_code}-{rng.randint(5000_0000, 8999_9999)}",
                website=f"https://www.{domain}" if rng.random() < 0.8 else "",
                address=(
                    f"{company.city}市{rng.choice(data.ROADS)}{rng.randint(1, 999)}号"
                    + (f"{building}{rng.randint(2, 30)}{rng.randint(1, 20):02d}室" if building else "")
                ),
                description=rng.choice(data.ACCOUNT_DESCRIPTIONS),
                owner=rep_for_region(rng, territory),
                contacts=[plan_contact(rng, role, domain, company.area_code) for role in roles],
            )
        )
    return plans


def plan_path(rng: random.Random, clock: Clock, outcome: str) -> list[tuple[str, datetime]]:
    """Stage entries (code, when) from the first stage to the current one, oldest first."""
    if outcome == Outcome.WON:
        codes = list(OPEN_STAGES)
        if rng.random() < 0.1:
            codes.remove("qualification")
        codes.append(WON_STAGE)
    elif outcome == Outcome.LOST:
        k = rng.choices(range(len(OPEN_STAGES)), weights=LOST_AT_WEIGHTS)[0]
        codes = [*OPEN_STAGES[: k + 1], LOST_STAGE]
    else:
        k = rng.choices(range(len(OPEN_STAGES)), weights=OPEN_STAGE_WEIGHTS)[0]
        codes = list(OPEN_STAGES[: k + 1])
    durations = [rng.randint(*STAGE_DAYS[code]) for code in codes[:-1]]
    total = sum(durations)
    budget = HISTORY_DAYS - 60
    if total > budget:
        durations = [max(1, d * budget // total) for d in durations]
        total = sum(durations)
    if outcome == Outcome.OPEN:
        # Most deals moved recently; some are stalled well past their stage's threshold.
        tail = rng.randint(1, 12) if rng.random() < 0.7 else rng.randint(13, 60)
    else:
        tail = rng.randint(1, HISTORY_DAYS - total - 1)
    day = -(total + tail)
    path = [(codes[0], clock.at(rng, day))]
    for code, duration in zip(codes[1:], durations, strict=True):
        day += duration
        path.append((code, clock.at(rng, day)))
    return path


def plan_opportunities(rng: random.Random, clock: Clock, accounts: list[AccountPlan]) -> list[OppPlan]:
    n_won = round(OPPORTUNITY_COUNT * WON_SHARE)
    n_lost = round(OPPORTUNITY_COUNT * LOST_SHARE)
    outcomes = [Outcome.WON] * n_won + [Outcome.LOST] * n_lost + [Outcome.OPEN] * (OPPORTUNITY_COUNT - n_won - n_lost)
    rng.shuffle(outcomes)
    grade_weight = {"A": 8, "B": 4, "C": 2, "D": 1}
    weights = [grade_weight[a.grade] for a in accounts]
    competitor_names = [name for name, _site in data.COMPETITORS]
    plans = []
    for outcome in outcomes:
        idx = rng.choices(range(len(accounts)), weights=weights)[0]
        account = accounts[idx]
        amount = Decimal(round(math.exp(rng.uniform(math.log(50_000), math.log(5_000_000))), -3)).quantize(
            Decimal("0.01")
        )
        n_contacts = min(len(account.contacts), rng.choice((1, 1, 2)))
        competitors = rng.sample(competitor_names, rng.randint(1, 2)) if rng.random() < 0.45 else []
        product = rng.choice(data.PRODUCTS)
        year = "" if rng.random() < 0.7 else f"{clock.today.year}年"
        path = plan_path(rng, clock, outcome)
        plan = OppPlan(
            account=idx,
            owner=account.owner,
            name=f"{account.company.brand}{year}{product}项目",
            amount=amount,
            path=path,
            outcome=outcome,
            contacts=rng.sample(range(len(account.contacts)), n_contacts),
            competitors=competitors,
            expected_close_date=None,
            description=rng.choice(data.OPPORTUNITY_DESCRIPTIONS),
        )
        if outcome == Outcome.OPEN:
            k = OPEN_STAGES.index(plan.current_open_stage)
            if rng.random() < 0.08:
                plan.expected_close_date = clock.day(-rng.randint(1, 20))
            else:
                plan.expected_close_date = clock.day(max(7, rng.randint(20, 160) - 20 * k))
            if rng.random() < 0.78:
                plan.next_step = rng.choice(data.NEXT_STEPS)
                r = rng.random()
                offset = -rng.randint(1, 10) if r < 0.18 else (0 if r < 0.33 else rng.randint(1, 21))
                plan.next_step_date = clock.day(offset)
        else:
            plan.expected_close_date = timezone.localtime(plan.last_change).date()
            if outcome == Outcome.WON:
                plan.outcome_note = rng.choice(data.WON_NOTES) if rng.random() < 0.6 else ""
            else:
                plan.lost_reason = weighted(rng, LOST_REASON_WEIGHTS)
                if plan.lost_reason == "competitor" or (plan.lost_reason == "price" and rng.random() < 0.5):
                    if not plan.competitors:
                        plan.competitors = [rng.choice(competitor_names)]
                    plan.lost_to = rng.choice(plan.competitors)
                plan.outcome_note = rng.choice(data.LOST_NOTES) if rng.random() < 0.7 else ""
        plans.append(plan)
    return plans


def settle_accounts(rng: random.Random, clock: Clock, accounts: list[AccountPlan], opps: list[OppPlan]) -> None:
    """Creation dates before the first deal; lifecycle from the deals' outcomes."""
    first_day: dict[int, datetime] = {}
    won: set[int] = set()
    open_: set[int] = set()
    for opp in opps:
        if opp.account not in first_day or opp.created_at < first_day[opp.account]:
            first_day[opp.account] = opp.created_at
        if opp.outcome == Outcome.WON:
            won.add(opp.account)
        elif opp.outcome == Outcome.OPEN:
            open_.add(opp.account)
    for idx, account in enumerate(accounts):
        if idx in first_day:
            account.created_day = clock.offset_of(first_day[idx]) - rng.randint(3, 45)
        else:
            account.created_day = -rng.randint(2, 540)
        if idx in won:
            account.lifecycle = Lifecycle.CHURNED if idx not in open_ and rng.random() < 0.08 else Lifecycle.CUSTOMER
        elif account.source == "partner" and idx not in open_ and rng.random() < 0.5:
            account.lifecycle = Lifecycle.PARTNER


# --- writing --------------------------------------------------------------------------------------


@dataclass
class Refs:
    """Rows the generator links to, loaded once."""

    users: dict[str, User]
    territories: dict[str, Territory]
    stages: dict[str, Stage]
    lost_reasons: dict[str, LostReason]
    disqualify_reasons: list[DisqualifyReason]
    competitors: dict[str, Competitor]


@dataclass
class Written:
    accounts: list[Account] = field(default_factory=list)
    contacts: list[list[Contact]] = field(default_factory=list)
    opportunities: list[Opportunity] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)


def demo_exists() -> bool:
    return User.objects.filter(username=MARKER_USERNAME).exists()


def _create_users() -> dict[str, User]:
    same_name = Q()
    for username in USERNAMES:
        same_name |= Q(username__iexact=username)
    taken = sorted(User.objects.filter(same_name).values_list("username", flat=True))
    if taken:
        raise DemoConflict(
            f"Users {', '.join(taken)} already exist but the demo organisation does not; "
            "rename or remove them, or use an empty database."
        )
    teams: dict[str, Team] = {}
    for name, parent in TEAMS:
        team, _created = Team.objects.get_or_create(name=name, defaults={"parent": teams.get(parent or "")})
        teams[name] = team
    users: dict[str, User] = {}
    system = system_actor()
    for spec in USERS:
        users[spec.username] = user_create(
            actor=system,
            username=spec.username,
            password=PASSWORD,
            role=spec.role,
            team=teams[spec.team] if spec.team else None,
            display_name=spec.display_name,
            email=f"{spec.username}@demo.salesflow.local",
            validate=False,
        )
    department = teams[DEPARTMENT]
    department.manager = users[MANAGER]
    department.save(update_fields=["manager", "updated_at"])
    users[ASSISTANT].delegated_reps.set([users[u] for u in EAST_REPS])
    territory_ids = dict(Territory.objects.values_list("code", "pk"))
    for spec in USERS:
        if spec.territories:
            users[spec.username].territories.set([territory_ids[c] for c in spec.territories if c in territory_ids])
    return users


def _load_refs(users: dict[str, User]) -> Refs:
    pipeline = default_pipeline()
    stages = {s.code: s for s in Stage.objects.filter(pipeline=pipeline)}
    missing = [c for c in (*OPEN_STAGES, WON_STAGE, LOST_STAGE) if c not in stages]
    if missing:
        raise DemoConflict(f"The default pipeline lacks the B2B stages {', '.join(missing)}.")
    competitors = {}
    for name, website in data.COMPETITORS:
        competitors[name], _created = Competitor.objects.get_or_create(name=name, defaults={"website": website})
    return Refs(
        users=users,
        territories={t.code: t for t in Territory.objects.all()},
        stages=stages,
        lost_reasons={r.code: r for r in LostReason.objects.all()},
        disqualify_reasons=list(DisqualifyReason.objects.filter(is_active=True).order_by("position", "code")),
        competitors=competitors,
    )


def _write_accounts(clock: Clock, rng: random.Random, refs: Refs, plans: list[AccountPlan], out: Written) -> None:
    contacts_to_update: list[Contact] = []
    for plan in plans:
        owner = refs.users[plan.owner]
        account = account_create(
            actor=owner,
            owner=owner,
            name=plan.company.name,
            credit_code=plan.credit_code,
            industry=plan.company.industry,
            region=refs.territories.get(plan.company.territory),
            size=plan.size,
            lifecycle=plan.lifecycle,
            grade=plan.grade,
            source=plan.source,
            phone=plan.phone,
            website=plan.website,
            address=plan.address,
            description=plan.description,
        )
        account.created_at = account.updated_at = clock.at(rng, plan.created_day)
        contacts = []
        for n, cp in enumerate(plan.contacts):
            contact = contact_create(
                actor=owner,
                account=account,
                name=cp.name,
                title=cp.title,
                department=cp.department,
                buying_role=cp.buying_role,
                mobile=cp.mobile,
                phone=cp.phone,
                email=cp.email,
                wechat=cp.wechat,
                notes=cp.notes,
                birthday=cp.birthday,
                hobbies=cp.hobbies,
                education=cp.education,
                places=cp.places,
                family=cp.family,
            )
            contact.created_at = contact.updated_at = account.created_at + timedelta(minutes=5 * (n + 1))
            contacts.append(contact)
            contacts_to_update.append(contact)
        out.accounts.append(account)
        out.contacts.append(contacts)
    _save_fields(out.accounts, ["created_at", "updated_at"])
    _save_fields(contacts_to_update, ["created_at", "updated_at"])


def _save_fields(objects: Sequence[models.Model], fields: list[str]) -> None:
    """Write ``fields`` of already-saved rows: one plain UPDATE per row.

    (``bulk_update`` builds a CASE expression per field, which is several times slower
    for a few hundred rows; ``update()`` also leaves ``auto_now`` fields alone.)
    """
    for obj in objects:
        type(obj)._default_manager.filter(pk=obj.pk).update(**{f: getattr(obj, f) for f in fields})


def _stage_summary(a: Stage, b: Stage) -> dict[str, str]:
    return in_every_language(lambda: f"{a.label} → {b.label}")


def _write_opportunities(refs: Refs, accounts: list[AccountPlan], plans: list[OppPlan], out: Written) -> None:
    stages = refs.stages
    changes: list[StageChange] = []
    events: list[tuple[AuditEvent, Opportunity]] = []
    for plan in plans:
        owner = refs.users[plan.owner]
        account = out.accounts[plan.account]
        contacts = out.contacts[plan.account]
        opp = opportunity_create(
            actor=owner,
            account=account,
            owner=owner,
            name=plan.name,
            amount=plan.amount,
            currency="CNY",
            stage=stages[plan.current_open_stage],
            expected_close_date=plan.expected_close_date,
            next_step=plan.next_step,
            next_step_date=plan.next_step_date,
            description=plan.description,
            contacts=[(contacts[i], accounts[plan.account].contacts[i].buying_role) for i in plan.contacts],
            competitors=[refs.competitors[name] for name in plan.competitors],
        )
        final = stages[plan.path[-1][0]]
        opp.stage = final
        opp.probability = final.probability
        opp.forecast_category = final.forecast_category
        opp.stage_entered_at = plan.last_change
        opp.created_at = plan.created_at
        opp.updated_at = plan.last_change
        opp.outcome = plan.outcome
        if plan.outcome != Outcome.OPEN:
            opp.closed_at = plan.last_change
            opp.outcome_note = plan.outcome_note
        if plan.outcome in (Outcome.WON, Outcome.LOST):
            # the actual close date: the day of the last stage change (into won or lost)
            opp.closed_on = timezone.localtime(plan.last_change).date()
        opp.close_date = opp.closed_on if opp.closed_on is not None else opp.expected_close_date
        if plan.outcome == Outcome.WON:
            opp.probability = 100
            opp.forecast_category = ForecastCategory.CLOSED
        if plan.outcome == Outcome.LOST:
            opp.lost_reason = refs.lost_reasons.get(plan.lost_reason) or refs.lost_reasons.get("other")
            opp.lost_to = refs.competitors[plan.lost_to] if plan.lost_to else None
        previous: tuple[Stage, datetime] | None = None
        for code, when in plan.path:
            stage = stages[code]
            duration = int((when - previous[1]).total_seconds()) if previous else None
            changes.append(
                StageChange(
                    opportunity=opp,
                    from_stage=previous[0] if previous else None,
                    to_stage=stage,
                    changed_by=owner,
                    changed_at=when,
                    duration_seconds=duration,
                    # the snapshot the stall statistic groups by (the owner's team at the time)
                    owner=owner,
                    owner_team_id=owner.team_id,
                )
            )
            if previous is not None:
                if stage.kind == StageKind.OPEN:
                    verb = "sales.opportunity.stage_changed"
                    payload: dict[str, Any] = {"from": previous[0].code, "to": code, "duration_seconds": duration}
                    payload["summary"] = _stage_summary(previous[0], stage)
                else:
                    verb = f"sales.opportunity.{plan.outcome}"
                    payload = {
                        "from": previous[0].code,
                        "to": code,
                        "duration_seconds": duration,
                        "amount": str(plan.amount),
                        "currency": "CNY",
                    }
                    summary = []
                    if opp.lost_reason is not None:
                        payload["lost_reason"] = opp.lost_reason.code
                        summary.append(opp.lost_reason.name_zh or opp.lost_reason.name_en)
                    if opp.lost_to is not None:
                        payload["lost_to"] = opp.lost_to.pk
                        summary.append(opp.lost_to.name)
                    if plan.outcome_note:
                        payload["note"] = plan.outcome_note
                        summary.append(plan.outcome_note)
                    payload["summary"] = " · ".join(summary)
                event = AuditEvent(
                    actor=owner, verb=verb, target_repr=opp.name[:200], data=payload, created_at=when, target_id=opp.pk
                )
                events.append((event, opp))
            previous = (stage, when)
        out.opportunities.append(opp)
    opp_ids = [o.pk for o in out.opportunities]
    for batch in chunks(opp_ids, 500):
        StageChange.objects.filter(opportunity_id__in=batch).delete()
    StageChange.objects.bulk_create(changes, batch_size=1000)
    _save_fields(
        out.opportunities,
        [
            "stage",
            "probability",
            "forecast_category",
            "stage_entered_at",
            "created_at",
            "updated_at",
            "outcome",
            "closed_at",
            "closed_on",
            "close_date",
            "outcome_note",
            "lost_reason",
            "lost_to",
        ],
    )
    _bulk_events(events, related=lambda opp: [opp.account])


def _bulk_events(
    events: list[tuple[AuditEvent, Opportunity]], *, related: Callable[[Opportunity], list[models.Model]]
) -> None:
    """Insert audit events (target + related timelines) the way ``record_event`` stores them."""
    if not events:
        return
    ct_cache: dict[type[models.Model], ContentType] = {}

    def ct(obj: models.Model) -> ContentType:
        if type(obj) not in ct_cache:
            ct_cache[type(obj)] = ContentType.objects.get_for_model(obj)
        return ct_cache[type(obj)]

    for event, target in events:
        event.target_type = ct(target)
    created = AuditEvent.objects.bulk_create([e for e, _t in events], batch_size=500)
    links = []
    for event, (_e, target) in zip(created, events, strict=True):
        for obj in [target, *related(target)]:
            links.append(AuditLink(event_id=event.pk, content_type=ct(obj), object_id=obj.pk))
    AuditLink.objects.bulk_create(links, batch_size=1000)


def _backdate_created_events(verb: str, objects: Sequence[models.Model]) -> None:
    """Move the ``created`` events the services wrote to the records' (back-dated) creation time."""
    if not objects:
        return
    ct = ContentType.objects.get_for_model(objects[0])
    when = {obj.pk: obj.created_at for obj in objects}  # type: ignore[attr-defined]
    events = []
    for batch in chunks(list(when), 500):
        events += list(AuditEvent.objects.filter(verb=verb, target_type=ct, target_id__in=batch))
    for event in events:
        event.created_at = when[event.target_id]
    _save_fields(events, ["created_at"])


def _write_leads(
    clock: Clock, rng: random.Random, refs: Refs, namer: CompanyNamer, codes: CreditCodes, plans: list[OppPlan],
    accounts: list[AccountPlan], out: Written,
) -> None:  # fmt: skip
    counts = {
        LeadStatus.CONVERTED: 150,
        LeadStatus.DISQUALIFIED: 200,
        LeadStatus.QUALIFIED: 130,
        LeadStatus.CONTACTED: 240,
    }
    statuses: list[str] = [s for s, n in counts.items() for _ in range(n)]
    statuses += [LeadStatus.NEW] * (LEAD_COUNT - len(statuses))
    rng.shuffle(statuses)
    converted_from = iter(rng.sample(range(len(plans)), counts[LeadStatus.CONVERTED]))
    channels = {"inbound": 45, "outbound": 30, "referral": 15, "partner": 10}
    free_mail = ["qq.com", "163.com", "126.com", "foxmail.com", "sina.com"]
    leads: list[Lead] = []
    for status in statuses:
        channel = weighted(rng, channels)
        sub = rng.choice(data.SUB_CHANNELS[channel])
        campaign = rng.choice(data.CAMPAIGNS[sub]) if sub in data.CAMPAIGNS and rng.random() < 0.7 else ""
        lead = Lead(source_channel=channel, sub_channel=sub, campaign=campaign, status=status)
        lead.notes = rng.choice(data.LEAD_NOTES)
        if status == LeadStatus.CONVERTED:
            opp_index = next(converted_from)
            opp_plan = plans[opp_index]
            acc_plan = accounts[opp_plan.account]
            opp = out.opportunities[opp_index]
            contact_idx = opp_plan.contacts[0] if opp_plan.contacts else 0
            cp = acc_plan.contacts[contact_idx]
            lead.name, lead.title, lead.mobile, lead.email, lead.wechat = (
                cp.name, cp.title, cp.mobile, cp.email, cp.wechat
            )  # fmt: skip
            lead.company_name = acc_plan.company.name
            lead.credit_code = acc_plan.credit_code
            lead.industry = acc_plan.company.industry
            lead.region = refs.territories.get(acc_plan.company.territory)
            lead.owner = refs.users[opp_plan.owner]
            lead.converted_at = opp_plan.created_at
            lead.converted_account = out.accounts[opp_plan.account]
            lead.converted_contact = out.contacts[opp_plan.account][contact_idx]
            lead.converted_opportunity = opp
            lead.created_at = opp_plan.created_at - timedelta(days=rng.randint(3, 30), hours=rng.randint(0, 6))
            lead.budget_status = lead.authority_status = BantAnswer.YES
            lead.budget_amount = opp_plan.amount
            lead.need = rng.choice(data.NEEDS)
            lead.timeline = opp_plan.expected_close_date
            leads.append(lead)
            continue
        territory = pick_region(rng, east=0.45, north=0.3)
        person = make_person(rng)
        lead.name = person.name
        lead.title = rng.choice(data.LEAD_TITLES)
        lead.region = refs.territories.get(territory)
        lead.industry = weighted(rng, data.INDUSTRY_WEIGHTS)
        domain = rng.choice(free_mail)
        if rng.random() < 0.92:
            company = namer.make(territory, lead.industry)
            lead.company_name = company.name
            domain = f"{company.brand_py}.com.cn" if rng.random() < 0.6 else domain
            if rng.random() < 0.25:
                lead.credit_code = codes.make(company.division)
        lead.mobile = make_mobile(rng) if rng.random() < 0.9 else ""
        lead.email = person.email(domain, rng) if rng.random() < 0.5 or not lead.mobile else ""
        lead.wechat = f"wxid_{person.surname_py}{rng.randint(1000, 99999)}" if rng.random() < 0.3 else ""
        lead.owner = refs.users[rep_for_region(rng, territory)]
        if status == LeadStatus.NEW:
            lead.created_at = clock.at(rng, -rng.randint(1, 20))
            if rng.random() < 0.1:
                lead.owner = None  # fresh web leads waiting for assignment
            if rng.random() < 0.3:
                lead.need = rng.choice(data.NEEDS)
        elif status == LeadStatus.CONTACTED:
            lead.created_at = clock.at(rng, -rng.randint(2, 60))
            if rng.random() < 0.4:
                lead.budget_status = BantAnswer.YES
                lead.budget_amount = Decimal(rng.randint(5, 200) * 10_000)
            lead.authority_status = BantAnswer.YES if rng.random() < 0.3 else BantAnswer.UNKNOWN
            lead.need = rng.choice(data.NEEDS) if rng.random() < 0.6 else ""
        elif status == LeadStatus.QUALIFIED:
            lead.created_at = clock.at(rng, -rng.randint(5, 120))
            lead.budget_status = BantAnswer.YES
            lead.budget_amount = Decimal(rng.randint(5, 300) * 10_000)
            lead.authority_status = BantAnswer.YES
            lead.need = rng.choice(data.NEEDS)
            lead.timeline = clock.day(rng.randint(15, 120))
        else:  # disqualified
            lead.created_at = clock.at(rng, -rng.randint(5, 330))
            reason = rng.choice(refs.disqualify_reasons) if refs.disqualify_reasons else None
            lead.disqualify_reason = reason
            code = reason.code if reason else "other"
            lead.disqualify_note = data.DISQUALIFY_NOTES.get(code, "")
            if code == "no_budget":
                lead.budget_status = BantAnswer.NO
            elif code == "no_authority":
                lead.authority_status = BantAnswer.NO
        leads.append(lead)
    for lead in leads:  # bulk_create bypasses lead_create, which maintains the key
        lead.company_key = company_name_key(lead.company_name)[:200]
    out.leads = Lead.objects.bulk_create(leads, batch_size=500)
    for lead in out.leads:
        if lead.owner_id is None:
            # Marks unassigned demo leads (no owner ties them to the demo) so --reset finds them.
            event = record_event(actor=system_actor(), verb="leads.lead.created", target=lead, data={"source": "demo"})
            AuditEvent.objects.filter(pk=event.pk).update(created_at=lead.created_at)


def _activity(
    kind: str,
    subject: str,
    owner: User,
    when: datetime,
    *,
    done: bool,
    created_at: datetime | None = None,
    account: Account | None = None,
    contact: Contact | None = None,
    opportunity: Opportunity | None = None,
    lead: Lead | None = None,
    outcome: str = "",
    next_follow_up: date | None = None,
    description: str = "",
) -> Activity:
    return Activity(
        kind=kind,
        subject=subject[:200],
        description=description,
        owner=owner,
        due_at=None if kind in ("note", "email") and done else when,
        done=done,
        done_at=when if done else None,
        outcome=outcome if done else "",
        next_follow_up=next_follow_up,
        lead=lead,
        account=account,
        contact=contact,
        opportunity=opportunity,
        created_at=created_at or when,
    )


def _subject(rng: random.Random, kind: str, contact: Contact | None) -> str:
    subject = rng.choice(data.SUBJECTS[kind])
    if contact is not None and kind in ("call", "visit"):
        subject += f"（{contact.name}）"
    return subject


YESTERDAY = -1


def _deal_activities(
    clock: Clock, rng: random.Random, refs: Refs, plans: list[OppPlan], out: Written
) -> list[Activity]:
    """Touches along each deal's history (one or two per stage) and upcoming appointments."""
    users = refs.users
    yesterday = YESTERDAY
    acts: list[Activity] = []
    for plan, opp in zip(plans, out.opportunities, strict=True):
        owner = users[plan.owner]
        account = out.accounts[plan.account]
        contacts = [out.contacts[plan.account][i] for i in plan.contacts] or out.contacts[plan.account]
        for i, (code, when) in enumerate(plan.path):
            start = clock.offset_of(when)
            end = clock.offset_of(plan.path[i + 1][1]) - 1 if i + 1 < len(plan.path) else yesterday
            end = max(start, min(end, yesterday))
            for n in range(1 + (rng.random() < 0.05)):
                kind = rng.choice(data.STAGE_ACTIVITY_KINDS[code])
                day = start if n == 0 else rng.randint(start, end)
                actor = users[SUPPORT] if kind == "demo" and rng.random() < 0.3 else owner
                contact = rng.choice(contacts)
                if code == WON_STAGE:
                    subject = "赢单复盘" if kind == "note" else "安排实施交接"
                elif code == LOST_STAGE:
                    subject = "输单复盘"
                else:
                    subject = _subject(rng, kind, contact)
                moment = when if n == 0 else clock.at(rng, day)
                acts.append(
                    _activity(
                        kind,
                        subject,
                        actor,
                        moment,
                        done=True,
                        account=account,
                        contact=contact,
                        opportunity=opp,
                        outcome=rng.choice(data.OUTCOMES) if kind in ("call", "visit", "meeting", "demo") else "",
                    )
                )
        if plan.outcome == Outcome.OPEN:
            if rng.random() < 0.4:
                kind = rng.choice(["meeting", "visit", "call", "demo"])
                contact = rng.choice(contacts)
                acts.append(
                    _activity(
                        kind,
                        _subject(rng, kind, contact),
                        owner,
                        clock.at(rng, rng.randint(1, 14)),
                        done=False,
                        created_at=clock.at(rng, -rng.randint(1, 5)),
                        account=account,
                        contact=contact,
                        opportunity=opp,
                    )
                )
            elif rng.random() < 0.5 and acts and acts[-1].opportunity is opp:
                # The latest touch asks for a follow-up in the coming days.
                acts[-1].next_follow_up = clock.day(rng.randint(1, 14))
    return acts


def _lead_activities(clock: Clock, rng: random.Random, out: Written) -> list[Activity]:
    """First calls and e-mails on worked leads; first-contact tasks on some new ones."""
    yesterday = YESTERDAY
    acts: list[Activity] = []
    for lead in out.leads:
        owner = lead.owner
        if owner is None:
            continue
        start = clock.offset_of(lead.created_at)
        if lead.status == LeadStatus.NEW:
            if rng.random() < 0.2:
                acts.append(
                    _activity(
                        "task",
                        "首次电话联系",
                        owner,
                        clock.at(rng, rng.randint(-2, 2)),
                        done=False,
                        created_at=lead.created_at,
                        lead=lead,
                    )
                )
            continue
        end = clock.offset_of(lead.converted_at) if lead.converted_at else yesterday
        end = max(start, min(end, yesterday))
        n = 1
        if lead.status in (LeadStatus.QUALIFIED, LeadStatus.CONVERTED):
            n = 1 + (rng.random() < 0.3)
        elif lead.status == LeadStatus.DISQUALIFIED and rng.random() < 0.4:
            n = 0  # disqualified straight from the data
        for i in range(n):
            kind, subject = data.LEAD_ACTIVITY_SUBJECTS[min(i * 2 + rng.randint(0, 1), 4)]
            day = rng.randint(start, end) if i else min(start + rng.randint(0, 2), end)
            moment = clock.at(rng, day)
            if moment < lead.created_at:
                moment = lead.created_at + timedelta(hours=1)
            acts.append(
                _activity(
                    kind,
                    subject,
                    owner,
                    moment,
                    done=True,
                    lead=lead,
                    outcome=rng.choice(data.OUTCOMES) if kind == "call" else "",
                )
            )

    return acts


def _my_day_activities(
    clock: Clock, rng: random.Random, refs: Refs, plans: list[OppPlan], out: Written
) -> list[Activity]:
    """Every rep's "My day": overdue tasks, tasks due today, follow-ups due today and overdue."""
    users = refs.users
    open_by_rep: dict[str, list[Opportunity]] = defaultdict(list)
    for plan, opp in zip(plans, out.opportunities, strict=True):
        if plan.outcome == Outcome.OPEN:
            open_by_rep[plan.owner].append(opp)
    acts: list[Activity] = []
    for username in REPS:
        owner = users[username]
        deals = open_by_rep[username]
        if not deals:
            continue
        for _n in range(3):
            opp = rng.choice(deals)
            acts.append(
                _activity(
                    "task",
                    rng.choice(data.SUBJECTS["task"]),
                    owner,
                    clock.at(rng, -rng.randint(1, 5)),
                    done=False,
                    created_at=clock.at(rng, -rng.randint(6, 10)),
                    account=opp.account,
                    opportunity=opp,
                )
            )
        for hour in (10, 15):
            opp = rng.choice(deals)
            acts.append(
                _activity(
                    "task",
                    rng.choice(data.SUBJECTS["task"]),
                    owner,
                    clock.at(rng, 0, hour=hour),
                    done=False,
                    created_at=clock.at(rng, -rng.randint(1, 4)),
                    account=opp.account,
                    opportunity=opp,
                )
            )
        for follow_up in (0, 0, 0, -rng.randint(1, 5), -rng.randint(1, 5)):
            opp = rng.choice(deals)
            acts.append(
                _activity(
                    "call",
                    rng.choice(data.SUBJECTS["call"]),
                    owner,
                    clock.at(rng, follow_up - rng.randint(3, 7)),
                    done=True,
                    account=opp.account,
                    opportunity=opp,
                    outcome=rng.choice(data.OUTCOMES),
                    next_follow_up=clock.day(follow_up),
                )
            )

    return acts


def _staff_activities(
    clock: Clock, rng: random.Random, refs: Refs, plans: list[OppPlan], out: Written
) -> list[Activity]:
    """The assistant handles paperwork for 华东一组's won deals; the manager meets key accounts."""
    users = refs.users
    acts: list[Activity] = []
    east_won = [o for p, o in zip(plans, out.opportunities, strict=True) if p.owner in EAST_REPS and p.outcome == "won"]
    for n, subject in enumerate(data.ASSISTANT_TASKS * 2):
        if not east_won:
            break
        opp = rng.choice(east_won)
        day = -rng.randint(1, 20) if n % 2 == 0 else rng.randint(0, 7)
        acts.append(
            _activity(
                "task",
                subject,
                users[ASSISTANT],
                clock.at(rng, day),
                done=day < 0,
                created_at=clock.at(rng, min(day, 0) - rng.randint(1, 3)),
                account=opp.account,
                opportunity=opp,
            )
        )
    key_accounts = [a for a in out.accounts if a.grade == Grade.A]
    for subject in data.MANAGER_MEETINGS * 3:
        if not key_accounts:
            break
        account = rng.choice(key_accounts)
        day = rng.randint(-90, 10)
        acts.append(
            _activity(
                "meeting",
                f"{subject}（{account.name}）",
                users[MANAGER],
                clock.at(rng, day),
                done=day < 0,
                created_at=clock.at(rng, min(day, 0) - rng.randint(1, 7)),
                account=account,
                outcome=rng.choice(data.OUTCOMES) if day < 0 else "",
            )
        )
    return acts


def _write_activities(clock: Clock, rng: random.Random, refs: Refs, plans: list[OppPlan], out: Written) -> int:
    acts = _deal_activities(clock, rng, refs, plans, out)
    acts += _lead_activities(clock, rng, out)
    acts += _my_day_activities(clock, rng, refs, plans, out)
    acts += _staff_activities(clock, rng, refs, plans, out)
    Activity.objects.bulk_create(acts, batch_size=500)
    return len(acts)


@transaction.atomic
def generate_demo(*, today: date | None = None, seed: int = SEED) -> DemoResult:
    """Create the demo organisation unless it exists (then return ``created=False``).

    Raises ``DemoConflict`` (nothing written) when demo usernames are taken by other
    users or the default pipeline lacks the B2B stages.
    """
    started = perf_counter()
    if demo_exists():
        return DemoResult(created=False, counts=demo_counts())
    clock = Clock(today or timezone.localdate())
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    users = _create_users()
    refs = _load_refs(users)
    namer = CompanyNamer(rng)
    codes = CreditCodes(rng, set(Account.objects.exclude(credit_code="").values_list("credit_code", flat=True)))
    account_plans = plan_accounts(rng, namer, codes)
    opp_plans = plan_opportunities(rng, clock, account_plans)
    settle_accounts(rng, clock, account_plans, opp_plans)

    out = Written()
    _write_accounts(clock, rng, refs, account_plans, out)
    _write_opportunities(refs, account_plans, opp_plans, out)
    refresh_stage_ranks()  # the list's stage sort key of the bulk-written deals
    _backdate_created_events("parties.account.created", out.accounts)
    _backdate_created_events("parties.contact.created", [c for cs in out.contacts for c in cs])
    _backdate_created_events("sales.opportunity.created", out.opportunities)
    _write_leads(clock, rng, refs, namer, codes, opp_plans, account_plans, out)
    _write_activities(clock, rng, refs, opp_plans, out)
    _write_rates_and_shares(clock, users)
    _write_attachments(users)
    _write_stage_gates(refs, users)
    reindex()  # the global search index (leads and activities are bulk-written, past the services)
    _write_tags(users)
    _write_saved_views(clock, users)
    _write_team_pipelines(clock, users, out)  # issue 7: pipeline templates in use
    # issue 7: the daily time-in-stage statistic, so stall detection by the team's own 80th
    # percentile works from the first page view (the scheduler recomputes it every night)
    stage_dwell_stats_compute(actor=system_actor())
    _write_follow_ups(clock, rng, users)
    _write_work_reports(clock, users, seed)
    _write_objections(users)  # issue 7: objections logged on deals, so answers have win rates
    write_merging_demo(users)  # issue 8: duplicate pairs to find and merge, an access request
    write_demo_import(users)  # issue 8: a finished contact import with an error report
    issue8_routing.seed_routing(users)  # issue 8: web-to-lead forms, assignment rules, SLAs
    write_protection_demo(users)  # issue 8: known-customer list, routed lead, collisions
    issue8_scoring.write_scoring(_demo_querysets()["leads"], users, now=timezone.now())  # issue 8: scores, hand-offs
    write_match_keys()  # issue 8 (match): duplicate-check keys of the bulk-written records
    seed_pools(users, east=TEAM_EAST, north=TEAM_NORTH)  # issue 8: public pools, caps, recycle rules
    # issue 9, quote to cash, in the order of the chain: catalogue → quotes → approval rules →
    # contracts (from accepted quotes) → orders (from signed contracts) → payment collection
    from salesflow.demo.issue9_catalogue import seed_catalogue
    from salesflow.demo.issue9_contracts import end_contracts, write_contracts
    from salesflow.demo.issue9_quotes import write_quotes

    seed_catalogue()  # products, price lists, tiers, rules, lines on deals
    write_quotes(users, clock.today)  # a year of quotes, accepted ones on won deals
    seed_approvals(users)  # rules, a delegation, large-deal requests
    write_contracts(users, clock.today)  # most signed, a few amended, some up for renewal
    write_orders(users, clock.today)  # orders, deliveries, installation, acceptance
    write_billing(users, clock.today)  # plans, payments, invoices, overdue in every bucket
    end_contracts(clock.today)  # the expiry job once, two contracts terminated early
    # issue 10: this year's sales plan (approved, decomposed to teams, reps and months), last
    # quarter's appraisals, commission rules and statements
    from salesflow.demo.issue10_commissions import write_commissions
    from salesflow.demo.issue10_scorecards import write_scorecards
    from salesflow.demo.issue10_targets import write_targets

    write_targets(users, clock.today)
    write_scorecards(users, clock.today)
    write_commissions(users, clock.today)
    # issue 11: a year of personal-loan history with the worked DMAIC project, forecast
    # submissions and adjustments, then the derived figures (calibration, simulations, …)
    from salesflow.demo.issue11_achievable import write_achievable
    from salesflow.demo.issue11_forecasts import write_forecasts
    from salesflow.demo.issue11_improvement import write_improvement
    from salesflow.demo.issue11_process import write_process
    from salesflow.demo.issue11_projections import write_projections

    write_improvement(users, clock.today)
    write_forecasts(users, clock.today)
    write_achievable(users, clock.today)
    write_projections(users, clock.today)
    write_process(users, clock.today)  # the process fact tables, last: they read every deal above
    from salesflow.scorecards.facts import refresh_funnel_facts

    refresh_funnel_facts(clock.today)  # funnel math's stored months, from every deal above
    stuck_buckets_rebuild()  # the stuck matrix's aggregate of the bulk-written deals
    return DemoResult(created=True, counts=demo_counts(), seconds=perf_counter() - started)


# Units of CNY per unit of each currency, entered by the administrator a month ago (the
# company's monthly rates); kept when the demo is deleted, like other configuration.
DEMO_RATES = {"USD": "7.1820", "EUR": "7.7650", "HKD": "0.9210", "JPY": "0.0479"}


def _write_rates_and_shares(clock: Clock, users: dict[str, User]) -> None:
    """Exchange rates for the board's cross-currency totals, and a few shares as teams use
    them: a key account shown to a teammate, a deal opened to the other team for a joint bid."""
    admin = users[MARKER_USERNAME]
    for currency, rate in DEMO_RATES.items():
        if not ExchangeRate.objects.filter(currency=currency).exists():
            exchange_rate_create(
                actor=admin,
                currency=currency,
                rate=rate,
                valid_from=clock.today - timedelta(days=30),
                note="月度汇率 / monthly rate",
            )
    east, north = EAST_REPS, NORTH_REPS
    account = Account.objects.filter(owner=users[east[0]], grade=Grade.A).order_by("pk").first()
    if account is not None:
        share_grant(actor=users[east[0]], target=account, grantee_user=users[east[1]], access=ShareAccess.READ)
    deal = Opportunity.objects.filter(owner=users[north[0]], outcome=Outcome.OPEN).order_by("-amount", "pk").first()
    north_team = users[north[0]].team
    east_team = users[east[0]].team
    if deal is not None and east_team is not None and east_team != north_team:
        share_grant(actor=users[north[0]], target=deal, grantee_team=east_team, access=ShareAccess.WRITE)


def _write_attachments(users: dict[str, User]) -> None:
    """A few files as reps keep them: the proposal and quote of big open deals, the signed
    contract of won ones, a photo of a key account's site (small files made in code)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def attach(owner: User, record: models.Model, name: str, content: bytes, kind: str) -> None:
        added = attachment_add(actor=owner, record=record, upload=SimpleUploadedFile(name, content), kind=kind)
        if added.is_image:
            attachment_make_thumbnail(attachment_id=added.pk)  # no worker needed to see it in the demo

    for username in (*EAST_REPS, *NORTH_REPS):
        owner = users[username]
        open_deals = Opportunity.objects.filter(owner=owner, outcome=Outcome.OPEN).order_by("-amount", "pk")[:2]
        for deal in open_deals:
            attach(owner, deal, "技术方案 v2.docx", docx_bytes("Solution proposal"), "proposal")
            attach(owner, deal, "报价单.pdf", pdf_bytes(f"Quotation {deal.pk}"), "quote")
        won = Opportunity.objects.filter(owner=owner, outcome=Outcome.WON).order_by("-amount", "pk").first()
        if won is not None:
            attach(owner, won, "销售合同（盖章版）.pdf", pdf_bytes(f"Contract {won.pk}"), "contract")
        account = Account.objects.filter(owner=owner, grade=Grade.A).order_by("pk").first()
        if account is not None:
            attach(owner, account, "客户门头照片.png", png_bytes(), "photo")


# --- stage gates (salesflow.sales.gates) -----------------------------------------------------------

# Entry criteria of the B2B pipeline, from the handbook: a proposal goes to a customer whose
# decision maker we know and who has seen a demo or had a visit; negotiation starts with an
# amount, a close date and a budget finance has confirmed. (stage, kind, params, en, zh)
DEMO_GATES: tuple[tuple[str, str, dict[str, Any], str, str], ...] = (
    ("proposal", "decision_maker", {}, "The decision maker (KP) is identified", "已识别拍板人（关键决策人）"),
    ("proposal", "activity_done", {"kinds": ["demo", "visit"]}, "A demo or visit is done", "已完成产品演示或上门拜访"),
    (
        "negotiation",
        "fields",
        {"fields": ["amount", "expected_close_date"]},
        "Amount and expected close date filled in",
        "已填写金额和预计成交日期",
    ),
    ("negotiation", "checklist", {}, "Budget confirmed by finance", "客户财务已确认预算"),
)
# The reasons a manager gave for moving a few demo deals past unmet criteria, by stage.
DEMO_OVERRIDES: dict[str, tuple[str, ...]] = {
    "proposal": (
        "客户总经理在展会上口头拍板，拜访安排在下周，先出方案。",
        "老客户续约，决策链不变，直接出方案。",
    ),
    "negotiation": ("招标时间提前，来不及等财务书面确认，先进入商务谈判。",),
}


def _override_summary(stage: Stage, reason: str) -> str:
    return f"{stage.label}: {reason}"


def _write_stage_gates(refs: Refs, users: dict[str, User]) -> None:
    """The B2B pipeline's entry criteria (configuration: created once by the administrator,
    kept when the demo is deleted) and demo deals that agree with them: the open deals in
    gated stages have their decision maker, a done visit, their dates and the finance tick —
    except a few a manager moved on with an override, recorded in their history."""
    from salesflow.sales.gate_services import stage_criterion_create
    from salesflow.sales.gates import criteria_of, evaluate
    from salesflow.sales.models import OpportunityChecklistTick, OpportunityContact

    admin = users[MARKER_USERNAME]
    manager = users[MANAGER]
    stages = refs.stages
    gated = [stages[code] for code in ("proposal", "negotiation") if code in stages]
    if not gated:
        return
    if not StageCriterion.objects.filter(stage__in=gated).exists():
        for code, kind, params, en, zh in DEMO_GATES:
            stage_criterion_create(actor=admin, stage=stages[code], kind=kind, params=params, label_en=en, label_zh=zh)
    criteria = criteria_of(s.pk for s in gated)
    deals = list(
        Opportunity.objects.filter(owner__username__in=USERNAMES, outcome=Outcome.OPEN, stage__in=gated)
        .select_related("stage", "account")
        .order_by("pk")
    )
    overrides: dict[int, str] = {}
    used: dict[str, int] = defaultdict(int)
    for deal in deals[::7]:
        reasons = DEMO_OVERRIDES.get(deal.stage.code, ())
        if used[deal.stage.code] < len(reasons):
            overrides[deal.pk] = reasons[used[deal.stage.code]]
            used[deal.stage.code] += 1
    contacts: dict[int, list[int]] = defaultdict(list)
    for contact_id, account_id in Contact.objects.filter(account__in={d.account_id for d in deals}).values_list(
        "pk", "account_id"
    ):
        contacts[account_id].append(contact_id)
    # a deal in negotiation passed through proposal: both stages' criteria apply to it
    passed = criteria[stages["proposal"].pk] if "proposal" in stages else []

    def needed(deal: Opportunity) -> list[StageCriterion]:
        return [*passed, *criteria[deal.stage_id]] if deal.stage.code == "negotiation" else criteria[deal.stage_id]

    results = evaluate(deals, [c for cs in criteria.values() for c in cs])
    activities: list[Activity] = []
    ticks: list[OpportunityChecklistTick] = []
    roles: list[OpportunityContact] = []
    dm_updates: list[int] = []
    overridden: list[tuple[Opportunity, str, list[Any]]] = []
    for deal in deals:
        relevant = {c.pk for c in needed(deal)}
        unmet = [r for r in results[deal.pk] if not r.met and r.criterion.pk in relevant]
        own_unmet = [r for r in unmet if r.criterion.stage_id == deal.stage_id]
        if deal.pk in overrides and own_unmet:
            overridden.append((deal, overrides[deal.pk], own_unmet))
            unmet = [r for r in unmet if r.criterion.stage_id != deal.stage_id]
        when = deal.stage_entered_at - timedelta(days=1)
        for result in unmet:
            kind = result.criterion.kind
            if kind == "decision_maker":
                existing = OpportunityContact.objects.filter(opportunity=deal).order_by("pk").first()
                if existing is not None:
                    dm_updates.append(existing.pk)
                elif contacts[deal.account_id]:
                    roles.append(
                        OpportunityContact(
                            opportunity=deal, contact_id=contacts[deal.account_id][0], role="decision_maker"
                        )
                    )
            elif kind == "activity_done":
                activities.append(
                    _activity(
                        "visit",
                        f"上门拜访：{deal.account.name}"[:200],
                        deal.owner,
                        when,
                        done=True,
                        account=deal.account,
                        opportunity=deal,
                        outcome="客户认可方案方向，约定下一步。",
                    )
                )
            elif kind == "checklist":
                ticks.append(
                    OpportunityChecklistTick(
                        opportunity=deal, criterion=result.criterion, ticked_by=deal.owner, ticked_at=when
                    )
                )
            elif kind == "fields" and deal.expected_close_date is None:
                deal.expected_close_date = deal.close_date = timezone.localdate() + timedelta(days=30)
                deal.save(update_fields=["expected_close_date", "close_date"])
    OpportunityContact.objects.filter(pk__in=dm_updates).update(role="decision_maker")
    OpportunityContact.objects.bulk_create(roles, ignore_conflicts=True)
    Activity.objects.bulk_create(activities)
    OpportunityChecklistTick.objects.bulk_create(ticks, ignore_conflicts=True)
    for deal, reason, unmet in overridden:
        StageChange.objects.filter(opportunity=deal, to_stage_id=deal.stage_id).update(gate_overridden=True)
        event = record_event(
            actor=manager,
            verb="sales.opportunity.gate_overridden",
            target=deal,
            data={
                "stage": deal.stage.code,
                "unmet": [r.as_dict() for r in unmet],
                "reason": reason,
                "summary": in_every_language(functools.partial(_override_summary, deal.stage, reason)),
            },
            related=[deal.account],
        )
        AuditEvent.objects.filter(pk=event.pk).update(created_at=deal.stage_entered_at)


# --- tags (salesflow.tags) ------------------------------------------------------------------------

# (name, colour): the labels a Chinese sales team typically starts with.
DEMO_TAGS = [
    ("重点客户", "red"),
    ("政府项目", "orange"),
    ("续约", "green"),
    ("渠道", "azure"),
    ("老客户转介绍", "purple"),
]


def _write_tags(users: dict[str, User]) -> None:
    """A handful of tags, applied through the services to a few dozen records: key accounts,
    government deals, renewals (won deals) and partner leads. Existing tags of the same name
    (any case) are reused; the tags stay when the demo is deleted, like other configuration."""
    admin = users[MARKER_USERNAME]
    tags: dict[str, Tag] = {}
    for name, colour in DEMO_TAGS:
        tag = Tag.objects.filter(name__iexact=name).first()
        tags[name] = tag or tag_create(actor=admin, name=name, colour=colour)
    demo_users = User.objects.filter(username__in=USERNAMES)
    accounts = Account.objects.filter(owner__in=demo_users)
    deals = Opportunity.objects.filter(owner__in=demo_users)
    plan: list[tuple[str, Iterable[models.Model]]] = [
        ("重点客户", accounts.filter(grade=Grade.A).order_by("pk")[:12]),
        ("政府项目", deals.filter(account__industry="government").order_by("-amount", "pk")[:8]),
        ("续约", deals.filter(outcome=Outcome.WON).order_by("-amount", "pk")[:8]),
        ("渠道", Lead.objects.filter(owner__in=demo_users, source_channel="partner").order_by("pk")[:8]),
        ("老客户转介绍", Lead.objects.filter(owner__in=demo_users, source_channel="referral").order_by("pk")[:6]),
    ]
    for name, records in plan:
        for record in records:
            tag_add(actor=admin, record=record, tag=tags[name])


# --- reading and removing -------------------------------------------------------------------------


def _demo_querysets() -> dict[str, models.QuerySet[Any]]:
    users = User.objects.filter(username__in=USERNAMES)
    # issue 8: accounts the demo reps released to a public pool have no owner
    accounts = Account.objects.filter(Q(owner__in=users) | Q(owner__isnull=True, pool_entry__released_by__in=users))
    lead_ct = ContentType.objects.get_for_model(Lead)
    marked = AuditEvent.objects.filter(
        Q(actor__isnull=True) | Q(actor__username=SYSTEM_USERNAME),  # before the system actor: no actor
        verb="leads.lead.created",
        target_type=lead_ct,
        data__source="demo",
    ).values("target_id")
    return {
        "users": users,
        "accounts": accounts,
        "contacts": Contact.objects.filter(account__in=accounts),
        "opportunities": Opportunity.objects.filter(Q(owner__in=users) | Q(account__in=accounts)),
        "leads": Lead.objects.filter(
            Q(owner__in=users)
            | Q(owner__isnull=True, pk__in=marked)
            | Q(owner__isnull=True, pool_entry__released_by__in=users)  # issue 8: released to a pool
        ),
    }


def demo_counts() -> dict[str, int]:
    """Row counts of the demo organisation (zero everywhere when there is none)."""
    qs = _demo_querysets()
    opps = qs["opportunities"]
    return {
        "users": qs["users"].count(),
        "teams": Team.objects.filter(name__in=[t for t, _p in TEAMS]).count(),
        "accounts": qs["accounts"].count(),
        "contacts": qs["contacts"].count(),
        "leads": qs["leads"].count(),
        "opportunities": opps.count(),
        "won": opps.filter(outcome=Outcome.WON).count(),
        "lost": opps.filter(outcome=Outcome.LOST).count(),
        "stage_changes": StageChange.objects.filter(opportunity__in=opps).count(),
        "activities": Activity.objects.filter(owner__in=qs["users"]).count(),
        "work_reports": WorkReport.objects.filter(author__in=qs["users"]).count(),
    }


@transaction.atomic
def delete_demo() -> dict[str, int]:
    """Remove the demo organisation: its users and every record they own or that hangs off
    their accounts, with the audit trail about them. Returns the number of rows per kind.

    Competitors and territories stay (they are configuration shared with real data);
    the demo teams are removed when no other users or teams remain in them.
    """
    qs = _demo_querysets()
    # issue 9: documents protect their accounts, deals, owners and the documents they came
    # from, so they go first, from the end of the chain back: payments, orders, contracts, quotes
    from salesflow.demo.issue9_contracts import delete_contracts_demo
    from salesflow.demo.issue9_quotes import delete_demo_quotes

    demo_account_ids = list(qs["accounts"].values_list("pk", flat=True))
    demo_user_ids = list(qs["users"].values_list("pk", flat=True))
    # issue 10: statements and appraisals protect their people; the demo's plans go too
    from salesflow.demo.issue10_commissions import delete_commissions
    from salesflow.demo.issue10_scorecards import delete_scorecards
    from salesflow.demo.issue10_targets import delete_targets

    # issue 11: projects and forecast entries protect their people; derived tables go too
    from salesflow.demo.issue11_achievable import delete_achievable
    from salesflow.demo.issue11_forecasts import delete_forecasts
    from salesflow.demo.issue11_improvement import delete_improvement
    from salesflow.demo.issue11_process import delete_process
    from salesflow.demo.issue11_projections import delete_projections

    issue11 = {**delete_improvement(), **delete_achievable(), "forecast entries": delete_forecasts(demo_user_ids)}
    issue11["process facts"] = delete_process()
    delete_projections()
    issue10 = {
        "commission statements": delete_commissions(demo_user_ids),
        "appraisals": delete_scorecards(demo_user_ids),
    }
    delete_targets()
    early = {
        "billing": delete_billing(demo_account_ids),
        "orders": delete_orders_demo(qs["users"]),
        "contracts": delete_contracts_demo(demo_user_ids),
        "quotes": delete_demo_quotes(qs["opportunities"]),
    }
    activities = Activity.objects.filter(
        Q(owner__in=qs["users"])
        | Q(account__in=qs["accounts"])
        | Q(opportunity__in=qs["opportunities"])
        | Q(lead__in=qs["leads"])
    )
    # Materialise every id first: the sets are defined through rows deleted below.
    ids: dict[str, tuple[type[models.Model], list[int]]] = {
        "activities": (Activity, list(activities.values_list("pk", flat=True))),
        "leads": (Lead, list(qs["leads"].values_list("pk", flat=True))),
        "opportunities": (Opportunity, list(qs["opportunities"].values_list("pk", flat=True))),
        "contacts": (Contact, list(qs["contacts"].values_list("pk", flat=True))),
        "accounts": (Account, list(qs["accounts"].values_list("pk", flat=True))),
        "users": (User, list(qs["users"].values_list("pk", flat=True))),
    }
    deleted: dict[str, int] = defaultdict(int)
    deleted.update(early)
    deleted.update(issue10)
    deleted.update(issue11)
    # work reports (issue 7): their authors and commenters are demo users (PROTECT)
    deleted["work report comments"] = WorkReportComment.objects.filter(
        Q(author__in=qs["users"]) | Q(report__author__in=qs["users"])
    ).delete()[0]
    report_ids = list(WorkReport.objects.filter(author__in=qs["users"]).values_list("pk", flat=True))
    report_ct = ContentType.objects.get_for_model(WorkReport)
    event_ids: set[int] = set()
    for batch in chunks(report_ids, 500):
        event_ids.update(
            AuditEvent.objects.filter(target_type=report_ct, target_id__in=batch).values_list("pk", flat=True)
        )
        deleted["audit links"] += AuditLink.objects.filter(content_type=report_ct, object_id__in=batch).delete()[0]
        deleted["work reports"] += WorkReport.objects.filter(pk__in=batch).delete()[1].get("workreports.WorkReport", 0)
    for batch in chunks(ids["users"][1], 500):
        event_ids.update(AuditEvent.objects.filter(actor_id__in=batch).values_list("pk", flat=True))
    for model, pks in ids.values():
        ct = ContentType.objects.get_for_model(model)
        for batch in chunks(pks, 500):
            event_ids.update(
                AuditEvent.objects.filter(target_type=ct, target_id__in=batch).values_list("pk", flat=True)
            )
            deleted["audit links"] += AuditLink.objects.filter(content_type=ct, object_id__in=batch).delete()[0]
            deleted["shares"] += Share.objects.filter(content_type=ct, object_id__in=batch).delete()[0]
    for batch in chunks(sorted(event_ids), 500):
        deleted["audit events"] += AuditEvent.objects.filter(pk__in=batch).delete()[1].get("core.AuditEvent", 0)
    for label, (model, pks) in ids.items():
        for batch in chunks(pks, 500):
            deleted[label] += model._default_manager.filter(pk__in=batch).delete()[1].get(model._meta.label, 0)
    for name, _parent in reversed(TEAMS):
        team = Team.objects.filter(name=name).first()
        if team is not None and not team.members.exists() and not team.children.exists():
            team.delete()
            deleted["teams"] += 1
    deleted["known customers"] = delete_protection_demo()  # issue 8: the demo's known-customer list
    deleted["attachments"] = attachments_purge_orphans()  # the files go after the commit
    stuck_buckets_rebuild()  # the stuck matrix's aggregate without the bulk-deleted deals
    return dict(deleted)


def _write_saved_views(clock: Clock, users: dict[str, User]) -> None:
    """Saved views as a team uses them (issue 6): a rep's key deals of the quarter, and the
    manager's "new leads" view shared with the east team."""
    from salesflow.users.services import saved_view_create

    quarter_start = date(clock.today.year, 3 * ((clock.today.month - 1) // 3) + 1, 1)
    quarter_end = date(quarter_start.year + quarter_start.month // 10, (quarter_start.month + 2) % 12 + 1, 1)
    quarter_end -= timedelta(days=1)
    rep = users[EAST_REPS[0]]
    saved_view_create(
        actor=rep,
        list_key="opportunities",
        name="本季度我的重点商机",
        query=f"outcome=open&owner={rep.pk}&close_from={quarter_start}&close_to={quarter_end}&sort=-amount",
    )
    saved_view_create(
        actor=rep, list_key="activities", name="我未完成的任务", query=f"kind=task&done=open&owner={rep.pk}"
    )
    manager = users[MANAGER]
    saved_view_create(
        actor=manager,
        list_key="leads",
        name="待分配的新线索",
        query="status=new&owner=none",
        shared_team=rep.team,
    )


# --- issue 7: pipeline templates (sales.0015) in use -----------------------------------------------
# The East team also sells fleet cars through the automotive showroom's eight steps, the
# North team personal loans to business owners; B2C and channel sales are on for everyone.
# (stage code, account index among the rep's accounts, amount, name suffix, expected close in days)
SHOWROOM_DEALS = (
    ("zhangwei", "reception", 0, 268_000, "公务用车 · 2台 SUV", 30),
    ("zhangwei", "test_drive", 1, 415_000, "商务接待车 · 3台 MPV", 21),
    ("lina", "needs", 0, 189_000, "通勤班车更新 · 1台", 45),
    ("lina", "negotiation", 1, 552_000, "销售团队用车 · 4台", 14),
    ("zhangwei", "closing", 2, 336_000, "高管用车 · 2台", 7),
    ("lina", "delivery", 2, 298_000, "售后服务车 · 2台", 5),
)
LOAN_DEALS = (
    ("liuyang", "intake", 0, 300_000, "法人经营贷 30万", 20),
    ("chenjing", "review", 0, 500_000, "法人经营贷 50万", 14),
    ("liuyang", "contract", 1, 200_000, "股东消费贷 20万", 7),
    ("chenjing", "disbursement", 1, 800_000, "法人经营贷 80万", 3),
    ("liuyang", "review", 2, 150_000, "员工安居贷 15万", 18),
)


def _write_team_pipelines(clock: Clock, users: dict[str, User], out: Written) -> None:
    """Turn the shipped templates on, give two of them to teams, and open a few deals in them
    (through the services, so stage history and audit are real)."""
    admin = users[MARKER_USERNAME]
    teams = {t.name: t for t in Team.objects.filter(name__in=[TEAM_EAST, TEAM_NORTH])}
    templates = {p.code: p for p in Pipeline.objects.filter(code__in=DEMO_TEMPLATE_TEAMS)}
    for code, team_name in DEMO_TEMPLATE_TEAMS.items():
        pipeline = templates.get(code)
        if pipeline is None:  # removed by an administrator: nothing to show
            continue
        if not pipeline.is_active:
            pipeline_update(actor=admin, pipeline=pipeline, is_active=True)
        if team_name is not None and team_name in teams:
            pipeline_set_teams(actor=admin, pipeline=pipeline, teams=[teams[team_name]])
    for code, deals in (("auto-showroom", SHOWROOM_DEALS), ("personal-loan", LOAN_DEALS)):
        pipeline = templates.get(code)
        if pipeline is None:
            continue
        stages = {s.code: s for s in Stage.objects.filter(pipeline=pipeline, is_active=True)}
        for username, stage_code, account_index, amount, suffix, close_in in deals:
            owner = users[username]
            owned = [a for a in out.accounts if a.owner_id == owner.pk]
            if not owned or stage_code not in stages:
                continue
            account = owned[account_index % len(owned)]
            opportunity_create(
                actor=owner,
                account=account,
                owner=owner,
                name=f"{account.name} · {suffix}",
                amount=amount,
                currency="CNY",
                pipeline=pipeline,
                stage=stages[stage_code],
                expected_close_date=clock.day(close_in),
                next_step="电话跟进，按阶段指引推进",
                next_step_date=clock.day(min(close_in, 3)),
            )


# template code → the team that uses it (None: every team)
DEMO_TEMPLATE_TEAMS: dict[str, str | None] = {
    "b2c-simple": None,
    "channel": None,
    "auto-showroom": TEAM_EAST,
    "personal-loan": TEAM_NORTH,
}
CALL_OUTCOMES = ("客户反馈使用顺利，约下次拜访", "确认了下季度采购计划", "介绍了新产品，客户有兴趣")

# Check-in places of the east team's visits (issue 7): (latitude, longitude, address)
CHECK_IN_PLACES = (
    ("31.230416", "121.473701", "上海市黄浦区人民大道200号"),
    ("31.239702", "121.499763", "上海市浦东新区陆家嘴环路1000号"),
    ("30.274085", "120.155070", "杭州市西湖区文三路90号"),
    ("26.074508", "119.296494", "福州市鼓楼区五四路158号"),
)


def _write_follow_ups(clock: Clock, rng: random.Random, users: dict[str, User]) -> None:
    """Follow-up discipline as a team lives it (issue 7): due dates derived from the
    activities written above, check-ins on past visits, one visit today still to check in,
    the ladder run as the daily job would (reminders, escalations, accounts at risk), and
    a calendar feed for the demo rep."""
    from salesflow.activities.services import follow_up_escalate, follow_up_refresh
    from salesflow.users.services import calendar_token_create

    demo_accounts = list(Account.objects.filter(owner__in=users.values()).values_list("pk", flat=True))
    follow_up_refresh(account_ids=demo_accounts)
    # a disciplined team: most customers were followed up within their grade's frequency
    # (a call on the account, on its open deal when it has one); a few were not
    every = dict(FollowUpPolicy.objects.values_list("grade", "every_days"))
    open_deals = {
        deal.account_id: deal
        for deal in Opportunity.objects.filter(account_id__in=demo_accounts, outcome=Outcome.OPEN).order_by("-pk")
    }
    calls = []
    for account in Account.objects.filter(pk__in=demo_accounts, next_follow_up_due__lt=clock.today).order_by("pk"):
        days = every.get(account.grade)
        if not days or rng.random() < 0.12:
            continue
        deal = open_deals.get(account.pk)
        calls.append(
            _activity(
                "call",
                f"电话回访 {account.name}",
                account.owner,  # type: ignore[arg-type]  # the demo's accounts all have owners
                clock.at(rng, -rng.randint(1, max(days - 1, 1))),
                done=True,
                account=account,
                opportunity=deal,
                outcome=rng.choice(
                    ("客户反馈使用顺利，约下次拜访", "确认了下季度采购计划", "介绍了新产品，客户有兴趣")
                ),
            )
        )
    Activity.objects.bulk_create(calls, batch_size=500)
    follow_up_refresh(account_ids=demo_accounts)
    rep = users[EAST_REPS[0]]
    visits = list(Activity.objects.filter(owner=rep, kind="visit", done=True).order_by("-done_at", "pk")[:8])
    for visit in visits:
        lat, lng, address = CHECK_IN_PLACES[rng.randrange(len(CHECK_IN_PLACES))]
        assert visit.done_at is not None
        visit.check_in_at = visit.done_at - timedelta(minutes=rng.randint(5, 40))
        visit.check_in_lat, visit.check_in_lng, visit.check_in_address = Decimal(lat), Decimal(lng), address
    Activity.objects.bulk_update(visits, ["check_in_at", "check_in_lat", "check_in_lng", "check_in_address"])
    key_account = Account.objects.filter(owner=rep, grade=Grade.A).order_by("pk").first()
    if key_account is not None:
        Activity.objects.create(
            kind="visit",
            subject=f"拜访 {key_account.name}",
            owner=rep,
            due_at=clock.midnight + timedelta(hours=15, minutes=30),
            account=key_account,
        )
    # two of the rep's key accounts neglected for weeks, so the ladder has real work
    neglected = list(Account.objects.filter(owner=rep, grade__in=[Grade.A, Grade.B]).order_by("-pk")[:2])
    for weeks, account in enumerate(neglected, start=2):
        Account.objects.filter(pk=account.pk).update(next_follow_up_due=clock.today - timedelta(weeks=weeks))
    follow_up_escalate(today=clock.today)
    calendar_token_create(actor=rep)


# --- work reports (日报/周报, issue 7) --------------------------------------------------------------

REPORT_DAYS = 15  # working days of daily reports before today
REPORT_WEEKS = 3  # full weeks of weekly reports before this one


def _write_work_reports(clock: Clock, users: dict[str, User], seed: int) -> None:
    """Three weeks of daily and weekly reports of the four reps, as a team keeps them: most
    days submitted in the evening with the day's facts frozen (the same ``report_facts`` the
    service stores), some days missing, about a third commented by the manager the next
    morning. Today's and this week's are left for the reps to write. Bulk-written like the
    other history (no audit events, no notifications for the past)."""
    rng = random.Random(seed + 7)  # noqa: S311 - reproducible demo data, not secrets
    manager = users[MANAGER]
    reports: list[WorkReport] = []
    comment_plan: list[tuple[int, datetime, str]] = []
    days: list[date] = []
    offset = -1
    while len(days) < REPORT_DAYS:
        day = clock.day(offset)
        if day.isoweekday() <= 5:
            days.append(day)
        offset -= 1
    this_monday = period_of(ReportKind.WEEKLY, clock.today)[0]
    mondays = [this_monday - timedelta(days=7 * n) for n in range(1, REPORT_WEEKS + 1)]
    for username in REPS:
        author = users[username]
        zone = author.zone
        boss = manager_of(author) or manager
        plan: list[tuple[str, date, date]] = [(ReportKind.DAILY, d, d) for d in sorted(days)]
        plan += [(ReportKind.WEEKLY, m, m + timedelta(days=6)) for m in sorted(mondays)]
        for kind, start, end in plan:
            if rng.random() < (0.15 if kind == ReportKind.DAILY else 0.1):
                continue  # missing: the team page shows it
            weekly = kind == ReportKind.WEEKLY
            submit_day = end - timedelta(days=2) if weekly else end  # weekly on Friday
            submitted_at = datetime.combine(submit_day, time(17 + rng.randint(0, 2), rng.choice((5, 20, 40))), zone)
            commented = rng.random() < 0.35
            reports.append(
                WorkReport(
                    author=author,
                    kind=kind,
                    period_start=start,
                    period_end=end,
                    time_zone=zone.key,
                    status=ReportStatus.COMMENTED if commented else ReportStatus.SUBMITTED,
                    summary=rng.choice(data.WEEKLY_SUMMARIES if weekly else data.REPORT_SUMMARIES),
                    plans=rng.choice(data.WEEKLY_PLANS if weekly else data.REPORT_PLANS),
                    problems=rng.choice(data.REPORT_PROBLEMS),
                    facts=report_facts(author_id=author.pk, kind=kind, period_start=start, time_zone=zone.key),
                    submitted_at=submitted_at,
                    manager=boss,
                    created_at=submitted_at - timedelta(minutes=30),
                )
            )
            if commented:
                at = datetime.combine(submit_day + timedelta(days=1), time(9, rng.choice((0, 15, 30))), zone)
                comment_plan.append((len(reports) - 1, at, rng.choice(data.MANAGER_COMMENTS)))
    WorkReport.objects.bulk_create(reports, batch_size=200)
    comments = []
    for index, at, body in comment_plan:
        report = reports[index]
        comments.append(WorkReportComment(report=report, author=manager, body=body, created_at=at))
        report.last_commented_at = at
    WorkReportComment.objects.bulk_create(comments, batch_size=200)
    WorkReport.objects.bulk_update([r for r in reports if r.last_commented_at], ["last_commented_at"], batch_size=200)


# --- objections (salesflow.objections) ------------------------------------------------------------


def _write_objections(users: dict[str, User]) -> None:
    """Objections logged on the deals that reached the proposal stage, through the services:
    won, lost and open deals at proposal or negotiation. Each answer of the seeded library has
    a fixed "strength", so won deals used the strong answers more often and the library shows
    real spreads of win rates; some logs use the rep's own words instead of a library answer.
    The log's stage is the one the objection came up in (proposal), logged before the close."""
    from salesflow.objections.models import DealObjection, Objection
    from salesflow.objections.services import deal_objection_log

    objections = list(Objection.objects.filter(is_active=True).prefetch_related("answers").order_by("pk"))
    if not objections:
        return
    rng = random.Random(SEED + 7)  # noqa: S311 - reproducible demo data
    strength = {a.pk: rng.choice((1, 2, 4, 6)) for o in objections for a in o.answers.all()}
    proposal = Stage.objects.filter(pipeline=default_pipeline(), code="proposal").first()
    demo_users = User.objects.filter(username__in=USERNAMES)
    deals = list(
        Opportunity.objects.filter(owner__in=demo_users)
        .filter(
            Q(outcome__in=[Outcome.WON, Outcome.LOST])
            | Q(outcome=Outcome.OPEN, stage__code__in=["proposal", "negotiation"])
        )
        .select_related("owner", "account", "stage")
        .order_by("pk")
    )
    backdate: list[tuple[int, datetime]] = []
    for deal in deals:
        for objection in rng.sample(objections, rng.choice((1, 1, 2))):
            answers = list(objection.answers.all())
            if rng.random() < 0.12 or not answers:
                log = deal_objection_log(
                    actor=deal.owner,
                    opportunity=deal,
                    objection=objection,
                    custom_answer="先了解客户的真实顾虑，再约决策人一起沟通。",
                )
            else:
                weights = [strength[a.pk] if deal.outcome != Outcome.LOST else 7 - strength[a.pk] for a in answers]
                answer = rng.choices(answers, weights=weights)[0]
                log = deal_objection_log(actor=deal.owner, opportunity=deal, objection=objection, answer=answer)
            when = (deal.closed_at or timezone.now()) - timedelta(days=rng.randint(3, 20), hours=rng.randint(0, 8))
            backdate.append((log.pk, when))
    for pk, when in backdate:
        DealObjection.objects.filter(pk=pk).update(logged_at=when, stage=proposal)
