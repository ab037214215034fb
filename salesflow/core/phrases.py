"""Phrases shown in the reader's language though they were written in another's.

A duplicate's reasons ("same mobile", "company name 92% similar after removing suffixes")
are built in the language of whoever triggered the check, and some are kept: on a
collision, which a manager of another language decides, and on the pairs of the duplicate
report. A :class:`Phrase` is the translated text (a ``str``, so it is shown, joined and
compared as before) that also remembers its message id and parameters; :func:`stored_phrase`
gives the form to keep (``{"msgid": …, "params": {…}}``) and :func:`phrase_text` turns a kept
form back into text in the active language. Text kept before phrases were (a plain string)
is shown as it was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext


class Phrase(str):
    """A translated phrase that remembers its message id (``message``) and parameters
    (``params``: JSON values — numbers and strings). ``text`` is the message already
    translated into the active language, when the caller has it (the matcher memoises its
    translations); else it is looked up."""

    message: str
    params: dict[str, Any]

    def __new__(cls, message: str, params: Mapping[str, Any] | None = None, *, text: str | None = None) -> Phrase:
        translated = gettext(message) if text is None else text
        values = dict(params or {})
        phrase = super().__new__(cls, translated % values if values else translated)
        phrase.message = message
        phrase.params = values
        return phrase

    def __reduce__(self) -> tuple[Any, ...]:
        # copied or pickled as it reads now: rebuilding through ``__new__`` would translate
        # the text again, into whichever language is active then
        return (_rebuilt, (str(self), self.message, self.params))


def _rebuilt(text: str, message: str, params: dict[str, Any]) -> Phrase:
    """A :class:`Phrase` with exactly this ``text`` (for ``copy`` and ``pickle``)."""
    phrase = str.__new__(Phrase, text)
    phrase.message = message
    phrase.params = dict(params)
    return phrase


def stored_phrase(value: str | Mapping[str, Any]) -> str | dict[str, Any]:
    """The form of ``value`` to keep in a JSON field: a :class:`Phrase` as its message id and
    parameters, a form already kept as it is, any other string as it is."""
    if isinstance(value, Phrase):
        return {"msgid": value.message, "params": value.params} if value.params else {"msgid": value.message}
    if isinstance(value, Mapping) and isinstance(value.get("msgid"), str):
        return dict(value)
    return str(value)


def phrase_text(stored: Any) -> str:
    """A kept phrase (:func:`stored_phrase`) as text in the active language. A plain string
    is returned as it is; a message whose translation no longer fits its parameters falls
    back to the message itself, so a changed catalogue never breaks a page."""
    if not isinstance(stored, dict) or not isinstance(stored.get("msgid"), str):
        return str(stored)
    message: str = stored["msgid"]
    params = stored.get("params")
    if not params or not isinstance(params, dict):
        return gettext(message)
    try:
        return str(gettext(message) % params)
    except (KeyError, TypeError, ValueError):
        try:
            return str(message % params)
        except (KeyError, TypeError, ValueError):
            return message


def phrase_texts(stored: Any) -> list[str]:
    """:func:`phrase_text` of each kept phrase of a JSON list (none for a value that is not one)."""
    if not isinstance(stored, list):
        return []
    return [phrase_text(item) for item in stored]
