"""The database matcher: candidates across leads, contacts and accounts, stored keys, batching."""

from __future__ import annotations

import pytest
from django.db import connection

from salesflow.core.normalize import credit_check_char
from salesflow.dedupe.matching import DEFAULT_MIN_SCORE, find_candidates, find_candidates_bulk
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_create, lead_update
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import account_create, account_update, contact_create

pytestmark = pytest.mark.django_db


def code(body: str) -> str:
    return body + credit_check_char(body)


def test_services_store_the_match_keys(personas):
    lead = lead_create(
        actor=personas.rep,
        owner=personas.rep,
        name="張偉",
        source_channel="inbound",
        phone="(021) 6888 8888",
        company_name="上海星雲科技有限公司",
    )
    stored = Lead.objects.values("company_stem", "company_pinyin", "name_pinyin", "phone_key").get(pk=lead.pk)
    assert stored == {
        "company_stem": "星云",
        "company_pinyin": "xingyun",
        "name_pinyin": "zhangwei",
        "phone_key": "+862168888888",
    }
    # what the scoring compares of the company name is stored with the keys
    assert Lead.objects.values_list("company_norm", "company_regions").get(pk=lead.pk) == ("星云科技", "上海")
    lead_update(actor=personas.rep, lead=lead, company_name="北京华为技术有限公司")
    assert Lead.objects.values_list("company_stem", "company_norm", "company_regions").get(pk=lead.pk) == (
        "华为",
        "华为技术",
        "北京",
    )
    account = account_create(
        actor=personas.rep, owner=personas.rep, name="星云科技（上海）有限公司", phone="+86 21 6888 8888"
    )
    assert Account.objects.values_list("company_stem", "phone_key").get(pk=account.pk) == ("星云", "+862168888888")
    assert Account.objects.values_list("company_norm", "company_regions").get(pk=account.pk) == ("星云科技", "上海")
    account_update(actor=personas.rep, account=account, name="腾讯科技（深圳）有限公司")
    assert Account.objects.values_list("company_stem", "company_norm", "company_regions").get(pk=account.pk) == (
        "腾讯",
        "腾讯科技",
        "深圳",
    )
    contact = contact_create(actor=personas.rep, account=account, name="曾伟", phone="021-68888888")
    assert Contact.objects.values_list("name_pinyin", "phone_key").get(pk=contact.pk) == ("zengwei", "+862168888888")


def test_lead_with_the_same_mobile_and_company_is_found(personas):
    existing = lead_create(
        actor=personas.rep,
        owner=personas.rep,
        name="张伟",
        source_channel="inbound",
        mobile="13812345678",
        company_name="上海星云科技有限公司",
    )
    (candidate,) = find_candidates(
        "lead", {"name": "Zhang Wei", "mobile": "+86 138-1234-5678", "company_name": "星云科技（上海）"}
    )
    assert (candidate.kind, candidate.pk, candidate.owner_id) == ("lead", existing.pk, personas.rep.pk)
    assert candidate.score >= 0.99
    assert candidate.reasons[0] == "same mobile"
    assert "same name in pinyin" in candidate.reasons
    assert find_candidates("lead", {"mobile": "13812345678"}, exclude=[("lead", existing.pk)]) == []


def test_account_with_an_existing_company_name_is_found_but_not_its_sister(personas):
    shanghai = account_create(
        actor=personas.rep, owner=personas.rep, name="上海星云科技有限公司", credit_code=code("91310000MA1FL0000")
    )
    account_create(actor=personas.teammate, owner=personas.teammate, name="北京星云科技有限公司")
    found = find_candidates("account", {"name": "星云科技（上海）有限公司"})
    assert [(c.kind, c.pk) for c in found] == [("account", shanghai.pk)]
    assert found[0].score >= DEFAULT_MIN_SCORE
    # a different valid credit code is a strong negative, even with the same name
    assert find_candidates("account", {"name": "上海星云科技有限公司", "credit_code": code("91310000MA1FL0001")}) == []
    # a lead of the company finds the account (its company), also with a homophone stem
    (candidate,) = find_candidates("lead", {"name": "李四", "company_name": "上海星耘科技"})
    assert candidate.pk == shanghai.pk
    assert "company name sounds the same (same pinyin)" in candidate.reasons


def test_contacts_are_found_by_email_and_by_landline(personas):
    account = account_create(actor=personas.rep, owner=personas.rep, name="星云科技有限公司")
    contact = contact_create(
        actor=personas.rep, account=account, name="王芳", email="wang.fang@xingyun.cn", phone="021-6888 8888"
    )
    by_email = find_candidates("lead", {"name": "王芳", "email": "WANG.FANG@xingyun.cn"})
    assert ("contact", contact.pk) in {(c.kind, c.pk) for c in by_email}
    assert by_email[0].owner_id == personas.rep.pk
    by_phone = find_candidates("contact", {"name": "王芳", "phone": "+86 21 68888888", "account": account})
    assert ("contact", contact.pk) in {(c.kind, c.pk) for c in by_phone}


def test_different_people_at_one_company_are_not_duplicate_leads(personas):
    lead_create(
        actor=personas.rep,
        owner=personas.rep,
        name="张伟",
        source_channel="inbound",
        mobile="13812345678",
        company_name="星云科技有限公司",
    )
    assert find_candidates("lead", {"name": "李娜", "mobile": "13900000000", "company_name": "星云科技"}) == []


def test_bulk_uses_a_bounded_number_of_queries(personas, django_assert_max_num_queries):
    for i in range(5):
        lead_create(
            actor=personas.rep,
            owner=personas.rep,
            name=f"客户{i}",
            source_channel="inbound",
            mobile=f"1380000000{i}",
        )
    rows = [{"name": f"客户{i % 7}", "mobile": f"1380000000{i % 7}"} for i in range(300)]
    # three block-size counts (one per kind) and three fetches (on PostgreSQL a fetch of
    # several conditions reads the ids first: two queries)
    with django_assert_max_num_queries(6 if connection.vendor == "sqlite" else 9):
        results = find_candidates_bulk("lead", rows)
    assert [len(r) for r in results[:7]] == [1, 1, 1, 1, 1, 0, 0]


@pytest.mark.parametrize("value", ["x" * 50_000, "\x00138\x001234\x005678", "😀" * 1000, ""])
def test_hostile_values_do_not_break_the_matcher(personas, value):
    assert find_candidates("lead", {"name": value, "mobile": value, "email": value, "company_name": value}) == []


def test_keys_of_bulk_written_records_are_refreshed(personas):
    from salesflow.dedupe.services import match_keys_refresh

    Lead.objects.bulk_create(
        [Lead(name="張偉", company_name="上海星云科技有限公司", source_channel="inbound", owner=personas.rep)]
    )
    assert find_candidates("lead", {"name": "张伟", "company_name": "星云科技"}) == []
    assert match_keys_refresh() == 1
    assert match_keys_refresh() == 0  # idempotent
    (candidate,) = find_candidates("lead", {"name": "张伟", "company_name": "星云科技"})
    assert "same name" in candidate.reasons
    assert Lead.objects.values_list("company_norm", "company_regions").get() == ("星云科技", "上海")
    # without its stored company parts the record is taken apart again: the same candidate
    Lead.objects.update(company_norm="", company_regions="")
    assert find_candidates("lead", {"name": "张伟", "company_name": "星云科技"}) == [candidate]


def test_a_common_blocking_key_brings_in_no_records_by_itself(personas, monkeypatch) -> None:
    """Bounded blocking: a company stem held by more than MAX_PER_KEY leads is common; a
    person there is still found through (stem, name pinyin) and by a selective key, but a
    record sharing only the common stem is not fetched (the documented recall trade-off)."""
    from salesflow.dedupe import matching

    monkeypatch.setattr(matching, "MAX_PER_KEY", 5)
    for i in range(6):
        lead_create(
            actor=personas.rep,
            owner=personas.rep,
            name=f"员工{'甲乙丙丁戊己'[i]}",
            source_channel="inbound",
            mobile=f"1380000001{i}",
            company_name="星云科技有限公司",
            intake_action="import",  # no "possible duplicates" warning between these six
        )
    stem_key = "s:" + Lead.objects.values_list("company_stem", flat=True)[0]
    fetched = matching.fetch_blocks([matching.features_of("lead", {"company_name": "星云科技"})])
    assert stem_key in fetched.common and fetched.records == []
    # same name at the company: found through the (stem, name) pair
    (same_name,) = find_candidates("lead", {"name": "员工甲", "company_name": "星云科技有限公司"})
    assert Lead.objects.get(pk=same_name.pk).name == "员工甲"
    # a selective key (the mobile) still finds its record
    (same_mobile,) = find_candidates("lead", {"name": "员工乙", "mobile": "13800000011"})
    assert Lead.objects.get(pk=same_mobile.pk).mobile == "13800000011"
    # nothing but the common stem: no candidates
    assert (
        find_candidates("lead", {"name": "陌生人", "company_name": "星云科技有限公司", "mobile": "13999999999"}) == []
    )


def test_the_union_of_index_lookups_fetches_what_one_or_query_fetches(personas) -> None:
    """``existing_records`` with a list of conditions (a UNION of primary-key lookups) gets
    the records the OR of the conditions gets — also for a contact's condition on its
    account — with the same columns; a list that matches nothing gives nothing."""
    import functools
    import operator

    from django.db.models import Q

    from salesflow.dedupe import matching

    for i in range(8):
        lead_create(
            actor=personas.rep,
            owner=personas.rep,
            name=f"联合{i}",
            source_channel="inbound",
            mobile=f"1381111000{i}",
            phone="021-6888 800" + str(i % 3),
            email=f"u{i % 4}@example.com",
            company_name=("星云科技有限公司", "远山物流有限公司", "南海贸易有限公司")[i % 3],
            intake_action="import",
        )
    account = account_create(
        actor=personas.rep,
        owner=personas.rep,
        name="星云科技有限公司",
        phone="021-68888000",
        intake_options={"duplicate_reason": "test"},
    )
    for i in range(3):
        contact_create(
            actor=personas.rep, account=account, name=f"联合{i}", mobile=f"1382222000{i}", intake_action="import"
        )
    stems = set(Lead.objects.values_list("company_stem", flat=True))
    cases: dict[matching.RecordKind, list[Q]] = {
        "lead": [
            Q(mobile__in={"13811110001", "13811110005"}),
            Q(phone_key__in={"+862168888001"}),
            Q(email__in={"u2@example.com"}),
            Q(company_stem__in=stems - {"星云"}),
            Q(company_stem="星云", name_pinyin="lianhe0") | Q(company_stem="星云", name_pinyin="lianhe3"),
        ],
        "contact": [
            Q(mobile__in={"13822220001"}),
            Q(name_pinyin__in={"lianhe2"}, account__company_stem__in={"星云"}),
        ],
        "account": [Q(company_stem__in={"星云"}), Q(phone_key__in={"+862168888000"})],
    }
    for kind, parts in cases.items():
        union = matching.existing_records(kind, parts, 1000)
        one_or = matching.existing_records(kind, functools.reduce(operator.or_, parts), 1000)
        assert union and sorted(union) == sorted(one_or)
        assert matching.existing_records(kind, parts, 1000, ordered=True) == sorted(one_or)
        assert len(matching.existing_records(kind, parts, 2)) == min(2, len(one_or))
    assert matching.existing_records("lead", [Q(mobile__in={"10000000000"}), Q(email__in={"x@y.z"})], 10) == []


def test_common_keys_are_those_held_by_more_than_the_limit(personas, monkeypatch) -> None:
    """``common_keys`` names exactly the keys held by more than MAX_PER_KEY records of a
    kind, column by column (on PostgreSQL it counts at most MAX_PER_KEY + 1 rows a key)."""
    from salesflow.dedupe import matching
    from salesflow.leads.services import lead_create_many

    monkeypatch.setattr(matching, "MAX_PER_KEY", 3)
    rows = []
    # stems held by 2, 3, 4 and 7 leads; the landline 021-6666 0000 by 4, 021-6666 0001 by 3
    for count, company in (
        (2, "甲乙科技有限公司"),
        (3, "丙丁科技有限公司"),
        (4, "戊己科技有限公司"),
        (7, "庚辛科技有限公司"),
    ):
        for i in range(count):
            rows.append({"company_name": company, "phone": f"021-6666 000{i % 2 if count == 7 else 2}"})
    rows += [{"company_name": "壬癸物流有限公司", "phone": "021-6666 0003"}] * 4
    created = lead_create_many(
        actor=personas.rep,
        rows=[
            {"owner": personas.rep, "name": f"员工{n}", "source_channel": "inbound", **row}
            for n, row in enumerate(rows)
        ],
        intake_action="import",
    )
    assert all(item.lead is not None for item in created)
    keys = {
        "stem": {"甲乙", "丙丁", "戊己", "庚辛", "壬癸", "不存在"},
        "stem_pinyin": {"jiayi", "bingding", "wuji", "gengxin"},
        "phone_key": {"+862166660000", "+862166660001", "+862166660002", "+862166660003"},
    }
    assert matching.common_keys(keys, ["lead"]) == {
        "s:戊己",
        "s:庚辛",
        "s:壬癸",
        "sp:wuji",
        "sp:gengxin",
        "p:+862166660000",  # 4 of the 7
        "p:+862166660002",  # the 2 + 3 + 4 leads of the first three stems
        "p:+862166660003",
    }
    assert matching.common_keys(keys, ["contact", "account"]) == set()
