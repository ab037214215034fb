"""Test data for the sales app: accounts, contacts and opportunities created through the services."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from salesflow.parties.models import Account, Contact
from salesflow.sales.models import Competitor, Opportunity, Pipeline, Stage
from salesflow.sales.services import default_pipeline, opportunity_create
from salesflow.search.testing import indexed
from salesflow.users.models import User

_seq = itertools.count(1)


def make_account(owner: User, name: str | None = None) -> Account:
    return indexed(Account.objects.create(owner=owner, name=name or f"客户 {next(_seq)}"))


def make_contact(account: Account, name: str | None = None, **kwargs: Any) -> Contact:
    return indexed(Contact.objects.create(account=account, name=name or f"联系人 {next(_seq)}", **kwargs))


def make_competitor(name: str | None = None) -> Competitor:
    return Competitor.objects.create(name=name or f"竞争对手 {next(_seq)}")


def stage(code: str, pipeline: Pipeline | None = None) -> Stage:
    return (pipeline or default_pipeline()).stages.get(code=code)


def make_opportunity(
    owner: User,
    *,
    account: Account | None = None,
    name: str | None = None,
    amount: Decimal | int | str = Decimal("10000"),
    stage_code: str | None = None,
    actor: User | None = None,
    **kwargs: Any,
) -> Opportunity:
    return opportunity_create(
        actor=actor or owner,
        account=account or make_account(owner),
        owner=owner,
        name=name or f"商机 {next(_seq)}",
        amount=amount,
        stage=stage(stage_code) if stage_code else None,
        **kwargs,
    )


def make_pipeline(code: str = "b2c", *, position: int = 1) -> Pipeline:
    """A second, simpler pipeline: new → offer → won / lost."""
    pipeline = Pipeline.objects.create(code=code, name_en="B2C simple", name_zh="B2C 简单销售", position=position)
    for pos, (scode, prob, fc, kind, rot) in enumerate(
        [
            ("new", 10, "pipeline", "open", 7),
            ("offer", 60, "best_case", "open", 7),
            ("won", 100, "closed", "won", None),
            ("lost", 0, "omitted", "lost", None),
        ],
        start=1,
    ):
        Stage.objects.create(
            pipeline=pipeline,
            code=scode,
            name_en=scode.title(),
            name_zh=scode,
            position=pos,
            probability=prob,
            forecast_category=fc,
            kind=kind,
            rotting_days=rot,
        )
    return pipeline
