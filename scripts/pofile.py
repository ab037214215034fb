"""Minimal gettext catalogue tools: read ``.po`` files and write ``.mo`` files.

Used by ``scripts/compilemessages.py`` (so a fresh machine without GNU gettext can still
compile the catalogues) and ``scripts/check_translations.py``. Only the standard library.
"""

from __future__ import annotations

import ast
import struct
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "salesflow"


@dataclass
class Entry:
    """One message of a catalogue (obsolete ``#~`` entries are not kept)."""

    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    lineno: int = 0

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        if self.msgid_plural is not None:
            return bool(self.msgstr_plural) and all(self.msgstr_plural.values())
        return bool(self.msgstr)

    def label(self) -> str:
        text = self.msgid if self.msgctxt is None else f"[{self.msgctxt}] {self.msgid}"
        return text.replace("\n", "\\n")


class PoSyntaxError(ValueError):
    pass


def _unquote(token: str, path: Path, lineno: int) -> str:
    token = token.strip()
    if len(token) < 2 or not token.startswith('"') or not token.endswith('"'):
        raise PoSyntaxError(f"{path}:{lineno}: expected a quoted string, got {token!r}")
    try:
        value = ast.literal_eval(token)
    except (SyntaxError, ValueError) as exc:
        raise PoSyntaxError(f"{path}:{lineno}: bad string {token!r}") from exc
    if not isinstance(value, str):
        raise PoSyntaxError(f"{path}:{lineno}: bad string {token!r}")
    return value


def parse(path: Path) -> list[Entry]:
    """Read the entries of a ``.po`` file (header included, obsolete entries skipped)."""
    entries: list[Entry] = []
    current = Entry()
    started = False  # the current entry has a keyword line
    has_msgstr = False  # … and already its translation, so a comment or msgid starts the next one
    target: tuple[str, int | None] | None = None  # the field that continuation lines extend

    def finish() -> None:
        nonlocal current, started, has_msgstr, target
        if started:
            entries.append(current)
        current, started, has_msgstr, target = Entry(), False, False, None

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue  # obsolete entry
        if line.startswith("#"):
            if has_msgstr:
                finish()
            if line.startswith("#,"):
                current.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            elif line.startswith("#:"):
                current.references.extend(line[2:].split())
            continue
        if line.startswith('"'):
            if target is None:
                raise PoSyntaxError(f"{path}:{lineno}: string outside of an entry")
            _append(current, target, _unquote(line, path, lineno))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and has_msgstr:
            finish()
        if keyword == "msgctxt":
            current.msgctxt = _unquote(rest, path, lineno)
            target = ("msgctxt", None)
        elif keyword == "msgid":
            current.msgid = _unquote(rest, path, lineno)
            target = ("msgid", None)
        elif keyword == "msgid_plural":
            current.msgid_plural = _unquote(rest, path, lineno)
            target = ("msgid_plural", None)
        elif keyword == "msgstr":
            current.msgstr = _unquote(rest, path, lineno)
            target = ("msgstr", None)
            has_msgstr = True
        elif keyword.startswith("msgstr[") and keyword.endswith("]"):
            index = int(keyword[7:-1])
            current.msgstr_plural[index] = _unquote(rest, path, lineno)
            target = ("msgstr_plural", index)
            has_msgstr = True
        else:
            raise PoSyntaxError(f"{path}:{lineno}: unexpected line {raw!r}")
        if not started:
            current.lineno = lineno
        started = True
    finish()
    return entries


def _append(entry: Entry, target: tuple[str, int | None], text: str) -> None:
    name, index = target
    if name == "msgstr_plural":
        assert index is not None
        entry.msgstr_plural[index] += text
    elif name == "msgctxt":
        entry.msgctxt = (entry.msgctxt or "") + text
    elif name == "msgid_plural":
        entry.msgid_plural = (entry.msgid_plural or "") + text
    else:
        setattr(entry, name, getattr(entry, name) + text)


def write_mo(entries: list[Entry], path: Path) -> int:
    """Write a GNU ``.mo`` file like ``msgfmt`` does; returns the number of messages.

    Fuzzy and untranslated messages are left out (as ``msgfmt`` does); the header is kept.
    """
    messages: dict[bytes, bytes] = {}
    for entry in entries:
        if not entry.is_header and (entry.fuzzy or not entry.translated):
            continue
        key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is not None:
            key += "\x00" + entry.msgid_plural
            value = "\x00".join(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
        else:
            value = entry.msgstr
        messages[key.encode()] = value.encode()
    keys = sorted(messages)
    count = len(keys)
    originals_at = 7 * 4
    translations_at = originals_at + count * 8
    data_at = translations_at + count * 8
    originals = b""
    translations = b""
    table_o: list[int] = []
    table_t: list[int] = []
    for k in keys:
        table_o += [len(k), data_at + len(originals)]
        originals += k + b"\x00"
    data_at += len(originals)
    for k in keys:
        v = messages[k]
        table_t += [len(v), data_at + len(translations)]
        translations += v + b"\x00"
    header = struct.pack("<7I", 0x950412DE, 0, count, originals_at, translations_at, 0, 0)
    path.write_bytes(
        header
        + struct.pack(f"<{len(table_o)}I", *table_o)
        + struct.pack(f"<{len(table_t)}I", *table_t)
        + originals
        + translations
    )
    return count


def catalogues(root: Path = PACKAGE) -> list[Path]:
    """Every committed catalogue: ``<root>/locale/…`` and ``<root>/<app>/locale/…``."""
    found = sorted(root.glob("locale/*/LC_MESSAGES/*.po")) + sorted(root.glob("*/locale/*/LC_MESSAGES/*.po"))
    return found
