"""The partial-update convention shared by every ``<entity>_update`` service.

A service that changes some fields of a record takes them as keyword arguments typed by a
``TypedDict(total=False)`` of the fields it may change::

    class AccountChanges(TypedDict, total=False):
        name: str
        owner: User

    def account_update(*, actor: User | None, account: Account, **changes: Unpack[AccountChanges]) -> Account:
        refuse_unknown_fields(changes, ACCOUNT_FIELDS, _("The account could not be saved."))

A key left out keeps its value; ``None`` is a real value (it clears a nullable field). Mypy
refuses unknown keys at the call site; ``refuse_unknown_fields`` refuses them at run time
(callers that build the keys from input), as a 400 naming the field rather than a 500.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from django.utils.translation import gettext as _

from salesflow.core.errors import ValidationFailed


def refuse_unknown_fields(changes: Mapping[str, Any], allowed: Set[str], message: str) -> None:
    """Raise ``ValidationFailed(message)`` naming every key of ``changes`` not in ``allowed``."""
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValidationFailed(
            message, field_errors={key: [_("This field cannot be changed here.")] for key in unknown}
        )
