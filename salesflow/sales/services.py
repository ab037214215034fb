"""Writes for opportunities. Stage, probability and forecast category change together;
every stage change writes a ``StageChange`` row and an audit event in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.core.audit import record_event
from salesflow.core.errors import ValidationFailed
from salesflow.core.money import default_currency, quantize
from salesflow.parties.models import Account, Contact
from salesflow.sales.choices import StageKind
from salesflow.sales.models import Competitor, Opportunity, OpportunityContact, Pipeline, Stage, StageChange
from salesflow.users.models import User


def default_pipeline() -> Pipeline:
    """The pipeline marked default (seeded by migration ``sales.0003``)."""
    return Pipeline.objects.get(is_default=True)


def first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("position").first()
    if stage is None:
        raise ValidationFailed(_("The pipeline has no open stage."), field_errors={"pipeline": [_("No open stage.")]})
    return stage


@transaction.atomic
def opportunity_create(
    *,
    actor: User | None,
    account: Account,
    owner: User,
    name: str,
    amount: Decimal | int | str = Decimal("0"),
    currency: str | None = None,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    expected_close_date: date | None = None,
    next_step: str = "",
    next_step_date: date | None = None,
    description: str = "",
    contacts: Sequence[tuple[Contact, str]] = (),
    competitors: Iterable[Competitor] = (),
) -> Opportunity:
    """Create an open opportunity in ``stage`` (default: the pipeline's first open stage).

    Probability and forecast category default from the stage. The initial stage entry
    is recorded as a ``StageChange`` with no ``from_stage``. Raises ``ValidationFailed``
    (nothing written) for a blank name, a negative or malformed amount, a stage of
    another pipeline, a closed stage, or contacts of another account.
    """
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    try:
        money = quantize(amount)
        if money < 0:
            errors["amount"] = [_("The amount cannot be negative.")]
    except ValueError:
        money = Decimal("0")
        errors["amount"] = [_("Enter a number.")]
    pipeline = pipeline or (stage.pipeline if stage else default_pipeline())
    if stage is None:
        stage = first_open_stage(pipeline)
    elif stage.pipeline_id != pipeline.pk:
        errors["stage"] = [_("The stage does not belong to the pipeline.")]
    elif stage.kind != StageKind.OPEN:
        errors["stage"] = [_("A new opportunity must start in an open stage.")]
    for contact, _role in contacts:
        if contact.account_id != account.pk:
            errors["contacts"] = [_("Contacts must belong to the opportunity's account.")]
    if errors:
        raise ValidationFailed(_("The opportunity could not be saved."), field_errors=errors)
    now = timezone.now()
    opp = Opportunity.objects.create(
        name=name,
        account=account,
        owner=owner,
        pipeline=pipeline,
        stage=stage,
        amount=money,
        currency=(currency or default_currency()).upper(),
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        expected_close_date=expected_close_date,
        next_step=next_step.strip(),
        next_step_date=next_step_date,
        description=description,
        stage_entered_at=now,
    )
    OpportunityContact.objects.bulk_create(
        [OpportunityContact(opportunity=opp, contact=c, role=role) for c, role in contacts]
    )
    opp.competitors.set(list(competitors))
    StageChange.objects.create(opportunity=opp, from_stage=None, to_stage=stage, changed_by=actor, changed_at=now)
    record_event(
        actor=actor,
        verb="sales.opportunity.created",
        target=opp,
        data={"amount": money, "currency": opp.currency, "stage": stage.code},
        related=[account],
    )
    return opp
