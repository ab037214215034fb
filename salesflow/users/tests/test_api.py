import pytest
from django.conf import settings

from salesflow.users.models import ApiToken


@pytest.mark.django_db
def test_me_returns_the_token_owner(personas, api_for):
    response = api_for(personas.rep).get("/me")
    assert response.status_code == 200
    assert response.json() == {
        "id": personas.rep.pk,
        "username": "rep",
        "display_name": "张伟",
        "role": "rep",
        "team_id": personas.team_a.pk,
        "time_zone": settings.TIME_ZONE,
    }


@pytest.mark.django_db
def test_assignable_users_follow_write_scope(personas, api_for):
    assert [u["username"] for u in api_for(personas.rep).get("/users").json()] == ["rep"]
    manager_sees = {u["username"] for u in api_for(personas.manager).get("/users").json()}
    # support never owns records; outsider's team is outside the manager's subtree
    assert manager_sees == {"manager", "rep", "teammate", "assistant"}
    assert {u["username"] for u in api_for(personas.assistant).get("/users").json()} == {"assistant", "rep"}
    assert api_for(personas.support).get("/users").json() == []


@pytest.mark.django_db
def test_raw_token_is_not_stored(personas):
    from salesflow.users.services import api_token_create

    token, raw = api_token_create(user=personas.rep, name="script")
    assert raw.startswith("sf_")
    assert not ApiToken.objects.filter(token_hash=raw).exists()
    assert token.token_hash != raw and len(token.token_hash) == 64


@pytest.mark.django_db
def test_territories_are_seeded_as_a_tree(personas, api_for):
    rows = {t["code"]: t for t in api_for(personas.rep).get("/territories").json()}
    assert rows["shanghai"]["parent_id"] == rows["east"]["id"]
    assert rows["east"]["parent_id"] == rows["cn"]["id"]
