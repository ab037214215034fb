"""The matcher's gate (``matching.Gate``): fetched people that no row of a batch can score
at or above the threshold are not prepared or scored, and the candidates stay exactly the
same — checked against the same matcher with the gate switched off, for every incoming
kind and several thresholds, on records built to sit on both sides of the bound (same,
homophone, similar and different names at one company; shared mobiles, landlines, emails
and credit codes; blank names and companies)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesflow.core.normalize import company_parts_stored, credit_check_char, party_match_keys
from salesflow.dedupe import matching
from salesflow.dedupe.configs import prepare_stored_party, stored_person_fields
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_create_many
from salesflow.parties.services import account_create_many, contact_create_many

_NAMES = ["张伟", "張 偉", "章玮", "张维", "张伟明", "李娜", "Wei ZHANG", "", "曾小贤", "单田芳", "王芳"]
_COMPANIES = [
    "上海星河科技有限公司",
    "星河（北京）科技有限公司",
    "星禾科技有限公司",
    "杭州星河贸易有限公司",
    "远山物流有限公司",
    "",
    "科技",
    "ACME Co., Ltd.",
]
_PHONES = ["13812345678", "+86 138 1234 5678", "021-68888888", "(021) 6888 8888", "", "12345"]
_EMAILS = ["a@example.com", " A@Example.COM ", "no-at", "", "b@example.com"]
_CODES = ["91310000MA1FL4XXXX", "", "9135 0100-M000 100Y43"]

_text = st.one_of(st.text(max_size=10), st.sampled_from(_NAMES + _COMPANIES + _PHONES + _EMAILS + _CODES))


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
def test_the_gate_reads_the_features_the_full_preparation_builds(
    kind: str, name: str, mobile: str, phone: str, email: str, company: str, code: str
) -> None:
    company_text = name if kind == "account" else company  # an account's name is its company's
    keys = party_match_keys(person_name="" if kind == "account" else name, company_name=company_text, phone=phone)
    norm, regions = company_parts_stored(company_text) if company_text else ("", "")
    values = (kind, name, mobile, phone, email, company, code, keys["name_pinyin"], keys["company_pinyin"], norm)
    full = prepare_stored_party(*values, regions, keys["phone_key"])
    fields = stored_person_fields(*values, keys["phone_key"])
    if fields is None:  # a company name without stored parts: only the full preparation has its stem
        assert not norm
        return
    assert (fields.person, fields.person_pinyin, fields.mobile, fields.email, fields.credit_code) == (
        full["person"],
        full["person_pinyin"],
        full["mobile"],
        full["email"],
        full["credit_code"],
    )
    assert frozenset(p for p in (fields.mobile, fields.phone) if p) == full["phones"]
    assert (fields.company, fields.stem, fields.stem_pinyin) == (full["company"], full["stem"], full["stem_pinyin"])


def _code(body: str) -> str:
    return body + credit_check_char(body)


_SURNAMES = "赵钱孙李周吴郑冯陈褚卫蒋沈韩杨朱秦尤许何吕施孔曹严华金魏陶姜"
_GIVEN = "子涵浩然欣怡梓萱俊杰雨泽嘉怡宇轩思远晓明丽华建国志强秀英桂兰海燕玉梅立新春生"


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def _people(rng: random.Random, count: int, start: int) -> list[dict[str, Any]]:
    """Different people (generated names) at a handful of companies, with their own
    mobiles, landlines and emails, and a few shared ones."""
    rows = []
    for i in range(count):
        rows.append(
            {
                "name": _person(rng),
                "company_name": rng.choice(_COMPANIES),
                "mobile": "13812345678" if rng.random() < 0.05 else rng.choice(["", f"1381234{start + i:04d}"]),
                "phone": "021-68888888" if rng.random() < 0.05 else rng.choice(["", f"021-6{start + i:07d}"]),
                "email": "a@example.com" if rng.random() < 0.05 else rng.choice(["", f"p{start + i}@example.com"]),
            }
        )
    return rows


# (existing lead, incoming row): pairs on each side of the bound, found by one key each
_PAIRS = [
    # a similar name (pinyin 96% alike) at the same company, nothing else shared: 0.97
    ({"name": "张伟明", "company_name": "上海星河科技有限公司"}, {"name": "张伟民", "company_name": "上海星河科技"}),
    # the same name in pinyin, no company on the incoming row: found through the name alone
    # (0.62) once another row fetched the lead by its company (see the incoming rows)
    ({"name": "王芳", "company_name": "远山物流有限公司"}, {"name": "汪芳"}),
    # another name, one mobile, no company on the incoming row: found through the mobile (0.62)
    (
        {"name": "李娜", "company_name": "远山物流有限公司", "mobile": "13900000001"},
        {"name": "赵敏", "mobile": "13900000001"},
    ),
    # another name, one email (typed differently), no company on the incoming row (0.62)
    (
        {"name": "吴昊", "company_name": "远山物流有限公司", "email": "hao.wu@example.com"},
        {"name": "郑爽", "email": " Hao.Wu@Example.COM "},
    ),
    # another name, one credit code, no company on the incoming row: found through the code
    (
        {"name": "李雷", "company_name": "远山物流有限公司", "credit_code": _code("91350100M000100Y5")},
        {"name": "韩梅梅", "credit_code": _code("91350100M000100Y5")},
    ),
    # a name with no letters on the existing lead (no name evidence): the company decides (0.95)
    ({"name": "——", "company_name": "星禾科技有限公司"}, {"name": "钱多多", "company_name": "星禾科技"}),
    # the same name in traditional characters
    ({"name": "張偉", "company_name": "星河（北京）科技有限公司"}, {"name": "张伟", "company_name": "北京星河科技"}),
]


@pytest.mark.django_db
def test_the_gate_leaves_every_candidate_list_as_it_was(personas, monkeypatch) -> None:
    rng = random.Random(8)
    rep = personas.rep
    leads = _people(rng, 90, 0) + [existing for existing, _incoming in _PAIRS]
    created = lead_create_many(
        actor=rep,
        # a WeChat ID is a way to reach a lead that no rule compares
        rows=[{"owner": rep, "source_channel": "inbound", "wechat": f"wx{i}", **row} for i, row in enumerate(leads)],
        intake_action="import",
    )
    assert [item.error.field_errors for item in created if item.error] == []
    accounts = account_create_many(
        actor=rep,
        rows=[
            {"owner": rep, "name": "上海星河科技有限公司", "credit_code": _code("91350100M000100Y4")},
            {"owner": rep, "name": "星禾科技有限公司", "phone": "021-68888888"},
            {"owner": rep, "name": "远山物流有限公司"},
        ],
        intake_action="import",
    )
    account = accounts[0].record
    assert account is not None
    contact_create_many(
        actor=rep,
        rows=[
            {"account": account, "name": row["name"], "mobile": row["mobile"], "email": row["email"]}
            for row in _people(rng, 30, 500)
        ],
        intake_action="import",
    )
    incoming = [
        *_people(rng, 60, 1000),
        *[row for _existing, row in _PAIRS],
        {"name": "孙明", "company_name": "星河科技", "credit_code": _code("91350100M000100Y4")},
        {"name": "周杰", "company_name": "远山物流"},  # fetches 王芳's company
    ]
    pruned: list[int] = []
    fetch_blocks = matching.fetch_blocks

    def counting(*args: Any, **kwargs: Any) -> matching.Fetched:
        fetched = fetch_blocks(*args, **kwargs)
        pruned.append(sum(record.features is matching.PRUNED for record in fetched.records))
        return fetched

    monkeypatch.setattr(matching, "fetch_blocks", counting)
    results: dict[tuple[matching.RecordKind, float], list[list[matching.Candidate]]] = {}
    for kind in matching.RECORD_KINDS:
        for min_score in (0.0, 0.5, 0.8, 0.85, 0.95):
            rows = [
                {**row, "name": row.get("company_name") or row["name"]} if kind == "account" else row
                for row in incoming
            ]
            results[(kind, min_score)] = matching.find_candidates_bulk(kind, rows, min_score=min_score, limit=20)
    # the gate did rule people out (people rows at a probability threshold), and only there
    assert sum(pruned) > 100
    monkeypatch.setattr(matching.Gate, "pruned_keys", lambda self, *args: None)
    for (kind, min_score), found in results.items():
        rows = [
            {**row, "name": row.get("company_name") or row["name"]} if kind == "account" else row for row in incoming
        ]
        assert matching.find_candidates_bulk(kind, rows, min_score=min_score, limit=20) == found, (kind, min_score)
    # each pair of _PAIRS is found at a threshold the gate works at
    names = dict(Lead.objects.values_list("pk", "name"))
    for position, (existing, _row) in enumerate(_PAIRS):
        found_names = {names[c.pk] for c in results[("lead", 0.5)][60 + position] if c.kind == "lead"}
        assert existing["name"] in found_names, existing
