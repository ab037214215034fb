"""The stall escalation ladder in the product's settings (not only the Django admin): an
administrator adds, changes and deletes steps on the page and through the API; every change
is audited; others are refused; hostile values are refused with the field named."""

from __future__ import annotations

import pytest

from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.sales.config_services import stall_step_delete, stall_step_save
from salesflow.sales.models import StallEscalationStep

pytestmark = pytest.mark.django_db


def ladder() -> list[tuple[int, str, bool]]:
    return list(
        StallEscalationStep.objects.order_by("after_days_stalled", "id").values_list(
            "after_days_stalled", "notify", "is_active"
        )
    )


def test_services_add_change_delete_with_audit(personas):
    before = ladder()
    step = stall_step_save(actor=personas.admin, after_days_stalled="12", notify="manager_of_manager")
    assert (12, "manager_of_manager", True) in ladder()
    event = AuditEvent.objects.get(verb="sales.stall_step.saved", target_id=step.pk)
    assert event.data == {"after_days_stalled": 12, "notify": "manager_of_manager", "is_active": True, "created": True}
    stall_step_save(actor=personas.admin, step=step, after_days_stalled=15, notify="manager", is_active=False)
    assert (15, "manager", False) in ladder()
    step_id = step.pk
    stall_step_delete(actor=personas.admin, step=step)
    assert ladder() == before
    assert AuditEvent.objects.filter(verb="sales.stall_step.deleted", target_id=step_id).count() == 1


@pytest.mark.parametrize("persona", ["manager", "rep", "assistant", "support"])
def test_only_administrators_change_the_ladder(personas, persona):
    before = ladder()
    with pytest.raises(Forbidden):
        stall_step_save(actor=getattr(personas, persona), after_days_stalled=3, notify="owner")
    assert ladder() == before


@pytest.mark.parametrize(
    ("days", "notify", "field"),
    [
        ("-1", "owner", "after_days_stalled"),
        ("731", "owner", "after_days_stalled"),
        ("NaN", "owner", "after_days_stalled"),
        ("1e3", "owner", "after_days_stalled"),
        ("x" * 50_000, "owner", "after_days_stalled"),
        (True, "owner", "after_days_stalled"),
        ("3", "ceo", "notify"),
        ("3", "owner\x00", "notify"),
    ],
)
def test_hostile_values_are_refused(personas, days, notify, field):
    before = ladder()
    with pytest.raises(ValidationFailed) as exc:
        stall_step_save(actor=personas.admin, after_days_stalled=days, notify=notify)
    assert field in exc.value.field_errors
    assert ladder() == before


def test_a_duplicate_active_step_is_refused(personas):
    stall_step_save(actor=personas.admin, after_days_stalled=9, notify="manager")
    with pytest.raises(ValidationFailed) as exc:
        stall_step_save(actor=personas.admin, after_days_stalled=9, notify="manager")
    assert "after_days_stalled" in exc.value.field_errors
    assert ladder().count((9, "manager", True)) == 1


def test_settings_page_adds_edits_and_deletes(personas, client_for):
    admin = client_for(personas.admin, "zh-hans")
    page = admin.get("/settings/pipelines/stall-ladder/")
    assert page.status_code == 200 and "停滞升级" in page.content.decode()
    assert "通知超过 3 条时，合并为一条列出这些商机的汇总通知" in page.content.decode()
    response = admin.post(
        "/settings/pipelines/stall-ladder/",
        {"new-after_days_stalled": "21", "new-notify": "manager_of_manager", "new-is_active": "on"},
    )
    assert response.status_code == 302
    step = StallEscalationStep.objects.get(after_days_stalled=21)
    assert step.is_active and step.notify == "manager_of_manager"
    admin.post(
        f"/settings/pipelines/stall-ladder/{step.pk}/",
        {f"s{step.pk}-after_days_stalled": "30", f"s{step.pk}-notify": "manager"},
    )
    step.refresh_from_db()
    assert (step.after_days_stalled, step.notify, step.is_active) == (30, "manager", False)
    bad = admin.post("/settings/pipelines/stall-ladder/", {"new-after_days_stalled": "-5", "new-notify": "owner"})
    assert bad.status_code == 400
    admin.post(f"/settings/pipelines/stall-ladder/{step.pk}/delete/")
    assert not StallEscalationStep.objects.filter(pk=step.pk).exists()
    assert client_for(personas.manager).get("/settings/pipelines/stall-ladder/").status_code == 403
    assert admin.post("/settings/pipelines/stall-ladder/99999999999/delete/").status_code == 404


def test_api_crud_and_refusals(personas, api_for):
    api = api_for(personas.admin)
    created = api.post("/opportunities/stall-ladder", {"after_days_stalled": 14, "notify": "manager_of_manager"})
    assert created.status_code == 201
    body = created.json()
    assert body["after_days_stalled"] == 14 and body["is_active"] is True
    listed = api.get("/opportunities/stall-ladder").json()
    assert body["id"] in [row["id"] for row in listed]
    patched = api.patch(f"/opportunities/stall-ladder/{body['id']}", {"is_active": False})
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    assert (
        api.post("/opportunities/stall-ladder", {"after_days_stalled": 1, "notify": "owner", "x": 1}).status_code == 400
    )
    bad = api.post("/opportunities/stall-ladder", {"after_days_stalled": 5, "notify": "boss"})
    assert bad.status_code == 400 and "notify" in bad.content.decode()
    assert api.delete(f"/opportunities/stall-ladder/{body['id']}").status_code == 204
    assert api_for(personas.manager).get("/opportunities/stall-ladder").status_code == 403
    assert (
        api_for(personas.rep)
        .post("/opportunities/stall-ladder", {"after_days_stalled": 2, "notify": "owner"})
        .status_code
        == 403
    )
