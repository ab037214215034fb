"""Data: the pipeline templates of the handbook beside the B2B pipeline (``sales.0003``).

B2C simple, channel sales (through distributors), the automotive showroom's eight steps
and personal-loan sales. Each stage has zh/en names, probability, forecast category, stall
threshold (``rotting_days``) and guidance written from the handbook; each pipeline ends in
one won and one lost stage. They ship *inactive*: an administrator turns on the ones the
company uses (Settings → Pipelines), assigns them to teams, or copies one as a start.
Existing rows (same pipeline code) are left alone, so re-running changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

# code, en, zh, probability, forecast category, kind, rotting days, guidance en, guidance zh
Stage = tuple[str, str, str, int, str, str, int | None, str, str]

B2C: list[Stage] = [
    (
        "inquiry",
        "New inquiry",
        "新询盘",
        10,
        "pipeline",
        "open",
        2,
        "Answer within the hour, by the channel the customer used. Confirm what they want, "
        "their budget and when they want to buy, and agree on the next contact.",
        "一小时内通过客户来询的渠道回复。确认想要什么、预算多少、打算什么时候买，并约定下次联系时间。",
    ),
    (
        "needs",
        "Needs confirmed",
        "需求确认",
        30,
        "pipeline",
        "open",
        5,
        "Recommend one or two options that fit the stated need and budget rather than the whole catalogue. "
        "Write down the customer's words about what matters most.",
        "根据需求和预算推荐一到两个合适的方案，不要把整个产品目录都推给客户。记下客户最看重的原话。",
    ),
    (
        "offer",
        "Offer sent",
        "已报价",
        60,
        "best_case",
        "open",
        5,
        "Send a clear offer with price, delivery time and what is included, valid for a stated period. "
        "Call the next day to answer questions and hear objections.",
        "发出清晰的报价：价格、交付时间、包含的内容和有效期。第二天回电解答疑问、了解顾虑。",
    ),
    (
        "closing",
        "Closing",
        "促成下单",
        80,
        "commit",
        "open",
        3,
        "Handle the last objection, make paying easy and ask for the order. "
        "If the customer hesitates, agree on a date to decide instead of discounting at once.",
        "处理最后的顾虑，让付款简单方便，明确请客户下单。客户犹豫时先约定决定日期，不要马上降价。",
    ),
    (
        "won",
        "Won",
        "赢单",
        100,
        "closed",
        "won",
        None,
        "Confirm the order and delivery in writing, thank the customer and ask for a review or a referral.",
        "书面确认订单和交付安排，感谢客户，并邀请评价或转介绍。",
    ),
    (
        "lost",
        "Lost",
        "输单",
        0,
        "omitted",
        "lost",
        None,
        "Record why the customer did not buy. Ask if you may contact them again with a better offer.",
        "记录客户没有购买的原因，并询问以后有更合适的优惠时能否再联系。",
    ),
]

CHANNEL: list[Stage] = [
    (
        "registration",
        "Deal registration",
        "渠道报备",
        10,
        "pipeline",
        "open",
        7,
        "Check that the distributor's registration is complete (end customer, project, expected volume) "
        "and not already registered by another partner; approve or reject it within two working days.",
        "核对经销商报备信息是否完整（最终客户、项目、预计数量），确认没有被其他渠道报备过；两个工作日内批复。",
    ),
    (
        "qualification",
        "Joint qualification (BANT)",
        "联合资格确认（BANT）",
        20,
        "pipeline",
        "open",
        14,
        "Confirm budget, authority, need and timeline together with the partner's salesperson, "
        "and agree who owns the end-customer relationship.",
        "与经销商销售一起确认预算、决策权、需求和时间表，并明确由谁维护最终客户关系。",
    ),
    (
        "solution",
        "Solution support",
        "方案支持",
        40,
        "pipeline",
        "open",
        21,
        "Give the partner the solution, demo and materials they need; join the key meeting with "
        "the end customer's decision makers if the deal size justifies it.",
        "为经销商提供方案、演示和资料；项目金额足够大时，陪同参加与最终客户决策人的关键会议。",
    ),
    (
        "pricing",
        "Partner pricing & proposal",
        "渠道报价与提案",
        60,
        "best_case",
        "open",
        21,
        "Approve the partner price within the channel price policy so partners do not undercut each other, "
        "then help the partner answer the end customer's objections.",
        "按渠道价格政策批复经销商价格，避免渠道之间互相压价；协助经销商处理最终客户的异议。",
    ),
    (
        "negotiation",
        "Negotiation",
        "商务谈判",
        80,
        "commit",
        "open",
        21,
        "Agree on the terms with the partner: price, payment, delivery and who does installation and training. "
        "Watch the partner's credit limit before committing stock.",
        "与经销商敲定价格、付款、交付以及安装培训由谁负责；占用库存前先核对经销商的信用额度。",
    ),
    (
        "order",
        "Partner order",
        "渠道下单",
        90,
        "commit",
        "open",
        14,
        "Check the partner's purchase order against the approved price and the registered end customer, "
        "then confirm the delivery date.",
        "核对经销商订单与批复价格、报备的最终客户是否一致，然后确认交货日期。",
    ),
    (
        "won",
        "Won",
        "赢单",
        100,
        "closed",
        "won",
        None,
        "Record the sell-through to the end customer and plan the partner's after-sales support and rebate.",
        "记录最终客户的实际销售，安排经销商的售后支持和返利核算。",
    ),
    (
        "lost",
        "Lost",
        "输单",
        0,
        "omitted",
        "lost",
        None,
        "Record the reason and the competitor with the partner; review whether the partner needs more "
        "training or support.",
        "与经销商一起记录丢单原因和竞争对手，评估经销商是否需要更多培训或支持。",
    ),
]

SHOWROOM: list[Stage] = [
    (
        "reception",
        "Reception",
        "接待",
        10,
        "pipeline",
        "open",
        1,
        "Greet the customer within 30 seconds of arrival, introduce yourself and offer a seat and a drink. "
        "Take their name and phone number before they leave.",
        "客户进店30秒内主动迎接、自我介绍，请客户就座并奉上饮品；离店前留下姓名和电话。",
    ),
    (
        "needs",
        "Needs analysis",
        "需求分析",
        20,
        "pipeline",
        "open",
        3,
        "Ask open questions: who will drive the car, what it is for, budget, whether they are trading in "
        "and when they plan to buy. Find out which models they are comparing.",
        "用开放式问题了解：谁开车、主要用途、预算、是否置换、计划何时购车，以及还在对比哪些车型。",
    ),
    (
        "presentation",
        "Product presentation",
        "产品介绍",
        30,
        "pipeline",
        "open",
        3,
        "Walk around the car (the six-point walk-around) and link each feature to a need the customer named. "
        "Do not talk down the competitor; compare on facts.",
        "按六方位绕车介绍，把每个配置和客户说过的需求对应起来。不贬低竞品，用事实对比。",
    ),
    (
        "test_drive",
        "Test drive",
        "试乘试驾",
        50,
        "best_case",
        "open",
        5,
        "Offer a test drive to every customer. Check the licence, sign the test-drive agreement, "
        "drive the planned route and ask how it felt right after.",
        "邀请每位客户试乘试驾。核对驾照、签订试驾协议，按规划路线试驾，结束后马上询问感受。",
    ),
    (
        "negotiation",
        "Negotiation",
        "报价协商",
        70,
        "best_case",
        "open",
        7,
        "Present the full price sheet: car, insurance, registration, financing and trade-in. "
        "Give ground in small steps and only in return for a commitment, such as a deposit today.",
        "出示完整报价单：车价、保险、上牌、金融方案和置换。小步让价，每次让步都换取客户的承诺，比如当天交订金。",
    ),
    (
        "closing",
        "Closing",
        "成交",
        90,
        "commit",
        "open",
        3,
        "Sign the purchase contract, collect the deposit and confirm the colour, options and the delivery date in writing.",
        "签订购车合同、收取订金，书面确认颜色、选装配置和交车日期。",
    ),
    (
        "delivery",
        "Delivery",
        "交车",
        95,
        "commit",
        "open",
        14,
        "Prepare the car and paperwork before the customer arrives. Explain the functions and the service plan, "
        "and take the handover photo together.",
        "客户到店前备好车辆和手续。讲解车辆功能和保养计划，并与客户合影留念。",
    ),
    (
        "follow_up",
        "Follow-up",
        "回访",
        95,
        "commit",
        "open",
        7,
        "Call within 24 hours after delivery, again after 7 days, and remind them of the first service. "
        "Ask about their satisfaction and for referrals.",
        "交车后24小时内回访，7天后再次回访，并提醒首保。询问满意度并请客户转介绍。",
    ),
    (
        "won",
        "Won",
        "赢单",
        100,
        "closed",
        "won",
        None,
        "The car is delivered and the follow-up is done: keep the customer in the service and renewal reminders.",
        "已交车并完成回访：将客户纳入保养和续保提醒。",
    ),
    (
        "lost",
        "Lost",
        "战败",
        0,
        "omitted",
        "lost",
        None,
        "Record why the customer bought elsewhere or stopped (price, model, competitor, timing). "
        "Your manager reviews every lost customer.",
        "记录战败原因（价格、车型、竞品、时机）。每个战败客户由销售经理审核。",
    ),
]

LOAN: list[Stage] = [
    (
        "intake",
        "Intake",
        "进件",
        20,
        "pipeline",
        "open",
        2,
        "Collect the complete application: ID, proof of income, bank statements and the purpose of the loan. "
        "An incomplete file only comes back from review.",
        "收齐完整申请材料：身份证、收入证明、银行流水和借款用途。材料不全的进件只会被审核退回。",
    ),
    (
        "review",
        "Review",
        "审核",
        50,
        "best_case",
        "open",
        5,
        "Track the credit check and verification calls. Tell the customer what is missing the same day "
        "and never promise an amount or rate before approval.",
        "跟进征信查询和核实电话，当天告知客户还缺什么材料。审批通过前不要承诺额度或利率。",
    ),
    (
        "contract",
        "Contract",
        "签约",
        80,
        "commit",
        "open",
        3,
        "Explain the amount, rate, term, repayment schedule and fees clearly before signing, "
        "and check the signature and the receiving account.",
        "签约前讲清额度、利率、期限、还款计划和费用，并核对签名与收款账户。",
    ),
    (
        "disbursement",
        "Disbursement",
        "放款",
        95,
        "commit",
        "open",
        2,
        "Confirm the money has arrived, send the repayment schedule and set a reminder before the first repayment.",
        "确认款项到账，发送还款计划，并在首期还款前设好提醒。",
    ),
    (
        "won",
        "Won (disbursed)",
        "赢单（已放款）",
        100,
        "closed",
        "won",
        None,
        "The loan is paid out: follow the first repayment and ask the satisfied customer for referrals.",
        "贷款已发放：跟进首期还款，并请满意的客户转介绍。",
    ),
    (
        "lost",
        "Declined or withdrawn",
        "拒贷或撤件",
        0,
        "omitted",
        "lost",
        None,
        "Record whether the application was declined or withdrawn and why; these reasons feed the "
        "process metrics of intake quality.",
        "记录是被拒贷还是客户撤件以及原因，这些数据用于分析进件质量。",
    ),
]

PIPELINES = [
    # code, en, zh, position, stages, BANT stage code (or None)
    ("b2c-simple", "B2C simple sale", "B2C 简单销售", 1, B2C, None),
    ("channel", "Channel sales (through distributors)", "渠道销售（经销商）", 2, CHANNEL, "qualification"),
    ("auto-showroom", "Automotive showroom", "汽车展厅销售", 3, SHOWROOM, None),
    ("personal-loan", "Personal-loan sales", "个人贷款销售", 4, LOAN, None),
]


def seed(apps: Any, schema_editor: Any) -> None:
    Pipeline = apps.get_model("sales", "Pipeline")
    StageModel = apps.get_model("sales", "Stage")
    for code, en, zh, position, stages, bant in PIPELINES:
        if Pipeline.objects.filter(code=code).exists():
            continue
        pipeline = Pipeline.objects.create(
            code=code, name_en=en, name_zh=zh, position=position, is_active=False, is_default=False
        )
        StageModel.objects.bulk_create(
            [
                StageModel(
                    pipeline=pipeline,
                    code=scode,
                    name_en=s_en,
                    name_zh=s_zh,
                    position=index,
                    probability=probability,
                    forecast_category=forecast,
                    kind=kind,
                    rotting_days=rotting,
                    guidance_en=g_en,
                    guidance_zh=g_zh,
                    is_bant_gate=scode == bant,
                )
                for index, (scode, s_en, s_zh, probability, forecast, kind, rotting, g_en, g_zh) in enumerate(
                    stages, start=1
                )
            ]
        )


class Migration(migrations.Migration):
    dependencies = [("sales", "0014_work_link_indexes")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
