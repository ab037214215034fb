"""Word lists for the demo generator: people, places, companies, deals and activity texts.

Everything here is invented; company 字号 are combinations of common characters, not
real firms. Pinyin is kept next to each character so e-mail addresses and WeChat ids look
like the ones people really use.
"""

from __future__ import annotations

from typing import Final

# --- people --------------------------------------------------------------------------------------

SURNAMES: Final[list[tuple[str, str]]] = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"),
    ("潘", "pan"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"), ("杜", "du"), ("叶", "ye"),
    ("程", "cheng"), ("苏", "su"), ("魏", "wei"), ("吕", "lv"), ("丁", "ding"), ("沈", "shen"),
    ("姚", "yao"), ("卢", "lu"), ("姜", "jiang"), ("崔", "cui"), ("钟", "zhong"), ("谭", "tan"),
    ("陆", "lu"), ("汪", "wang"), ("范", "fan"), ("金", "jin"), ("石", "shi"), ("廖", "liao"),
    ("贾", "jia"), ("夏", "xia"), ("方", "fang"), ("邹", "zou"), ("熊", "xiong"), ("秦", "qin"),
    ("江", "jiang"), ("薛", "xue"), ("雷", "lei"), ("顾", "gu"), ("欧阳", "ouyang"), ("司马", "sima"),
]  # fmt: skip

GIVEN_CHARS: Final[list[tuple[str, str]]] = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("霞", "xia"),
    ("平", "ping"), ("刚", "gang"), ("辉", "hui"), ("鹏", "peng"), ("华", "hua"), ("飞", "fei"),
    ("鑫", "xin"), ("波", "bo"), ("斌", "bin"), ("宇", "yu"), ("浩", "hao"), ("凯", "kai"),
    ("婷", "ting"), ("雪", "xue"), ("琳", "lin"), ("晶", "jing"), ("欣", "xin"), ("颖", "ying"),
    ("倩", "qian"), ("佳", "jia"), ("俊", "jun"), ("帆", "fan"), ("晨", "chen"), ("阳", "yang"),
    ("文", "wen"), ("博", "bo"), ("志", "zhi"), ("建", "jian"), ("国", "guo"), ("海", "hai"),
    ("子", "zi"), ("涵", "han"), ("思", "si"), ("雨", "yu"), ("梦", "meng"), ("瑶", "yao"),
    ("嘉", "jia"), ("睿", "rui"), ("振", "zhen"), ("立", "li"), ("春", "chun"), ("秀", "xiu"),
]  # fmt: skip

TITLES_BY_ROLE: Final[dict[str, list[tuple[str, str]]]] = {
    # buying role → (position, department)
    "decision_maker": [
        ("总经理", "总经办"), ("副总经理", "总经办"), ("董事长", "董事会"), ("首席信息官", "信息中心"),
        ("财务总监", "财务部"), ("运营副总裁", "运营中心"),
    ],
    "influencer": [
        ("IT 经理", "信息中心"), ("技术总监", "研发中心"), ("运营总监", "运营中心"), ("销售总监", "销售部"),
        ("生产经理", "生产部"),
    ],
    "user": [
        ("销售主管", "销售部"), ("业务经理", "市场部"), ("系统管理员", "信息中心"), ("客服主管", "客服中心"),
        ("仓储主管", "物流部"),
    ],
    "purchaser": [("采购经理", "采购部"), ("采购专员", "采购部"), ("供应链经理", "供应链管理部")],
    "other": [("总经理助理", "总经办"), ("行政主管", "行政部"), ("法务专员", "法务部")],
}  # fmt: skip

HOBBIES: Final[list[str]] = [
    "高尔夫", "钓鱼", "茶道", "书法", "跑步", "羽毛球", "摄影", "登山", "红酒", "围棋", "自驾游",
    "篮球", "马拉松", "古典音乐", "收藏紫砂壶", "骑行",
]  # fmt: skip

EDUCATION: Final[list[str]] = [
    "复旦大学 工商管理硕士（MBA）", "浙江大学 计算机科学与技术", "上海交通大学 机械工程", "北京大学 光华管理学院 EMBA",
    "清华大学 自动化系", "南京大学 会计学", "武汉大学 市场营销", "中山大学 国际贸易", "同济大学 土木工程",
    "哈尔滨工业大学 电气工程",
]  # fmt: skip

FAMILY: Final[list[str]] = [
    "已婚，一个女儿在读初中", "已婚，儿子今年高考", "已婚，两个孩子", "未婚", "已婚，爱人是中学老师",
]  # fmt: skip

PLACES: Final[list[str]] = [
    "老家山东，大学在武汉，之后一直在上海工作", "在深圳工作过八年", "曾在德国驻厂两年", "江苏人，长期在北京工作",
    "在新加坡读的研究生",
]  # fmt: skip

CONTACT_NOTES: Final[list[str]] = [
    "不喜欢电话打扰，约时间请先发微信。",
    "偏好上午沟通，下午通常在开会。",
    "对数据安全非常关注，需要准备等保材料。",
    "关注实施周期，曾经被上一家供应商拖延过。",
    "性格直爽，喜欢直接看报价。",
]

# --- places ---------------------------------------------------------------------------------------

# territory code → [(city, telephone area code, [county-level division codes for credit codes])]
CITIES: Final[dict[str, list[tuple[str, str, list[str]]]]] = {
    "shanghai": [("上海", "021", ["310101", "310104", "310105", "310106", "310112", "310115"])],
    "jiangsu": [
        ("南京", "025", ["320102", "320104", "320105", "320106"]),
        ("苏州", "0512", ["320505", "320506", "320508"]),
        ("无锡", "0510", ["320211", "320213", "320214"]),
    ],
    "zhejiang": [("杭州", "0571", ["330102", "330105", "330106", "330108"]), ("宁波", "0574", ["330203", "330212"])],
    "shandong": [("济南", "0531", ["370102", "370103", "370112"]), ("青岛", "0532", ["370202", "370203", "370212"])],
    "anhui": [("合肥", "0551", ["340102", "340103", "340104"])],
    "fujian": [("厦门", "0592", ["350203", "350206"]), ("福州", "0591", ["350102", "350103"])],
    "beijing": [("北京", "010", ["110101", "110102", "110105", "110108"])],
    "tianjin": [("天津", "022", ["120101", "120103", "120104", "120116"])],
    "hebei": [("石家庄", "0311", ["130102", "130104"]), ("唐山", "0315", ["130202", "130203"])],
    "shanxi": [("太原", "0351", ["140105", "140106"])],
    "guangdong": [("广州", "020", ["440103", "440104", "440106"]), ("深圳", "0755", ["440303", "440304", "440305"])],
    "hubei": [("武汉", "027", ["420102", "420106", "420111"])],
    "hunan": [("长沙", "0731", ["430102", "430103"])],
    "henan": [("郑州", "0371", ["410102", "410105"])],
    "sichuan": [("成都", "028", ["510104", "510105", "510107"])],
    "chongqing": [("重庆", "023", ["500103", "500105", "500112"])],
    "shaanxi": [("西安", "029", ["610102", "610103", "610113"])],
    "liaoning": [("沈阳", "024", ["210102", "210103"]), ("大连", "0411", ["210202", "210204"])],
}

# Which territories each demo team works (accounts and leads there go to that team's reps).
EAST_TERRITORIES: Final[list[str]] = ["shanghai", "jiangsu", "zhejiang", "shandong", "anhui", "fujian"]
NORTH_TERRITORIES: Final[list[str]] = ["beijing", "tianjin", "hebei", "shanxi"]
OTHER_TERRITORIES: Final[list[str]] = [
    "guangdong", "hubei", "hunan", "henan", "sichuan", "chongqing", "shaanxi", "liaoning",
]  # fmt: skip

ROADS: Final[list[str]] = [
    "人民路", "中山路", "解放路", "建设路", "科技园路", "世纪大道", "滨江大道", "长江路", "黄河路", "新华路",
    "创业路", "高新大道", "东方路", "工业园区星湖街", "金融街",
]  # fmt: skip

BUILDINGS: Final[list[str]] = ["", "A座", "B座", "国际大厦", "科技大厦", "创新中心", "商务中心"]

# --- companies ------------------------------------------------------------------------------------

BRAND_FIRST: Final[list[tuple[str, str]]] = [
    ("华", "hua"), ("宏", "hong"), ("鼎", "ding"), ("恒", "heng"), ("博", "bo"), ("瑞", "rui"),
    ("盛", "sheng"), ("嘉", "jia"), ("锦", "jin"), ("天", "tian"), ("新", "xin"), ("金", "jin"),
    ("中", "zhong"), ("远", "yuan"), ("合", "he"), ("同", "tong"), ("昊", "hao"), ("润", "run"),
    ("海", "hai"), ("智", "zhi"), ("云", "yun"), ("星", "xing"), ("信", "xin"), ("启", "qi"),
    ("永", "yong"), ("长", "chang"), ("东", "dong"), ("正", "zheng"),
]  # fmt: skip

BRAND_SECOND: Final[list[tuple[str, str]]] = [
    ("达", "da"), ("泰", "tai"), ("源", "yuan"), ("通", "tong"), ("拓", "tuo"), ("创", "chuang"),
    ("科", "ke"), ("诚", "cheng"), ("业", "ye"), ("丰", "feng"), ("联", "lian"), ("晟", "sheng"),
    ("辰", "chen"), ("宇", "yu"), ("安", "an"), ("和", "he"), ("邦", "bang"), ("盈", "ying"),
    ("航", "hang"), ("峰", "feng"), ("弘", "hong"), ("锐", "rui"), ("驰", "chi"), ("光", "guang"),
]  # fmt: skip

# Industry choice → words that end a company name before 有限公司.
INDUSTRY_WORDS: Final[dict[str, list[str]]] = {
    "manufacturing": ["机械制造", "精密制造", "电气设备", "新材料", "智能装备", "包装材料"],
    "it": ["信息技术", "软件", "网络科技", "数据科技", "智能科技"],
    "finance": ["融资租赁", "保险代理", "投资管理"],
    "retail": ["商贸", "食品", "日用品", "连锁超市", "电子商务"],
    "healthcare": ["医疗器械", "生物医药", "健康管理"],
    "education": ["教育科技", "职业培训"],
    "energy": ["新能源", "环保能源", "电力工程"],
    "construction": ["建设工程", "建筑装饰", "置业"],
    "logistics": ["物流", "供应链管理", "国际货运代理"],
    "automotive": ["汽车零部件", "汽车销售服务"],
    "other": ["文化传媒", "企业管理咨询", "餐饮管理"],
}

INDUSTRY_WEIGHTS: Final[dict[str, int]] = {
    "manufacturing": 24,
    "it": 14,
    "finance": 6,
    "retail": 12,
    "healthcare": 8,
    "education": 4,
    "energy": 6,
    "construction": 6,
    "logistics": 9,
    "automotive": 7,
    "other": 4,
}

ACCOUNT_DESCRIPTIONS: Final[list[str]] = [
    "区域龙头企业，正在推进数字化转型。",
    "集团下属子公司，采购需集团审批。",
    "去年完成新一轮融资，业务扩张快。",
    "老板重视销售管理，希望统一客户资源。",
    "有自建系统，数据分散在多个表格里。",
    "",
    "",
]

# --- deals ----------------------------------------------------------------------------------------

PRODUCTS: Final[list[str]] = [
    "销售管理系统", "客户管理系统升级", "数据中台建设", "生产执行系统（MES）", "年度运维服务", "私有云部署",
    "智能仓储方案", "财务共享平台", "营销自动化", "客服呼叫中心", "渠道管理平台", "移动办公集成", "经营分析报表平台",
]  # fmt: skip

COMPETITORS: Final[list[tuple[str, str]]] = [
    ("纷享销客", "https://www.fxiaoke.com"),
    ("销售易", "https://www.xiaoshouyi.com"),
    ("用友", "https://www.yonyou.com"),
    ("金蝶", "https://www.kingdee.com"),
    ("Salesforce", "https://www.salesforce.com"),
]

NEXT_STEPS: Final[list[str]] = [
    "发送正式报价单", "安排技术交流会", "约见采购总监", "提交方案书", "确认预算审批进度", "安排产品演示",
    "准备合同草案", "邀请客户参观样板客户", "跟进招标文件", "第二轮商务谈判", "确认决策流程和时间表",
    "提供试用账号", "回复客户的技术问题清单",
]  # fmt: skip

OPPORTUNITY_DESCRIPTIONS: Final[list[str]] = [
    "客户希望统一全国销售团队的客户和商机管理。",
    "现有系统到期，正在评估替换方案。",
    "集团要求下半年完成上线。",
    "由老客户转介绍，关系基础较好。",
    "",
]

WON_NOTES: Final[list[str]] = [
    "合同已签，安排实施启动会。",
    "客户接受了分期付款方案。",
    "决策人认可我们的行业案例。",
]

LOST_NOTES: Final[list[str]] = [
    "客户最终选择了价格更低的方案。",
    "预算被砍，项目延期到明年。",
    "决策人更换，新领导倾向原有供应商。",
    "我们的本地化实施能力不足。",
    "对方给了很大的折扣。",
]

# --- leads ----------------------------------------------------------------------------------------

SUB_CHANNELS: Final[dict[str, list[str]]] = {
    "inbound": ["website", "content", "seo_sem", "social", "newsletter", "whitepaper", "event"],
    "outbound": ["phone", "email", "direct_mail", "exhibition", "ads"],
    "referral": ["customer_referral"],
    "partner": ["partner_referral"],
}

CAMPAIGNS: Final[dict[str, list[str]]] = {
    "event": ["2026 数字化销售峰会（上海）", "制造业 CRM 沙龙（苏州）", "华北客户答谢会"],
    "exhibition": ["中国国际工业博览会", "数博会展位", "华南智能制造展"],
    "whitepaper": ["《2026 销售管理白皮书》下载", "《制造业数字化转型指南》下载"],
    "newsletter": ["月度产品通讯", "客户成功案例周刊"],
    "ads": ["百度搜索推广", "微信朋友圈广告", "抖音信息流"],
    "content": ["公众号文章：销售漏斗管理", "知乎专栏：如何做好客户分层"],
    "social": ["企业微信社群", "视频号直播"],
}

LEAD_TITLES: Final[list[str]] = [
    "总经理", "IT 经理", "销售总监", "采购经理", "运营总监", "信息中心主任", "市场经理", "副总经理", "财务经理",
]  # fmt: skip

NEEDS: Final[list[str]] = [
    "销售团队 30 人，客户资料散落在个人手机和表格里，希望统一管理。",
    "需要管理经销商报备和窜货。",
    "想看到每个销售的跟进进度和业绩预测。",
    "现有 ERP 的客户模块不好用，需要移动端。",
    "希望打通官网表单和企业微信，线索自动分配。",
    "需要合同和回款计划管理，财务要对账。",
    "门店顾问的客户跟进无法监督。",
]

DISQUALIFY_NOTES: Final[dict[str, str]] = {
    "no_need": "目前只用表格管理，暂无系统需求。",
    "no_budget": "今年没有信息化预算。",
    "no_authority": "对接人是实习生，无法接触决策层。",
    "bad_data": "电话空号，邮件退信。",
    "duplicate": "与已有线索重复。",
    "existing_customer": "已是签约客户，转交客户成功团队。",
    "competitor": "同行咨询，了解产品功能。",
    "other": "个人用户，不在服务范围。",
}

LEAD_NOTES: Final[list[str]] = [
    "下载了白皮书，浏览了价格页面三次。",
    "在展会上留了名片，对移动端感兴趣。",
    "老客户介绍，说明了大致预算。",
    "",
    "",
    "",
]

# --- activities -----------------------------------------------------------------------------------

# stage code → activity kinds typically logged while a deal is in that stage
STAGE_ACTIVITY_KINDS: Final[dict[str, list[str]]] = {
    "prospect": ["call", "call", "email"],
    "qualification": ["call", "visit", "meeting"],
    "needs": ["visit", "meeting", "call"],
    "demo": ["demo", "demo", "meeting"],
    "proposal": ["email", "meeting", "call"],
    "negotiation": ["meeting", "visit", "call"],
    "won": ["note", "task"],
    "lost": ["note"],
}

SUBJECTS: Final[dict[str, list[str]]] = {
    "call": ["电话沟通需求", "电话回访", "跟进报价反馈", "确认会议时间", "电话了解预算情况"],
    "visit": ["上门拜访", "拜访客户总部", "拜访信息中心负责人", "陪同经理拜访决策人"],
    "meeting": ["需求调研会议", "方案沟通会", "商务谈判会议", "项目启动会", "技术交流会"],
    "demo": ["产品演示", "方案演示（线上）", "移动端功能演示", "报表与分析演示"],
    "email": ["发送产品资料", "发送报价单", "发送会议纪要", "发送成功案例", "发送合同草案"],
    "note": ["客户内部组织架构变动", "竞品动态记录", "决策链梳理", "赢单复盘", "输单复盘"],
    "task": ["准备方案书", "整理需求清单", "申请特价审批", "准备合同", "准备演示环境", "安排实施交接"],
}

OUTCOMES: Final[list[str]] = [
    "客户对方案总体认可，需内部讨论预算。",
    "确认下周安排技术交流。",
    "对价格有顾虑，希望再优惠。",
    "决策人出差，改期再约。",
    "提出了三个集成方面的问题，需技术支持回复。",
    "同意进入试用阶段。",
    "需要补充同行业案例。",
    "采购流程需走招标。",
]

LEAD_ACTIVITY_SUBJECTS: Final[list[tuple[str, str]]] = [
    ("call", "首次电话联系"),
    ("email", "发送产品介绍"),
    ("call", "电话确认需求"),
    ("email", "发送白皮书和案例"),
    ("call", "BANT 资格确认"),
]

ASSISTANT_TASKS: Final[list[str]] = [
    "整理合同归档",
    "核对回款信息",
    "更新客户开票资料",
    "跟进发货进度",
    "准备投标文件",
]

MANAGER_MEETINGS: Final[list[str]] = ["季度业务回顾", "高层拜访", "年度合作洽谈"]

# --- work reports (日报/周报, issue 7) --------------------------------------------------------------

REPORT_SUMMARIES: Final[list[str]] = [
    "上午电话回访了两家老客户，下午去客户现场做了需求调研，对方技术负责人认可我们的方案思路。",
    "整理了本周重点商机的推进情况，给两家客户发了方案初稿，其中一家约了下周演示。",
    "参加了客户的内部评审会，回答了采购和 IT 的问题，价格方面还有分歧。",
    "跟进了新分配的线索，筛掉了几条信息不全的，有一条预算和决策人都已确认。",
    "陪同技术支持做了产品演示，客户对报表功能很感兴趣，要求补充案例资料。",
    "和客户采购谈了合同条款，付款方式基本谈妥，等法务审核。",
    "以电话和微信为主，确认了三家客户的采购时间，其中一家推迟到下季度。",
]
REPORT_PLANS: Final[list[str]] = [
    "明天上午发正式报价，下午拜访客户确认决策流程。",
    "约客户总经理见面，争取本月内进入商务谈判。",
    "准备演示环境和案例材料，周四给客户做第二轮演示。",
    "跟进合同审批进度，争取月底前签约。",
    "继续清理线索池，重点跟进两条已确认预算的线索。",
    "回访上月成交的客户，了解使用情况，挖掘增购机会。",
]
REPORT_PROBLEMS: Final[list[str]] = [
    "",
    "",
    "客户要求的折扣超出我的审批权限，需要经理支持。",
    "竞争对手报价低 15%，需要公司给出价格策略。",
    "客户希望看到同行业的成功案例，需要市场部提供资料。",
    "",
]
WEEKLY_SUMMARIES: Final[list[str]] = [
    "本周共跟进重点客户五家，两个商机推进到方案阶段，一个进入商务谈判。",
    "本周以新客户开发为主，完成拜访和演示，线索转化情况好于上周。",
    "本周重点处理报价和合同，一个商机赢单，一个因预算原因暂缓。",
]
WEEKLY_PLANS: Final[list[str]] = [
    "下周重点推进谈判阶段的商机，争取签约；同时安排两次新客户拜访。",
    "下周完成三份方案，跟进所有超过两周未联系的重点客户。",
    "下周回访成交客户，准备季度复盘材料。",
]
MANAGER_COMMENTS: Final[list[str]] = [
    "很好，报价前先和我过一下价格底线。",
    "决策人还没见到，这周要想办法约上。",
    "案例资料我让市场部周三前发给你。",
    "折扣申请走审批流程，我会尽快批。",
    "注意回款节点，合同里写清楚。",
    "节奏不错，继续保持。",
]
