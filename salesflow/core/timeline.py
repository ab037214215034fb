"""Human labels for audit verbs, shown on record timelines.

Apps register labels for their verbs here (from ``ready()``); a declared event type
(:mod:`salesflow.core.events`) may carry its label instead.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

VERB_LABELS: dict[str, str | Promise] = {
    "users.user.created": _("created the user"),
    "users.api_token.created": _("created an API token"),
    "users.api_token.revoked": _("revoked an API token"),
}


def register_verbs(labels: dict[str, str | Promise]) -> None:
    """Add ``{verb: translatable label}`` entries (call from an app's ``ready()``)."""
    VERB_LABELS.update(labels)


def verb_label(verb: str) -> str:
    from salesflow.core.events import event_type

    label = VERB_LABELS.get(verb)
    if label is None:
        declared = event_type(verb)
        label = declared.label if declared is not None and declared.label else None
    return str(label) if label is not None else verb
