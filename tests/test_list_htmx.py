"""Dual-mode list views: the fragment only for htmx, the full page for an htmx history
restore (after Back), and ``Vary: HX-Request`` on both so caches keep them apart."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

# (path, HX-Target of the list's own htmx requests, whether it has a separate fragment)
LISTS = [
    ("/leads/", "lead-results", True),
    ("/accounts/", "account-results", True),
    ("/contacts/", "contact-results", True),
    ("/opportunities/", "opportunity-results", True),
    ("/opportunities/board/", "board", True),
    ("/activities/", "activity-results", False),
]


def _full_page(response) -> bool:
    return "<html" in response.content.decode()


@pytest.mark.parametrize(("path", "target", "dual"), LISTS)
def test_page_fragment_and_history_restore(personas, client_for, path, target, dual):
    client = client_for(personas.rep)
    page = client.get(path)
    assert page.status_code == 200 and _full_page(page)
    assert "HX-Request" in page["Vary"]

    fragment = client.get(path, headers={"HX-Request": "true", "HX-Target": target})
    assert fragment.status_code == 200 and "HX-Request" in fragment["Vary"]
    assert _full_page(fragment) is not dual

    restore = client.get(
        path, headers={"HX-Request": "true", "HX-Target": target, "HX-History-Restore-Request": "true"}
    )
    assert restore.status_code == 200 and _full_page(restore)
    assert "HX-Request" in restore["Vary"]
