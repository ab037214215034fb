"""Appraisals (考核): who writes and reads them, uniqueness (the race a field error), audit,
and the pages and API over the same service."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import IntegrityError
from django.http import Http404

from salesflow.core.audit import AuditEvent  # type: ignore[attr-defined]
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.scorecards.models import Appraisal
from salesflow.scorecards.selectors import appraisal_rep_for, appraisals_visible_to
from salesflow.scorecards.services import appraisal_create, appraisal_update

pytestmark = pytest.mark.django_db


def test_the_reps_manager_appraises_and_it_is_audited(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    a = appraisal_create(
        actor=p.manager, rep=p.rep, period_key="2026-Q3", rating="b", comment="  稳定达成目标。\n继续加油  "
    )
    assert (a.rating, a.comment, a.period_start.isoformat()) == ("B", "稳定达成目标。\n继续加油", "2026-07-01")
    assert AuditEvent.objects.filter(verb="scorecards.appraisal.created", target_id=a.pk).count() == 1
    appraisal_update(actor=p.manager, appraisal=a, rating="A")
    a.refresh_from_db()
    assert a.rating == "A" and a.comment == "稳定达成目标。\n继续加油"
    ev = AuditEvent.objects.get(verb="scorecards.appraisal.updated", target_id=a.pk)
    assert ev.data["changes"] == {"rating": ["B", "A"]}


@pytest.mark.parametrize("who", ["rep", "teammate", "assistant", "support", "other_manager", "admin", "outsider"])
def test_only_the_reps_manager_may_write_and_nothing_is_written(personas, who) -> None:  # type: ignore[no-untyped-def]
    p = personas
    with pytest.raises(Forbidden):
        appraisal_create(actor=getattr(p, who), rep=p.rep, period_key="2026-Q3", rating="A")
    assert not Appraisal.objects.exists()
    assert not AuditEvent.objects.filter(verb__startswith="scorecards.").exists()


def test_a_manager_may_not_appraise_themself_nor_another_managers_rep(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    with pytest.raises(Forbidden):
        appraisal_create(actor=p.manager, rep=p.manager, period_key="2026-Q3", rating="A")
    with pytest.raises(Forbidden):
        appraisal_create(actor=p.manager, rep=p.outsider, period_key="2026-Q3", rating="A")
    a = appraisal_create(actor=p.other_manager, rep=p.outsider, period_key="2026-09", rating="C")
    with pytest.raises(Forbidden):
        appraisal_update(actor=p.manager, appraisal=a, rating="A")
    a.refresh_from_db()
    assert a.rating == "C"


@pytest.mark.parametrize(
    ("period", "rating", "comment", "field"),
    [
        ("2026", "A", "", "period"),
        ("2026-12-W1", "A", "", "period"),
        ("2026-13", "A", "", "period"),
        ("x" * 5000, "A", "", "period"),
        ("2026-Q3", "E", "", "rating"),
        ("2026-Q3", "", "", "rating"),
        ("2026-Q3", "A", "x" * 4001, "comment"),
        ("2026-Q3", "A", "bad\x00text", "comment"),
    ],
)
def test_bad_input_is_a_field_error(personas, period, rating, comment, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as exc:
        appraisal_create(actor=personas.manager, rep=personas.rep, period_key=period, rating=rating, comment=comment)
    assert field in exc.value.field_errors
    assert not Appraisal.objects.exists()


def test_one_per_rep_and_period_and_the_race_is_a_field_error(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    appraisal_create(actor=p.manager, rep=p.rep, period_key="2026-Q3", rating="A")
    with pytest.raises(ValidationFailed) as exc:
        appraisal_create(actor=p.manager, rep=p.rep, period_key="2026-Q3", rating="B")
    assert "period" in exc.value.field_errors
    # the race: the existence check passes, then the insert hits the unique constraint
    with (
        mock.patch("salesflow.scorecards.models.Appraisal.objects.create", side_effect=IntegrityError),
        pytest.raises(ValidationFailed) as raced,
    ):
        appraisal_create(actor=p.manager, rep=p.teammate, period_key="2026-Q3", rating="B")
    assert "period" in raced.value.field_errors
    assert Appraisal.objects.count() == 1


def test_who_reads_appraisals(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    a = appraisal_create(actor=p.manager, rep=p.rep, period_key="2026-Q3", rating="A")
    readers = {"rep": True, "manager": True, "admin": True, "teammate": False, "assistant": False}
    readers |= {"support": False, "outsider": False, "other_manager": False}
    for who, can in readers.items():
        assert (a in appraisals_visible_to(getattr(p, who))) is can, who
        if can:
            assert appraisal_rep_for(getattr(p, who), p.rep.pk) == p.rep
        else:
            with pytest.raises(Http404):
                appraisal_rep_for(getattr(p, who), p.rep.pk)


def test_pages_write_and_deny(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    url = f"/scorecards/rep/{p.rep.pk}/?period=2026-Q3"
    manager = client_for(p.manager)
    assert manager.get(url).status_code == 200
    response = manager.post(url, {"rating": "B", "comment": "回款节奏需要加快。"})
    assert response.status_code == 302
    assert Appraisal.objects.get().rating == "B"
    bad = manager.post(url, {"rating": "Z", "comment": ""})
    assert bad.status_code == 400 and Appraisal.objects.get().rating == "B"
    # the rep reads it but may not write
    rep = client_for(p.rep)
    page = rep.get(url)
    assert page.status_code == 200 and "回款节奏需要加快。" in page.content.decode()
    assert rep.post(url, {"rating": "A"}).status_code == 403
    assert Appraisal.objects.get().rating == "B"
    for who in ("teammate", "outsider", "other_manager", "support"):
        assert client_for(getattr(p, who)).get(url).status_code == 404
        assert client_for(getattr(p, who)).post(url, {"rating": "A"}).status_code == 404
    assert Appraisal.objects.get().rating == "B"
    listing = manager.get("/scorecards/appraisals/?period=2026-Q3")
    assert listing.status_code == 200 and "回款节奏需要加快。" in listing.content.decode()
    assert manager.get("/scorecards/appraisals/?period=2026").status_code == 400


def test_api_write_read_and_deny(personas, api_for) -> None:  # type: ignore[no-untyped-def]
    p = personas
    manager = api_for(p.manager)
    r = manager.post(
        "/scorecards/appraisals", {"rep_id": p.rep.pk, "period": "2026-Q3", "rating": "A", "comment": "优秀"}
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["rating"] == "A" and body["rep_id"] == p.rep.pk
    again = manager.post("/scorecards/appraisals", {"rep_id": p.rep.pk, "period": "2026-Q3", "rating": "B"})
    assert again.status_code == 400 and "period" in again.content.decode()
    pid = body["appraisal_id"]
    assert manager.patch(f"/scorecards/appraisals/{pid}", {"comment": "非常优秀"}).json()["comment"] == "非常优秀"
    assert api_for(p.rep).get(f"/scorecards/appraisals/{pid}").status_code == 200
    assert api_for(p.rep).patch(f"/scorecards/appraisals/{pid}", {"rating": "D"}).status_code == 403
    assert api_for(p.outsider).get(f"/scorecards/appraisals/{pid}").status_code == 404
    assert api_for(p.outsider).patch(f"/scorecards/appraisals/{pid}", {"rating": "D"}).status_code == 404
    assert (
        api_for(p.outsider)
        .post("/scorecards/appraisals", {"rep_id": p.rep.pk, "period": "2026-Q4", "rating": "A"})
        .status_code
        == 400
    )
    assert Appraisal.objects.get().rating == "A"
    listed = api_for(p.rep).get("/scorecards/appraisals", period="2026-Q3").json()
    assert [a["appraisal_id"] for a in listed] == [pid]
    assert api_for(p.teammate).get("/scorecards/appraisals").json() == []
