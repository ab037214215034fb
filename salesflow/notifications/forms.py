"""The preferences form: one checkbox per notification type and channel."""

from __future__ import annotations

from typing import Any

from django import forms

from salesflow.notifications.kinds import KINDS, Channel


def field_name(kind: str, channel: str) -> str:
    return f"{kind}__{channel}"


class PreferencesForm(forms.Form):
    def __init__(self, *args: Any, initial_prefs: dict[tuple[str, str], bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in KINDS:
            for channel in Channel.values:
                self.fields[field_name(kind, channel)] = forms.BooleanField(
                    required=False, initial=initial_prefs.get((kind, channel), True)
                )

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"kind": kind, "fields": [self[field_name(kind.key, channel)] for channel in Channel.values]}
            for kind in KINDS.values()
        ]

    def changes(self) -> dict[tuple[str, str], bool]:
        return {
            (kind, channel): bool(self.cleaned_data[field_name(kind, channel)])
            for kind in KINDS
            for channel in Channel.values
        }
