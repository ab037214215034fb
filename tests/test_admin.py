"""Configuration screens: administrators edit pipelines and organisation; nobody else gets in."""

import pytest

from salesflow.sales.models import Stage


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/sales/pipeline/",
        "/admin/users/team/",
        "/admin/users/user/",
        "/admin/users/territory/",
        "/admin/sales/lostreason/",
        "/admin/leads/disqualifyreason/",
    ],
)
def test_admin_opens_configuration(personas, client_for, path):
    assert client_for(personas.admin).get(path).status_code == 200


@pytest.mark.django_db
def test_stages_are_edited_on_their_pipeline_only(personas, client_for):
    assert client_for(personas.admin).get("/admin/sales/stage/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager", "rep", "assistant", "support"])
def test_non_admins_are_sent_to_the_admin_login(personas, client_for, who):
    response = client_for(getattr(personas, who)).get("/admin/sales/pipeline/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_admin_edits_a_stage_probability_inline(personas, client_for):
    client = client_for(personas.admin)
    stage = Stage.objects.get(pipeline__code="b2b", code="demo")
    page = client.get(f"/admin/sales/pipeline/{stage.pipeline_id}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, (list, dict))}
    data.update(
        {
            "name_en": stage.pipeline.name_en,
            "name_zh": stage.pipeline.name_zh,
            "code": "b2b",
            "position": 0,
            "is_default": "on",
            "is_active": "on",
        }
    )
    formset = page.context["inline_admin_formsets"][0].formset
    data.update({f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()})
    for i, f in enumerate(formset.forms):
        for name, field in f.fields.items():
            value = f.initial.get(name, field.initial)
            if hasattr(value, "pk"):
                value = value.pk
            if value is None or value is False:
                continue
            data[f"{formset.prefix}-{i}-{name}"] = "on" if value is True else value
        if f.instance.pk == stage.pk:
            data[f"{formset.prefix}-{i}-probability"] = 55
    response = client.post(f"/admin/sales/pipeline/{stage.pipeline_id}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    stage.refresh_from_db()
    assert stage.probability == 55
