"""Seed the default B2B pipeline (the handbook's seven steps) and the lost reasons."""

from django.db import migrations

STAGES = [
    # code, en, zh, probability, forecast, kind, rotting days, guidance en, guidance zh
    (
        "prospect",
        "Prospect & first contact",
        "潜在客户与初次接触",
        10,
        "pipeline",
        "open",
        14,
        "Reach the contact, introduce yourself and agree on a first conversation.",
        "联系对方、自我介绍，约定第一次深入沟通。",
    ),
    (
        "qualification",
        "Qualification (BANT)",
        "资格确认（BANT）",
        20,
        "pipeline",
        "open",
        14,
        "Confirm budget, authority, need and timeline before investing more time.",
        "确认预算、决策权、需求和时间表，再决定是否继续投入。",
    ),
    (
        "needs",
        "Needs assessment",
        "需求分析",
        35,
        "pipeline",
        "open",
        21,
        "Ask the standard open questions, record pains and map the decision makers (KP).",
        "用标准开放式问题挖掘痛点，识别关键决策人（KP）。",
    ),
    (
        "demo",
        "Solution & demo",
        "方案演示",
        50,
        "best_case",
        "open",
        21,
        "Design the solution and run a demo or presentation for the decision makers.",
        "设计方案，为决策人进行演示或讲解。",
    ),
    (
        "proposal",
        "Proposal & objections",
        "提案与处理异议",
        65,
        "best_case",
        "open",
        21,
        "Send the proposal, collect objections and answer each one.",
        "提交方案报价，收集并逐一处理客户异议。",
    ),
    (
        "negotiation",
        "Negotiation & close",
        "谈判与成交",
        80,
        "commit",
        "open",
        30,
        "Negotiate terms and ask for the order.",
        "商谈条款，促成签约。",
    ),
    ("won", "Won", "赢单", 100, "closed", "won", None, "", ""),
    ("lost", "Lost", "输单", 0, "omitted", "lost", None, "", ""),
]

LOST_REASONS = [
    ("price", "Price too high", "价格过高"),
    ("competitor", "Chose a competitor", "选择了竞争对手"),
    ("no_budget", "No budget", "没有预算"),
    ("no_decision", "No decision / project cancelled", "未决策 / 项目取消"),
    ("product_fit", "Product does not fit", "产品不匹配"),
    ("timing", "Bad timing", "时机不对"),
    ("relationship", "Lost the relationship", "关系维护不足"),
    ("other", "Other", "其他"),
]


def seed(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    LostReason = apps.get_model("sales", "LostReason")
    pipeline, _ = Pipeline.objects.get_or_create(
        code="b2b",
        defaults={"name_en": "B2B complex sale", "name_zh": "B2B 复杂销售", "is_default": True, "position": 0},
    )
    for position, (code, en, zh, prob, forecast, kind, rotting, g_en, g_zh) in enumerate(STAGES, start=1):
        Stage.objects.get_or_create(
            pipeline=pipeline,
            code=code,
            defaults={
                "name_en": en,
                "name_zh": zh,
                "position": position,
                "probability": prob,
                "forecast_category": forecast,
                "kind": kind,
                "rotting_days": rotting,
                "guidance_en": g_en,
                "guidance_zh": g_zh,
            },
        )
    for position, (code, en, zh) in enumerate(LOST_REASONS):
        LostReason.objects.get_or_create(code=code, defaults={"name_en": en, "name_zh": zh, "position": position})


class Migration(migrations.Migration):
    dependencies = [("sales", "0002_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
