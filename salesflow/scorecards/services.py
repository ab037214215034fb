"""Writes of ``salesflow.scorecards``: appraisals (考核). Only the rep's manager writes one
(``selectors.can_write_appraisal_of``); one per (rep, period), a month or a quarter. Every
write is audited (``scorecards.events``)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from salesflow.core.audit import changed_fields, record_event
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.schemas import text_error
from salesflow.scorecards.choices import Rating
from salesflow.scorecards.models import COMMENT_MAX_LENGTH, Appraisal
from salesflow.scorecards.selectors import appraisal_period, can_write_appraisal_of
from salesflow.users.models import User


def _clean(rating: Any, comment: Any) -> tuple[str, str, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    rating_value = str(rating or "").strip().upper() if isinstance(rating, str) else ""
    if rating_value not in Rating.values:
        errors["rating"] = [_("Choose a rating: A, B, C or D.")]
    comment_value = comment.strip() if isinstance(comment, str) else ""
    if comment is not None and not isinstance(comment, str):
        errors["comment"] = [_("Enter text.")]
    elif len(comment_value) > COMMENT_MAX_LENGTH:
        errors["comment"] = [
            _("At most %(n)d characters (it has %(count)d).") % {"n": COMMENT_MAX_LENGTH, "count": len(comment_value)}
        ]
    elif text_error(comment_value, multiline=True):
        errors["comment"] = [_("Remove the control characters from the text.")]
    return rating_value, comment_value, errors


@transaction.atomic
def appraisal_create(*, actor: User, rep: User, period_key: str, rating: str, comment: str = "") -> Appraisal:
    """Appraise ``rep`` for the month or quarter ``period_key``. ``Forbidden`` unless
    ``actor`` is the rep's manager; a second appraisal of the same rep and period (also two
    managers at the same moment) is a field error on ``period``."""
    if not can_write_appraisal_of(actor, rep):
        raise Forbidden(_("Only the rep's manager can appraise them."))
    errors: dict[str, list[str]] = {}
    period = None
    try:
        period = appraisal_period(period_key if isinstance(period_key, str) else "")
    except ValueError:
        errors["period"] = [_("Enter a month or a quarter, such as 2026-12 or 2026-Q4.")]
    rating_value, comment_value, more = _clean(rating, comment)
    errors.update(more)
    if (
        period is not None
        and "period" not in errors
        and Appraisal.objects.filter(rep=rep, period_key=period.key).exists()
    ):
        errors["period"] = [_("This rep already has an appraisal for this period.")]
    if errors or period is None:
        raise ValidationFailed(_("Check the appraisal."), field_errors=errors)
    try:
        with transaction.atomic():
            appraisal = Appraisal.objects.create(
                rep=rep,
                period_key=period.key,
                period_start=period.start,
                rating=rating_value,
                comment=comment_value,
                author=actor,
            )
    except IntegrityError:  # the race: another manager saved it first
        raise ValidationFailed(
            _("Check the appraisal."),
            field_errors={"period": [_("This rep already has an appraisal for this period.")]},
        ) from None
    record_event(
        actor=actor,
        verb="scorecards.appraisal.created",
        target=appraisal,
        data={"rep": rep.pk, "period": period.key, "rating": rating_value},
        related=[rep],
    )
    return appraisal


@transaction.atomic
def appraisal_update(
    *, actor: User, appraisal: Appraisal, rating: str | None = None, comment: str | None = None
) -> Appraisal:
    """Change the rating and/or the comment (``None``: unchanged). ``Forbidden`` unless
    ``actor`` is the rep's manager now."""
    locked = Appraisal.objects.select_for_update().select_related("rep").get(pk=appraisal.pk)
    if not can_write_appraisal_of(actor, locked.rep):
        raise Forbidden(_("Only the rep's manager can appraise them."))
    rating_value, comment_value, errors = _clean(
        locked.rating if rating is None else rating, locked.comment if comment is None else comment
    )
    if errors:
        raise ValidationFailed(_("Check the appraisal."), field_errors=errors)
    before = {"rating": locked.rating, "comment": locked.comment}
    after = {"rating": rating_value, "comment": comment_value}
    changes = changed_fields(before, after)
    if changes:
        locked.rating, locked.comment, locked.author = rating_value, comment_value, actor
        locked.save(update_fields=["rating", "comment", "author", "updated_at"])
        record_event(
            actor=actor,
            verb="scorecards.appraisal.updated",
            target=locked,
            data={"rep": locked.rep_id, "period": locked.period_key, "changes": changes},
            related=[locked.rep],
        )
    return locked
