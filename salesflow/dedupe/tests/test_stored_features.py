"""The matcher's fast path for fetched records gives exactly what the general one gives:
``prepare_stored_party`` (a record's stored values and keys, positionally) equals
``prepare_party`` of the same values, and a record's memoised blocking keys are the ones
``bounded_blocking_keys`` would compute."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from salesflow.core.normalize import company_parts_stored, party_match_keys
from salesflow.dedupe.configs import prepare_party, prepare_stored_party
from salesflow.dedupe.matching import _stored_features, all_blocking_keys, bounded_blocking_keys

_NAMES = ["张伟", "張 偉", "Wei ZHANG", "", "  李娜 ", "曾小贤", "单田芳", "a\x00b"]
_COMPANIES = ["上海星河科技有限公司", "星河（上海）科技", "北京字节跳动网络技术有限公司", "", "科技", "ACME Co., Ltd."]
_PHONES = ["13812345678", "+86 138 1234 5678", "021-68888888", "(021) 6888 8888", "", "12345", "0086-21-5555-0000"]
_EMAILS = ["a@example.com", " A@Example.COM ", "no-at", "", "ｆｕｌｌ＠ｗｉｄｔｈ.com"]
_CODES = ["91310000MA1FL4XXXX", "91350100M000100Y43", "", "9135 0100-M000 100Y43"]

_text = st.one_of(st.text(max_size=12), st.sampled_from(_NAMES + _COMPANIES + _PHONES + _EMAILS + _CODES))


def _both(kind: str, name: str, mobile: str, phone: str, email: str, company: str, code: str) -> None:
    keys = party_match_keys(person_name="" if kind == "account" else name, company_name=company, phone=phone)
    norm, regions = company_parts_stored(company) if company else ("", "")
    stored = (kind, name, mobile, phone, email, company, code, keys["name_pinyin"], keys["company_pinyin"], norm)
    general = prepare_party(
        {
            "kind": kind,
            "name": name,
            "mobile": mobile,
            "phone": phone,
            "email": email,
            "company_name": company,
            "credit_code": code,
            "name_pinyin": keys["name_pinyin"],
            "company_pinyin": keys["company_pinyin"],
            "company_norm": norm,
            "company_regions": regions,
        }
    )
    fast = prepare_stored_party(*stored, regions, keys["phone_key"])
    assert fast == general
    features, memo_keys = _stored_features(*stored, regions, keys["phone_key"])  # type: ignore[arg-type]
    assert features == general
    assert set(memo_keys) == bounded_blocking_keys(general, set()) and len(memo_keys) == len(set(memo_keys))
    assert memo_keys == all_blocking_keys(general)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["lead", "contact", "account"]),
    name=_text,
    mobile=_text,
    phone=_text,
    email=_text,
    company=_text,
    code=_text,
)
def test_stored_features_equal_the_general_preparation(
    kind: str, name: str, mobile: str, phone: str, email: str, company: str, code: str
) -> None:
    _both(kind, name, mobile, phone, email, company, code)


def test_stored_features_of_typical_records() -> None:
    for kind in ("lead", "contact", "account"):
        for name in _NAMES:
            for company in _COMPANIES:
                _both(kind, name, "13812345678", "021-68888888", "a@example.com", company, "91350100M000100Y43")
                _both(kind, name, "", "", "", company, "")
