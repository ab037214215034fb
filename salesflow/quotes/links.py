"""The public accept/decline link of a quote version (no login).

The token is ``django.core.signing.dumps({"v": version_id, "e": valid_until})`` with its
own salt: it cannot be forged or altered, and :func:`read_token` refuses it once it is
older than the longest validity (``max_age``) or once ``valid_until`` has passed, so a
link never outlives its quote. The version's own state (superseded, already decided) is
checked again by the decision service under a row lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from salesflow.quotes.models import QuoteVersion

SALT = "salesflow.quotes.public-link"
#: The signature's own limit: the longest validity a quote can have, plus a day.
MAX_AGE = timedelta(days=731)


@dataclass(frozen=True)
class LinkData:
    version_id: int
    valid_until: date
    expired: bool


def make_token(version: QuoteVersion) -> str:
    until = version.valid_until or timezone.localdate()
    return signing.dumps({"v": version.pk, "e": until.isoformat()}, salt=SALT, compress=True)


def public_path(version: QuoteVersion) -> str:
    return reverse("quotes:public", args=[make_token(version)])


def public_url(version: QuoteVersion) -> str:
    return f"{settings.SALESFLOW_BASE_URL.rstrip('/')}{public_path(version)}"


def read_token(token: str) -> LinkData | None:
    """The link's version and validity; ``None`` for a forged, altered, malformed or too
    old token. ``expired`` is true once ``valid_until`` is before today."""
    if not isinstance(token, str) or len(token) > 500:
        return None
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    version_id, until = data.get("v"), data.get("e")
    if isinstance(version_id, bool) or not isinstance(version_id, int) or not isinstance(until, str):
        return None
    try:
        valid_until = date.fromisoformat(until)
    except ValueError:
        return None
    return LinkData(version_id=version_id, valid_until=valid_until, expired=valid_until < timezone.localdate())
