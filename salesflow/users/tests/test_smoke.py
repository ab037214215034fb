import pytest


@pytest.mark.django_db
def test_login_page_renders_for_anonymous(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


@pytest.mark.django_db
def test_pages_require_login(client):
    response = client.get("/leads/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_api_without_token_is_401_envelope(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
