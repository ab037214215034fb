"""Domain errors raised by services and translated by the UI and the API.

Services raise these instead of returning error codes; views turn them into form
errors or messages, and the API turns them into the one error envelope
``{"detail": ..., "code": ..., "errors": {field: [messages]}}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.functional import Promise


class ServiceError(Exception):
    """A business rule refused the action; nothing was changed.

    ``code`` is a stable machine-readable identifier; ``message`` is translatable text
    for people; ``field_errors`` maps field names to messages when the error is about
    particular inputs. ``data`` holds extra machine-readable keys the API adds to its
    error envelope (e.g. the unmet entry criteria of a refused stage move); empty for most.
    """

    status_code = 400
    default_code = "invalid"

    def __init__(
        self,
        message: str | Promise,
        *,
        code: str | None = None,
        field_errors: Mapping[str, Sequence[str | Promise]] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code or self.default_code
        self.field_errors: dict[str, list[str]] = {
            key: [str(m) for m in msgs] for key, msgs in (field_errors or {}).items()
        }
        self.data: dict[str, Any] = {}


class ValidationFailed(ServiceError):
    """Input failed validation; ``field_errors`` says which fields and why."""

    default_code = "validation_error"


class Conflict(ServiceError):
    """The record changed state in a way that makes the action impossible now."""

    status_code = 409
    default_code = "conflict"


class Forbidden(ServiceError, PermissionDenied):
    """The user can see the record but may not perform this action on it (HTTP 403).

    Also a Django ``PermissionDenied``, so a view that lets it propagate renders the 403
    page; the API's ``ServiceError`` handler turns it into the 403 envelope.
    """

    status_code = 403
    default_code = "forbidden"
