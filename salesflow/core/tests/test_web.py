"""core.web: paging without COUNT(*), page numbers, whitelisted sorting, service errors on forms."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from django import forms
from django.apps import apps
from django.test import RequestFactory

from salesflow.core.errors import Conflict, ValidationFailed
from salesflow.core.web import apply_service_error, page_number, paginate, sort_param

rf = RequestFactory()


@pytest.fixture
def teams(db):
    Team = apps.get_model("users", "Team")
    Team.objects.bulk_create([Team(name=f"team {i:02d}") for i in range(1, 8)])
    return Team.objects.order_by("name")


def test_paginate_slices_and_knows_if_there_is_more(teams, django_assert_num_queries):
    with django_assert_num_queries(1):
        first = paginate(teams, 1, per_page=3)
    assert [t.name for t in first] == ["team 01", "team 02", "team 03"]
    assert (first.has_next, first.has_previous, first.start_index, first.end_index) == (True, False, 1, 3)
    assert first.next_page_number == 2

    last = paginate(teams, 3, per_page=3)
    assert [t.name for t in last] == ["team 07"]
    assert (last.has_next, last.has_previous, last.start_index, last.end_index) == (False, True, 7, 7)
    assert last.previous_page_number == 2
    assert len(last) == 1


def test_paginate_exact_fit_and_beyond_the_end(teams):
    Team = apps.get_model("users", "Team")
    Team.objects.create(name="team 08")
    page2 = paginate(teams, 2, per_page=4)
    assert len(page2) == 4 and not page2.has_next
    beyond = paginate(teams, 9, per_page=4)
    assert list(beyond) == [] and not beyond.has_next
    assert beyond.start_index == 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", 1), ("page=3", 3), ("page=0", 1), ("page=-2", 1), ("page=abc", 1), ("page=999999999", 10_000)],
)
def test_page_number_is_clamped(query, expected):
    assert page_number(rf.get(f"/x/?{query}")) == expected


def test_page_number_other_parameter():
    assert page_number(rf.get("/x/?p=4&page=2"), param="p") == 4


ALLOWED: dict[str, Sequence[str]] = {"name": ["name", "id"], "amount": ["-amount", "id"], "created": ["created_at"]}


@pytest.mark.parametrize(
    ("query", "default", "key", "fields"),
    [
        ("", "name", "name", ["name", "id"]),
        ("sort=created", "name", "created", ["created_at"]),
        ("sort=-created", "name", "-created", ["-created_at"]),
        ("sort=-name", "name", "-name", ["-name", "-id"]),
        ("sort=amount", "name", "amount", ["-amount", "id"]),
        ("sort=-amount", "name", "-amount", ["amount", "-id"]),  # descending flips every field
        ("sort=password", "name", "name", ["name", "id"]),  # not whitelisted → default
        ("sort=-owner__password", "-created", "-created", ["-created_at"]),
        ("", "-amount", "-amount", ["amount", "-id"]),
    ],
)
def test_sort_param_uses_the_whitelist(query, default, key, fields):
    assert sort_param(rf.get(f"/x/?{query}"), ALLOWED, default) == (key, fields)


class _Form(forms.Form):
    name = forms.CharField()
    amount = forms.DecimalField()


def test_service_field_errors_land_on_their_fields():
    form = _Form(data={"name": "x", "amount": "1"})
    assert form.is_valid()
    exc = ValidationFailed("Could not be saved.", field_errors={"name": ["Taken."], "owner": ["Not yours."]})
    apply_service_error(form, exc)
    assert form.errors["name"] == ["Taken."]
    assert form.non_field_errors() == ["Not yours."]  # unknown field → shown on top
    assert "amount" not in form.errors


def test_service_error_without_fields_is_shown_on_top():
    form = _Form(data={"name": "x", "amount": "1"})
    assert form.is_valid()
    apply_service_error(form, Conflict("The deal was closed meanwhile."))
    assert form.non_field_errors() == ["The deal was closed meanwhile."]
    assert list(form.errors) == ["__all__"]


def test_service_errors_have_stable_codes_and_statuses():
    assert (ValidationFailed("x").status_code, ValidationFailed("x").code) == (400, "validation_error")
    assert (Conflict("x").status_code, Conflict("x").code) == (409, "conflict")
    from salesflow.core.errors import Forbidden, ServiceError

    assert (Forbidden("x").status_code, Forbidden("x").code) == (403, "forbidden")
    assert ServiceError("x", code="custom").code == "custom"
    assert ValidationFailed("x", field_errors={"a": ["1", "2"]}).field_errors == {"a": ["1", "2"]}
