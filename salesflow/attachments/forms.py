"""The upload form of the attachments panel (the service validates the file itself)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from salesflow.attachments.choices import AttachmentKind
from salesflow.attachments.filetypes import ALLOWED_EXTENSIONS


class AttachmentForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=AttachmentKind.choices,
        initial=AttachmentKind.OTHER,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    file = forms.FileField(
        label=_("File"),
        allow_empty_file=True,  # the service names the problem ("The file is empty.")
        max_length=None,
        widget=forms.FileInput(
            attrs={"class": "form-control", "accept": ",".join(f".{ext}" for ext in ALLOWED_EXTENSIONS)}
        ),
    )
