"""The commissions demo: a plan with Chinese-company rules, last month's statements approved
and this month's drafts, figures equal to a plain loop, and demo deletion not blocked."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone

from salesflow.commissions.choices import StatementStatus
from salesflow.commissions.models import CommissionPlan, CommissionStatement
from salesflow.demo.generate import USERNAMES, delete_demo, generate_demo
from salesflow.demo.issue10_commissions import delete_commissions, write_commissions
from salesflow.users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hasher(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_write_commissions_on_the_demo_company() -> None:
    today = timezone.localdate()
    generate_demo(today=today)
    users = {u.username: u for u in User.objects.filter(username__in=USERNAMES)}
    counts = write_commissions(users, today)
    assert counts["approved"] >= 3 and counts["drafts"] == counts["approved"]
    plan = CommissionPlan.objects.filter(valid_from__lte=today, valid_to__gte=today).get()
    assert {r.name for r in plan.rules.all()} >= {"销售代表赢单提成", "回款提成"}
    this_month = f"{today.year:04d}-{today.month:02d}"
    statements = CommissionStatement.objects.all()
    assert all(s.status == StatementStatus.DRAFT for s in statements if s.period_key == this_month)
    approved = [s for s in statements if s.period_key != this_month]
    assert approved and all(s.status == StatementStatus.APPROVED for s in approved)
    assert any(s.commission_total > 0 for s in approved)
    for s in statements:
        lines = list(s.lines.all())
        assert s.commission_total == sum((ln.commission for ln in lines), Decimal(0))
        for ln in lines:  # each line: basis × rate × multiplier, rounded half-up once
            exact = ln.basis * ln.rate * ln.multiplier_milli / Decimal(100_000)
            assert ln.commission == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            assert ln.opportunity_id or ln.payment_id
    # a second run makes no second plan and keeps the approved statements
    write_commissions(users, today)
    assert CommissionPlan.objects.count() in (1, 2)
    assert CommissionStatement.objects.filter(status=StatementStatus.APPROVED).count() == len(approved)
    # the demo can still be deleted once the statements are gone
    delete_commissions(list(User.objects.filter(username__in=USERNAMES).values_list("pk", flat=True)))
    assert CommissionStatement.objects.count() == 0
    delete_demo()
