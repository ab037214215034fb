"""Matching keys (查重, issue 8): phones as E.164, company stems and regions, pinyin keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesflow.core.normalize import (
    COMPANY_NORM_LENGTH,
    company_parts,
    company_parts_from_stored,
    company_parts_stored,
    company_pinyin_key,
    company_stem_key,
    match_text,
    normalize_email_key,
    person_name_key,
    phone_match_key,
    pinyin_key,
    to_simplified,
)


@pytest.mark.parametrize(
    "typed",
    ["+86 138 1234 5678", "0086-138-1234-5678", "13812345678", "86 13812345678", "１３８１２３４５６７８"],
)
def test_mobiles_share_one_e164_key(typed):
    assert phone_match_key(typed) == "+8613812345678"


@pytest.mark.parametrize("typed", ["(021) 6888 8888", "+86 21 6888 8888", "021-68888888", "0086 21 68888888"])
def test_landlines_share_one_e164_key(typed):
    assert phone_match_key(typed) == "+862168888888"


def test_different_phones_differ_and_blank_is_blank():
    assert phone_match_key("13812345678") != phone_match_key("13812345679")
    assert phone_match_key("") == phone_match_key("abc") == ""


@given(text=st.text(max_size=30))
def test_phone_key_is_idempotent(text):
    once = phone_match_key(text)
    assert phone_match_key(once) == once


@given(text=st.text(alphabet="0123456789+-() ", max_size=24))
def test_phone_key_is_idempotent_on_digit_strings(text):
    once = phone_match_key(text)
    assert phone_match_key(once) == once


def test_email_key():
    assert normalize_email_key("  Wang@Example.COM ") == "wang@example.com"
    assert normalize_email_key("not an email") == ""


cjk_words = st.text(alphabet="上海北京深圳星云智能科技贸易华为腾讯阿里巴巴中国电子网络信息银行", min_size=1, max_size=8)


@given(text=st.one_of(st.text(max_size=30), cjk_words))
def test_company_stem_is_idempotent(text):
    once = company_stem_key(text)
    assert company_stem_key(once) == once


@pytest.mark.parametrize(
    "name",
    [
        "上海阿里巴巴网络技术有限公司",
        "阿里巴巴（上海）科技有限公司",
        "阿里巴巴科技",
        "阿里巴巴(中国)网络技术有限公司",
        "阿里巴巴集团控股有限公司",
        "ＡＬＩＢＡＢＡ",  # a Latin spelling keeps its own stem, tested below
    ][:5],
)
def test_suffix_region_and_trade_variants_share_a_stem(name):
    assert company_stem_key(name) == "阿里巴巴"


def test_regions_are_found_prefixed_and_bracketed():
    assert company_parts("广东省深圳市腾讯计算机系统有限公司").regions == {"广东", "深圳"}
    assert company_parts("腾讯科技（深圳）有限公司").regions == {"深圳"}
    assert company_parts("阿里巴巴（中国）有限公司").regions == frozenset()


def test_country_name_is_part_of_a_name():
    assert company_stem_key("中国银行股份有限公司") == "中国银行"


def test_traditional_and_full_width_fold():
    assert to_simplified("臺灣積體電路") == "台湾积体电路"
    assert company_stem_key("星雲智能科技（上海）有限公司") == company_stem_key("星云智能科技有限公司")
    assert company_parts("ＡＣＭＥ Trading Co., Ltd.").name == "acme trading"


def test_pinyin_keys_match_homophones_and_latin_spellings():
    assert pinyin_key("张伟", person=True) == pinyin_key("章玮", person=True) == "zhangwei"
    assert pinyin_key("Zhang Wei") == pinyin_key("張偉") == "zhangwei"
    assert pinyin_key("曾伟", person=True) == "zengwei"
    assert company_pinyin_key("上海星云科技有限公司") == company_pinyin_key("星耘科技") == "xingyun"
    assert person_name_key("張 偉") == "张伟"


@given(
    text=st.text(max_size=12)
    | st.sampled_from(["张伟", "張偉", "Wei", "ǅemal", "ⅩⅡ世", "王·芳", "李\u0301", "ㄅㄆ", "李二〇"])
)
def test_person_name_key_keeps_exactly_the_letters_and_digits(text):
    """The fast path (a name of letters only is returned as folded) agrees with the rule:
    the folded, simplified text without the characters that are not letters or numbers."""
    import unicodedata

    from salesflow.core.normalize import _fold

    folded = to_simplified(_fold(text[:200]))
    assert person_name_key.__wrapped__(text) == "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


@given(text=st.text(max_size=20))
def test_pinyin_key_is_idempotent(text):
    once = pinyin_key(text)
    assert pinyin_key(once) == once


# Names whose parts are stored (``company_norm``/``company_regions``) give back exactly the
# parts the matcher computes from the name; names whose parts are not stored say so ("", "").
company_names = st.one_of(
    st.text(max_size=40),
    st.text(
        alphabet="上海北京深圳广东省市（）()[]中国星云智能科技贸易華為騰訊网络有限公司集团 ,.ＡＢＣabc\x00", max_size=24
    ),
)


@given(name=company_names)
def test_stored_company_parts_give_back_the_same_parts(name):
    norm, regions = company_parts_stored(name)
    if norm:
        assert company_parts_from_stored(norm, regions) == company_parts(match_text(name))
    else:
        assert regions == ""


@pytest.mark.parametrize(
    "name",
    [
        "广东省深圳市腾讯计算机系统有限公司",
        "腾讯科技（深圳）有限公司",
        "阿里巴巴（中国）有限公司",
        "  上海星雲科技有限公司  ",
        "ＡＣＭＥ Trading Co., Ltd.",
        "上海\x00星云科技有限公司",
        "北京上海星云网络技术有限公司",
        "中国银行股份有限公司",
        "Acme 科技 (上海)",
    ],
)
def test_stored_company_parts_of_known_names(name):
    norm, regions = company_parts_stored(name)
    assert norm
    assert company_parts_from_stored(norm, regions) == company_parts(match_text(name))


def test_company_parts_not_stored_when_blank_or_too_long():
    assert company_parts_stored("") == ("", "")
    assert company_parts_stored("（上海）") == ("", "")  # only a region: the name comes out blank
    assert company_parts("（上海）").regions == {"上海"}
    long_name = "ﷺ" * 20  # NFKC makes each of these 18 characters
    assert len(company_parts(long_name).name) > COMPANY_NORM_LENGTH
    assert company_parts_stored(long_name) == ("", "")
    assert company_parts_stored("上海（北京）星云科技有限公司") == ("星云科技", "上海,北京")
