"""Header → field suggestions for spreadsheets (``salesflow.core.columns``)."""

from __future__ import annotations

import pytest

from salesflow.core.columns import FIELD_SYNONYMS, apply_overrides, normalise_header, suggest_mapping


def test_normalise_header_folds_width_case_units_and_markers() -> None:
    assert normalise_header("  Mobile_Phone * ") == "mobilephone"
    assert normalise_header("金额（元）") == "金额"
    assert normalise_header("ＥＭＡＩＬ") == "email"


def test_chinese_and_english_headers_map_to_the_same_fields() -> None:
    zh = suggest_mapping(["姓名", "手机号码", "公司名称", "电子邮箱", "负责人", "备注", "不认识的列"], "lead")
    en = suggest_mapping(["Name", "Mobile", "Company", "E-mail", "Owner", "Notes", "Whatever"], "lead")
    assert zh == {
        "姓名": "name",
        "手机号码": "mobile",
        "公司名称": "company_name",
        "电子邮箱": "email",
        "负责人": "owner",
        "备注": "notes",
    }
    assert sorted(en.values()) == sorted(zh.values())


def test_each_field_at_most_once_and_contains_pass() -> None:
    mapping = suggest_mapping(["客户名称", "公司名称", "联系人手机"], "account")
    assert mapping == {"客户名称": "name"}  # the second company column is not a second name
    assert suggest_mapping(["联系人手机"], "contact") == {"联系人手机": "mobile"}
    opp = suggest_mapping(["商机名称", "金额（元）", "销售阶段", "实际成交日期", "客户"], "opportunity")
    assert opp == {
        "商机名称": "name",
        "金额（元）": "amount",
        "销售阶段": "stage",
        "实际成交日期": "closed_at",
        "客户": "account",
    }


def test_overrides_and_unknown_kinds() -> None:
    mapping = suggest_mapping(["电话", "手机"], "lead")
    assert apply_overrides(mapping, {"电话": "mobile", "手机": ""}, "lead") == {"电话": "mobile"}
    with pytest.raises(ValueError, match="bogus"):
        apply_overrides(mapping, {"电话": "bogus"}, "lead")
    with pytest.raises(KeyError):
        suggest_mapping(["x"], "planet")
    assert set(FIELD_SYNONYMS) == {"lead", "account", "contact", "opportunity"}
