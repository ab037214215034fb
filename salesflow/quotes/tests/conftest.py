from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from salesflow.catalogue.models import Product, ProductCategory
from salesflow.core.testing import run_worker
from salesflow.sales.tests.factories import make_account, make_contact, make_opportunity


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def deal(personas: Any) -> Any:
    account = make_account(personas.rep, name="上海启明科技有限公司")
    account.address = "上海市浦东新区张江路 88 号"
    account.credit_code = "91310000MA1FL0XX1X"
    account.save()
    make_contact(account, name="陈静", email="chen@example.com", mobile="13800138000")
    return make_opportunity(personas.rep, account=account, name="启明 CRM 项目", amount=Decimal("10000"))


@pytest.fixture
def products(db: None) -> dict[str, Product]:
    line = ProductCategory.objects.create(code="software", name_zh="软件", name_en="Software")
    return {
        "crm": Product.objects.create(
            code="CRM-STD",
            name_zh="销售管理软件标准版",
            name_en="CRM Standard",
            unit="套",
            category=line,
            tax_rate=Decimal("13.00"),
            list_price=Decimal("12000.00"),
            cost=Decimal("3000.00"),
        ),
        "svc": Product.objects.create(
            code="IMPL",
            name_zh="实施服务",
            name_en="Implementation",
            unit="人天",
            kind="service",
            tax_rate=Decimal("6.00"),
            list_price=Decimal("2000.00"),
            cost=Decimal("800.00"),
        ),
    }


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    @contextmanager
    def block() -> Iterator[None]:
        with django_capture_on_commit_callbacks(execute=True):
            yield
        for _ in range(5):
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                ran = run_worker()
            if not ran and not callbacks:
                break

    return block
