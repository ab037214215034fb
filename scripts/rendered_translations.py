"""Render every project message in each language as Django serves it, and compare.

Django merges the catalogues of every installed app and of ``LOCALE_PATHS`` into one
table per language; when two catalogues translate the same message differently, one of
them silently wins. Django's own catalogues once overrode 15 of the project's Chinese
strings this way (the list filter read 过滤器 instead of 筛选). This module asks the merged
table for every message of the project's catalogues and reports:

* **overridden** — the rendered translation is not the project catalogue's;
* **inconsistent** — two project catalogues translate the same message differently (one
  term per concept: the same English text means the same Chinese text everywhere).

Run by ``scripts/check_translations.py`` (in a subprocess, with Django set up) and by
``salesflow/core/tests/test_translations_rendered.py``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from pofile import PACKAGE, Entry, catalogues, parse  # noqa: E402


def project_entries(package: Path = PACKAGE) -> dict[str, dict[Path, list[Entry]]]:
    """The translated entries of every project catalogue, by language and file."""
    found: dict[str, dict[Path, list[Entry]]] = {}
    for path in catalogues(package):
        language = path.parent.parent.name
        entries = [e for e in parse(path) if not e.is_header and e.translated and not e.fuzzy]
        found.setdefault(language, {})[path.relative_to(package.parent)] = entries
    return found


def _expected(entry: Entry) -> str:
    return entry.msgstr if entry.msgid_plural is None else entry.msgstr_plural.get(0, "")


def problems(package: Path = PACKAGE) -> list[str]:
    """Every overridden or inconsistent message, as readable lines (empty when all is well).

    Django must be set up (``django.setup()``) before calling this.
    """
    from django.utils import translation

    lines: list[str] = []
    for language, files in sorted(project_entries(package).items()):
        django_language = translation.to_language(language)
        seen: dict[tuple[str | None, str], tuple[str, Path]] = {}
        with translation.override(django_language):
            for path, entries in files.items():
                for entry in entries:
                    expected = _expected(entry)
                    earlier = seen.get(entry.key)
                    if earlier is not None and earlier[0] != expected:
                        lines.append(
                            f"inconsistent {language}: {entry.label()!r} is {earlier[0]!r} in {earlier[1]} "
                            f"but {expected!r} in {path}:{entry.lineno}"
                        )
                        continue
                    seen[entry.key] = (expected, path)
                    if entry.msgid_plural is not None:
                        rendered = translation.ngettext(entry.msgid, entry.msgid_plural, 1)
                        if entry.msgctxt is not None:
                            rendered = translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 1)
                    elif entry.msgctxt is not None:
                        rendered = translation.pgettext(entry.msgctxt, entry.msgid)
                    else:
                        rendered = translation.gettext(entry.msgid)
                    if rendered != expected:
                        lines.append(
                            f"overridden {language}: {entry.label()!r} renders {rendered!r}, "
                            f"the project says {expected!r} ({path}:{entry.lineno})"
                        )
    return lines


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesflow.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    print(json.dumps(problems()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
