"""Payment collection at bench scale (issue 9): signed contracts with payment plans,
instalments and payments on the generated accounts, for the receivables ageing report.

At scale 1.0: 75,000 signed contracts (a quarter of the 300,000 deals, as many as are won),
each with a three-instalment plan (225,000 instalments) due over the last 15 months and the
next three, 40% of them paid, 15% partly paid, ~6% in USD (with a rate). Rows are written
with ``benchlib.Table`` (the services' rows, without their per-row checks); ``Instalment.paid``
and ``is_open`` are written consistently with the payments.

    .venv/bin/python bench/billing.py --scale 1      # adds the rows once (skips when present)

``bench/generate.py`` calls :func:`ensure_billing` after loading, so ``make bench`` has them.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import Table, redacted, reset_sequences, setup_django

CONTRACTS_AT_SCALE_1 = 75_000


def ensure_billing(scale: float, *, seed: int = 2026, batch: int = 5000) -> int:
    """Write the billing rows unless there are plans already; returns the contracts written."""
    from django.db import transaction

    from salesflow.billing.models import Instalment, Payment, PaymentPlan
    from salesflow.contracts.models import Contract
    from salesflow.core.models import ExchangeRate
    from salesflow.parties.models import Account

    if PaymentPlan.objects.exists():
        return 0
    rng = random.Random(seed)
    today = date.today()
    ExchangeRate.objects.get_or_create(currency="USD", valid_from=date(2020, 1, 1), defaults={"rate": Decimal("7.1")})
    accounts = list(Account.objects.exclude(owner=None).values_list("pk", "owner_id").order_by("pk"))
    if not accounts:
        return 0
    n = max(10, round(CONTRACTS_AT_SCALE_1 * scale))
    contracts, plans, insts, payments = (Table(m) for m in (Contract, PaymentPlan, Instalment, Payment))
    started = time.perf_counter()
    for i in range(n):
        account_id, owner_id = accounts[rng.randrange(len(accounts))]
        currency = "USD" if rng.random() < 0.06 else "CNY"
        total = Decimal(rng.randrange(10_000, 2_000_000)) * 3
        signed = today - timedelta(days=rng.randrange(-60, 450))
        contract_id = contracts.add(
            number=f"HT-B-{i + 1:07d}",
            title=f"合同 {i + 1}",
            account_id=account_id,
            owner_id=owner_id,
            currency=currency,
            status="signed",
            total=total,
            signed_on=signed,
        )
        plan_id = plans.add(contract_id=contract_id, account_id=account_id, owner_id=owner_id, currency=currency)
        part = total / 3
        paid_amount = Decimal(0)
        for k in range(3):
            due = signed + timedelta(days=45 * k)
            roll = rng.random()
            paid = part if roll < 0.4 else (part / 2 if roll < 0.55 else Decimal(0))
            paid_amount += paid
            insts.add(
                plan_id=plan_id,
                account_id=account_id,
                owner_id=owner_id,
                currency=currency,
                position=k + 1,
                amount=part,
                paid=paid,
                due_date=due,
                is_open=paid < part,
            )
        if paid_amount:
            payments.add(
                number=f"HK-B-{i + 1:07d}",
                account_id=account_id,
                owner_id=owner_id,
                contract_id=contract_id,
                currency=currency,
                amount=paid_amount,
                allocated=paid_amount,
                received_on=min(signed + timedelta(days=30), today),
            )
        if (i + 1) % batch == 0 or i + 1 == n:
            with transaction.atomic():
                for table in (contracts, plans, insts, payments):
                    table.flush()
    reset_sequences([Contract, PaymentPlan, Instalment, Payment])
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"  billing          {n:,} contracts, {insts.written:,} instalments in {time.perf_counter() - started:.1f} s")
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.01)
    args = parser.parse_args()
    url = setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    print(f"Benchmark database: {redacted(url)}")
    ensure_billing(args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
