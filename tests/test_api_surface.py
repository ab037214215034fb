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
