"""The API's shape as a client sees it: every resource under /api/v1, documented without a
trailing slash, reachable with or without one, and always behind a token."""

from __future__ import annotations

import pytest

RESOURCES = ["accounts", "contacts", "leads", "opportunities", "activities"]


@pytest.mark.django_db
def test_openapi_documents_each_collection_once(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for name in RESOURCES:
        assert f"/api/v1/{name}" in paths, name
        assert f"/api/v1/{name}/" not in paths, name
        assert {"get", "post"} <= set(paths[f"/api/v1/{name}"]), name


@pytest.mark.django_db
@pytest.mark.parametrize("name", RESOURCES)
def test_collections_answer_with_and_without_slash(personas, api_for, name):
    api = api_for(personas.rep)
    for path in (f"/{name}", f"/{name}/"):
        response = api.get(path)
        assert response.status_code == 200, path
        assert set(response.json()) >= {"count", "items"}


@pytest.mark.django_db
@pytest.mark.parametrize("name", RESOURCES)
def test_collections_need_a_token(client, name):
    response = client.get(f"/api/v1/{name}")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_every_api_schema_has_its_own_name_in_the_openapi_document():
    """django-ninja files every request and response schema under its class name in
    ``components.schemas`` and the last one of a name wins, so two schemas sharing a name
    would document one endpoint with another's fields. Each component must come from one
    class, and each class referenced by an operation must be documented as itself."""
    from collections import defaultdict

    import pydantic

    from salesflow.api import api

    owners: dict[str, set[str]] = defaultdict(set)

    def walk(cls: type) -> None:
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("salesflow."):
                owners[sub.__name__].add(sub.__module__)
            walk(sub)

    walk(pydantic.BaseModel)
    shared = {name: sorted(modules) for name, modules in owners.items() if len(modules) > 1}
    assert shared == {}
    components = api.get_openapi_schema()["components"]["schemas"]
    assert "RuleIn" not in components and "ApprovalRuleIn" in components and "ScoringRuleIn" in components
