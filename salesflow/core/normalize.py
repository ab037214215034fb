"""Normalisers for identifiers people type: phones, emails, credit codes and company names.

Pure functions without database access, shared by the services (which store the normalised
forms and keys), the selectors (which normalise search terms the same way) and the demo
generator. They live here, not in an app's ``services.py``, because selectors may not import
services; the core is the lowest layer, so leads, parties and later apps can all use them.

Every normaliser is idempotent: normalising a normalised value returns it unchanged, so a key
computed from stored data equals the key computed again from the same input.
"""

from __future__ import annotations

import re
import unicodedata

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


def normalize_credit_code(value: str) -> str:
    """Upper-case and strip spaces/hyphens from a unified social credit code."""
    return re.sub(r"[\s\-]", "", value or "").upper()


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
