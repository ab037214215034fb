#!/usr/bin/env python
"""Build the benchmark database.

    .venv/bin/python bench/generate.py --scale 0.01     # 2k accounts, 10k leads, 3k deals, 30k activities
    .venv/bin/python bench/generate.py --scale 1        # 200k, 1M, 300k, 3M (the performance budget)

Rows per scale 1.0: 200,000 accounts (+ ~300,000 contacts), 1,000,000 leads, 300,000
opportunities (+ their stage history and ``created`` audit events), 3,000,000 activities,
plus users and teams (one rep per 1,000 accounts, teams of 8 reps, departments of 5 teams).

The database is ``var/bench.sqlite3`` or ``BENCH_DATABASE_URL`` (PostgreSQL). It is rebuilt
from scratch unless it already holds data of the same scale and generator version
(``--force`` rebuilds anyway). Rows are generated in chunks (``--batch``) and written with
one multi-row ``executemany`` per table and chunk (see ``benchlib.Table``: the same rows
``bulk_create`` would write, ~10x faster), so memory stays flat; the data is deterministic
(``--seed``).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from array import array
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import (
    DEFAULT_SQLITE,
    GENERATOR_VERSION,
    Table,
    create_indexes,
    drop_secondary_indexes,
    read_meta,
    redacted,
    reset_sequences,
    setup_django,
    write_meta,
)

BASE = {"accounts": 200_000, "leads": 1_000_000, "opportunities": 300_000, "activities": 3_000_000}
ACCOUNTS_PER_REP = 1_000
TEAM_SIZE = 8
TEAMS_PER_DEPARTMENT = 5
PASSWORD = "bench1234"
DAYS = 730


def reset_database(url: str) -> None:
    """Start from an empty database (SQLite: delete the file; PostgreSQL: recreate the schema)."""
    from django.db import connection

    connection.close()
    if connection.vendor == "sqlite":
        name = Path(str(connection.settings_dict["NAME"]))
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
        name.parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg

    settings = connection.settings_dict
    params: dict[str, Any] = {
        "host": settings["HOST"] or None,
        "port": settings["PORT"] or None,
        "user": settings["USER"] or None,
        "password": settings["PASSWORD"] or None,
    }
    try:
        psycopg.connect(dbname=settings["NAME"], **params).close()
    except psycopg.OperationalError:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'CREATE DATABASE "{settings["NAME"]}"')
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS public CASCADE")
        cursor.execute("CREATE SCHEMA public")


def tune_for_load() -> None:
    from django.db import connection

    connection.ensure_connection()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            import sqlite3

            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.execute("PRAGMA temp_store=MEMORY")
            # Django assumes SQLite's old default of 999 variables per statement; modern builds
            # allow 32766, so each INSERT can carry ~30x more rows.
            limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            connection.features.max_query_params = limit
        elif connection.vendor == "postgresql":
            cursor.execute("SET synchronous_commit TO off")


# --- duplicate-check keys ----------------------------------------------------------------------


class MatchKeys:
    """The stored duplicate-check keys (``core.normalize.party_match_keys``) of generated rows,
    memoised per distinct company name, person name and phone: the services compute them on
    every write, and ``dedupe.services.match_keys_refresh`` for rows loaded past the services.
    Without them the matcher's blocks by company stem, company pinyin, name pinyin and phone
    key are empty and the import bench measures no fan-out (issue 8)."""

    def __init__(self) -> None:
        import functools

        from salesflow.core.normalize import party_match_keys

        @functools.lru_cache(maxsize=1 << 18)
        def company(name: str) -> tuple[str, str, str, str]:
            keys = party_match_keys(company_name=name)
            return keys["company_stem"], keys["company_pinyin"], keys["company_norm"], keys["company_regions"]

        @functools.lru_cache(maxsize=1 << 18)
        def person(name: str) -> str:
            return party_match_keys(person_name=name)["name_pinyin"]

        @functools.lru_cache(maxsize=1 << 16)
        def phone(value: str) -> str:
            return party_match_keys(phone=value)["phone_key"]

        self.company, self.person, self.phone = company, person, phone

    def lead(self, name: str, company_name: str, phone: str = "") -> dict[str, str]:
        stem, pinyin, norm, regions = self.company(company_name) if company_name else ("", "", "", "")
        return {
            "company_stem": stem,
            "company_pinyin": pinyin,
            "company_norm": norm,
            "company_regions": regions,
            "name_pinyin": self.person(name) if name else "",
            "phone_key": self.phone(phone) if phone else "",
        }

    def account(self, name: str, phone: str = "") -> dict[str, str]:
        stem, pinyin, norm, regions = self.company(name) if name else ("", "", "", "")
        return {
            "company_stem": stem,
            "company_pinyin": pinyin,
            "company_norm": norm,
            "company_regions": regions,
            "phone_key": self.phone(phone) if phone else "",
        }

    def contact(self, name: str, phone: str = "") -> dict[str, str]:
        return {"name_pinyin": self.person(name) if name else "", "phone_key": self.phone(phone) if phone else ""}


def ensure_match_keys(batch: int = 5000) -> int:
    """Fill the duplicate-check keys of leads, accounts and contacts that lack them (databases
    generated before the generator wrote them): the keys ``dedupe.services.match_keys_refresh``
    computes, written with one ``executemany`` of ``UPDATE … WHERE id = …`` per chunk of changed
    rows (``bulk_update``'s ``CASE`` statements are far slower at a million rows). Returns the
    rows changed; nothing to do (one cheap query per table) when the keys are there."""
    from django.db import connection, transaction

    from salesflow.leads.models import Lead
    from salesflow.parties.models import Account, Contact

    keys = MatchKeys()
    specs: list[tuple[Any, str, list[str], list[str], Any]] = [
        (
            Lead,
            "company_name",
            ["name", "company_name", "phone"],
            ["company_stem", "company_pinyin", "name_pinyin", "phone_key", "company_norm", "company_regions"],
            lambda r: keys.lead(r[0], r[1], r[2]),
        ),
        (
            Account,
            "name",
            ["name", "phone"],
            ["company_stem", "company_pinyin", "phone_key", "company_norm", "company_regions"],
            lambda r: keys.account(*r),
        ),
        (Contact, "name", ["name", "phone"], ["name_pinyin", "phone_key"], lambda r: keys.contact(*r)),
    ]
    changed = 0
    started = time.perf_counter()
    for model, source, sources, fields, keys_of in specs:
        # keyed rows have their first key; a row with a name and no first key was never keyed
        if not model.objects.filter(**{fields[0]: ""}).exclude(**{source: ""}).exists():
            continue
        table = connection.ops.quote_name(model._meta.db_table)
        assignments = ", ".join(f"{connection.ops.quote_name(f)} = %s" for f in fields)
        sql = f"UPDATE {table} SET {assignments} WHERE id = %s"
        last = 0
        while True:
            rows = list(model.objects.filter(pk__gt=last).order_by("pk").values_list("pk", *sources, *fields)[:batch])
            if not rows:
                break
            last = rows[-1][0]
            updates = []
            for row in rows:
                new = keys_of(row[1 : 1 + len(sources)])
                values = [new[f] for f in fields]
                if values != list(row[1 + len(sources) :]):
                    updates.append([*values, row[0]])
            if updates:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.executemany(sql, updates)
            changed += len(updates)
    if changed:
        print(f"  match keys       {changed:>10,} rows {time.perf_counter() - started:8.1f} s (filled)", flush=True)
    return changed


class Loader:
    def __init__(self, scale: float, batch: int, seed: int) -> None:
        from django.utils import timezone

        self.scale = scale
        self.batch = batch
        self.rng = random.Random(seed)
        self.now: datetime = timezone.now()
        self.counts = {name: max(1, round(n * scale)) for name, n in BASE.items()}
        self.stats: list[tuple[str, int, float]] = []
        self.account_owner = array("q")
        self.account_ids = array("q")
        self.opp_ids = array("q")
        self.opp_owner = array("q")
        self.opp_account = array("q")
        self.lead_ids = array("q")
        self.lead_owner = array("q")
        self.keys = MatchKeys()

    # --- helpers -------------------------------------------------------------------------------

    def timed(self, label: str, rows: int, started: float) -> None:
        secs = time.perf_counter() - started
        self.stats.append((label, rows, secs))
        print(f"  {label:<16} {rows:>10,} rows {secs:8.1f} s {rows / max(secs, 1e-9):>10,.0f} rows/s", flush=True)

    def moment(self, days_back: float) -> datetime:
        return self.now - timedelta(seconds=int(days_back * 86400))

    def progress(self, label: str, done: int, total: int) -> None:
        """A line about every 10% of a large table."""
        every = max(1, total // 10 // self.batch)
        if total >= 200_000 and (done // self.batch) % every == 0 and done < total:
            print(f"    … {label} {done:,}/{total:,}", flush=True)

    # --- organisation -----------------------------------------------------------------------------

    def users(self) -> None:
        from django.contrib.auth.hashers import make_password
        from django.db import transaction

        from salesflow.users.choices import Role
        from salesflow.users.models import Team, Territory, User

        started = time.perf_counter()
        n_reps = max(TEAM_SIZE, round(self.counts["accounts"] / ACCOUNTS_PER_REP))
        n_teams = math.ceil(n_reps / TEAM_SIZE)
        n_departments = math.ceil(n_teams / TEAMS_PER_DEPARTMENT)
        password = make_password(PASSWORD)
        with transaction.atomic():
            admin = User(username="bench-admin", role=Role.ADMIN, display_name="系统管理员", password=password)
            admin.is_staff = admin.is_superuser = True
            admin.save()
            departments = Team.objects.bulk_create([Team(name=f"事业部{d + 1:02d}") for d in range(n_departments)])
            managers = User.objects.bulk_create(
                [
                    User(
                        username=f"mgr{d + 1:02d}",
                        role=Role.MANAGER,
                        team=dept,
                        display_name=f"经理{d + 1:02d}",
                        password=password,
                    )
                    for d, dept in enumerate(departments)
                ]
            )
            for dept, manager in zip(departments, managers, strict=True):
                dept.manager = manager
            Team.objects.bulk_update(departments, ["manager"])
            teams = Team.objects.bulk_create(
                [Team(name=f"销售{t + 1:03d}组", parent=departments[t // TEAMS_PER_DEPARTMENT]) for t in range(n_teams)]
            )
            reps = User.objects.bulk_create(
                [
                    User(
                        username=f"rep{i + 1:04d}",
                        role=Role.REP,
                        team=teams[i // TEAM_SIZE],
                        display_name=f"销售{i + 1:04d}",
                        password=password,
                    )
                    for i in range(n_reps)
                ]
            )
        self.rep_ids = [u.pk for u in reps]
        self.rep_team = {u.pk: u.team_id for u in reps}  # the stage changes' owner_team snapshot
        self.territory_ids = list(
            Territory.objects.filter(parent__parent__isnull=False).order_by("code").values_list("pk", flat=True)
        )
        self.meta_users = {"rep": reps[0].username, "manager": managers[0].username, "admin": admin.username}
        self.timed("users + teams", 1 + len(managers) + len(reps) + len(departments) + len(teams), started)

    # --- accounts and contacts -------------------------------------------------------------------

    def accounts(self) -> None:
        from django.contrib.contenttypes.models import ContentType
        from django.db import transaction

        from salesflow.core.models import AuditEvent, AuditLink
        from salesflow.core.normalize import company_name_key, credit_check_char
        from salesflow.demo import data
        from salesflow.demo.generate import make_mobile, make_person
        from salesflow.parties.models import Account, Contact

        rng = self.rng
        total = self.counts["accounts"]
        ct = ContentType.objects.get_for_model(Account).pk
        cities = [city for options in data.CITIES.values() for city, _code, _divs in options]
        industries = list(data.INDUSTRY_WORDS)
        roles = ["decision_maker", "influencer", "user", "purchaser", "other"]
        sizes = ("micro", "small", "medium", "large", "enterprise")
        lifecycles = ("prospect", "customer", "churned", "partner")
        sources = ("inbound", "outbound", "referral", "partner")
        accounts, contacts = Table(Account), Table(Contact)
        events, links = Table(AuditEvent), Table(AuditLink)
        started = time.perf_counter()
        for start in range(0, total, self.batch):
            end = min(total, start + self.batch)
            for i in range(start, end):
                industry = rng.choice(industries)
                brand = rng.choice(data.BRAND_FIRST)[0] + rng.choice(data.BRAND_SECOND)[0]
                name = f"{rng.choice(cities)}{brand}{rng.choice(data.INDUSTRY_WORDS[industry])}有限公司"
                code = ""
                if i % 3 == 0:
                    body = f"91310115{i:09d}"
                    code = body + credit_check_char(body)
                owner = rng.choice(self.rep_ids)
                created = self.moment(rng.uniform(0, DAYS))
                phone = f"021-{rng.randint(5000_0000, 8999_9999)}"
                pk = accounts.add(
                    name=name,
                    name_key=company_name_key(name),
                    credit_code=code,
                    industry=industry,
                    region_id=rng.choice(self.territory_ids),
                    size=rng.choice(sizes),
                    lifecycle=rng.choices(lifecycles, (60, 30, 7, 3))[0],
                    grade=rng.choice("ABCD"),
                    owner_id=owner,
                    source=rng.choice(sources),
                    phone=phone,
                    created_at=created,
                    updated_at=created,
                    **self.keys.account(name, phone),
                )
                self.account_ids.append(pk)
                self.account_owner.append(owner)
                for _ in range(rng.choice((1, 1, 2))):
                    person = make_person(rng)
                    contacts.add(
                        account_id=pk,
                        name=person.name,
                        title="经理",
                        buying_role=rng.choice(roles),
                        mobile=make_mobile(rng),
                        email=person.email("example.com.cn", rng) if rng.random() < 0.5 else "",
                        created_at=created,
                        updated_at=created,
                        **self.keys.contact(person.name),
                    )
                event = events.add(
                    actor_id=owner,
                    verb="parties.account.created",
                    target_type_id=ct,
                    target_id=pk,
                    target_repr=name,
                    data={"owner": owner},
                    created_at=created,
                )
                links.add(event_id=event, content_type_id=ct, object_id=pk)
            with transaction.atomic():
                for table in (accounts, contacts, events, links):
                    table.flush()
            self.progress("accounts", end, total)
        self.n_contacts = contacts.written
        self.timed("accounts", total, started)
        print(f"  {'(+ contacts)':<16} {contacts.written:>10,} rows, + 1 audit event and link per account")

    # --- opportunities with stage history ------------------------------------------------------------

    def opportunities(self) -> None:
        from django.contrib.contenttypes.models import ContentType
        from django.db import transaction

        from salesflow.core.models import AuditEvent, AuditLink
        from salesflow.demo import data
        from salesflow.parties.models import Account
        from salesflow.sales.models import LostReason, Opportunity, Stage, StageChange
        from salesflow.sales.services import default_pipeline

        rng = self.rng
        total = self.counts["opportunities"]
        pipeline = default_pipeline()
        stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position"))
        open_stages = [s for s in stages if s.kind == "open"]
        won = next(s for s in stages if s.kind == "won")
        lost = next(s for s in stages if s.kind == "lost")
        reasons = list(LostReason.objects.values_list("pk", flat=True))
        opp_ct = ContentType.objects.get_for_model(Opportunity).pk
        acc_ct = ContentType.objects.get_for_model(Account).pk
        funnel = (22, 20, 18, 16, 13, 11)
        opps, changes = Table(Opportunity), Table(StageChange)
        events, links = Table(AuditEvent), Table(AuditLink)
        n_accounts = len(self.account_ids)
        started = time.perf_counter()
        for start in range(0, total, self.batch):
            end = min(total, start + self.batch)
            for _i in range(start, end):
                idx = rng.randrange(n_accounts)
                account, owner = self.account_ids[idx], self.account_owner[idx]
                r = rng.random()
                if r < 0.25:
                    path_stages = [*open_stages, won]
                elif r < 0.45:
                    k = rng.randrange(len(open_stages))
                    path_stages = [*open_stages[: k + 1], lost]
                else:
                    k = rng.choices(range(len(open_stages)), funnel)[0]
                    path_stages = open_stages[: k + 1]
                steps = [rng.uniform(2, 30) for _ in path_stages[1:]]
                when = self.moment(sum(steps) + rng.uniform(0.5, DAYS - 250))
                path = [(path_stages[0], when)]
                for stage, step in zip(path_stages[1:], steps, strict=True):
                    when = when + timedelta(seconds=int(step * 86400))
                    path.append((stage, when))
                final, entered = path[-1]
                is_open = final.kind == "open"
                outcome = "open" if is_open else final.kind
                brand = rng.choice(data.BRAND_FIRST)[0] + rng.choice(data.BRAND_SECOND)[0]
                name = f"{brand}{rng.choice(data.PRODUCTS)}项目"
                amount = Decimal(rng.randrange(50, 5000) * 1000)
                created = path[0][1]
                expected_close = (
                    (self.now + timedelta(days=rng.randint(-10, 150))).date() if is_open else entered.date()
                )
                pk = opps.add(
                    name=name,
                    account_id=account,
                    owner_id=owner,
                    pipeline_id=pipeline.pk,
                    stage_id=final.pk,
                    amount=amount,
                    currency="CNY",
                    probability=100 if outcome == "won" else final.probability,
                    forecast_category="closed" if outcome == "won" else final.forecast_category,
                    expected_close_date=expected_close,
                    next_step=rng.choice(data.NEXT_STEPS) if is_open and rng.random() < 0.75 else "",
                    next_step_date=(
                        (self.now + timedelta(days=rng.randint(-7, 21))).date()
                        if is_open and rng.random() < 0.7
                        else None
                    ),
                    outcome=outcome,
                    lost_reason_id=rng.choice(reasons) if outcome == "lost" and reasons else None,
                    closed_at=None if is_open else entered,
                    closed_on=None if is_open else entered.date(),
                    close_date=expected_close if is_open else entered.date(),
                    stage_entered_at=entered,
                    created_at=created,
                    updated_at=entered,
                )
                self.opp_ids.append(pk)
                self.opp_owner.append(owner)
                self.opp_account.append(account)
                previous = None
                for stage, moment in path:
                    changes.add(
                        opportunity_id=pk,
                        from_stage_id=previous[0].pk if previous else None,
                        to_stage_id=stage.pk,
                        changed_by_id=owner,
                        changed_at=moment,
                        duration_seconds=int((moment - previous[1]).total_seconds()) if previous else None,
                        from_position=previous[0].position if previous else None,
                        to_position=stage.position,
                        owner_id=owner,
                        owner_team_id=self.rep_team.get(owner),
                        amount=amount,
                        currency="CNY",
                        probability=stage.probability,
                    )
                    previous = (stage, moment)
                event = events.add(
                    actor_id=owner,
                    verb="sales.opportunity.created",
                    target_type_id=opp_ct,
                    target_id=pk,
                    target_repr=name,
                    data={"amount": str(amount), "currency": "CNY", "stage": path_stages[0].code},
                    created_at=created,
                )
                links.add(event_id=event, content_type_id=opp_ct, object_id=pk)
                links.add(event_id=event, content_type_id=acc_ct, object_id=account)
            with transaction.atomic():
                for table in (opps, changes, events, links):
                    table.flush()
            self.progress("opportunities", end, total)
        self.n_changes = changes.written
        self.timed("opportunities", total, started)
        print(f"  {'(+ stage changes)':<16} {changes.written:>10,} rows, + 1 audit event and 2 links per opportunity")

    # --- leads ------------------------------------------------------------------------------------

    def leads(self) -> None:
        from django.db import transaction

        from salesflow.core.normalize import company_name_key
        from salesflow.demo import data
        from salesflow.demo.generate import make_mobile, make_person
        from salesflow.leads.models import DisqualifyReason, Lead

        rng = self.rng
        total = self.counts["leads"]
        reasons = list(DisqualifyReason.objects.values_list("pk", flat=True))
        cities = [city for options in data.CITIES.values() for city, _code, _divs in options]
        industries = list(data.INDUSTRY_WORDS)
        channels = list(data.SUB_CHANNELS)
        statuses = ("new", "contacted", "qualified", "disqualified", "converted")
        n_opps = len(self.opp_ids)
        leads = Table(Lead)
        started = time.perf_counter()
        for start in range(0, total, self.batch):
            end = min(total, start + self.batch)
            for _i in range(start, end):
                person = make_person(rng)
                status = rng.choices(statuses, (30, 25, 10, 25, 10))[0]
                channel = rng.choice(channels)
                industry = rng.choice(industries)
                brand = rng.choice(data.BRAND_FIRST)[0] + rng.choice(data.BRAND_SECOND)[0]
                created = self.moment(rng.uniform(0, DAYS))
                owner = None if status == "new" and rng.random() < 0.05 else rng.choice(self.rep_ids)
                values: dict[str, Any] = {}
                if status == "disqualified" and reasons:
                    values["disqualify_reason_id"] = rng.choice(reasons)
                elif status == "qualified":
                    values.update(
                        budget_status="yes",
                        authority_status="yes",
                        need=rng.choice(data.NEEDS),
                        timeline=(self.now + timedelta(days=rng.randint(10, 120))).date(),
                    )
                elif status == "converted":
                    k = rng.randrange(n_opps)
                    owner = self.opp_owner[k]
                    values.update(
                        converted_opportunity_id=self.opp_ids[k],
                        converted_account_id=self.opp_account[k],
                        converted_at=created + timedelta(days=rng.randint(1, 30)),
                    )
                company = f"{rng.choice(cities)}{brand}{rng.choice(data.INDUSTRY_WORDS[industry])}有限公司"
                pk = leads.add(
                    name=person.name,
                    title=rng.choice(data.LEAD_TITLES),
                    mobile=make_mobile(rng) if rng.random() < 0.9 else "",
                    email=person.email("example.com.cn", rng) if rng.random() < 0.5 else "",
                    company_name=company,
                    company_key=company_name_key(company),
                    industry=industry,
                    region_id=rng.choice(self.territory_ids),
                    source_channel=channel,
                    sub_channel=rng.choice(data.SUB_CHANNELS[channel]),
                    status=status,
                    owner_id=owner,
                    created_at=created,
                    updated_at=created,
                    **values,
                    **self.keys.lead(person.name, company),
                )
                self.lead_ids.append(pk)
                self.lead_owner.append(owner or 0)
            with transaction.atomic():
                leads.flush()
            self.progress("leads", end, total)
        self.timed("leads", total, started)

    # --- activities -------------------------------------------------------------------------------

    def activities(self) -> None:
        from django.db import transaction

        from salesflow.activities.models import Activity
        from salesflow.demo import data

        rng = self.rng
        total = self.counts["activities"]
        kinds = list(data.SUBJECTS)
        n_opps, n_leads, n_accounts = len(self.opp_ids), len(self.lead_ids), len(self.account_ids)
        activities = Table(Activity)
        day = timedelta(days=1)
        started = time.perf_counter()
        for start in range(0, total, self.batch):
            end = min(total, start + self.batch)
            for _i in range(start, end):
                kind = rng.choice(kinds)
                created = self.moment(rng.uniform(-14, DAYS))
                if created > self.now:  # planned: created yesterday, due in the next two weeks
                    created, due = self.now - day, created
                else:
                    due = created + timedelta(hours=rng.randint(0, 72))
                done = due < self.now and rng.random() < 0.9
                r = rng.random()
                links: dict[str, Any]
                if r < 0.5:
                    k = rng.randrange(n_opps)
                    owner = self.opp_owner[k]
                    links = {"opportunity_id": self.opp_ids[k], "account_id": self.opp_account[k]}
                elif r < 0.8:
                    k = rng.randrange(n_leads)
                    owner = self.lead_owner[k] or rng.choice(self.rep_ids)
                    links = {"lead_id": self.lead_ids[k]}
                else:
                    k = rng.randrange(n_accounts)
                    owner = self.account_owner[k]
                    links = {"account_id": self.account_ids[k]}
                activities.add(
                    kind=kind,
                    subject=rng.choice(data.SUBJECTS[kind]),
                    owner_id=owner,
                    due_at=due,
                    done=done,
                    done_at=due if done else None,
                    outcome=rng.choice(data.OUTCOMES) if done and rng.random() < 0.5 else "",
                    next_follow_up=(due + timedelta(days=rng.randint(1, 14))).date() if rng.random() < 0.1 else None,
                    created_at=created,
                    updated_at=created,
                    **links,
                )
            with transaction.atomic():
                activities.flush()
            self.progress("activities", end, total)
        self.timed("activities", total, started)

    def run(self) -> dict[str, Any]:
        from salesflow.activities.models import Activity
        from salesflow.core.models import AuditEvent, AuditLink
        from salesflow.leads.models import Lead
        from salesflow.parties.models import Account, Contact
        from salesflow.sales.models import Opportunity, StageChange

        loaded = [Account, Contact, Opportunity, StageChange, Lead, Activity, AuditEvent, AuditLink]
        started = time.perf_counter()
        self.users()
        indexes = drop_secondary_indexes(loaded)
        self.accounts()
        self.opportunities()
        self.leads()
        self.activities()
        reset_sequences(loaded)
        from salesflow.sales.selectors import refresh_stage_ranks

        refresh_stage_ranks()  # the deal list's stage sort key of the raw-loaded deals
        step = time.perf_counter()
        create_indexes(indexes)
        print(f"  {len(indexes)} indexes       {time.perf_counter() - step:27.1f} s (rebuilt after the load)")
        step = time.perf_counter()
        from salesflow.search.services import reindex

        searchable = sum(reindex(batch=5000).values())  # the global search index, from the loaded rows
        print(f"  search index     {searchable:>10,} rows {time.perf_counter() - step:8.1f} s")
        step = time.perf_counter()
        from salesflow.sales.services import stage_dwell_stats_compute
        from salesflow.users.services import system_actor

        stats = stage_dwell_stats_compute(actor=system_actor())  # the nightly stall statistic
        print(f"  stall statistic  {stats:>10,} rows {time.perf_counter() - step:8.1f} s")
        step = time.perf_counter()
        from salesflow.sales.stuck_services import stuck_buckets_rebuild

        buckets = stuck_buckets_rebuild()  # the stuck matrix's aggregate of the raw-loaded deals
        print(f"  stuck buckets    {buckets:>10,} rows {time.perf_counter() - step:8.1f} s")
        secs = time.perf_counter() - started
        rows = sum(n for _label, n, _s in self.stats) + self.n_contacts + self.n_changes
        print(f"  {'total':<16} {rows:>10,} rows {secs:8.1f} s {rows / secs:>10,.0f} rows/s (main tables + children)")
        return {
            "scale": self.scale,
            "version": GENERATOR_VERSION,
            "counts": {**self.counts, "contacts": self.n_contacts, "stage_changes": self.n_changes},
            "users": self.meta_users,
            "password": PASSWORD,
            "generated_at": self.now.isoformat(),
            "seconds": round(secs, 1),
        }


def analyze() -> None:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        # PostgreSQL: VACUUM too — it sets the visibility map, without which every index-only
        # scan of the figures visits the table (the bench server runs without autovacuum; in
        # production autovacuum does this after a load). Outside a transaction (autocommit).
        cursor.execute("VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE")
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"  ANALYZE          {time.perf_counter() - started:27.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.01, help="1.0 = 200k accounts, 1M leads, … (default 0.01)")
    parser.add_argument("--batch", type=int, default=5000, help="rows per bulk insert transaction (default 5000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--force", action="store_true", help="rebuild even if the data is already there")
    parser.add_argument("--no-analyze", action="store_true", help="skip ANALYZE after loading")
    args = parser.parse_args()
    if args.scale <= 0:
        parser.error("--scale must be positive")

    url = setup_django()
    print(f"Benchmark database: {redacted(url)}")
    meta = None
    if not url.startswith("sqlite:") or DEFAULT_SQLITE.exists() or "BENCH_DATABASE_URL" in os.environ:
        try:
            meta = read_meta()
        except Exception:  # a database that does not exist yet
            meta = None
    if (
        not args.force
        and meta
        and meta.get("scale") == args.scale
        and meta.get("version") == GENERATOR_VERSION
        and meta.get("seed", 2026) == args.seed
    ):
        print(f"Already generated at scale {args.scale} on {meta['generated_at']}; use --force to rebuild.")
        from django.core.management import call_command as migrate_command

        from bench.billing import ensure_billing  # issue 9 (billing): added to earlier data once

        migrate_command("migrate", verbosity=0, interactive=False)
        ensure_billing(args.scale, seed=args.seed, batch=args.batch)
        ensure_match_keys()  # issue 8: the duplicate-check keys, added to earlier data once
        return 0

    from django.core.management import call_command

    reset_database(url)
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"  migrate          {time.perf_counter() - started:27.1f} s")
    tune_for_load()
    print(f"Generating scale {args.scale} (batch {args.batch}, seed {args.seed}):")
    meta = Loader(args.scale, args.batch, args.seed).run()
    meta["seed"] = args.seed
    from bench.billing import ensure_billing  # issue 9 (billing): plans and payments for the ageing report

    ensure_billing(args.scale, seed=args.seed, batch=args.batch)
    if not args.no_analyze:
        analyze()
    from salesflow.scorecards.facts import refresh_funnel_facts  # issue 10: the nightly job, after ANALYZE

    step = time.perf_counter()
    print(f"  funnel facts {sum(refresh_funnel_facts().values()):>14,} rows {time.perf_counter() - step:8.1f} s")
    write_meta(meta)
    print("Done. Run: .venv/bin/python bench/run.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
