"""Compile the gettext catalogues (``.po`` → ``.mo``) of Salesflow.

    python scripts/compilemessages.py              # every out-of-date catalogue
    python scripts/compilemessages.py --force      # every catalogue
    python scripts/compilemessages.py a.po b.po    # the given catalogues

Uses GNU ``msgfmt --check-format`` (what Django's ``compilemessages`` runs) when it is
installed, and otherwise a built-in compiler, so ``make run`` works on a machine without
gettext. The ``.mo`` files are build output (gitignored).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from pofile import PoSyntaxError, catalogues, parse, write_mo


def compile_one(po: Path, msgfmt: str | None) -> bool:
    mo = po.with_suffix(".mo")
    if msgfmt:
        result = subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(po)], check=False)
        return result.returncode == 0
    try:
        write_mo(parse(po), mo)
    except PoSyntaxError as exc:
        print(exc, file=sys.stderr)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--force", action="store_true", help="compile even when the .mo is up to date")
    parser.add_argument("--builtin", action="store_true", help="do not use GNU msgfmt")
    args = parser.parse_args(argv)
    msgfmt = None if args.builtin else shutil.which("msgfmt")
    files = args.files or catalogues()
    ok = True
    for po in files:
        mo = po.with_suffix(".mo")
        if args.files or args.force or not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            print(f"compiling {po}" + ("" if msgfmt else " (built-in compiler: GNU gettext not installed)"))
            ok = compile_one(po, msgfmt) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
