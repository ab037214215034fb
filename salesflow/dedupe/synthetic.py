"""A generated set of Chinese companies and people with controlled corruptions and hard
negatives, with its ground truth — the matcher's quality test and benchmark (查重).

Corruptions of a duplicate (one or two per copy): homophone characters in the person's name
or the company stem, the name written in pinyin, another legal-form suffix, a region prefix
added, moved into brackets or dropped, full-width characters, traditional characters, and
other phone formats (+86, 0086, spaces and dashes). Hard negatives: sister companies with
the same stem in another region with their own credit code, and different people at one
company. Deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pypinyin import lazy_pinyin

from salesflow.core.normalize import CREDIT_ALPHABET, credit_check_char

# Homophone groups: characters in one group share their toneless pinyin.
_HOMOPHONES = [
    "伟玮炜韦",
    "芳方舫",
    "静婧靖",
    "丽莉俐",
    "强蔷墙",
    "敏闵悯",
    "杰洁捷",
    "涛韬焘",
    "明鸣铭",
    "华桦骅",
    "军君钧",
    "平萍苹",
    "刚钢纲",
    "辉晖徽",
    "玲琳霖",
    "艳燕彦",
    "斌彬滨",
    "鹏朋蓬",
    "星兴惺",
    "云芸耘",
    "达答",
    "瑞睿锐",
    "博搏",
    "创闯",
    "信欣新",
    "恒衡",
    "源元原",
    "通同彤",
    "汇惠慧",
    "泰太",
]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
_SURNAME_HOMOPHONES = {"张": "章", "王": "汪", "李": "黎", "刘": "留", "陈": "晨", "林": "琳", "周": "舟", "徐": "许"}
_STEM_CHARS = "".join(_HOMOPHONES) + "启宏远嘉德安锦晟宇航海正和盛昌丰金银科智联合讯力"
_REGIONS = ["上海", "北京", "深圳", "广州", "杭州", "南京", "成都", "武汉", "苏州", "西安"]
_TRADES = ["科技", "网络技术", "信息技术", "贸易", "实业", "电子", "软件", "咨询"]
_SUFFIXES = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
_TRADITIONAL = str.maketrans(
    "伟华军丽艳鸣铭云达汇启宏远锦晟宇航海盛昌丰金银联讯网络技术信息贸易电实业软咨询有限责任公司团",
    "偉華軍麗艷鳴銘雲達匯啓宏遠錦晟宇航海盛昌豐金銀聯訊網絡技術信息貿易電實業軟諮詢有限責任公司團",
)


@dataclass(frozen=True)
class SyntheticSet:
    """Rows (dicts with ``id``, ``kind`` and the party fields) and the true duplicate pairs
    (``id`` pairs, smaller id first)."""

    rows: list[dict[str, str]]
    truth: set[tuple[str, str]]


def _credit_code(rng: random.Random) -> str:
    body = "91" + "".join(rng.choice("0123456789") for _ in range(6))
    body += "".join(rng.choice(CREDIT_ALPHABET) for _ in range(9))
    return body + credit_check_char(body)


def _homophone(rng: random.Random, text: str) -> str:
    """Replace one character of ``text`` that has homophones with another of its group."""
    spots = [(i, g) for i, ch in enumerate(text) for g in _HOMOPHONES if ch in g]
    if not spots:
        return text
    i, group = rng.choice(spots)
    return text[:i] + rng.choice([c for c in group if c != text[i]]) + text[i + 1 :]


def _full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def _format_mobile(rng: random.Random, mobile: str) -> str:
    return rng.choice(
        [
            f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}",
            f"0086-{mobile}",
            f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}",
            _full_width(mobile),
            f"86{mobile}",
        ]
    )


def generate(n_companies: int = 300, *, seed: int = 8) -> SyntheticSet:
    """``n_companies`` companies (accounts) with two people each (contacts, as leads), about
    half of them duplicated with corruptions, plus a sister company per fifth company."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    rows: list[dict[str, str]] = []
    truth: set[tuple[str, str]] = set()
    used_stems: set[str] = set()
    used_names: set[str] = set()
    counter = 0

    def add(row: dict[str, str]) -> str:
        nonlocal counter
        counter += 1
        row["id"] = f"r{counter:06d}"
        rows.append(row)
        return row["id"]

    def pair(a: str, b: str) -> None:
        truth.add((a, b) if a < b else (b, a))

    for _ in range(n_companies):
        stem = ""
        while not stem or stem in used_stems or "".join(lazy_pinyin(stem)) in used_stems:
            stem = "".join(rng.choice(_STEM_CHARS) for _ in range(rng.choice((2, 3, 4))))
        used_stems.add("".join(lazy_pinyin(stem)))
        used_stems.add(stem)
        region, trade, suffix = rng.choice(_REGIONS), rng.choice(_TRADES), rng.choice(_SUFFIXES)
        code = _credit_code(rng)
        company = f"{region}{stem}{trade}{suffix}"
        phone = f"0{rng.randint(20, 29)}-{rng.randint(6000_0000, 8999_9999)}"
        original = add({"kind": "account", "name": company, "credit_code": code, "phone": phone})
        has_sister = rng.random() < 0.2
        if rng.random() < 0.5:
            variants = [
                f"{stem}{trade}({region}){suffix}",
                f"{region}市{_homophone(rng, stem)}{trade}{suffix}",
                company.translate(_TRADITIONAL),
                f"{region}{stem}{rng.choice(_TRADES)}{suffix}",
                _full_width(f"{region}{stem}{trade}") + rng.choice(_SUFFIXES),
            ]
            if not has_sister:
                # Without its region a copy is as close to a sister company as to the original
                # (a genuinely ambiguous pair), so only companies without sisters lose it.
                variants.append(f"{stem}{trade}{rng.choice(_SUFFIXES)}")
            variant = rng.choice(variants)
            copy = add({"kind": "account", "name": variant, "credit_code": code if rng.random() < 0.3 else ""})
            pair(original, copy)
        if has_sister:  # a sister company: same stem, another region, its own code
            other = rng.choice([r for r in _REGIONS if r != region])
            add({"kind": "account", "name": f"{other}{stem}{trade}{suffix}", "credit_code": _credit_code(rng)})
        for _person in range(2):
            name = ""
            while not name or name in used_names:
                given = "".join(rng.choice(rng.choice(_HOMOPHONES)) for _ in range(rng.choice((1, 2))))
                name = rng.choice(_SURNAMES) + given
            used_names.add(name)
            used_names.add("".join(lazy_pinyin(name)))
            mobile = f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"
            email = f"{''.join(lazy_pinyin(name))}{rng.randint(1, 99)}@{''.join(lazy_pinyin(stem))}.com"
            person = add({"kind": "contact", "name": name, "mobile": mobile, "email": email, "company_name": company})
            if rng.random() < 0.5:
                corruption = rng.randrange(5)
                copy_row = {"kind": "contact", "name": name, "company_name": company}
                if corruption == 0:  # homophone name, same mobile in another format
                    surname = _SURNAME_HOMOPHONES.get(name[0], name[0])
                    copy_row.update(name=surname + name[1:], mobile=_format_mobile(rng, mobile))
                elif corruption == 1:  # the name in pinyin, same email
                    syllables = lazy_pinyin(name)
                    copy_row.update(name=f"{syllables[0].title()} {''.join(syllables[1:]).title()}", email=email)
                elif corruption == 2:  # homophone given name, company without suffix/region
                    copy_row.update(name=_homophone(rng, name), company_name=f"{stem}{trade}")
                elif corruption == 3:  # traditional characters, mobile in another format
                    copy_row.update(name=name.translate(_TRADITIONAL), mobile=_format_mobile(rng, mobile))
                else:  # same person, email upper-cased, company with a bracketed region
                    copy_row.update(email=email.upper(), company_name=f"{stem}{trade}（{region}）{suffix}")
                pair(person, add(copy_row))
    return SyntheticSet(rows=rows, truth=truth)
