"""The form side of the duplicate warning (疑似重复), shared by the lead, account and contact
forms.

The warning itself is an intake check registered by ``salesflow.merging``; it refuses a
save with ``Conflict(code="possible_duplicates")`` whose ``data["duplicates"]`` lists the
candidates as the actor may see them. The record apps' views cannot import that app (it
sits above them), so they use these two helpers and the template
``components/possible_duplicates.html``: the posted ``duplicate_reason`` ("save anyway")
goes to the service as an intake option, and a refusal re-renders the form with the panel.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest

from salesflow.core.errors import ServiceError
from salesflow.core.web import apply_service_error

POSSIBLE_DUPLICATES = "possible_duplicates"


def duplicate_options(request: HttpRequest) -> dict[str, Any]:
    """``intake_options`` for a form post: the "save anyway" reason when one was written."""
    reason = request.POST.get("duplicate_reason", "")
    return {"duplicate_reason": reason} if reason.strip() else {}


def show_service_error(request: HttpRequest, form: forms.BaseForm, exc: ServiceError) -> dict[str, Any]:
    """Show ``exc`` on ``form``; for possible duplicates, return the panel's context instead
    (``duplicates`` and the reason typed so far) and leave the form without errors."""
    if exc.code == POSSIBLE_DUPLICATES:
        return {
            "duplicates": list(exc.data.get("duplicates", [])),
            "duplicate_message": str(exc.message),
            "duplicate_reason": request.POST.get("duplicate_reason", ""),
        }
    apply_service_error(form, exc)
    return {}
