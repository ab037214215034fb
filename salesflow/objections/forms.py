"""Forms of the objection library pages and of the deal panel. They parse input; the
services validate and decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.core.schemas import SEARCH_MAX_LENGTH
from salesflow.objections.models import (
    ANSWER_TEXT_LENGTH,
    NOTE_LENGTH,
    OBJECTION_TEXT_LENGTH,
    PRODUCT_LINE_LENGTH,
    ObjectionCategory,
)
from salesflow.objections.selectors import categories, stages_for_filter
from salesflow.sales.models import Stage


def _stage_label(stage: Stage) -> str:
    return f"{stage.pipeline.label} · {stage.label}"


class StageChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return _stage_label(obj)


def _style(form: forms.BaseForm, prefix: str) -> None:
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs.setdefault("class", css)
        widget.attrs.setdefault("data-testid", f"{prefix}-{name.replace('_', '-')}")


class LibraryFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=SEARCH_MAX_LENGTH)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=ObjectionCategory.objects.none(), required=False, empty_label=_("All categories")
    )
    stage = StageChoiceField(
        label=_("Stage"), queryset=Stage.objects.none(), required=False, empty_label=_("All stages")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories()  # type: ignore[attr-defined]
        self.fields["stage"].queryset = stages_for_filter()  # type: ignore[attr-defined]
        self.fields["q"].widget.attrs["placeholder"] = _("Search objections…")
        _style(self, "library")


class ObjectionForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Category"), queryset=ObjectionCategory.objects.none())
    stage = StageChoiceField(
        label=_("Stage"),
        queryset=Stage.objects.none(),
        required=False,
        empty_label=_("Any stage"),
        help_text=_("The stage where customers usually raise it; deals at that stage find it first."),
    )
    product_line = forms.CharField(
        label=_("Product line"),
        required=False,
        max_length=PRODUCT_LINE_LENGTH,
        help_text=_("Free text until the product catalogue exists; empty means any product."),
    )
    text_zh = forms.CharField(label=_("Objection (Chinese)"), required=False, max_length=OBJECTION_TEXT_LENGTH)
    text_en = forms.CharField(label=_("Objection (English)"), required=False, max_length=OBJECTION_TEXT_LENGTH)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories()  # type: ignore[attr-defined]
        self.fields["stage"].queryset = stages_for_filter()  # type: ignore[attr-defined]
        _style(self, "objection")


class AnswerForm(forms.Form):
    text_zh = forms.CharField(
        label=_("Answer (Chinese)"),
        required=False,
        max_length=ANSWER_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    text_en = forms.CharField(
        label=_("Answer (English)"),
        required=False,
        max_length=ANSWER_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _style(self, "answer")


class AnswerEditForm(AnswerForm):
    position = forms.IntegerField(label=pgettext_lazy("ordering", "Position"), min_value=0, max_value=10_000)
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _style(self, "answer-edit")


class DealLogForm(forms.Form):
    """Log an objection on a deal: the objection, a library answer of it or an own answer."""

    objection_id = forms.IntegerField(label=_("Objection"), min_value=1, max_value=2**62)
    answer_id = forms.IntegerField(label=_("Answer used"), required=False, min_value=1, max_value=2**62)
    custom_answer = forms.CharField(
        label=_("Own answer"),
        required=False,
        max_length=ANSWER_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=NOTE_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )


class DealSearchForm(forms.Form):
    """The deal panel's search: text, and the stage (the deal's current one by default)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=SEARCH_MAX_LENGTH)
    all_stages = forms.BooleanField(label=_("All stages"), required=False)
