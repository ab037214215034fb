"""Seed the objection categories and the common B2B objections of the handbook's stage
"Proposal & objections" (提案与处理异议), each with recommended answers in both languages."""

from django.db import migrations

CATEGORIES = [
    ("price", "Price", "价格"),
    ("timing", "Timing", "时机"),
    ("authority", "Authority", "决策权"),
    ("competitor", "Competitor", "竞争对手"),
    ("need", "Need", "需求"),
    ("risk", "Risk and trust", "风险与信任"),
    ("other", "Other", "其他"),
]

# (category, objection zh, objection en, [(answer zh, answer en), …])
OBJECTIONS = [
    (
        "price",
        "价格太高了。",
        "Your price is too high.",
        [
            (
                "先弄清楚“贵”是和什么比：“您说价格高，是和预算比，还是和其他方案比？除了价格，还有其他顾虑吗？”"
                "如果价格是唯一的障碍，就可以集中讨论价值和方案范围。",
                "Clarify what “too high” is measured against: “Is that against your budget or against another "
                "offer? Apart from the price, is anything else holding you back?” If price is the only obstacle, "
                "focus the conversation on value and scope.",
            ),
            (
                "把价格换算成回报：“按我们前面确认的数据，上线后每月能节省约 X 小时人工、减少 Y 的损失，"
                "大约 Z 个月就能收回投入。”用客户自己的数字算账，比降价更有说服力。",
                "Turn the price into a return: “Using the figures we agreed on, this saves about X hours a month "
                "and cuts Y in losses, so it pays for itself in about Z months.” A calculation built on the "
                "customer's own numbers persuades better than a discount.",
            ),
            (
                "调整方案而不是降价：“如果预算是硬约束，我们可以先上核心模块，其余的放到二期，单价不变。”"
                "守住价格体系，同时给客户一个台阶。",
                "Adjust the scope, not the price: “If the budget is fixed, we can start with the core modules and "
                "add the rest in a second phase at the same unit price.” You protect your pricing and still give "
                "the customer a way forward.",
            ),
        ],
    ),
    (
        "price",
        "今年没有预算了。",
        "We have no budget left this year.",
        [
            (
                "确认预算周期和立项流程：“贵司下一个预算周期什么时候开始？立项需要准备哪些材料？”"
                "然后帮对方把项目写进下一期预算，并约好时间节点。",
                "Find out the budget cycle: “When does your next budget cycle start, and what does a project need "
                "to get into it?” Then help them put the project into that budget and agree on the dates.",
            ),
            (
                "提供分期付款：“我们可以按季度付费，或按阶段验收付款，今年只需要投入第一期的费用。”"
                "把一次性支出变成对方承受得起的分期。",
                "Offer phased payment: “We can invoice quarterly, or per milestone on acceptance, so this year you "
                "only pay for the first phase.” A one-off spend becomes instalments they can fit in.",
            ),
            (
                "量化等待的代价：“如果推迟到明年，这半年里因为现在的问题造成的损失大概有多少？”"
                "让客户意识到不行动也有成本。",
                "Quantify the cost of waiting: “If this waits until next year, what will the current problem cost "
                "you over those months?” Make it clear that doing nothing has a price too.",
            ),
        ],
    ),
    (
        "authority",
        "我需要请示一下老板。",
        "I need to check with my boss.",
        [
            (
                "先争取对方的支持：“您个人觉得这个方案怎么样？您觉得老板最关心的会是哪几点？”"
                "让对方先成为内部支持者，再一起准备汇报要点。",
                "Win them as a champion first: “What do you think of the proposal yourself? What will your boss "
                "care about most?” Then prepare the briefing points together.",
            ),
            (
                "争取与决策人直接沟通：“为了不让您转述太辛苦，我们可以安排一个 30 分钟的简短汇报，"
                "技术和报价部分由我来讲，您看老板哪天方便？”",
                "Ask to meet the decision maker: “So you don't have to relay every detail, could we arrange a "
                "30-minute briefing where I cover the technical and pricing parts? When would suit your boss?”",
            ),
            (
                "提供一页纸的决策材料：问题、方案、投入、回报、同行案例和下一步，方便对方向上汇报，并约定反馈时间。",
                "Hand over a one-page decision brief — problem, solution, cost, return, a peer reference and next "
                "steps — so they can present it upwards, and agree when you will hear back.",
            ),
        ],
    ),
    (
        "authority",
        "这个要走招标 / 采购流程。",
        "This has to go through procurement / a tender.",
        [
            (
                "了解流程和时间表：“采购流程一般要多久？需要哪些资质和材料？评分标准是什么？”"
                "提前准备，别让流程拖慢项目。",
                "Learn the process and timetable: “How long does procurement usually take, which documents are "
                "needed, and how are bids scored?” Prepare early so the process does not stall the deal.",
            ),
            (
                "协助客户梳理需求：在招标前帮客户写清需求和技术规格，把我们的优势体现在评分标准里。",
                "Help shape the requirements: before the tender, help them write up the needs and specifications, "
                "so your strengths are part of the scoring.",
            ),
        ],
    ),
    (
        "competitor",
        "你们竞争对手的报价更便宜。",
        "Your competitor is cheaper.",
        [
            (
                "先统一对比口径：“方便说一下对方报价包含哪些内容吗？实施、培训、售后和后续升级都含吗？”"
                "很多时候便宜是因为范围不同。",
                "Compare like with like: “Could you tell me what their quote includes — implementation, training, "
                "support, upgrades?” A lower price often covers less.",
            ),
            (
                "用总拥有成本说话：把三年内的实施、维护、人力和停机成本列出来对比，说明我们的总成本更低、风险更小。",
                "Talk total cost of ownership: set three years of implementation, maintenance, staff time and "
                "downtime side by side, and show where our total cost and risk are lower.",
            ),
            (
                "用同行案例：“和您同行业的某某公司也对比过两家，最后选择我们是因为……，"
                "我可以安排您和他们的项目负责人直接聊聊。”",
                "Use a reference customer: “A company in your industry compared both of us and chose us because "
                "…; I can put you in touch with their project lead.”",
            ),
        ],
    ),
    (
        "competitor",
        "我们已经在用别家的产品了。",
        "We already use another vendor.",
        [
            (
                "了解现状和不满意的地方：“用下来整体感觉怎么样？有没有希望做得更好的地方？”从对方的不满中找切入点。",
                "Explore their experience: “How is it working for you overall? Is there anything you wish worked "
                "better?” Their frustrations are your way in.",
            ),
            (
                "提议小范围试点：“不需要马上替换，可以先在一个部门试用一个月，用数据对比效果。”降低客户更换的风险。",
                "Propose a small pilot: “No need to replace anything now — try it in one department for a month and "
                "compare the results.” It lowers the risk of switching.",
            ),
            (
                "定位为补充而不是替代（如适用）：说明我们可以和现有系统对接，解决现有产品覆盖不到的问题。",
                "Position it as a complement where that fits: show how we connect to their current system and solve "
                "what it does not cover.",
            ),
        ],
    ),
    (
        "timing",
        "现在不是时候，过段时间再说吧。",
        "Now isn't the right time; let's talk later.",
        [
            (
                "找出真正的原因：“理解。方便说说是什么原因让现在不合适吗？是内部有其他项目，还是有别的顾虑？”"
                "“时机不对”常常是其他异议的托词。",
                "Find the real reason: “Understood. May I ask what makes now a bad time — another project, or some "
                "other concern?” Timing is often a cover for a different objection.",
            ),
            (
                "约定具体的时间和条件：“那我们约在下个月初再沟通，到时候如果条件具备就启动，可以吗？”"
                "并在系统里设好下次跟进日期。",
                "Agree on a date and a condition: “Shall we speak again early next month, and start if the "
                "conditions are in place by then?” Then set the next follow-up date in Salesflow.",
            ),
            (
                "给出现在行动的理由：实施排期、即将调整的价格、旺季前上线的收益，让对方看到推迟的代价。",
                "Give a reason to act now: the implementation slot, a coming price change, or the benefit of going "
                "live before the peak season — show what waiting costs.",
            ),
        ],
    ),
    (
        "need",
        "我们不需要，现在的方式挺好的。",
        "We don't need it — the way we work now is fine.",
        [
            (
                "用开放式问题挖掘痛点：“现在这个流程里，哪一步最花时间、最容易出错？”让客户自己说出问题。",
                "Uncover the pain with open questions: “In the current process, which step takes the most time or "
                "goes wrong most often?” Let the customer name the problem.",
            ),
            (
                "分享同行的变化：“很多和您规模差不多的企业以前也觉得够用，后来发现……，用了之后……”"
                "用事实引起兴趣，而不是否定对方。",
                "Share what peers found: “Many companies your size felt the same, until they noticed … — after the "
                "change they …” Spark interest with facts instead of contradicting them.",
            ),
            (
                "提供低门槛的体验：免费诊断或用客户自己的数据做演示，让差距一目了然。",
                "Offer a low-commitment look: a free assessment, or a demo with their own data, that makes the gap "
                "obvious.",
            ),
        ],
    ),
    (
        "need",
        "功能太复杂了，我们的人用不起来。",
        "It's too complex; our people won't use it.",
        [
            (
                "说明实施和培训安排：我们提供上线培训、操作手册和专属顾问，前三个月每周回访使用情况。",
                "Explain the onboarding: go-live training, a manual and a dedicated consultant, with a weekly "
                "check-in on usage for the first three months.",
            ),
            (
                "从最简单的场景开始：先只启用最常用的几个功能，团队用顺手之后再逐步扩展。",
                "Start simple: switch on only the few features they use most, and extend once the team is at ease "
                "with them.",
            ),
        ],
    ),
    (
        "risk",
        "担心上线后效果达不到预期。",
        "We're worried it won't deliver what you promise.",
        [
            (
                "用案例和数据证明：提供同行业、同规模客户的成功案例，以及可以直接联系的推荐客户。",
                "Prove it with references: cases from customers of their industry and size, and a reference "
                "customer they can call.",
            ),
            (
                "降低客户的风险：分阶段验收付款、试点期和服务等级承诺（SLA），每一步看到效果再继续。",
                "Lower their risk: payment on phased acceptance, a pilot period and a service-level commitment, "
                "so they see results before each next step.",
            ),
        ],
    ),
]


def seed(apps, schema_editor):
    Category = apps.get_model("objections", "ObjectionCategory")
    Objection = apps.get_model("objections", "Objection")
    Answer = apps.get_model("objections", "ObjectionAnswer")
    Stage = apps.get_model("sales", "Stage")
    stage = Stage.objects.filter(pipeline__code="b2b", code="proposal").first()
    categories = {}
    for position, (code, en, zh) in enumerate(CATEGORIES):
        categories[code], _created = Category.objects.get_or_create(
            code=code, defaults={"name_en": en, "name_zh": zh, "position": position}
        )
    if Objection.objects.exists():
        return
    for code, text_zh, text_en, answers in OBJECTIONS:
        objection = Objection.objects.create(category=categories[code], stage=stage, text_zh=text_zh, text_en=text_en)
        for position, (answer_zh, answer_en) in enumerate(answers, start=1):
            Answer.objects.create(
                objection=objection, text_zh=answer_zh, text_en=answer_en, position=position, status="approved"
            )


class Migration(migrations.Migration):
    dependencies = [("objections", "0001_initial"), ("sales", "0003_seed_b2b_pipeline")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
