"""Demo data of issue 8's lead capture and assignment (routing): two web-to-lead forms
(the website contact form and a trade-show campaign), assignment rules (trade-show campaign
load-balanced, 华东 territory round-robin, a round-robin catch-all), first-response SLAs,
working hours, a few captured leads with their assignment history (one reassigned by the
manager) and one missed SLA escalated to the manager.

Deterministic and re-runnable: configuration rows are found by name and updated, so
``demo --reset`` gives the same shape. Every lead it creates gets a demo owner (so
``demo --delete`` removes it with the rest)."""

from __future__ import annotations

from datetime import time, timedelta

from django.utils import timezone

from salesflow.leads.models import Lead
from salesflow.leads.services import lead_create, lead_update
from salesflow.routing.models import AssignmentRule, FirstResponseSla, LeadCaptureForm, SlaClock, WorkingHours
from salesflow.routing.services import (
    escalate_missed_slas,
    form_create,
    form_submit,
    rule_create,
    sla_save,
    working_hours_add,
)
from salesflow.users.models import Team, Territory, User
from salesflow.users.services import system_actor

WEBSITE_FORM = "官网联系表单"
TRADE_SHOW_FORM = "2026 上海工博会展位登记"
TRADE_SHOW_CAMPAIGN = "2026 上海工博会"
RULE_NAMES = ("展会线索 · 按负载分配", "华东区域 · 轮流分配", "兜底 · 全体销售轮流")
CONSENT = "我同意贵公司依据《隐私政策》处理我提交的个人信息，并通过电话、微信或邮件与我联系。"

#: the leads this module creates (the demo test adds them to the organisation's count)
ROUTING_DEMO_LEADS = 6

_WEB_VISITORS = (
    {"name": "孙丽", "company_name": "杭州云启数据科技有限公司", "title": "IT 总监", "mobile": "13757100001",
     "email": "sunli@yunqi-data.example.com", "need": "想了解 CRM 与企业微信的集成方案。"},
    {"name": "高原", "company_name": "南京恒拓智能装备有限公司", "title": "销售副总", "mobile": "13951600002",
     "email": "gaoyuan@hengtuo.example.com", "need": "销售团队 30 人，希望试用。"},
)  # fmt: skip
_SHOW_VISITORS = (
    {"name": "钱程", "company_name": "苏州宏达精密制造有限公司", "mobile": "13862100003", "title": "采购经理"},
    {"name": "郑伟", "company_name": "宁波博源新材料有限公司", "mobile": "13957400004", "title": "总经理"},
)  # fmt: skip


def _form(name: str, **values: object) -> LeadCaptureForm:
    existing = LeadCaptureForm.objects.filter(name=name).first()
    if existing is not None:
        return existing
    return form_create(actor=system_actor(), name=name, **values)  # type: ignore[arg-type]


def seed_routing(users: dict[str, User]) -> None:
    """Forms, rules, SLAs and hours, then captured leads and one missed SLA (see module doc)."""
    actor = system_actor()
    website = _form(
        WEBSITE_FORM,
        source_channel="inbound",
        sub_channel="website",
        campaign="官网",
        title="联系我们",
        intro="留下联系方式，销售顾问会在 30 分钟内（工作时间）联系您。",
        fields=["name", "company_name", "title", "mobile", "email", "need"],
        required_fields=["name", "mobile"],
        consent_text=CONSENT,
        thank_you_message="感谢您的关注！销售顾问会尽快与您联系。",
        allowed_origins="https://www.example.com",
    )
    show = _form(
        TRADE_SHOW_FORM,
        source_channel="inbound",
        sub_channel="event",
        campaign=TRADE_SHOW_CAMPAIGN,
        title="展位登记",
        fields=["name", "company_name", "title", "mobile"],
        required_fields=["name", "mobile", "company_name"],
        thank_you_message="登记成功，欢迎到 5.1H 馆 A218 展位参观！",
    )
    AssignmentRule.objects.filter(name__in=RULE_NAMES).delete()
    east = Territory.objects.filter(code="east").first()
    east_team = Team.objects.filter(name="华东一组").first()
    reps = [users[u] for u in ("zhangwei", "lina", "liuyang", "chenjing") if u in users]
    show_rule = rule_create(
        actor=actor,
        name=RULE_NAMES[0],
        campaign_contains="工博会",
        strategy="load_balanced",
        members=[users["liuyang"], users["chenjing"]],
        capacity=400,
    )
    east_rule = rule_create(actor=actor, name=RULE_NAMES[1], territory=east, strategy="round_robin", team=east_team)
    rule_create(actor=actor, name=RULE_NAMES[2], strategy="round_robin", members=reps)
    for source, sub, minutes in (("inbound", "website", 30), ("inbound", "event", 240), ("inbound", "", 120)):
        existing = FirstResponseSla.objects.filter(source_channel=source, sub_channel=sub).first()
        sla_save(actor=actor, source_channel=source, sub_channel=sub, minutes=minutes, sla=existing)

    for visitor in _WEB_VISITORS:
        form_submit(form=website, data=visitor, consent=True, address="203.0.113.10", user_agent="demo")
    for visitor in _SHOW_VISITORS:
        form_submit(form=show, data=visitor, consent=False, address="198.51.100.20", user_agent="demo")
    shanghai = Territory.objects.filter(code="shanghai").first()
    for name, company, mobile in (
        ("冯刚", "上海鼎盛电气设备有限公司", "13816200005"),
        ("陆敏", "上海锦程物流有限公司", "13816200006"),
    ):
        lead_create(
            actor=actor,
            owner=None,
            name=name,
            company_name=company,
            mobile=mobile,
            region=shanghai,
            source_channel="inbound",
            sub_channel="content",
            intake_options={"via": "import", "duplicate_reason": "demo"},
        )
    # the manager hands one captured lead to another rep (a manual line in the history)
    lead = Lead.objects.filter(mobile="13951600002").first()
    if lead is not None and lead.owner_id is not None and "wang" in users:
        target = users["lina"] if lead.owner_id != users["lina"].pk else users["zhangwei"]
        lead_update(actor=users["wang"], lead=lead, owner=target, intake_options={"reason": "客户在江苏，交给李娜跟进"})
    # working hours for the east rule (turned on after the leads came in, so the demo does not
    # depend on the hour it is generated at)
    WorkingHours.objects.filter(rule=east_rule).delete()
    working_hours_add(actor=actor, rule=east_rule, weekdays="12345", start=time(9), end=time(18))
    east_rule.respect_working_hours = True
    east_rule.save(update_fields=["respect_working_hours"])
    del show_rule
    # one missed SLA: the first website lead has waited two hours without a response
    missed = Lead.objects.filter(mobile="13757100001").first()
    if missed is not None:
        past = timezone.now() - timedelta(hours=2)
        SlaClock.objects.filter(lead=missed).update(started_at=past, due_at=past + timedelta(minutes=30))
        escalate_missed_slas()
