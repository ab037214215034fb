"""Each user's time zone decides "today", due and overdue, in the UI and the API.

The clock is fixed at 2026-03-10 17:00 UTC: 01:00 on 11 March in Shanghai (just after
midnight) and 10:00 on 10 March in Los Angeles (PDT, UTC-7).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.conf import settings
from django.utils import timezone

from salesflow.activities.tests.factories import make_activity
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.models import User
from salesflow.users.services import user_set_time_zone

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
SHANGHAI_EVENING = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 20:00 on 10 March in Shanghai, 05:00 in LA
SHANGHAI_SMALL_HOURS = datetime(2026, 3, 10, 16, 30, tzinfo=UTC)  # 00:30 on 11 March in Shanghai, 09:30 in LA


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


@pytest.fixture
def zoned(personas):
    user_set_time_zone(actor=personas.rep, user=personas.rep, time_zone="Asia/Shanghai")
    user_set_time_zone(actor=personas.teammate, user=personas.teammate, time_zone="America/Los_Angeles")
    return personas


def test_new_users_start_in_the_installation_zone(personas):
    assert User.objects.get(pk=personas.rep.pk).time_zone == settings.TIME_ZONE


def test_only_known_zones_are_accepted_and_nothing_is_written_otherwise(personas):
    for bad in ("Mars/Olympus", "", "../../etc/passwd", "asia/shanghai"):
        with pytest.raises(ValidationFailed) as info:
            user_set_time_zone(actor=personas.rep, user=personas.rep, time_zone=bad)
        assert list(info.value.field_errors) == ["time_zone"]
    assert User.objects.get(pk=personas.rep.pk).time_zone == settings.TIME_ZONE


def test_users_change_only_their_own_zone_but_admins_anyone(personas):
    with pytest.raises(Forbidden):
        user_set_time_zone(actor=personas.manager, user=personas.rep, time_zone="Europe/Berlin")
    assert User.objects.get(pk=personas.rep.pk).time_zone == settings.TIME_ZONE
    user_set_time_zone(actor=personas.admin, user=personas.rep, time_zone="Europe/Berlin")
    assert User.objects.get(pk=personas.rep.pk).time_zone == "Europe/Berlin"


def test_api_me_shows_and_changes_the_zone(personas, api_for):
    api = api_for(personas.rep)
    assert api.get("/me").json()["time_zone"] == settings.TIME_ZONE
    response = api.patch("/me", {"time_zone": "America/Los_Angeles"})
    assert response.status_code == 200 and response.json()["time_zone"] == "America/Los_Angeles"
    refused = api.patch("/me", {"time_zone": "Nowhere/Land"})
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["time_zone"]
    refused = api.patch("/me", {"role": "admin"})
    assert refused.status_code == 400 and refused.json()["errors"] == {"role": ["Unknown or read-only field."]}
    assert User.objects.get(pk=personas.rep.pk).time_zone == "America/Los_Angeles"
    assert User.objects.get(pk=personas.rep.pk).role == personas.rep.role


def test_preferences_page_changes_the_zone(personas, client_for):
    client = client_for(personas.rep)
    assert client.get("/settings/preferences/").status_code == 200
    response = client.post("/settings/preferences/", {"time_zone": "America/Los_Angeles"})
    assert response.status_code == 302
    assert User.objects.get(pk=personas.rep.pk).time_zone == "America/Los_Angeles"
    response = client.post("/settings/preferences/", {"time_zone": "Nowhere/Land"})
    assert response.status_code == 200 and response.context["form"].errors
    assert User.objects.get(pk=personas.rep.pk).time_zone == "America/Los_Angeles"


def test_my_day_in_the_api_follows_each_users_zone(zoned, api_for, clock):
    shanghai, los_angeles = zoned.rep, zoned.teammate
    sh_evening = make_activity(shanghai, kind="task", due_at=SHANGHAI_EVENING)
    sh_small_hours = make_activity(shanghai, kind="task", due_at=SHANGHAI_SMALL_HOURS)
    la_evening = make_activity(los_angeles, kind="task", due_at=SHANGHAI_EVENING)
    la_small_hours = make_activity(los_angeles, kind="task", due_at=SHANGHAI_SMALL_HOURS)

    sh_day = api_for(shanghai).get("/activities/my-day").json()
    assert sh_day["today"] == "2026-03-11"
    assert [a["id"] for a in sh_day["overdue"]["items"]] == [sh_evening.pk]
    assert [a["id"] for a in sh_day["due_today"]["items"]] == [sh_small_hours.pk]

    la_day = api_for(los_angeles).get("/activities/my-day").json()
    assert la_day["today"] == "2026-03-10"
    assert la_day["overdue"]["items"] == []
    assert [a["id"] for a in la_day["due_today"]["items"]] == [la_evening.pk, la_small_hours.pk]


def test_my_day_page_and_next_step_dates_follow_each_users_zone(zoned, client_for, clock):
    shanghai, los_angeles = zoned.rep, zoned.teammate
    sh_deal = make_opportunity(shanghai, next_step="回访", next_step_date=date(2026, 3, 10))
    la_deal = make_opportunity(los_angeles, next_step="回访", next_step_date=date(2026, 3, 10))
    make_activity(shanghai, kind="task", due_at=SHANGHAI_EVENING)

    sh_page = client_for(shanghai).get("/")
    assert sh_page.context["day"].today == date(2026, 3, 11)
    assert [o.pk for o in sh_page.context["day"].no_next_step.items] == [sh_deal.pk]  # its next step is overdue
    assert len(sh_page.context["day"].overdue.items) == 1

    la_page = client_for(los_angeles).get("/")
    assert la_page.context["day"].today == date(2026, 3, 10)
    assert la_deal.pk not in [o.pk for o in la_page.context["day"].no_next_step.items]  # due today, not overdue


def test_activity_badges_follow_the_viewers_zone(zoned, client_for, clock):
    """The same activity is overdue for a Shanghai reader and due today for a Los Angeles one."""
    shared = make_activity(zoned.manager, kind="task", subject="跨时区任务", due_at=SHANGHAI_EVENING)
    user_set_time_zone(actor=zoned.manager, user=zoned.manager, time_zone="Asia/Shanghai")
    sh_html = client_for(zoned.manager).get(f"/activities/{shared.pk}/").content.decode()
    user_set_time_zone(actor=zoned.manager, user=zoned.manager, time_zone="America/Los_Angeles")
    la_html = client_for(zoned.manager).get(f"/activities/{shared.pk}/").content.decode()
    assert "20:00" in sh_html and "05:00" in la_html


def test_zone_is_not_left_active_after_a_request(zoned, client_for, api_for):
    client_for(zoned.teammate).get("/")
    api_for(zoned.teammate).get("/me")
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE
