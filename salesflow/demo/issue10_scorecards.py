"""Demo appraisals (考核, issue 10): last quarter's ratings and comments on every rep, written
by their managers through ``scorecards.services.appraisal_create``. The rating follows the
rep's won revenue against the team's median that quarter (the scorecard's own figures), and the
comment is what a Chinese sales manager would write. A second run adds nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from salesflow.analytics.selectors import Node
from salesflow.core.periods import Period, period_containing
from salesflow.scorecards.models import Appraisal
from salesflow.scorecards.selectors import SELLING_ROLES, can_write_appraisal_of, scorecard
from salesflow.scorecards.services import appraisal_create
from salesflow.users.choices import Role
from salesflow.users.models import Team, User

COMMENTS: dict[str, list[str]] = {
    "A": [
        "本季度业绩明显高于团队中位数，大客户推进节奏把握得很好。\n下季度希望把成功经验整理出来，在周会上和大家分享。",
        "回款和签单都很稳，客户拜访量也保持在前列。继续保持，下季度可以尝试带一位新同事。",
    ],
    "B": [
        "整体完成情况良好，赢单率在团队中位数以上。\n建议多关注方案阶段停滞的商机，及时推进或果断关闭。",
        "客户关系维护得不错，拜访和跟进都很及时。平均客单价偏低，下季度重点突破中大型项目。",
    ],
    "C": [
        "本季度达成情况一般，商机数量够，但转化偏弱。\n下季度请每周和我过一次重点商机，提前识别风险。",
        "活动量达标，但成交周期偏长。建议在资格确认阶段把预算和决策人问清楚，减少无效跟进。",
    ],
    "D": [
        "本季度业绩明显低于团队中位数，停滞商机较多。\n我们一起制定一个改进计划，每两周复盘一次。",
        "拜访量不足，新商机来源单一。下季度先把客户拜访频次提上来，我会安排老同事协助。",
    ],
}


def last_quarter(today: dt.date) -> Period:
    this_quarter = period_containing("quarter", today)
    return period_containing("quarter", this_quarter.start - dt.timedelta(days=1))


def _grade(value: Decimal, median: Decimal | None) -> str:
    if median is None or median <= 0:
        return "B" if value > 0 else "C"
    if value >= median * Decimal("1.3"):
        return "A"
    if value >= median:
        return "B"
    if value >= median * Decimal("0.6"):
        return "C"
    return "D"


def write_scorecards(users: dict[str, User], today: dt.date) -> dict[str, int]:
    """Appraisals for last quarter of every rep a demo manager manages; returns the count written."""
    period = last_quarter(today)
    written = 0
    demo_ids = {u.pk for u in users.values()}
    managers = [u for u in users.values() if u.is_active and u.role == Role.MANAGER]
    for manager in sorted(managers, key=lambda u: u.pk):
        for team in Team.objects.filter(manager=manager).order_by("pk"):
            card = scorecard(Node("team", team.pk, team.name), period, today=today)
            median = card.medians.won_amount
            reps = {r.pk: r for r in User.objects.filter(pk__in=[c.user_id for c in card.rows], role__in=SELLING_ROLES)}
            for index, row in enumerate(card.rows):
                rep = reps.get(row.user_id)
                if rep is None or rep.pk not in demo_ids or not can_write_appraisal_of(manager, rep):
                    continue
                if Appraisal.objects.filter(rep=rep, period_key=period.key).exists():
                    continue
                grade = _grade(row.stats.won_amount, median)
                comment = COMMENTS[grade][(rep.pk + index) % len(COMMENTS[grade])]
                appraisal_create(actor=manager, rep=rep, period_key=period.key, rating=grade, comment=comment)
                written += 1
    return {"appraisals": written}


def delete_scorecards(user_ids: list[int]) -> int:
    """Remove the appraisals of or by the demo users (they PROTECT both); returns how many."""
    from django.db.models import Q

    deleted, _ = Appraisal.objects.filter(Q(rep_id__in=user_ids) | Q(author_id__in=user_ids)).delete()
    return deleted
