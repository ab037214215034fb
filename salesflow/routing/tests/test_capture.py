"""Web-to-lead forms: the public page and POST, consent, honeypot, rate limit, redirects,
hostile input and frameability."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from salesflow.core.errors import ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.leads.models import Lead
from salesflow.routing.models import FormSubmission, LeadAssignment, LeadCaptureForm
from salesflow.routing.services import form_update
from salesflow.routing.tests.factories import make_form, make_rule
from salesflow.users.services import system_actor

pytestmark = pytest.mark.django_db

CONSENT = "我同意贵公司按照隐私政策处理我的个人信息，并通过电话或邮件与我联系。"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def _post(client: Client, form: LeadCaptureForm, **data: str):  # type: ignore[no-untyped-def]
    return client.post(f"/f/{form.token}/", data, REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="pytest-browser")


def _valid(**extra: str) -> dict[str, str]:
    return {
        "name": "周杰",
        "company_name": "苏州精工机械有限公司",
        "mobile": "13800138000",
        "email": "zj@example.com",
        **extra,
    }


def test_the_form_page_is_public_and_shows_the_chosen_fields() -> None:
    form = make_form(consent_text=CONSENT)
    response = Client().get(f"/f/{form.token}/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("name", "company_name", "mobile", "email", "need", "website", "consent"):
        assert f'name="{name}"' in html
    assert 'name="wechat"' not in html
    assert CONSENT in html


def test_a_submission_creates_an_unassigned_lead_stamped_with_the_source(personas) -> None:
    form = make_form(campaign="官网 2026")
    client = Client(enforce_csrf_checks=True)  # a plain HTML form from another site has no CSRF token
    response = _post(client, form, **_valid(need="想了解产线改造", unknown_field="ignored"))
    assert response.status_code == 200
    assert 'data-testid="public-form-thanks"' in response.content.decode()
    lead = Lead.objects.get(mobile="13800138000")
    assert (lead.source_channel, lead.sub_channel, lead.campaign) == ("inbound", "website", "官网 2026")
    assert lead.owner_id is None and lead.need == "想了解产线改造"
    submission = FormSubmission.objects.get(lead=lead)
    assert submission.ip_address == "203.0.113.7" and submission.consent_text == "" and submission.consented_at is None
    assert AuditEvent.objects.get(verb="leads.lead.created", target_id=lead.pk).actor_id == system_actor().pk
    assert AuditEvent.objects.filter(verb="routing.form.submitted", target_id=lead.pk).exists()


def test_consent_is_required_and_recorded_exactly() -> None:
    form = make_form(consent_text=CONSENT)
    refused = _post(Client(), form, **_valid())
    assert refused.status_code == 400 and "请勾选以表示同意" in refused.content.decode()  # anonymous: zh-Hans
    assert not Lead.objects.exists()
    accepted = _post(Client(), form, **_valid(consent="yes"))
    assert accepted.status_code == 200
    submission = FormSubmission.objects.get()
    assert submission.consent_text == CONSENT and submission.consented_at is not None
    assert submission.user_agent == "pytest-browser"
    # changing the form later does not change what the visitor agreed to
    form_update(actor=system_actor(), form=form, consent_text="新的文字")
    submission.refresh_from_db()
    assert submission.consent_text == CONSENT


def test_the_honeypot_is_accepted_silently_and_writes_nothing() -> None:
    form = make_form()
    response = _post(Client(), form, **_valid(website="http://spam.example"))
    assert response.status_code == 200 and 'data-testid="public-form-thanks"' in response.content.decode()
    assert not Lead.objects.exists() and not FormSubmission.objects.exists()


def test_the_rate_limit_answers_429(settings) -> None:
    settings.ROUTING_FORM_RATE_PER_IP = 2
    form = make_form()
    statuses = [_post(Client(), form, **_valid(mobile=f"1380013800{i}")).status_code for i in range(4)]
    assert statuses == [200, 200, 429, 429]
    assert Lead.objects.count() == 2
    other_address = Client().post(f"/f/{form.token}/", _valid(mobile="13900139000"), REMOTE_ADDR="198.51.100.1")
    assert other_address.status_code == 200


def test_behind_a_trusted_proxy_the_limit_counts_each_client(settings) -> None:
    settings.ROUTING_FORM_RATE_PER_IP = 1
    settings.SALESFLOW_TRUSTED_PROXIES = ["10.0.0.0/8"]
    form = make_form()

    def through_proxy(client_address: str, mobile: str, forwarded: str = "") -> int:
        header = f"{forwarded}, {client_address}" if forwarded else client_address
        response = Client().post(
            f"/f/{form.token}/", _valid(mobile=mobile), REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=header
        )
        return int(response.status_code)

    assert through_proxy("198.51.100.1", "13800138001") == 200
    assert through_proxy("198.51.100.2", "13800138002") == 200  # another client: its own count
    assert through_proxy("198.51.100.1", "13800138003") == 429
    # a spoofed header does not give the same client a fresh count
    assert through_proxy("198.51.100.1", "13800138004", forwarded="192.0.2.77") == 429
    assert Lead.objects.count() == 2


def test_a_spoofed_forwarded_header_from_an_untrusted_peer_is_ignored(settings) -> None:
    settings.ROUTING_FORM_RATE_PER_IP = 1
    settings.SALESFLOW_TRUSTED_PROXIES = ["10.0.0.0/8"]
    form = make_form()
    statuses = [
        Client()
        .post(
            f"/f/{form.token}/",
            _valid(mobile=f"1380013800{i}"),
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        )
        .status_code
        for i in range(3)
    ]
    assert statuses == [200, 429, 429]
    assert Lead.objects.count() == 1


def test_the_per_form_rate_limit(settings) -> None:
    settings.ROUTING_FORM_RATE_PER_FORM = 1
    form = make_form()
    first = Client().post(f"/f/{form.token}/", _valid(), REMOTE_ADDR="198.51.100.1")
    second = Client().post(f"/f/{form.token}/", _valid(mobile="13900139000"), REMOTE_ADDR="198.51.100.2")
    assert (first.status_code, second.status_code) == (200, 429)


def test_redirect_after_submission_is_a_303() -> None:
    form = make_form(redirect_url="https://www.example.com/thanks?from=form")
    response = _post(Client(), form, **_valid())
    assert response.status_code == 303 and response["Location"] == "https://www.example.com/thanks?from=form"
    assert "form-action 'self' https://www.example.com" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "/relative", "ftp://example.com/x", "https://", "http://exa mple.com", "data:text/html,x"],
)
def test_redirect_urls_must_be_http_or_https(url: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        make_form(redirect_url=url)
    assert "redirect_url" in exc.value.field_errors


def test_inactive_and_unknown_forms_are_404() -> None:
    form = make_form()
    form_update(actor=system_actor(), form=form, is_active=False)
    assert Client().get(f"/f/{form.token}/").status_code == 404
    assert _post(Client(), form, **_valid()).status_code == 404
    assert Client().get("/f/not-a-token/").status_code == 404
    assert Client().get("/f/" + "x" * 300 + "/").status_code == 404
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"name": "a\x00b", "mobile": "13800138000"},
        {"name": "x" * 50_000, "mobile": "13800138000"},
        {"name": "周杰", "mobile": "1" * 50_000},
        {"name": "周杰", "mobile": "not a phone"},
        {"name": "", "mobile": "13800138000"},
        {"name": "周杰"},
        {"name": "周杰", "mobile": "13800138000", "email": "@@"},
    ],
    ids=["nul", "50k-name", "50k-mobile", "bad-mobile", "no-name", "no-mobile", "bad-email"],
)
def test_hostile_or_invalid_input_rerenders_with_400(data: dict[str, str]) -> None:
    form = make_form()
    response = _post(Client(), form, **data)
    assert response.status_code == 400
    assert 'data-testid="public-form-errors"' in response.content.decode()
    assert not Lead.objects.exists()


def test_multipart_posts_are_accepted() -> None:
    form = make_form()
    response = Client().post(f"/f/{form.token}/", _valid(), REMOTE_ADDR="203.0.113.9")  # multipart by default
    assert response.status_code == 200
    urlencoded = Client().post(
        f"/f/{form.token}/",
        "name=%E5%91%A8&mobile=13900139001",
        content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR="203.0.113.9",
    )
    assert urlencoded.status_code == 200
    assert Lead.objects.count() == 2


def test_the_page_is_frameable_only_by_the_configured_origins() -> None:
    closed = make_form(name="closed")
    response = Client().get(f"/f/{closed.token}/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    open_form = make_form(name="open", allowed_origins="https://www.example.com\nhttp://localhost:8123/")
    response = Client().get(f"/f/{open_form.token}/")
    assert "X-Frame-Options" not in response
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors https://www.example.com http://localhost:8123;" in policy + ";"
    assert "unsafe-inline" not in policy and "script-src 'self'" in policy
    # every other page keeps refusing frames
    assert Client().get("/login/")["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("origin", ["*", "https://a.example.com/path", "javascript:x", "https://a.com; script-src *"])
def test_bad_origins_are_refused(origin: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        make_form(allowed_origins=origin)
    assert "allowed_origins" in exc.value.field_errors


def test_a_captured_lead_is_assigned_by_the_rules(personas) -> None:
    make_rule(name="官网轮流", strategy="round_robin", members=[personas.rep, personas.teammate])
    form = make_form()
    _post(Client(), form, **_valid())
    _post(Client(), form, **_valid(mobile="13900139000", company_name="另一家公司"))
    owners = list(Lead.objects.order_by("id").values_list("owner_id", flat=True))
    assert owners == sorted([personas.rep.pk, personas.teammate.pk])
    assert LeadAssignment.objects.filter(strategy="round_robin").count() == 2
