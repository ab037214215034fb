"""A kept duplicate reason is read in the reader's language, not the writer's: a collision
opened by a rep using Chinese is decided by a manager reading English (page and API), and
the duplicate report's pairs read in either language whoever ran it."""

from __future__ import annotations

import pytest
from django.utils import translation

from salesflow.core.phrases import Phrase, phrase_text, phrase_texts, stored_phrase
from salesflow.core.testing import run_worker
from salesflow.dedupe.models import DuplicatePair
from salesflow.dedupe.services import report_start
from salesflow.leads.services import lead_create
from salesflow.protection.models import Collision
from salesflow.protection.tests.factories import new_lead

pytestmark = pytest.mark.django_db


def test_a_collision_opened_in_chinese_reads_in_english_and_back(personas, client_for, api_for) -> None:
    with translation.override("zh-hans"):
        held = new_lead(personas.teammate, personas.teammate, mobile="13911112222")
        new_lead(personas.rep, personas.rep, mobile="139 1111 2222", intake_action="import")
    collision = Collision.objects.get(existing_id=held.pk)
    assert collision.reasons[0] == {"msgid": "same mobile"}  # kept without a language
    with translation.override("en"):
        assert collision.reason_texts[0] == "same mobile"
    with translation.override("zh-hans"):
        assert collision.reason_texts[0] == "手机号相同"

    english = client_for(personas.manager).get("/collisions/").content.decode()
    chinese = client_for(personas.manager, language="zh-hans").get("/collisions/").content.decode()
    assert ">same mobile<" in english and "手机号相同" not in english
    assert ">手机号相同<" in chinese and ">same mobile<" not in chinese

    api = api_for(personas.manager)
    assert api.get(f"/collisions/{collision.pk}").json()["reasons"][0] == "same mobile"
    api.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    listed = api.get("/collisions").json()["items"]
    assert [item["reasons"][0] for item in listed if item["id"] == collision.pk] == ["手机号相同"]


def test_a_protection_reason_keeps_its_date_as_a_parameter(personas) -> None:
    from salesflow.protection.services import collision_open

    new = new_lead(personas.rep, personas.rep, mobile="13500001111")
    held = new_lead(personas.teammate, personas.teammate, mobile="13600002222")
    with translation.override("zh-hans"):
        reason = Phrase("protected by its owner until %(date)s", {"date": "2027-01-31"})
    collision = collision_open(
        actor=personas.rep,
        new_kind="lead",
        new_record=new,
        existing_kind="lead",
        existing_id=held.pk,
        claimant=personas.rep,
        holder=personas.teammate,
        score=0.9,
        reasons=[reason, "written before reasons were kept as phrases"],
        action="create",
    )
    collision.refresh_from_db()
    assert collision.reasons == [
        {"msgid": "protected by its owner until %(date)s", "params": {"date": "2027-01-31"}},
        "written before reasons were kept as phrases",
    ]
    with translation.override("en"):
        assert collision.reason_texts == [
            "protected by its owner until 2027-01-31",
            "written before reasons were kept as phrases",
        ]
    with translation.override("zh-hans"):
        assert collision.reason_texts[0] == "负责人的保护期至 2027-01-31"


def test_duplicate_report_pairs_read_in_the_readers_language(
    personas, client_for, api_for, django_capture_on_commit_callbacks
) -> None:
    rep, teammate = personas.rep, personas.teammate
    lead_create(actor=rep, owner=rep, name="张伟", source_channel="inbound", mobile="13812345678")
    lead_create(
        actor=teammate,
        owner=teammate,
        name="張偉",
        source_channel="inbound",
        mobile="+86 138 1234 5678",
        intake_options={"duplicate_reason": "test"},
    )
    with translation.override("zh-hans"), django_capture_on_commit_callbacks(execute=True):
        report_start(actor=personas.admin)
    with translation.override("zh-hans"):
        assert run_worker() == 1
    pair = DuplicatePair.objects.get(kind="lead")
    assert pair.reasons[0] == {"msgid": "same mobile"}
    assert "same mobile" in client_for(personas.admin).get("/duplicates/report/").content.decode()
    assert "手机号相同" in client_for(personas.admin, language="zh-hans").get("/duplicates/report/").content.decode()
    pairs = api_for(personas.admin).get("/duplicates/pairs").json()["items"]
    assert pairs[0]["reasons"][0] == "same mobile"


def test_phrase_forms() -> None:
    with translation.override("en"):
        phrase = Phrase("company name %(percent)d%% similar after removing suffixes", {"percent": 92})
        assert phrase == "company name 92% similar after removing suffixes"  # a str, shown as before
        kept = stored_phrase(phrase)
        assert kept == {
            "msgid": "company name %(percent)d%% similar after removing suffixes",
            "params": {"percent": 92},
        }
        assert stored_phrase(kept) == kept and stored_phrase("plain") == "plain"
    with translation.override("zh-hans"):
        assert phrase_text(kept) == "去除公司后缀后名称相似度 92%"
        # a kept form that no longer fits its message falls back instead of failing the page
        assert phrase_text({"msgid": "company name %(percent)d%% similar after removing suffixes", "params": {}}) == (
            "去除公司后缀后名称相似度 %(percent)d%%"
        )
        assert phrase_text({"msgid": "%(percent)d%% x", "params": {"percent": "not a number"}}) == "%(percent)d%% x"
    assert phrase_texts("not a list") == [] and phrase_texts([{"msgid": 3}, 7]) == ["{'msgid': 3}", "7"]


def test_a_copied_or_pickled_phrase_keeps_its_text_and_message() -> None:
    import copy
    import pickle

    with translation.override("en"):
        phrase = Phrase("same mobile")
        similar = Phrase("similar name (%(percent)d%%)", {"percent": 95})
    with translation.override("zh-hans"):  # another language active while copying
        for twin in (copy.deepcopy(phrase), pickle.loads(pickle.dumps(phrase)), copy.copy(similar)):
            assert isinstance(twin, Phrase)
        assert copy.deepcopy(phrase) == "same mobile" and copy.deepcopy(phrase).message == "same mobile"
        again = pickle.loads(pickle.dumps(similar))
        assert (str(again), again.message, again.params) == (
            "similar name (95%)",
            "similar name (%(percent)d%%)",
            {"percent": 95},
        )
        assert phrase_text(stored_phrase(again)) == "姓名相似（95%）"  # kept, then read in Chinese
