"""The project documents itself: docs/ exists, is linked from the README, names every app,
and the glossary's zh-Hans terms are the ones the catalogues use."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"


def _catalogue_terms() -> set[str]:
    terms: set[str] = set()
    for po in (ROOT / "salesflow").glob("**/locale/zh_Hans/LC_MESSAGES/django.po"):
        # a msgstr may be wrapped over several lines ("" then continuation lines)
        for first, rest in re.findall(
            r'^msgstr "(.*)"\n((?:".*"\n)*)', po.read_text(encoding="utf-8"), flags=re.MULTILINE
        ):
            terms.add(first + "".join(line[1:-1] for line in rest.splitlines()))
    return terms


def test_docs_exist_and_the_readme_links_them():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("architecture.md", "glossary.md", "deployment.md"):
        assert (DOCS / name).is_file()
        assert f"docs/{name}" in readme


def test_architecture_names_every_app_and_the_contracts_cover_them():
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    apps = [app.rsplit(".", 1)[1] for app in settings.INSTALLED_APPS if app.startswith("salesflow.")]
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layered = [c for c in config["contracts"] if c["type"] == "layers"]
    [order] = [c for c in layered if "containers" not in c]
    [inner] = [c for c in layered if "containers" in c]
    # a layer may hold independent siblings: "salesflow.attachments | salesflow.search"
    ordered = {name.strip() for layer in order["layers"] for name in layer.split("|")}
    for app in apps:
        assert f"  {app}/" in text, f"docs/architecture.md does not describe the app {app!r}"
        assert f"salesflow.{app}" in ordered, f"{app!r} is missing from the app-order contract"
        assert f"salesflow.{app}" in inner["containers"], f"{app!r} is missing from the in-app layers contract"


def test_glossary_terms_are_the_catalogues_terms():
    """Each zh-Hans term of the glossary (second column) is a translation in some catalogue,
    unless it is marked as proposed for a part that is not built yet."""
    known = _catalogue_terms()
    missing = []
    for line in (DOCS / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("English", "---") or "(proposed)" in cells[1]:
            continue
        for term in cells[1].split(" / "):
            if term != "BANT" and not any(term in msgstr for msgstr in known):
                missing.append(term)
    assert missing == []
