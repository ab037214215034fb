"""Demo DMAIC project (流程改进, issue 11): a year of personal-loan deals for the North team
(华北一组) and the worked improvement project on the review stage's time.

The story: loan applications waited about six days in review (审核) because documents
arrived piecemeal. About four months ago the team moved the document checklist to intake
(材料清单前置) and three weeks later added a pre-review (预审) that sends incomplete files
back before they reach review; review time fell to about three days. The manager's project
is in the control phase: baseline from the year before the change, both actions, the
Mann–Whitney result and XmR limits from the first weeks after the change; the last weeks
hold a few out-of-control points, which the daily check records as drift.

History: ~200 deals created through ``sales.services.opportunity_create`` (backdated with
its ``created_at``), then moved intake → review → contract → disbursement → won (or lost)
with backdated ``StageChange`` rows written the way ``demo.generate`` writes the B2B deals'
history (snapshots, durations, closed_on). Owners are the North team's reps *at the time*
(team history), so a rep who changed team mid-year keeps their earlier deals in the North
team's figures. The project goes through ``improvement.services``.

Idempotent: deals carry ``MARKER`` in their description and are not written twice; the
project is found by its title. ``delete_improvement()`` removes both.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from salesflow.improvement.models import Phase, Project
from salesflow.improvement.services import (
    action_create,
    project_advance,
    project_control_check,
    project_create,
)
from salesflow.parties.choices import Lifecycle
from salesflow.parties.models import Account
from salesflow.sales.choices import ForecastCategory, Outcome
from salesflow.sales.models import LostReason, Opportunity, Pipeline, Stage, StageChange, stage_rank_of
from salesflow.sales.services import opportunity_create
from salesflow.users.choices import Role
from salesflow.users.models import Team, User
from salesflow.users.selectors import team_history

MARKER = "[demo:issue11-loan-history]"
PROJECT_TITLE = "缩短个人贷款审核阶段时长"
TEAM_NORTH = "华北一组"
DEALS = 200
CHANGE_DAYS_AGO = 120  # 材料清单前置
PRE_REVIEW_DAYS_AGO = 99  # 预审岗
LIMITS_DAYS_AGO = 35  # control limits from the change through five weeks ago
PRODUCTS = (
    ("法人经营贷", (300_000, 500_000, 800_000, 1_000_000)),
    ("股东消费贷", (100_000, 200_000, 300_000)),
    ("员工安居贷", (150_000, 250_000, 400_000)),
)


def _moment(day: dt.date, hours: float) -> dt.datetime:
    base = dt.datetime.combine(day, dt.time(9, 0), tzinfo=timezone.get_current_timezone())
    return base + dt.timedelta(hours=hours)


def _review_days(rng: random.Random, entered: dt.date, change: dt.date, pre_review: dt.date) -> float:
    """Days in review: median ~6 before the checklist change, ~3.3 after it, ~2.9 once the
    pre-review runs (lognormal spread)."""
    if entered < change:
        median, spread = 6.0, 0.33
    elif entered < pre_review:
        median, spread = 3.3, 0.28
    else:
        median, spread = 2.9, 0.25
    return median * math.exp(rng.gauss(0.0, spread))


def _north_owner(rng: random.Random, reps: list[User], history: Any, team_id: int, day: dt.date) -> User | None:
    here = [u for u in reps if history.team_on(u.pk, day) == team_id]
    return rng.choice(here) if here else None


def write_loan_history(users: dict[str, User], today: dt.date) -> int:
    """The North team's year of personal-loan deals; returns how many were written (0 when
    they exist already or the pipeline, team or accounts are missing)."""
    if Opportunity.objects.filter(description__contains=MARKER).exists():
        return 0
    pipeline = Pipeline.objects.filter(code="personal-loan").first()
    team = Team.objects.filter(name=TEAM_NORTH).first()
    if pipeline is None or team is None:
        return 0
    stages = {s.code: s for s in Stage.objects.filter(pipeline=pipeline)}
    if not {"intake", "review", "contract", "disbursement", "won", "lost"} <= set(stages):
        return 0
    reps = sorted(
        (u for u in users.values() if u.role == Role.REP and u.is_active),
        key=lambda u: u.pk,
    )
    history = team_history([u.pk for u in reps])
    # only people in the team now may own a deal of its pipeline (the deal service checks the
    # owner's current team); among them, each deal goes to someone in the team on its day
    reps = [u for u in reps if u.team_id == team.pk]
    accounts: dict[int, list[Account]] = {u.pk: list(Account.objects.filter(owner=u).order_by("pk")[:12]) for u in reps}
    reps = [u for u in reps if accounts[u.pk]]
    if not reps:
        return 0
    lost_reasons = {r.code: r for r in LostReason.objects.all()}
    rng = random.Random(11)  # noqa: S311 (demo data, not security)
    now = timezone.now()
    change = today - dt.timedelta(days=CHANGE_DAYS_AGO)
    pre_review = today - dt.timedelta(days=PRE_REVIEW_DAYS_AGO)
    late = today - dt.timedelta(days=28)
    drift_left = 3
    written = 0
    with transaction.atomic():
        for index in range(DEALS):
            created_day = today - dt.timedelta(days=365 - round(index * 360 / DEALS) + rng.randint(0, 1))
            owner = _north_owner(rng, reps, history, team.pk, created_day)
            if owner is None:
                continue
            product, amounts = PRODUCTS[rng.randrange(len(PRODUCTS))]
            amount = rng.choice(amounts)
            account = rng.choice(accounts[owner.pk])
            created = _moment(created_day, rng.uniform(0, 8))
            opp = opportunity_create(
                actor=owner,
                account=account,
                owner=owner,
                name=f"{account.name} · {product} {amount // 10_000}万",
                amount=amount,
                currency="CNY",
                pipeline=pipeline,
                stage=stages["intake"],
                expected_close_date=created_day + dt.timedelta(days=14),
                description=f"{product}申请，按贷款流程推进。{MARKER}",
                created_at=created,
            )
            # the path: (stage code, moment entered)
            path: list[tuple[str, dt.datetime]] = [("intake", created)]
            review_in = created + dt.timedelta(days=rng.uniform(0.5, 2.5))
            path.append(("review", review_in))
            days = _review_days(rng, review_in.date(), change, pre_review)
            if drift_left and review_in.date() >= late and rng.random() < 0.5:
                days = rng.uniform(7.5, 9.0)  # the exceptions of the last weeks: out of control
                drift_left -= 1
            review_out = review_in + dt.timedelta(days=days)
            roll = rng.random()
            if roll < 0.12:
                path.append(("lost", review_out))
                lost_reason = "product_fit"
            else:
                contract_in = review_out
                path.append(("contract", contract_in))
                disb_in = contract_in + dt.timedelta(days=rng.uniform(1.0, 4.0))
                if roll < 0.2:
                    path.append(("lost", disb_in))
                    lost_reason = "price"
                else:
                    path.append(("disbursement", disb_in))
                    path.append(("won", disb_in + dt.timedelta(days=rng.uniform(1.0, 3.0))))
                    lost_reason = ""
            path = [(code, when) for code, when in path if when <= now]
            _rewrite_history(opp, owner, stages, path, lost_reasons.get(lost_reason) or lost_reasons.get("other"))
            written += 1
        # the history is written as it happened, not through the close service: a customer whose
        # loan was paid out is a customer (as the generator derives the B2B accounts' lifecycle)
        Account.objects.filter(
            opportunities__description__contains=MARKER, opportunities__outcome="won", lifecycle=Lifecycle.PROSPECT
        ).update(lifecycle=Lifecycle.CUSTOMER)
    return written


def _rewrite_history(
    opp: Opportunity,
    owner: User,
    stages: dict[str, Stage],
    path: list[tuple[str, dt.datetime]],
    lost_reason: LostReason | None,
) -> None:
    """Replace the deal's stage history by ``path`` (the way ``demo.generate`` writes the B2B
    deals' history) and set its current stage, outcome and close date."""
    StageChange.objects.filter(opportunity=opp).delete()
    rows = []
    previous: tuple[Stage, dt.datetime] | None = None
    for code, when in path:
        stage = stages[code]
        rows.append(
            StageChange(
                opportunity=opp,
                from_stage=previous[0] if previous else None,
                to_stage=stage,
                changed_by=owner,
                changed_at=when,
                duration_seconds=int((when - previous[1]).total_seconds()) if previous else None,
                from_position=previous[0].position if previous else None,
                to_position=stage.position,
                owner=owner,
                owner_team_id=owner.team_id,
                amount=opp.amount,
                currency=opp.currency,
                probability=stage.probability,
            )
        )
        previous = (stage, when)
    StageChange.objects.bulk_create(rows)
    assert previous is not None
    final, last = previous
    fields: dict[str, Any] = {
        "stage": final,
        "stage_entered_at": last,
        "updated_at": last,
        "probability": final.probability,
        "forecast_category": final.forecast_category,
        "stage_rank": stage_rank_of(opp.pipeline.position, opp.pipeline_id, final.position),
    }
    if final.code in ("won", "lost"):
        closed_on = timezone.localtime(last).date()
        fields.update(
            outcome=Outcome.WON if final.code == "won" else Outcome.LOST,
            closed_at=last,
            closed_on=closed_on,
            close_date=closed_on,
        )
        if final.code == "won":
            fields.update(probability=100, forecast_category=ForecastCategory.CLOSED)
        else:
            fields.update(lost_reason=lost_reason)
    Opportunity.objects.filter(pk=opp.pk).update(**fields)


def write_improvement(users: dict[str, User], today: dt.date) -> dict[str, int]:
    """The loan history and the worked project (control phase, two actions, limits, the
    drift check run for today). A second run writes nothing new."""
    deals = write_loan_history(users, today)
    if Project.objects.filter(title=PROJECT_TITLE).exists():
        return {"loan deals": deals, "improvement projects": 0}
    manager = next((u for u in users.values() if u.role == Role.MANAGER and u.is_active), None)
    pipeline = Pipeline.objects.filter(code="personal-loan").first()
    team = Team.objects.filter(name=TEAM_NORTH).first()
    if manager is None or pipeline is None or team is None:
        return {"loan deals": deals, "improvement projects": 0}
    review = Stage.objects.filter(pipeline=pipeline, code="review").first()
    reps = [u for u in users.values() if u.role == Role.REP and u.is_active and u.team_id == team.pk]
    if review is None:
        return {"loan deals": deals, "improvement projects": 0}
    change = today - dt.timedelta(days=CHANGE_DAYS_AGO)
    pre_review = today - dt.timedelta(days=PRE_REVIEW_DAYS_AGO)
    project = project_create(
        actor=manager,
        today=today,
        title=PROJECT_TITLE,
        problem=(
            "个人贷款申请在审核阶段平均要等6天左右，客户反复补交材料，部分客户转投其他银行。"
            "目标：华北一组审核阶段停留时长中位数降到3天以内，并保持稳定。"
        ),
        metric_key="time_in_stage",
        stage_id=review.pk,
        node=f"team:{team.pk}",
        pipeline_id=pipeline.pk,
        industry="",
        size="",
        target_value=Decimal("3.0"),
        baseline_start=today - dt.timedelta(days=365),
        baseline_end=change,
        owner_id=manager.pk,
    )
    first_owner = reps[0] if reps else manager
    second_owner = reps[1] if len(reps) > 1 else first_owner
    for phase in (Phase.MEASURE, Phase.ANALYSE, Phase.IMPROVE):
        project = project_advance(actor=manager, project=project, to_phase=phase, today=today)
    action_create(
        actor=manager,
        project=project,
        today=today,
        description="材料清单前置：受理时按清单一次性收齐身份、流水、抵押等审批材料",
        owner_id=first_owner.pk,
        due_on=change,
        done_on=change,
    )
    action_create(
        actor=manager,
        project=project,
        today=today,
        description="设立预审岗：资料不全的申请在受理阶段退回补件，不进入审批",
        owner_id=second_owner.pk,
        due_on=pre_review - dt.timedelta(days=3),
        done_on=pre_review,
    )
    project = project_advance(
        actor=manager,
        project=project,
        to_phase=Phase.CONTROL,
        limits_through=today - dt.timedelta(days=LIMITS_DAYS_AGO),
        today=today,
    )
    project_control_check(project=project, today=today)
    return {"loan deals": deals, "improvement projects": 1}


def delete_improvement() -> dict[str, int]:
    """Remove the worked project (its actions cascade) and the loan history deals. Run it
    before ``delete_demo`` removes the users (projects PROTECT their owners)."""
    from django.contrib.contenttypes.models import ContentType

    from salesflow.core.models import AuditEvent, AuditLink

    project_ids = list(Project.objects.filter(title=PROJECT_TITLE).values_list("pk", flat=True))
    ct = ContentType.objects.get_for_model(Project)
    AuditLink.objects.filter(content_type=ct, object_id__in=project_ids).delete()
    AuditEvent.objects.filter(target_type=ct, target_id__in=project_ids).delete()
    projects = Project.objects.filter(pk__in=project_ids).delete()[1].get("improvement.Project", 0)
    deal_ids = list(Opportunity.objects.filter(description__contains=MARKER).values_list("pk", flat=True))
    StageChange.objects.filter(opportunity_id__in=deal_ids).delete()
    deals = Opportunity.objects.filter(pk__in=deal_ids).delete()[1].get("sales.Opportunity", 0)
    return {"improvement projects": projects, "loan deals": deals}
