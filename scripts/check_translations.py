"""Check that every gettext catalogue of Salesflow is complete, translated and valid.

For each committed catalogue (``salesflow/locale/<lang>/LC_MESSAGES/django.po`` and
``salesflow/<app>/locale/<lang>/LC_MESSAGES/django.po``) it fails on:

* untranslated entries (an empty ``msgstr``, or any empty ``msgstr[n]`` of a plural entry);
* fuzzy entries (the header may stay fuzzy, as Django writes it);
* errors reported by ``msgfmt --check-format`` (placeholders, plural header);
* message ids found in the source code or templates but missing from the catalogue;
* project messages that Django renders differently from the project catalogue (another
  catalogue, e.g. Django's own, overrides them) or that two project catalogues translate
  differently (``scripts/rendered_translations.py``).

The last check runs Django's ``makemessages`` on a temporary copy of the package, the
same way ``make messages`` does, so the committed files are never touched. It needs GNU
gettext; without it the check is skipped with a message, except under ``CI=true``.

Fix a failure with ``make messages``, translate the new entries, then ``make test``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pofile import PACKAGE, Entry, PoSyntaxError, catalogues, parse

MAX_LISTED = 40


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _show(entries: list[Entry], path: Path | None = None) -> str:
    """One line per entry: where it is in the catalogue, or (for missing ones) in the source."""

    def where(e: Entry) -> str:
        if path is not None:
            return f"{path}:{e.lineno}"
        return "salesflow/" + (e.references[0] if e.references else "?")

    lines = [f"    {where(e)}: {e.label()}" for e in entries[:MAX_LISTED]]
    if len(entries) > MAX_LISTED:
        lines.append(f"    … and {len(entries) - MAX_LISTED} more")
    return "\n".join(lines)


def check_entries(path: Path, entries: list[Entry]) -> list[str]:
    problems = []
    untranslated = [e for e in entries if not e.is_header and not e.translated]
    fuzzy = [e for e in entries if not e.is_header and e.fuzzy]
    if untranslated:
        problems.append(f"{len(untranslated)} untranslated entries:\n{_show(untranslated, path)}")
    if fuzzy:
        problems.append(f"{len(fuzzy)} fuzzy entries (review them and remove the fuzzy flag):\n{_show(fuzzy, path)}")
    if not any(e.is_header for e in entries):
        problems.append('no header entry (msgid "") with the charset and plural forms')
    return problems


def check_msgfmt(path: Path, msgfmt: str) -> list[str]:
    result = subprocess.run(
        [msgfmt, "--check-format", "--check-header", "-o", os.devnull, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return ["msgfmt --check-format failed:\n" + "\n".join("    " + line for line in result.stderr.splitlines())]
    return []


def regenerate(package: Path, languages: set[str], domains: set[str], workdir: Path) -> Path:
    """Run ``makemessages`` on a copy of the package; returns the copy's package directory."""
    copy = workdir / package.name
    shutil.copytree(
        package,
        copy,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", "vendor", "node_modules"),
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    # -P: the package directory must not shadow modules (an app's selectors.py vs the stdlib's).
    for domain in sorted(domains):
        command = [sys.executable, "-P", "-m", "django", "makemessages", "--no-obsolete", "-d", domain, "-v", "0"]
        for language in sorted(languages):
            command += ["-l", language]
        result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"makemessages failed ({domain}):\n{result.stdout}{result.stderr}")
    return copy


def check_rendered() -> list[str]:
    """Render every project message with Django's merged catalogues (in a subprocess, so this
    script needs no Django set-up) and return the overridden or inconsistent ones."""
    script = Path(__file__).with_name("rendered_translations.py")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "salesflow.settings"}
    result = subprocess.run(
        [sys.executable, str(script)], cwd=script.parents[1], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return [f"rendering failed: {result.stderr.strip()[-2000:]}"]
    lines: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return lines


def main(package: Path = PACKAGE) -> int:
    """Check the catalogues under ``package``; prints a report and returns the exit status."""
    root = package.parent
    files = [f.relative_to(root) for f in catalogues(package)]
    if not files:
        print("check_translations: no catalogues found under salesflow/ — nothing is translated", file=sys.stderr)
        return 1
    failures: dict[Path, list[str]] = {}
    parsed: dict[Path, list[Entry]] = {}
    for path in files:
        try:
            parsed[path] = parse(root / path)
        except PoSyntaxError as exc:
            failures.setdefault(path, []).append(f"cannot be read: {exc}")
            continue
        failures.setdefault(path, []).extend(check_entries(path, parsed[path]))

    msgfmt = shutil.which("msgfmt")
    have_gettext = msgfmt is not None and all(shutil.which(t) for t in ("xgettext", "msgmerge", "msguniq"))
    skipped = ""
    if have_gettext:
        assert msgfmt is not None
        for path in parsed:
            failures[path].extend(check_msgfmt(root / path, msgfmt))
        languages = {p.parent.parent.name for p in parsed}
        domains = {p.stem for p in parsed}
        with tempfile.TemporaryDirectory(prefix="salesflow-messages-") as tmp:
            try:
                copy = regenerate(package, languages, domains, Path(tmp))
            except RuntimeError as exc:
                print(f"check_translations: {exc}", file=sys.stderr)
                return 1
            for path, entries in parsed.items():
                fresh_path = copy.parent / path
                if not fresh_path.exists():
                    failures[path].append("makemessages produced no catalogue here (is the locale directory empty?)")
                    continue
                committed = {e.key for e in entries}
                fresh = [e for e in parse(fresh_path) if not e.is_header]
                missing = [e for e in fresh if e.key not in committed]
                if missing:
                    failures[path].append(
                        f"{len(missing)} messages in the source are missing from the catalogue "
                        f"(run `make messages` and translate them):\n{_show(missing)}"
                    )
                stale = {e.key for e in entries if not e.is_header} - {e.key for e in fresh}
                if stale:
                    print(f"note: {path}: {len(stale)} entries no longer used in the source")
            # Catalogues that makemessages created where none is committed (e.g. a new language dir).
            for fresh_path in catalogues(copy):
                original = fresh_path.relative_to(copy.parent)
                if original not in parsed:
                    failures.setdefault(original, []).append("catalogue is missing (run `make messages`)")
    else:
        skipped = "GNU gettext (xgettext, msgmerge, msgfmt) is not installed: completeness was not checked"

    rendered = check_rendered()
    if rendered:
        failures.setdefault(Path("rendered"), []).append(
            f"{len(rendered)} project messages do not render as the project translates them:\n"
            + "\n".join("    " + line for line in rendered[:MAX_LISTED])
        )

    bad = {path: problems for path, problems in failures.items() if problems}
    for path, problems in bad.items():
        print(f"FAIL {path}")
        for problem in problems:
            print(f"  - {problem}")
    for path in parsed:
        if path not in bad:
            total = sum(1 for e in parsed[path] if not e.is_header)
            print(f"ok   {path} ({total} messages)")
    if skipped:
        if in_ci():
            print(f"FAIL {skipped} (required when CI=true; apt-get install gettext)", file=sys.stderr)
            return 1
        print(f"SKIP {skipped} (apt-get install gettext)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
