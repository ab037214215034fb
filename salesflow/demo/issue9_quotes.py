"""Demo quotes (issue 9): a year of quotes on the demo deals, written through the quote
services and then dated back.

- every won deal (up to ``MAX_WON``) has an accepted quote whose total is the deal's amount:
  its lines are the deal's catalogue lines when it has some (same prices, discounts and tax,
  so ``core.doctotals`` gives the same total), else one hand-entered line at the amount;
  some were revised first (v1 superseded, v2 accepted);
- open deals in the last open stages have quotes in every state: drafts, approved, sent,
  declined and revised into a second or third version, expired;

Dates: each quote is created between its deal's creation and close (or today), within the
last year; issue, sending and decision follow within days, and ``valid_until`` is 30 days
after issue. Idempotent: nothing happens when quotes exist.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from salesflow.catalogue.models import OpportunityLine
from salesflow.core.models import AuditEvent, AuditLink
from salesflow.quotes.models import Quote, QuoteVersion
from salesflow.quotes.services import (
    quote_create,
    quote_decide,
    quote_issue,
    quote_revise,
    quote_send,
    quotes_expire_due,
)
from salesflow.sales.models import Opportunity, Stage
from salesflow.users.models import User
from salesflow.users.services import system_actor

SEED = 9010
MAX_WON = 150
MAX_OPEN = 90
BUYERS = ["陈静", "刘强", "王磊", "李娜", "赵敏", "孙浩", "周婷", "吴军"]


def _lines_for(deal: Opportunity, lines: list[OpportunityLine]) -> list[dict[str, Any]]:
    if lines:
        return [
            {
                "product_id": line.product_id,
                "code": line.code,
                "name_zh": line.name_zh,
                "name_en": line.name_en,
                "unit": line.unit,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount_percent": line.discount_percent,
                "tax_rate": line.tax_rate,
            }
            for line in lines
        ]
    return [
        {
            "name_zh": f"{deal.name} 项目总价",
            "name_en": f"{deal.name}: project price",
            "unit": "项",
            "quantity": "1",
            "unit_price": deal.amount,
            "tax_rate": "0",
        }
    ]


def _moment(day: date, hour: int) -> datetime:
    """``hour`` o'clock on ``day``, never later than now."""
    return min(timezone.make_aware(datetime.combine(day, time(hour, 0))), timezone.now())


def _backdate(quote: Quote, created: date, *, decided: date | None = None) -> None:
    """Date the quote's versions and events back to ``created`` (issue two days later)."""
    issued = created + timedelta(days=2)
    for version in QuoteVersion.objects.filter(quote=quote).order_by("version"):
        offset = timedelta(days=3 * (version.version - 1))
        QuoteVersion.objects.filter(pk=version.pk).update(
            created_at=_moment(created + offset, 10),
            issued_at=_moment(issued + offset, 11) if version.issued_at else None,
            sent_at=_moment(issued + offset, 15) if version.sent_at else None,
            decided_at=_moment(decided, 16) if version.decided_at and decided else version.decided_at,
            valid_until=issued + offset + timedelta(days=30),
        )
    Quote.objects.filter(pk=quote.pk).update(created_at=_moment(created, 10))
    AuditEvent.objects.filter(target_type__model="quote", target_id=quote.pk).update(created_at=_moment(created, 12))


def _actor(deal: Opportunity, fallback: User) -> User:
    return deal.owner if deal.owner.is_active else fallback


def _quote_day(deal: Opportunity, rng: random.Random, today: date, end: date | None = None) -> date:
    start = max(timezone.localtime(deal.created_at).date(), today - timedelta(days=360))
    stop = min(end or today, today) - timedelta(days=3)
    if stop <= start:
        return start
    return start + timedelta(days=rng.randrange((stop - start).days + 1))


def approve_pending(kind: str, object_id: int) -> None:
    """Let each step's approvers approve the document's pending request (the demo's managers
    say yes), so the demo's documents go on through the chain when approval rules exist
    (a demo reset keeps the rules, which are configuration). Demo-only: real approvals are
    decided by people in the inbox."""
    from salesflow.approvals.models import StepApprover
    from salesflow.approvals.selectors import pending_request_id
    from salesflow.approvals.services import request_approve

    for _round in range(20):
        request_id = pending_request_id(kind, object_id)
        if request_id is None:
            return
        waiting = (
            StepApprover.objects.filter(step__request_id=request_id, step__status="pending", decision="")
            .select_related("user")
            .order_by("id")
            .first()
        )
        if waiting is None:
            return
        request_approve(actor=waiting.user, request_id=request_id, comment="同意")


def _issue(actor: User, quote: Quote) -> Quote:
    """Issue the quote and, if it went to approval, approve it (see ``approve_pending``)."""
    quote = quote_issue(actor=actor, quote=quote)
    approve_pending("quotes.quote", quote.pk)
    return Quote.objects.get(pk=quote.pk)


def write_quotes(users: dict[str, User], today: date | None = None) -> int:
    """Write the demo quotes (see the module docstring); returns how many were created."""
    if Quote.objects.exists():
        return 0
    today = today or timezone.localdate()
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data
    system = system_actor()
    lines_by_deal: dict[int, list[OpportunityLine]] = {}
    for line in OpportunityLine.objects.order_by("opportunity_id", "position", "id"):
        lines_by_deal.setdefault(line.opportunity_id, []).append(line)
    deals = Opportunity.objects.select_related("owner", "account", "stage")
    created = 0

    won = list(deals.filter(outcome="won").order_by("-closed_at", "id")[:MAX_WON])
    for index, deal in enumerate(won):
        with transaction.atomic():
            actor = _actor(deal, system)
            closed = timezone.localtime(deal.closed_at).date() if deal.closed_at else today
            day = _quote_day(deal, rng, today, closed)
            quote = quote_create(
                actor=actor,
                opportunity=deal,
                lines=_lines_for(deal, lines_by_deal.get(deal.pk, [])),
                created_at=_moment(day, 10),
            )
            quote = _issue(actor, quote)
            if index % 4 == 0:  # revised once before the customer accepted
                quote = quote_revise(actor=actor, quote=quote)
                quote = _issue(actor, quote)
            email = deal.account.contacts.exclude(email="").values_list("email", flat=True).first()
            if email and index % 3 == 0:
                quote = quote_send(actor=actor, quote=quote, to=[email])
            assert quote.current_version_id is not None
            quote_decide(
                version_id=quote.current_version_id,
                decision="accept",
                name=rng.choice(BUYERS),
                ip=f"203.0.113.{rng.randrange(1, 250)}",
            )
            _backdate(quote, day, decided=min(day + timedelta(days=7), today))
            created += 1

    late = list(
        Stage.objects.filter(kind="open", is_active=True)
        .order_by("pipeline_id", "-position")
        .values_list("pk", flat=True)
    )
    open_deals = list(deals.filter(outcome="open", stage_id__in=late, amount__gt=0).order_by("id")[: MAX_OPEN * 3])
    rng.shuffle(open_deals)
    for index, deal in enumerate(open_deals[:MAX_OPEN]):
        with transaction.atomic():
            actor = _actor(deal, system)
            state = index % 6
            day = _quote_day(deal, rng, today)
            if state in (0, 1, 2):  # recent: still a draft, approved or waiting for the customer
                day = max(day, today - timedelta(days=rng.randrange(3, 20)))
            quote = quote_create(
                actor=actor,
                opportunity=deal,
                lines=_lines_for(deal, lines_by_deal.get(deal.pk, [])),
                created_at=_moment(day, 10),
            )
            decided: date | None = None
            if state >= 1:
                quote = _issue(actor, quote)
            if state == 2:  # sent, waiting for the customer
                email = deal.account.contacts.exclude(email="").values_list("email", flat=True).first()
                quote = quote_send(actor=actor, quote=quote, to=[email or "buyer@example.com"])
            if state in (3, 4):  # declined, then revised (v2; state 4: declined again and v3)
                for _round in range(state - 2):
                    assert quote.current_version_id is not None
                    quote_decide(
                        version_id=quote.current_version_id,
                        decision="decline",
                        name=rng.choice(BUYERS),
                        ip=None,
                        reason="价格偏高，请再优惠一些",
                    )
                    quote = quote_revise(actor=actor, quote=quote)
                    quote = _issue(actor, quote)
                decided = min(day + timedelta(days=5), today)
            _backdate(quote, day, decided=decided)
            if state == 5:  # issued long ago and never answered: expired
                expired_on = min(day + timedelta(days=32), today) - timedelta(days=1)
                QuoteVersion.objects.filter(quote=quote).update(valid_until=expired_on)
            created += 1
    quotes_expire_due(actor=system, today=today)

    return created


def delete_demo_quotes(opportunities: QuerySet[Opportunity]) -> int:
    """Remove the quotes of ``opportunities`` (the demo's) with their audit trail, so the
    demo's deals, accounts and users can be deleted (quotes protect them). Returns how many."""
    ids = list(Quote.objects.filter(opportunity__in=opportunities).values_list("pk", flat=True))
    quote_ct = ContentType.objects.get_for_model(Quote)
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        events = AuditEvent.objects.filter(target_type=quote_ct, target_id__in=batch)
        AuditLink.objects.filter(event__in=events).delete()
        events.delete()
        AuditLink.objects.filter(content_type=quote_ct, object_id__in=batch).delete()
        # the thread points at its versions (PROTECT): unlink before the cascade
        Quote.objects.filter(pk__in=batch).update(current_version=None, accepted_version=None)
        Quote.objects.filter(pk__in=batch).delete()
    return len(ids)
