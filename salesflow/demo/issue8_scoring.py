"""Demo data of issue 8's scoring part: score rules, a score on every demo lead, MQL → SQL
hand-offs, and verified and stale records for the data-quality page.

The learned model is not trained here (the demo's won/lost history is generated, so a
model would learn the generator); run ``salesflow train_lead_model`` to try it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet

from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_hand_off
from salesflow.parties.models import Account, Contact
from salesflow.scoring.models import ScoreRule
from salesflow.scoring.services import recompute_leads, record_verify
from salesflow.users.models import User

#: (label, category, attribute, operator, value, points, window_days)
DEMO_RULES: list[tuple[str, str, str, str, str, int, int]] = [
    ("目标行业：制造业 / IT / 金融", "fit", "industry", "in", "manufacturing,it,finance", 15, 30),
    ("大型企业（500 人以上）", "fit", "size", "in", "large,enterprise", 10, 30),
    ("重点区域：上海 / 浙江 / 北京", "fit", "region", "in", "shanghai,zhejiang,beijing", 5, 30),
    ("决策层职位（总监 / 经理 / 总）", "fit", "title", "contains", "总监,经理,总,CEO,CTO", 8, 30),
    ("转介绍来源", "fit", "source_channel", "eq", "referral", 6, 30),
    ("近 30 天有 2 次以上互动", "engagement", "activities", "gte", "2", 12, 30),
    ("多次提交线索表单", "engagement", "form_submissions", "gte", "2", 6, 30),
    ("BANT 已知 3 项以上", "bant", "bant_known", "gte", "3", 20, 30),
    ("冷启动外呼", "fit", "source_channel", "eq", "outbound", -5, 30),
]


def _rules() -> None:
    if ScoreRule.objects.exists():  # configuration: kept when the demo is deleted, like tags
        return
    for position, (label, category, attribute, operator, value, points, days) in enumerate(DEMO_RULES):
        ScoreRule.objects.create(
            label=label,
            category=category,
            attribute=attribute,
            operator=operator,
            value=value,
            points=points,
            window_days=days,
            position=position,
        )


def write_scoring(leads: QuerySet[Lead], users: dict[str, User], *, now: datetime) -> None:
    """Rules, hand-offs of a few open leads, verified and stale records, then score every lead."""
    _rules()
    open_leads = list(
        leads.filter(status__in=[LeadStatus.CONTACTED, LeadStatus.QUALIFIED], owner__isnull=False)
        .select_related("owner")
        .order_by("pk")[:6]
    )
    for lead in open_leads:
        lead_hand_off(actor=lead.owner, lead=lead, note="客户要求演示并询价，转销售跟进")  # type: ignore[arg-type]
    owned = list(leads.filter(owner__isnull=False).select_related("owner").order_by("-pk")[:8])
    for lead in owned:
        record_verify(actor=lead.owner, kind="lead", record=lead)  # type: ignore[arg-type]
    accounts = list(Account.objects.filter(owner__in=users.values()).select_related("owner").order_by("pk"))
    for account in accounts[:10]:
        record_verify(actor=account.owner, kind="account", record=account)  # type: ignore[arg-type]
    for contact in Contact.objects.filter(account__in=accounts[:5]).select_related("account__owner")[:10]:
        record_verify(actor=contact.account.owner, kind="contact", record=contact)  # type: ignore[arg-type]
    # a few verified long ago: stale on the data-quality page
    long_ago = now - timedelta(days=240)
    Account.objects.filter(pk__in=[a.pk for a in accounts[10:16]]).update(last_verified_at=long_ago)
    recompute_leads(leads.values_list("pk", flat=True))
