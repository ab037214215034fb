"""Normalisers for identifiers people type: phones, emails, credit codes and company names.

Pure functions without database access, shared by the services (which store the normalised
forms and keys), the selectors (which normalise search terms the same way) and the demo
generator. They live here, not in an app's ``services.py``, because selectors may not import
services; the core is the lowest layer, so leads, parties and later apps can all use them.

Every normaliser is idempotent: normalising a normalised value returns it unchanged, so a key
computed from stored data equals the key computed again from the same input.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from django.utils.translation import gettext as _

# --- phones --------------------------------------------------------------------------------------

_PHONE_SEPARATORS = re.compile(r"[\s\-–—().·/]")
# Mainland mobile numbers, optionally written with the country code (+86, 0086 or 86).
_CN_MOBILE = re.compile(r"^(?:\+86|0086|86)?(1[3-9]\d{9})$")
# Something that looks like it was meant to be a Chinese mobile (so it must be a valid one).
_CN_MOBILE_LIKE = re.compile(r"^(?:\+86|0086|86)?1\d{8,11}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_INTERNATIONAL = re.compile(r"^\+[1-9]\d{6,14}$")
_LANDLINE = re.compile(r"^\+?\d{5,20}$")


def normalize_phone(value: str) -> str:
    """Canonical form of a phone number as typed by people.

    Full-width characters become ASCII; spaces, dashes, dots, slashes and brackets are removed;
    a mainland mobile number written with a country code (``+86 138-1234-5678``) becomes its
    eleven digits (``13812345678``). Other numbers keep their digits and a leading ``+``.
    Idempotent: normalising a normalised number returns it unchanged.
    """
    text, previous = value or "", None
    while text != previous:  # removing separators can create new NFKC compositions
        previous, text = text, _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    match = _CN_MOBILE.match(text)
    return match.group(1) if match else text


def mobile_error(normalised: str) -> str | None:
    """Why a normalised mobile number is not acceptable (``None`` when it is fine or empty).

    Mainland numbers must be ``1[3-9]`` followed by nine digits; numbers of other countries
    are accepted in international form (``+44…``). Used for lead and contact mobiles alike.
    """
    if not normalised or _MOBILE.match(normalised):
        return None
    if _INTERNATIONAL.match(normalised) and not normalised.startswith("+86"):
        return None
    return _("Enter a valid mainland mobile number, e.g. 138 1234 5678.")


def phone_error(normalised: str) -> str | None:
    """Why a normalised landline/other phone number is not acceptable (``None`` when fine)."""
    if not normalised:
        return None
    if _CN_MOBILE_LIKE.match(normalised) and not _MOBILE.match(normalised):
        return _("This looks like a mobile number but is not valid.")
    if not _LANDLINE.match(normalised):
        return _("Enter a phone number made of digits, e.g. 021-6888 8888.")
    return None


# --- emails --------------------------------------------------------------------------------------


def normalize_email(value: str) -> str:
    """An email address without surrounding whitespace, lower-cased (the stored form and key)."""
    return (value or "").strip().lower()


# --- unified social credit codes (统一社会信用代码, GB 32100-2015) --------------------------------

CREDIT_CODE_RE = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}$")
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, …


_CREDIT_SEPARATORS = re.compile(r"[\s\-]")


def normalize_credit_code(value: str) -> str:
    """Upper-case and strip spaces/hyphens from a unified social credit code."""
    return _CREDIT_SEPARATORS.sub("", value).upper() if value else ""


def credit_check_char(body: str) -> str:
    """The 18th (check) character of a unified social credit code for its 17-character body
    (GB 32100-2015). Raises ``ValueError`` for characters outside the official alphabet."""
    total = sum(CREDIT_ALPHABET.index(ch) * w for ch, w in zip(body, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_is_valid(code: str) -> bool:
    """GB 32100-2015: 18 characters from the official alphabet with a valid check character."""
    if not CREDIT_CODE_RE.match(code):
        return False
    return credit_check_char(code[:17]) == code[17]


# --- company names -------------------------------------------------------------------------------

# Legal-form and group suffixes that do not tell two companies apart. Matched at the end of
# the name only, repeatedly ("某某集团股份有限公司" → "某某"), longest first. Chinese suffixes
# match as characters; Latin ones only as whole words ("Costco" keeps its "co").
COMPANY_SUFFIXES_ZH: tuple[str, ...] = tuple(
    sorted(
        {
            "股份有限公司",
            "有限责任公司",
            "有限公司",
            "股份公司",
            "集团公司",
            "总公司",
            "分公司",
            "公司",
            "集团",
        },
        key=len,
        reverse=True,
    )
)
COMPANY_SUFFIXES_LATIN: frozenset[str] = frozenset(
    {"co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited", "llc", "plc", "gmbh", "group"}
)


def _is_wide(ch: str) -> bool:
    """CJK ideographs, kana and hangul syllables: one character is one word."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _fold(value: str) -> str:
    """NFKC (full-width → half-width, compatibility forms) and case folding, until stable."""
    text, previous = value, None
    while text != previous:
        previous, text = text, unicodedata.normalize("NFKC", text).casefold()
    return text


def _company_tokens(value: str) -> list[str]:
    """Words of a folded name: each wide character is a word; runs of other letters and digits
    are words; whitespace, punctuation, symbols and combining marks separate words."""
    tokens: list[str] = []
    run: list[str] = []
    for ch in value:
        category = unicodedata.category(ch)
        if category[0] in "LN" and not _is_wide(ch):
            run.append(ch)
            continue
        if run:
            tokens.append("".join(run))
            run = []
        if category[0] in "LN":
            tokens.append(ch)
    if run:
        tokens.append("".join(run))
    return tokens


def _strip_suffixes(tokens: list[str]) -> list[str]:
    """Remove legal-form suffixes from the end while something else remains."""
    changed = True
    while changed:
        changed = False
        last = tokens[-1] if tokens else ""
        if len(tokens) > 1 and last in COMPANY_SUFFIXES_LATIN:
            tokens = tokens[:-1]
            changed = True
            continue
        for suffix in COMPANY_SUFFIXES_ZH:
            n = len(suffix)
            if len(tokens) > n and "".join(tokens[-n:]) == suffix and all(len(t) == 1 for t in tokens[-n:]):
                tokens = tokens[:-n]
                changed = True
                break
    return tokens


def company_name_key(value: str) -> str:
    """The key under which two spellings of one company name are the same (duplicate detection).

    The rule:

    1. Unicode NFKC and case folding: full-width letters, digits and brackets become
       half-width (``ＡＢＣ（上海）`` → ``abc(上海)``), upper and lower case are the same.
    2. Whitespace, punctuation and symbols only separate words; they are dropped.
    3. Legal-form suffixes at the end are dropped, repeatedly, as long as something remains:
       ``股份有限公司``, ``有限责任公司``, ``有限公司``, ``股份公司``, ``集团公司``, ``总公司``,
       ``分公司``, ``公司``, ``集团`` and the Latin words ``co``, ``company``, ``corp``,
       ``corporation``, ``inc``, ``incorporated``, ``ltd``, ``limited``, ``llc``, ``plc``,
       ``gmbh``, ``group`` (whole words only).
    4. The remaining words are joined: Chinese (wide) characters without a separator, Latin
       words with one space (so ``Acme Trading`` and ``AcmeTrading`` stay different names).

    Place names are kept (``上海某某`` and ``北京某某`` are different companies), and so is a
    bracketed region, which becomes an ordinary word. Idempotent.
    """
    tokens = _strip_suffixes(_company_tokens(_fold(value or "")))
    parts: list[str] = []
    for i, token in enumerate(tokens):
        if i and not (_is_wide(token[0]) and _is_wide(tokens[i - 1][-1])):
            parts.append(" ")
        parts.append(token)
    return "".join(parts)


# --- matching keys (查重, issue 8) ------------------------------------------------------------------
#
# Keys the duplicate matcher blocks and scores on. Unlike the stored forms above they are free
# to lose information (a region, a legal form, the characters behind a pinyin spelling): two
# records whose keys agree are only *candidates*, and the matcher's scoring decides. Every key
# function is pure and idempotent on its own output where the output is a valid input.

PHONE_DEFAULT_REGION = "CN"
# A mainland mobile as the services store it (eleven ASCII digits): ``normalize_phone`` leaves
# it unchanged, so its key needs no parsing.
_STORED_MOBILE = re.compile(r"1[3-9][0-9]{9}")


@functools.lru_cache(maxsize=65536)
def phone_match_key(value: str) -> str:
    """An E.164-equivalent key for any phone number as typed (CN default region).

    ``+86 138 1234 5678``, ``0086-138…`` and ``13812345678`` give ``+8613812345678``;
    ``(021) 6888 8888`` and ``+86 21 6888 8888`` give ``+862168888888``. Something
    ``phonenumbers`` cannot parse as a possible number gives ``""`` (no key: it matches
    nothing). Idempotent (an E.164 key parses to itself).
    """
    if value and _STORED_MOBILE.fullmatch(value):  # a stored mainland mobile: its own normal form
        return "+86" + value
    text = normalize_phone(value[:64] if value else "")
    if not text:
        return ""
    if _MOBILE.match(text):  # the common case, without parsing: a mainland mobile
        return "+86" + text
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ""


def normalize_email_key(value: str) -> str:
    """The matching key of an email: the stored form (trimmed, lower-cased, NFKC-folded);
    ``""`` for anything without an ``@`` between two non-empty parts."""
    text = unicodedata.normalize("NFKC", (value or "")[:320]).strip().lower()
    local, at, domain = text.rpartition("@")
    return text if at and local and domain and " " not in text else ""


@functools.cache
def _t2s() -> object:
    """The OpenCC traditional → simplified converter, created once per process."""
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(value: str) -> str:
    """Traditional Chinese characters folded to simplified ones (OpenCC ``t2s``)."""
    if not value or value.isascii():
        return value
    return str(_t2s().convert(value))  # type: ignore[attr-defined]


# Provinces, autonomous regions, municipalities and the larger cities, as written in company
# names ("上海某某", "广东省深圳市某某", "某某(深圳)"). Longest first, so "内蒙古" wins over "内蒙".
_REGION_NAMES: tuple[str, ...] = tuple(
    sorted(
        {
            # provincial level
            "北京",
            "天津",
            "上海",
            "重庆",
            "河北",
            "山西",
            "辽宁",
            "吉林",
            "黑龙江",
            "江苏",
            "浙江",
            "安徽",
            "福建",
            "江西",
            "山东",
            "河南",
            "湖北",
            "湖南",
            "广东",
            "海南",
            "四川",
            "贵州",
            "云南",
            "陕西",
            "甘肃",
            "青海",
            "台湾",
            "内蒙古",
            "广西",
            "西藏",
            "宁夏",
            "新疆",
            "香港",
            "澳门",
            # larger cities
            "深圳",
            "广州",
            "杭州",
            "南京",
            "苏州",
            "无锡",
            "宁波",
            "温州",
            "成都",
            "武汉",
            "西安",
            "长沙",
            "郑州",
            "济南",
            "青岛",
            "大连",
            "沈阳",
            "长春",
            "哈尔滨",
            "合肥",
            "福州",
            "厦门",
            "泉州",
            "南昌",
            "昆明",
            "贵阳",
            "南宁",
            "海口",
            "三亚",
            "兰州",
            "西宁",
            "银川",
            "乌鲁木齐",
            "拉萨",
            "呼和浩特",
            "石家庄",
            "太原",
            "东莞",
            "佛山",
            "珠海",
            "中山",
            "惠州",
            "常州",
            "南通",
            "扬州",
            "徐州",
            "嘉兴",
            "绍兴",
            "金华",
            "台州",
            "烟台",
            "潍坊",
            "唐山",
            "保定",
            "洛阳",
            "宜昌",
            "襄阳",
            "株洲",
            "芜湖",
            # the country itself, as in "(中国)"
            "中国",
        },
        key=len,
        reverse=True,
    )
)
_REGION_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市", "区")
_BRACKETED = re.compile(r"[(\[{]([^()\[\]{}]*)[)\]}]")
# Trade words at the end of a stem that do not tell companies apart for blocking
# ("某某网络技术" and "某某科技" share the stem "某某").
_TRADE_WORDS: tuple[str, ...] = tuple(
    sorted(
        {
            "科技",
            "技术",
            "网络",
            "信息",
            "软件",
            "电子",
            "贸易",
            "商贸",
            "实业",
            "发展",
            "咨询",
            "服务",
            "国际",
            "控股",
            "投资",
            "管理",
            "工程",
            "设备",
            "制造",
            "工业",
            "机械",
            "电气",
            "物流",
            "文化",
            "传媒",
            "广告",
            "医药",
            "生物",
            "新材料",
            "材料",
            "能源",
            "环保",
            "建设",
            "建筑",
            "智能",
            "数据",
            "系统",
            "计算机",
            "进出口",
            "集团",
            "公司",
            "食品",
            "餐饮",
            "教育",
            "培训",
            "金融",
            "科学",
            "企业",
            "中心",
            "股份",
        },
        key=len,
        reverse=True,
    )
)


_REGION_PREFIX = re.compile(
    "^(" + "|".join(r for r in _REGION_NAMES if r != "中国") + ")(" + "|".join(_REGION_SUFFIXES) + ")?"
)


def _strip_region_prefix(text: str) -> tuple[str, list[str]]:
    """Remove region names (with 省/市/自治区…) from the start of ``text``, repeatedly, while
    at least two characters remain; returns the rest and the regions removed. "中国" is not
    stripped: 中国银行 is a name, not a region."""
    regions: list[str] = []
    while match := _REGION_PREFIX.match(text):
        rest = text[match.end() :]
        if len(rest) < 2:
            break
        regions.append(match.group(1))
        text = rest
    return text, regions


def _region_of(word: str) -> str | None:
    """The region a bracketed word names ("上海", "上海市", "中国") or ``None``."""
    for region in _REGION_NAMES:
        if word.startswith(region) and (word == region or word[len(region) :] in _REGION_SUFFIXES):
            return region
    return None


@dataclass(frozen=True)
class CompanyParts:
    """A company name taken apart for matching.

    ``name``: folded (NFKC, case, traditional → simplified), without punctuation, bracketed
    regions, legal-form suffixes and leading region names — what is compared for similarity.
    ``stem``: ``name`` without trailing trade words (科技, 网络技术, 贸易…) — the blocking key.
    ``regions``: the regions named anywhere in the name ("中国" is not counted: it tells no
    sister companies apart).
    """

    name: str
    stem: str
    regions: frozenset[str]


@functools.lru_cache(maxsize=65536)
def company_parts(value: str) -> CompanyParts:
    """Take a company name apart (see :class:`CompanyParts`). Pure (results are cached);
    at most 300 characters read."""
    text = to_simplified(_fold((value or "")[:300]))
    regions: set[str] = set()

    def bracket(match: re.Match[str]) -> str:
        region = _region_of(match.group(1).strip())
        if region is not None:
            regions.add(region)
            return " "
        return f" {match.group(1)} "

    text = _BRACKETED.sub(bracket, text)
    name = company_name_key(text)
    if _is_all_wide(name):
        name, found = _strip_region_prefix(name)
        regions.update(found)
    regions.discard("中国")
    return CompanyParts(name=name, stem=_company_stem(name), regions=frozenset(regions))


@functools.lru_cache(maxsize=1 << 17)
def _company_stem(name: str) -> str:
    """:attr:`CompanyParts.stem` of a :attr:`CompanyParts.name`: a name of wide characters only
    loses its trailing trade words (while two characters remain); any other name is its own
    stem. (A name of wide characters stays one after its leading regions are removed, so the
    stem follows from the final name alone.)"""
    if not _is_all_wide(name):
        return name
    stem = name
    changed = True
    while changed:
        changed = False
        # the longest trade word the stem ends with that leaves two characters (of one length
        # at most one word can be the stem's ending: one set lookup per length)
        for size, words in _TRADE_WORDS_BY_LENGTH:
            if len(stem) - size >= 2 and stem[-size:] in words:
                stem = stem[:-size]
                changed = True
                break
    return stem


# ``_TRADE_WORDS`` grouped by length, longest first.
_TRADE_WORDS_BY_LENGTH: tuple[tuple[int, frozenset[str]], ...] = tuple(
    (size, frozenset(w for w in _TRADE_WORDS if len(w) == size))
    for size in sorted({len(w) for w in _TRADE_WORDS}, reverse=True)
)


# CJK unified ideographs (all of them wide) and whitespace only: the common company name
_CJK_ONLY = re.compile(r"[\u4e00-\u9fff\s]+")


def _is_all_wide(text: str) -> bool:
    if _CJK_ONLY.fullmatch(text):
        return True
    width = unicodedata.east_asian_width
    return bool(text) and all(width(ch) in ("W", "F") for ch in text if not ch.isspace())


# The stored form of a company name's parts (``Lead.company_norm``/``company_regions``,
# ``Account.company_norm``/``company_regions``), so the matcher need not take apart the
# company name of every record it fetches. Regions are joined with ",", which no region
# name contains. Parts that do not fit the columns are not stored (both blank): the matcher
# then takes the name apart itself.
COMPANY_NORM_LENGTH = 200
COMPANY_REGIONS_LENGTH = 200
MATCH_TEXT_LENGTH = 300


def match_text(value: str) -> str:
    """A stored or typed value as the matcher reads it: at most 300 characters, NULs removed,
    trimmed (``dedupe.configs`` reads every cell this way)."""
    return value[:MATCH_TEXT_LENGTH].replace("\x00", "").strip()


def company_parts_stored(company_name: str) -> tuple[str, str]:
    """``(company_norm, company_regions)`` to store for ``company_name``: the
    :func:`company_parts` name and its regions (sorted, joined with ","), as the matcher
    computes them from the stored name (:func:`match_text` first); ``("", "")`` when there is
    no name, the name comes out blank, or either part is longer than its column.
    :func:`company_parts_from_stored` turns them back into the same :class:`CompanyParts`."""
    text = match_text(company_name or "")
    if not text:
        return "", ""
    parts = company_parts(text)
    regions = ",".join(sorted(parts.regions))
    if not parts.name or len(parts.name) > COMPANY_NORM_LENGTH or len(regions) > COMPANY_REGIONS_LENGTH:
        return "", ""
    return parts.name, regions


@functools.lru_cache(maxsize=1 << 17)
def company_parts_from_stored(company_norm: str, company_regions: str) -> CompanyParts:
    """The :class:`CompanyParts` of a name whose stored parts (:func:`company_parts_stored`,
    ``company_norm`` not blank) are given: equal to :func:`company_parts` of the name, without
    folding, converting and stripping it again (only the stem is recomputed, from the
    normalised name). Pure; cached."""
    regions = frozenset(company_regions.split(",")) if company_regions else frozenset()
    return CompanyParts(name=company_norm, stem=_company_stem(company_norm), regions=regions)


def company_stem_of_stored(company_norm: str) -> str:
    """:attr:`CompanyParts.stem` of :func:`company_parts_from_stored` with this stored
    ``company_norm`` (not blank): the stem alone, without building the parts. Pure; cached."""
    return _company_stem(company_norm)


def company_stem_key(value: str) -> str:
    """The blocking key of a company name: :attr:`CompanyParts.stem`.

    ``上海阿里巴巴网络技术有限公司``, ``阿里巴巴（上海）科技有限公司`` and ``阿里巴巴科技`` all give
    ``阿里巴巴``; sister companies in other regions share it too (the matcher tells them apart by
    region and credit code). Stored as ``Lead.company_stem`` / ``Account.name_stem``.
    """
    return company_parts(value).stem


# Surnames read differently from the common reading of their character.
_SURNAME_READINGS = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "仇": "qiu",
    "朴": "piao",
    "区": "ou",
    "查": "zha",
    "覃": "qin",
    "乐": "yue",
    "缪": "miao",
    "种": "chong",
    "盖": "ge",
    "翟": "zhai",
    "秘": "bi",
    "任": "ren",
    "华": "hua",
    "沈": "shen",
    "万": "wan",
    "尉": "yu",
    "員": "yun",
    "贲": "ben",
    "黑": "he",
    "折": "she",
    "召": "shao",
    "长": "chang",
    "重": "chong",
    "句": "gou",
    "阚": "kan",
}
_LATIN_ONLY = re.compile(r"[^a-z0-9]")


@functools.lru_cache(maxsize=65536)
def pinyin_key(value: str, *, person: bool = False) -> str:
    """Toneless pinyin of a name, lower-case, without spaces (``张伟`` and ``章玮`` → ``zhangwei``).

    Latin letters are kept as typed, so ``Zhang Wei`` and ``zhang-wei`` give the same key as
    ``张伟``. Traditional characters are folded first. With ``person=True`` a first character
    that is a surname with its own reading uses it (``曾`` → ``zeng``, ``单`` → ``shan``).
    Other characters (digits excepted) are dropped. Idempotent on its output.
    """
    from pypinyin import lazy_pinyin

    text = to_simplified(_fold((value or "")[:200]))
    syllables: list[str] = []
    if person and text[:1] in _SURNAME_READINGS:
        syllables.append(_SURNAME_READINGS[text[0]])
        text = text[1:]
    syllables.extend(lazy_pinyin(text, errors="default", v_to_u=False))
    return _LATIN_ONLY.sub("", "".join(syllables).lower())


@functools.lru_cache(maxsize=65536)
def person_name_key(value: str) -> str:
    """A person's name folded for comparison: NFKC, case, traditional → simplified, without
    spaces and punctuation (``張 偉`` → ``张伟``; ``Wei ZHANG`` → ``weizhang``). Pure (cached)."""
    text = to_simplified(_fold((value or "")[:200]))
    if text.isalpha():  # every character a letter (general category L*): nothing to drop
        return text
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def company_pinyin_key(value: str) -> str:
    """Pinyin of a company's stem (homophone spellings of one company share it)."""
    return pinyin_key(company_stem_key(value))


KEY_LENGTH = 200
PHONE_KEY_LENGTH = 40


def party_match_keys(*, person_name: str = "", company_name: str = "", phone: str = "") -> dict[str, str]:
    """The stored matching keys of a lead, contact or account, computed by its services.

    ``company_stem`` (:func:`company_stem_key`) and ``company_pinyin`` (its pinyin) from
    ``company_name``, and the parts the matcher compares (``company_norm``,
    ``company_regions``: :func:`company_parts_stored`); ``name_pinyin`` (:func:`pinyin_key` with surname readings) from
    ``person_name``; ``phone_key`` (:func:`phone_match_key`) from the landline ``phone``
    (mobiles are stored normalised already and are their own key). Each key is cut to its
    column's length.
    """
    stem = company_stem_key(company_name) if company_name else ""
    norm, regions = company_parts_stored(company_name) if company_name else ("", "")
    return {
        "company_stem": stem[:KEY_LENGTH],
        "company_pinyin": (pinyin_key(stem) if stem else "")[:KEY_LENGTH],
        "company_norm": norm,
        "company_regions": regions,
        "name_pinyin": (pinyin_key(person_name, person=True) if person_name else "")[:KEY_LENGTH],
        "phone_key": phone_match_key(phone)[:PHONE_KEY_LENGTH],
    }
