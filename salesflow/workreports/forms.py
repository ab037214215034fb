"""Parsing of the work report pages' input (the services validate again)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesflow.workreports import periods
from salesflow.workreports.choices import ReportKind
from salesflow.workreports.services import TEXT_MAX_LENGTH


def _textarea(placeholder: Any) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": 4, "placeholder": placeholder})


class ReportTextForm(forms.Form):
    """The three text fields of a draft."""

    summary = forms.CharField(
        label=_("Summary"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=_textarea(_("What you did, what moved forward, what you learned.")),
    )
    plans = forms.CharField(
        label=_("Plans for the next period"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=_textarea(_("Customers to visit or call, deals to push, follow-ups due.")),
    )
    problems = forms.CharField(
        label=_("Problems and help needed"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=_textarea(_("Where you are stuck and what you need from your manager.")),
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Your comment"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Your comment to the author…")}),
    )


class PeriodForm(forms.Form):
    """``?kind=daily|weekly&date=YYYY-MM-DD`` of the team page (and its export)."""

    kind = forms.ChoiceField(label=_("Type"), choices=ReportKind.choices, required=False)
    date = forms.DateField(label=_("Date"), required=False, input_formats=["%Y-%m-%d"])

    def period(self) -> tuple[str, dt.date]:
        """The valid kind and the start of the period (defaults: daily, today); invalid
        values fall back to the defaults (the form carries the errors)."""
        data = self.cleaned_data if self.is_valid() else {}
        kind = data.get("kind") or ReportKind.DAILY
        day = data.get("date") or timezone.localdate()
        if day < periods.EARLIEST:
            day = periods.EARLIEST
        return kind, periods.period_of(kind, day)[0]
