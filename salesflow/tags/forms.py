"""Forms of the tags pages: a tag (name, colour), the settings, and the "add a tag" form of
a record's tag card. They parse input; the services validate."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.tags.choices import Colour
from salesflow.tags.models import NAME_LENGTH
from salesflow.tags.selectors import tag_choices


class TagForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_LENGTH)
    colour = forms.ChoiceField(label=_("Colour"), choices=Colour.choices, initial=Colour.BLUE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update({"class": "form-control", "data-testid": "tag-name"})
        self.fields["colour"].widget.attrs.update({"class": "form-select", "data-testid": "tag-colour"})


class TagSettingsForm(forms.Form):
    inline_create = forms.BooleanField(
        label=_("Anyone who may edit a record may create a new tag while tagging it"), required=False
    )


class TagAddForm(forms.Form):
    """Pick an existing tag, or type a name (an existing tag in any case, or a new one)."""

    tag = forms.TypedChoiceField(label=_("Tag"), required=False, coerce=int, empty_value=None)
    name = forms.CharField(label=_("New tag"), required=False, max_length=NAME_LENGTH)

    def __init__(self, *args: Any, exclude: set[int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["tag"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            ("", _("Choose a tag…")),
            *((pk, name) for pk, name in tag_choices() if pk not in (exclude or set())),
        ]
        field.widget.attrs.update({"class": "form-select form-select-sm", "data-testid": "tag-add-select"})
        self.fields["name"].widget.attrs.update(
            {"class": "form-control form-control-sm", "data-testid": "tag-add-name", "placeholder": _("New tag")}
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("tag") is None and not (data.get("name") or "").strip():
            raise forms.ValidationError(_("Choose a tag or type a name."))
        return data


def _tag_filter_choices() -> list[tuple[Any, Any]]:
    return [("", _("All tags")), *tag_choices()]


class TagFilterField(forms.TypedChoiceField):
    """The ``tag`` select of a list's filter bar (every tag; invalid values are ignored)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Tag"))
        super().__init__(choices=_tag_filter_choices, required=False, coerce=int, empty_value=None, **kwargs)
        self.widget.attrs.update({"class": "form-select", "aria-label": str(_("Tag")), "data-testid": "filter-tag"})


class TagBulkFields(forms.Form):
    """The ``tag`` field of the lists' bulk forms (actions ``tag_add`` / ``tag_remove``)."""

    tag = forms.TypedChoiceField(
        label=_("Tag"), choices=_tag_filter_choices, required=False, coerce=int, empty_value=None
    )
