"""Column mapping for spreadsheets (字段映射): which record field a file's column holds.

One table of header names, Chinese and English, per record kind, shared by everything that
reads people's spreadsheets — the import wizard, the known-customer list loader and the
``salesflow duplicates`` command — so a column called ``手机`` or ``Mobile phone`` is the
mobile everywhere.

Guarantees:

- :func:`normalise_header` folds full-width forms and case, and drops spaces, punctuation,
  a trailing required-marker (``*``) and bracketed units (``金额（元）`` → ``金额``).
- :func:`suggest_mapping` maps each header to at most one field, and each field to at most
  one header (the first column that names it exactly wins; then a column containing one of
  its names, preferring a name at the end of the header, then the longest); unknown
  headers map to nothing. Deterministic: same headers, same result.
- Field names are the services' own keyword names, so a mapped row can be passed on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

# kind → field → header names people use (English and Chinese). Order of fields matters
# only for the "contains" pass: more specific fields come first (``company_name`` before
# ``name``).
FIELD_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "lead": {
        "id": ("id", "编号", "序号", "线索编号", "lead id", "external id", "外部编号"),
        "company_name": ("company", "company name", "公司", "公司名称", "企业名称", "单位", "单位名称", "客户名称"),
        "credit_code": ("credit code", "unified social credit code", "uscc", "统一社会信用代码", "信用代码", "税号"),
        "name": ("name", "full name", "contact name", "lead name", "姓名", "联系人", "联系人姓名", "名字", "线索名称"),
        "title": ("title", "job title", "position", "职位", "职务", "岗位"),
        "mobile": ("mobile", "mobile phone", "cell", "cell phone", "手机", "手机号", "手机号码", "移动电话"),
        "phone": ("phone", "telephone", "tel", "office phone", "电话", "座机", "固定电话", "办公电话"),
        "email": ("email", "e-mail", "email address", "mail", "邮箱", "电子邮箱", "电子邮件", "邮件"),
        "wechat": ("wechat", "wechat id", "weixin", "微信", "微信号"),
        "industry": ("industry", "行业", "所属行业"),
        "region": ("region", "territory", "area", "province", "区域", "地区", "省份", "所在地区"),
        "source_channel": (
            "source",
            "source channel",
            "lead source",
            "channel",
            "来源",
            "线索来源",
            "来源渠道",
            "渠道",
        ),
        "sub_channel": ("sub-channel", "sub channel", "子渠道", "细分渠道"),
        "campaign": ("campaign", "活动", "市场活动", "营销活动"),
        "budget_amount": ("budget", "budget amount", "预算", "预算金额"),
        "budget_currency": ("currency", "budget currency", "币种", "货币"),
        "need": ("need", "needs", "requirement", "需求", "客户需求"),
        "timeline": ("timeline", "purchase timeline", "purchase date", "采购时间", "预计采购时间"),
        "owner": ("owner", "assigned to", "sales rep", "负责人", "销售", "销售代表", "归属人", "所有人"),
        "status": ("status", "lead status", "状态", "线索状态"),
        "notes": ("notes", "note", "remarks", "comment", "备注", "说明"),
        "created_at": ("created", "created at", "created date", "date created", "创建时间", "创建日期", "录入时间"),
    },
    "account": {
        "id": ("id", "编号", "序号", "客户编号", "account id", "external id", "外部编号"),
        "credit_code": ("credit code", "unified social credit code", "uscc", "统一社会信用代码", "信用代码", "税号"),
        "name": (
            "name",
            "account",
            "account name",
            "company",
            "company name",
            "customer",
            "customer name",
            "客户",
            "客户名称",
            "公司",
            "公司名称",
            "企业名称",
            "单位名称",
        ),
        "industry": ("industry", "行业", "所属行业"),
        "region": ("region", "territory", "area", "province", "区域", "地区", "省份", "所在地区"),
        "size": ("size", "company size", "employees", "规模", "公司规模", "人员规模"),
        "lifecycle": ("lifecycle", "lifecycle stage", "type", "客户类型", "生命周期", "客户阶段"),
        "grade": ("grade", "level", "customer level", "tier", "等级", "客户等级", "客户级别", "级别"),
        "owner": ("owner", "account owner", "sales rep", "负责人", "销售", "销售代表", "归属人", "所有人"),
        "source": ("source", "source channel", "来源", "客户来源", "渠道"),
        "phone": ("phone", "telephone", "tel", "电话", "公司电话", "座机"),
        "website": ("website", "web site", "url", "网站", "官网", "公司网址"),
        "address": ("address", "地址", "公司地址", "详细地址"),
        "description": ("description", "notes", "remarks", "描述", "备注", "说明"),
        "created_at": ("created", "created at", "created date", "创建时间", "创建日期"),
    },
    "contact": {
        "id": ("id", "编号", "序号", "联系人编号", "contact id", "external id", "外部编号"),
        "account": (
            "account",
            "account name",
            "company",
            "company name",
            "customer",
            "客户",
            "客户名称",
            "公司",
            "公司名称",
            "企业名称",
            "单位",
        ),
        "name": ("name", "full name", "contact", "contact name", "姓名", "联系人", "联系人姓名", "名字"),
        "title": ("title", "job title", "position", "职位", "职务", "岗位"),
        "department": ("department", "dept", "部门", "所在部门"),
        "buying_role": ("buying role", "role", "采购角色", "角色"),
        "mobile": ("mobile", "mobile phone", "cell", "手机", "手机号", "手机号码", "移动电话"),
        "phone": ("phone", "telephone", "tel", "office phone", "电话", "座机", "办公电话"),
        "email": ("email", "e-mail", "email address", "邮箱", "电子邮箱", "电子邮件"),
        "wechat": ("wechat", "wechat id", "微信", "微信号"),
        "notes": ("notes", "note", "remarks", "备注", "说明"),
        "created_at": ("created", "created at", "created date", "创建时间", "创建日期"),  # issue 8 imports
    },
    "opportunity": {
        "id": ("id", "编号", "序号", "商机编号", "deal id", "opportunity id", "external id", "外部编号"),
        "account": (
            "account",
            "account name",
            "company",
            "customer",
            "客户",
            "客户名称",
            "公司",
            "公司名称",
            "企业名称",
        ),
        "name": ("name", "deal", "deal name", "opportunity", "opportunity name", "商机", "商机名称", "项目名称"),
        "amount": ("amount", "deal amount", "value", "金额", "商机金额", "预计金额", "合同金额"),
        "currency": ("currency", "币种", "货币"),
        "pipeline": ("pipeline", "sales process", "销售流程", "流程"),
        "stage": ("stage", "deal stage", "sales stage", "阶段", "销售阶段", "商机阶段"),
        "outcome": ("outcome", "result", "status", "won/lost", "结果", "状态", "赢单/输单"),
        "expected_close_date": ("expected close", "expected close date", "close date", "预计成交日期", "预计签约日期"),
        "closed_at": (
            "closed",
            "closed at",
            "actual close date",
            "close date actual",
            "成交日期",
            "实际成交日期",
            "关闭日期",
        ),
        "owner": ("owner", "deal owner", "sales rep", "负责人", "销售", "销售代表", "归属人"),
        "lost_reason": ("lost reason", "reason lost", "输单原因", "丢单原因"),  # issue 8 imports
        "contact": ("contact", "contact name", "联系人", "联系人姓名"),
        "description": ("description", "notes", "remarks", "描述", "备注", "说明"),
        "created_at": ("created", "created at", "created date", "创建时间", "创建日期"),
    },
}

_BRACKETED = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]")
_NOISE = re.compile(r"[\s_\-./:：,，;；*＊#]+")


def normalise_header(header: str) -> str:
    """A header as compared with the table: NFKC, case-folded, no units, spaces or punctuation."""
    text = unicodedata.normalize("NFKC", str(header or "")).casefold()
    text = _BRACKETED.sub("", text)
    return _NOISE.sub("", text)


def _names(kind: str) -> dict[str, tuple[str, ...]]:
    return {field: tuple(normalise_header(n) for n in names) for field, names in FIELD_SYNONYMS[kind].items()}


def suggest_mapping(headers: Sequence[str], kind: str) -> dict[str, str]:
    """Header → field for the headers of a file of ``kind`` records (``lead``, ``account``,
    ``contact``, ``opportunity``). Raises ``KeyError`` for an unknown kind."""
    names = _names(kind)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    normalised = [(header, normalise_header(header)) for header in headers]
    for header, norm in normalised:  # exact names first
        for field, variants in names.items():
            if field not in taken and norm and norm in variants:
                mapping[header] = field
                taken.add(field)
                break
    for header, norm in normalised:  # then the best field whose name the header contains
        if header in mapping or not norm:
            continue
        best: tuple[bool, int, int] | None = None
        best_field = ""
        for position, (field, variants) in enumerate(names.items()):
            if field in taken:
                continue
            for v in variants:
                if len(v) >= 2 and v in norm:
                    # the attribute comes last ("联系人手机" is a mobile), then the longest name
                    score = (norm.endswith(v), len(v), -position)
                    if best is None or score > best:
                        best, best_field = score, field
        if best_field:
            mapping[header] = best_field
            taken.add(best_field)
    return mapping


def apply_overrides(mapping: Mapping[str, str], overrides: Mapping[str, str], kind: str) -> dict[str, str]:
    """``mapping`` with ``overrides`` (header → field, ``""`` to ignore a column) applied.

    Raises ``ValueError`` naming the field when an override names a field ``kind`` lacks."""
    fields = FIELD_SYNONYMS[kind]
    result = dict(mapping)
    for header, field in overrides.items():
        if field and field not in fields:
            raise ValueError(field)
        result = {h: f for h, f in result.items() if f != field or not field}
        if field:
            result[header] = field
        else:
            result.pop(header, None)
    return result
