"""Choices of ``salesflow.scorecards``."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Rating(models.TextChoices):
    """The manager's rating in an appraisal (考核等级): four grades as data, A best.

    A — well above expectations (优秀), B — meets them fully (良好), C — partly (合格, needs
    improvement on some points), D — below (待改进). Four grades and no middle one, so the
    manager has to take a side."""

    A = "A", _("A — outstanding")
    B = "B", _("B — good")
    C = "C", _("C — acceptable")
    D = "D", _("D — needs improvement")
