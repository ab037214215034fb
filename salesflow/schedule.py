"""The one registry of periodic jobs. ``salesflow scheduler`` enqueues them when due.

Each job's task takes a ``slot`` keyword (the date for daily jobs) and is idempotent for it.
Add a job here, never elsewhere; ``salesflow scheduler --list`` shows them.
"""

from __future__ import annotations

from datetime import time, timedelta

from salesflow.activities import tasks as activity_tasks
from salesflow.attachments import tasks as attachment_tasks
from salesflow.billing import tasks as billing_tasks  # issue 9 (billing): payment reminders
from salesflow.contracts import tasks as contract_tasks  # issue 9 (contracts)
from salesflow.core import export_tasks
from salesflow.core import tasks as core_tasks
from salesflow.core.scheduling import Daily, Every, PeriodicJob
from salesflow.notifications import tasks as notification_tasks
from salesflow.pools import tasks as pool_tasks
from salesflow.routing import tasks as routing_tasks  # issue 8: first-response SLAs
from salesflow.sales import tasks as sales_tasks
from salesflow.scoring import tasks as scoring_tasks
from salesflow.workreports import tasks as workreport_tasks

JOBS: list[PeriodicJob] = [
    PeriodicJob(
        name="core.prune_finished_tasks",
        schedule=Daily(at=time(3, 30)),
        task=core_tasks.prune_finished_tasks,
        description="Delete finished task results after two weeks and scheduler slot rows after two months.",
    ),
    PeriodicJob(
        # Every half hour, so each user gets it soon after 07:30 in their own time zone.
        name="notifications.daily_digest",
        schedule=Every(notification_tasks.DIGEST_EVERY),
        task=notification_tasks.send_daily_digests,
        description="Each user's tasks due today and overdue (once per user per day).",
    ),
    PeriodicJob(
        name="attachments.purge_orphans",
        schedule=Daily(at=time(3, 45)),
        task=attachment_tasks.purge_orphaned_attachments,
        description="Remove attachments whose record is gone, and files no attachment names.",
    ),
    PeriodicJob(
        name="core.purge_expired_exports",
        schedule=Daily(at=time(3, 50)),
        task=export_tasks.purge_expired_exports,
        description="Delete exported files past their expiry (three days after they were written).",
    ),
    # stall detection (issue 7): the team percentiles first, then the escalation ladder
    PeriodicJob(
        name="sales.compute_stage_dwell_stats",
        schedule=Daily(at=time(2, 30)),
        task=sales_tasks.compute_stage_dwell_stats,
        description="Each team's 80th percentile of time in each stage, for stall detection.",
    ),
    PeriodicJob(
        name="sales.escalate_stalled_deals",
        schedule=Daily(at=time(8, 0)),
        task=sales_tasks.escalate_stalled_deals,
        description="Notify owners of newly stalled deals, then their managers (the escalation ladder).",
    ),
    # issue 7: follow-up discipline
    PeriodicJob(
        name="activities.follow_up_escalation",
        schedule=Daily(at=time(6, 30)),
        task=activity_tasks.follow_up_escalation,
        description="Escalate accounts and open deals without a follow-up within their grade's frequency plus grace.",
    ),
    PeriodicJob(
        # Every half hour, so each person is reminded soon after the reminder time in their zone.
        name="workreports.remind_missing",
        schedule=Every(workreport_tasks.REMIND_EVERY),
        task=workreport_tasks.remind_missing_reports,
        description="Remind people whose daily or weekly work report is missing (once per report).",
    ),
    # issue 8 (routing): first-response SLAs
    PeriodicJob(
        name="routing.first_response_sla",
        schedule=Every(routing_tasks.SLA_EVERY),
        task=routing_tasks.first_response_sla,
        description="Escalate assigned leads past their first-response SLA to the owner's manager (once per lead).",
    ),
    # issue 8: lead scoring (the event-driven recompute's safety net, and the moving look-backs)
    PeriodicJob(
        name="scoring.recompute_stale",
        schedule=Every(scoring_tasks.STALE_EVERY),
        task=scoring_tasks.recompute_stale,
        description="Rescore leads without a score or changed (or with a changed activity) since it was computed.",
    ),
    PeriodicJob(
        name="scoring.recompute_all",
        schedule=Daily(at=time(2, 15)),
        task=scoring_tasks.recompute_daily,
        description="Rescore every lead once a day (activity look-backs move with the calendar).",
    ),
    # issue 8: public pools (公海) — recycle rules
    PeriodicJob(
        name="pools.recycle",
        schedule=Daily(at=time(5, 30)),
        task=pool_tasks.recycle,
        description="Warn owners ahead of a recycle, then return records without follow-up to their public pool.",
    ),
    # issue 9 (billing): reminders before and after instalment due dates
    PeriodicJob(
        name="billing.payment_reminders",
        schedule=Daily(at=time(7, 0)),
        task=billing_tasks.payment_reminders,
        description="Remind owners and their assistants of instalments coming due or overdue (once per rule day).",
    ),
    # issue 9 (contracts): renewal reminders
    PeriodicJob(
        name="contracts.renewal_reminders",
        schedule=Daily(at=time(7, 0)),
        task=contract_tasks.renewal_reminders,
        description="Remind owners of signed contracts ending within the renewal reminder days (reminder settings).",
    ),
    PeriodicJob(
        name="contracts.expire",
        schedule=Daily(at=time(0, 25)),
        task=contract_tasks.expire_contracts,
        description="Signed contracts whose end date has passed become expired.",
    ),
]
# issue 9 (approvals): reminders and escalation of pending approvals
from salesflow.approvals import tasks as approval_tasks  # noqa: E402

JOBS.append(
    PeriodicJob(
        name="approvals.remind_and_escalate",
        schedule=Every(approval_tasks.REMIND_EVERY),
        task=approval_tasks.remind_and_escalate,
        description="Remind approvers of overdue approval steps, then escalate them to their managers (once per step).",
    )
)

# issue 9 (quotes): approved or sent quotes past their validity become expired
from salesflow.quotes import tasks as quote_tasks  # noqa: E402

JOBS.append(
    PeriodicJob(
        name="quotes.expire",
        schedule=Daily(at=time(0, 20)),
        task=quote_tasks.expire_quotes,
        description="Approved or sent quotes whose validity date has passed become expired.",
    )
)

# issue 10: the dashboards' figures of the company and the top teams stay fresh
# issue 10 (commissions): last month's draft statements, on the 1st
from salesflow.commissions import tasks as commission_tasks  # noqa: E402
from salesflow.core.scheduling import Monthly  # noqa: E402

JOBS.append(
    PeriodicJob(
        name="commissions.draft_last_month",
        schedule=Monthly(day=1, at=time(1, 30)),
        task=commission_tasks.draft_last_month,
        description="Draft last month's commission statement for everyone paid by a rule who has none yet.",
    )
)
from salesflow.dashboards import tasks as dashboards_tasks  # noqa: E402

JOBS.append(
    PeriodicJob(
        name="dashboards.refresh",
        schedule=Every(timedelta(minutes=10)),
        task=dashboards_tasks.refresh_dashboards,
        description="Recompute the company's and the top teams' dashboard figures.",
    )
)

# issue 11: forecasting and process intelligence
from salesflow.achievable import tasks as achievable_tasks  # noqa: E402
from salesflow.forecasts import tasks as forecast_tasks  # noqa: E402
from salesflow.improvement import tasks as improvement_tasks  # noqa: E402
from salesflow.process import tasks as process_tasks  # noqa: E402
from salesflow.projections import tasks as projection_tasks  # noqa: E402
from salesflow.scorecards import tasks as scorecard_tasks  # noqa: E402
from salesflow.winloss import tasks as winloss_tasks  # noqa: E402

JOBS.extend(
    [
        PeriodicJob(
            name="achievable.compute_calibration",
            schedule=Daily(at=time(2, 45)),
            task=achievable_tasks.compute_calibration,
            description="Win-rate calibration and close-date slips from the closed history, "
            "then every node's most likely revenue.",
        ),
        PeriodicJob(
            name="achievable.refresh_likely_revenue",
            schedule=Every(timedelta(hours=1)),
            task=achievable_tasks.refresh_likely_revenue,
            description="Every node's most likely revenue (P10/P50/P90) for this month and quarter.",
        ),
        PeriodicJob(
            name="projections.compute_forecasts",
            schedule=Daily(at=time(2, 50)),
            task=projection_tasks.compute_forecasts,
            description="Backtest and refit the revenue forecasts "
            "(company and teams; won revenue and collections; month and week).",
        ),
        PeriodicJob(
            name="process.refresh_facts",
            schedule=Every(timedelta(minutes=10)),
            task=process_tasks.refresh_process_facts,
            description="Fold new stage exits and changed deals into the process fact tables; "
            "recompute the company's and every team's default process views that are not fresh.",
        ),
        PeriodicJob(
            # issue 10: funnel math's stored months (a change after it is read live)
            name="scorecards.refresh_funnel_facts",
            schedule=Daily(at=time(1, 15)),
            task=scorecard_tasks.refresh_funnel_facts_task,
            description="Store the ended months' stage passes of closed deals for funnel math.",
        ),
        PeriodicJob(
            name="process.rebuild_facts",
            schedule=Daily(at=time(2, 30)),
            task=process_tasks.rebuild_process_facts,
            description="Rebuild the process fact tables from scratch.",
        ),
        PeriodicJob(
            name="winloss.refresh",
            schedule=Every(timedelta(hours=1)),
            task=winloss_tasks.refresh_winloss,
            description="Recompute the win/loss drivers of the company, every team and every rep "
            "(month, quarter, year).",
        ),
        PeriodicJob(
            name="forecasts.remind_submissions",
            schedule=Daily(at=time(9, 0)),
            task=forecast_tasks.remind_submissions,
            description="Remind people who have not submitted this month's or quarter's forecast, "
            "in the days before it is due (once per period).",
        ),
        PeriodicJob(
            name="improvement.control_check",
            schedule=Daily(at=time(6, 10)),
            task=improvement_tasks.check_control_plans,
            description="Check each improvement project's control plan for drift (Western Electric rules).",
        ),
    ]
)
