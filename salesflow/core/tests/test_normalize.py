"""Phone, email, credit-code and company-name normalisation (pure functions, property-based where useful)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesflow.core.normalize import (
    COMPANY_SUFFIXES_ZH,
    company_name_key,
    mobile_error,
    normalize_email,
    normalize_phone,
    phone_error,
)

mobiles = st.builds(
    lambda second, rest: f"1{second}{rest}",
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)
prefixes = st.sampled_from(["", "+86", "+86 ", "0086", "86", "+86-", "(+86) "])
separators = st.sampled_from(["", " ", "-", " - ", "  ", ".", "\u3000"])


def spread(number: str, sep: str) -> str:
    return f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}"


@given(number=mobiles, prefix=prefixes, sep=separators)
def test_mainland_mobiles_normalise_to_eleven_digits(number, prefix, sep):
    typed = f"{prefix}{spread(number, sep)}"
    assert normalize_phone(typed) == number
    assert mobile_error(normalize_phone(typed)) is None


@given(text=st.text(max_size=30))
def test_normalisation_is_idempotent(text):
    once = normalize_phone(text)
    assert normalize_phone(once) == once


@given(number=mobiles)
def test_full_width_digits_are_accepted(number):
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in number)
    assert normalize_phone(full_width) == number


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("021-6888 8888", "02168888888"),
        ("(010) 6523 1234", "01065231234"),
        ("+44 7700 900123", "+447700900123"),
        ("", ""),
    ],
)
def test_examples(typed, expected):
    assert normalize_phone(typed) == expected


@pytest.mark.parametrize("bad", ["12812345678", "1381234567", "138123456789", "+8612812345678", "abc", "021-6888"])
def test_invalid_mobiles_are_refused(bad):
    assert mobile_error(normalize_phone(bad)) is not None


@pytest.mark.parametrize("good", ["13812345678", "+447700900123", ""])
def test_valid_mobiles(good):
    assert mobile_error(good) is None


@pytest.mark.parametrize(
    ("typed", "ok"),
    [
        ("021-6888 8888", True),
        ("+86 21 6888 8888", True),
        ("13812345678", True),
        ("12812345678", False),
        ("call me", False),
    ],
)
def test_phone_field(typed, ok):
    assert (phone_error(normalize_phone(typed)) is None) is ok


def test_email_is_lower_cased_and_trimmed():
    assert normalize_email("  Zhang.Wei@Example.COM ") == "zhang.wei@example.com"


@given(text=st.text(max_size=20))
def test_email_normalisation_is_idempotent(text):
    assert normalize_email(normalize_email(text)) == normalize_email(text)


# --- company names ---------------------------------------------------------------------------

# Chinese brand words and Latin words, so examples look like company names.
cjk_words = st.text(alphabet="上海北京星云智能科技贸易华为腾讯阿里巴巴中国电子", min_size=1, max_size=6)
latin_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
names = st.lists(st.one_of(cjk_words, latin_words), min_size=1, max_size=4).map(" ".join)


def full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ("\u3000" if ch == " " else ch) for ch in text)


@given(text=st.text(max_size=40))
def test_company_key_is_idempotent(text):
    once = company_name_key(text)
    assert company_name_key(once) == once


@given(name=names)
def test_company_key_ignores_width_case_and_punctuation(name):
    key = company_name_key(name)
    assert company_name_key(full_width(name)) == key
    assert company_name_key(name.upper()) == key
    assert company_name_key(f"  {name}. ") == key
    assert company_name_key(name.replace(" ", " , ")) == key


@given(name=cjk_words, suffix=st.sampled_from(COMPANY_SUFFIXES_ZH), spaced=st.booleans())
def test_chinese_legal_forms_do_not_matter(name, suffix, spaced):
    written = f"{name} {suffix}" if spaced else f"{name}{suffix}"
    assert company_name_key(written) == company_name_key(name)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("上海星云智能科技有限公司", "上海星云智能科技"),
        ("上海 星云智能科技 股份有限公司", "上海星云智能科技"),
        ("星云集团股份有限公司", "星云"),
        ("星云（上海）有限公司", "星云上海"),
        ("ＡＢＣ（上海）有限公司", "abc 上海"),
        ("Acme Trading Co., Ltd.", "acme trading"),
        ("ACME TRADING CO LTD", "acme trading"),
        ("Costco", "costco"),
        ("Acme", "acme"),
        ("公司", "公司"),
        ("", ""),
    ],
)
def test_company_key_examples(typed, expected):
    assert company_name_key(typed) == expected


def test_different_companies_keep_different_keys():
    assert company_name_key("上海星云科技有限公司") != company_name_key("北京星云科技有限公司")
    assert company_name_key("Acme Trading") != company_name_key("Acme")
