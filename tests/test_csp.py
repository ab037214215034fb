"""Content-Security-Policy without 'unsafe-inline', and pages that need nothing inline."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from salesflow.activities.tests.factories import make_activity
from salesflow.leads.tests.factories import qualified_lead
from salesflow.sales.tests.factories import make_account, make_contact, make_opportunity

pytestmark = pytest.mark.django_db


class InlineFinder(HTMLParser):
    """Collects everything a strict CSP would block: inline scripts, on…= handlers, style
    attributes and <style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name, _value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name == "style":
                self.problems.append(f"<{tag} style=…>")
        if tag == "style":
            self.problems.append("<style>")
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self._in_inline_script = True

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:40]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False


def _inline(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.problems


def _pages(personas) -> list[str]:
    account = make_account(personas.rep)
    contact = make_contact(account)
    opportunity = make_opportunity(personas.rep, account=account)
    lead = qualified_lead(owner=personas.rep)
    activity = make_activity(personas.rep, kind="task", subject="回访", account=account)
    return [
        "/",
        "/leads/",
        f"/leads/{lead.pk}/",
        f"/leads/{lead.pk}/convert/",
        "/accounts/",
        f"/accounts/{account.pk}/",
        "/contacts/",
        f"/contacts/{contact.pk}/",
        "/opportunities/",
        f"/opportunities/{opportunity.pk}/",
        "/opportunities/board/",
        "/activities/",
        f"/activities/{activity.pk}/",
        "/settings/preferences/",
        "/settings/tokens/",
    ]


def test_every_page_sends_a_policy_without_unsafe_inline(personas, client_for):
    client = client_for(personas.rep)
    for path in _pages(personas):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path


def test_pages_have_no_inline_scripts_handlers_or_styles(personas, client_for):
    client = client_for(personas.rep)
    for path in _pages(personas):
        assert _inline(client.get(path).content.decode()) == [], path


def test_login_admin_and_api_docs_are_covered_too(personas, client, client_for):
    login = client.get("/login/")
    assert "unsafe-inline" not in login["Content-Security-Policy"]
    assert _inline(login.content.decode()) == []
    docs = client.get("/api/v1/docs")
    assert "script-src 'self'" in docs["Content-Security-Policy"]
    assert _inline(docs.content.decode()) == []
    admin = client_for(personas.admin).get("/admin/")
    assert admin.status_code == 200 and "script-src 'self'" in admin["Content-Security-Policy"]


def test_htmx_is_configured_for_the_policy(personas, client_for):
    html = client_for(personas.rep).get("/leads/").content.decode()
    assert '"includeIndicatorStyles": false' in html and '"allowEval": false' in html


def test_selects_that_submit_on_change_use_the_data_attribute(personas, client_for):
    html = client_for(personas.rep).get("/opportunities/board/").content.decode()
    assert 'data-autosubmit data-testid="board-owner"' in html
    assert 'data-autosubmit data-testid="language-switch"' in html


def test_the_policy_can_be_switched_off(personas, client_for, settings):
    settings.SALESFLOW_CONTENT_SECURITY_POLICY = ""
    assert "Content-Security-Policy" not in client_for(personas.rep).get("/")


def test_no_template_has_an_inline_event_handler_or_style():
    """Every page template, not only the pages rendered above: an ``on…=`` or ``style=``
    attribute is ignored by the browser under this policy (the quote page's public link once
    had an ``onclick``, and progress bars a ``style`` width). PDF templates are rendered by
    WeasyPrint, not a browser, and may style inline."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "salesflow"
    inline = re.compile(r"<[a-zA-Z][^>]*\s(on[a-z]+|style)\s*=", re.S)
    found = [
        str(path.relative_to(root))
        for path in root.rglob("templates/**/*.html")
        if "pdf" not in path.name and inline.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
