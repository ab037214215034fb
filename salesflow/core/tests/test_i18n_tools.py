"""The catalogue tools in scripts/: .po parsing, the built-in .mo compiler, the translations check."""

from __future__ import annotations

import gettext
import importlib
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"
sys.path.insert(0, str(SCRIPTS))
pofile = importlib.import_module("pofile")
check_translations = importlib.import_module("check_translations")

HEADER = textwrap.dedent(
    """\
    # Translations.
    #, fuzzy
    msgid ""
    msgstr ""
    "Content-Type: text/plain; charset=UTF-8\\n"
    "Language: zh_Hans\\n"
    "Plural-Forms: nplurals=1; plural=0;\\n"
    """
)

SAMPLE = HEADER + textwrap.dedent(
    """
    #: leads/views.py:10
    msgid "Leads"
    msgstr "线索"

    #: leads/views.py:11
    #, python-format
    msgid "%(count)s lead"
    msgid_plural "%(count)s leads"
    msgstr[0] "%(count)s 条线索"

    msgctxt "stage"
    msgid "Won"
    msgstr "赢单"

    #, fuzzy
    msgid "Lost"
    msgstr "丢单"

    msgid "Untranslated"
    msgstr ""

    msgid ""
    "Two "
    "lines\\n"
    msgstr ""
    "两"
    "行\\n"
    #~ msgid "Old"
    #~ msgstr "旧"
    """
)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_parse_reads_every_kind_of_entry(tmp_path):
    entries = pofile.parse(_write(tmp_path / "django.po", SAMPLE))
    by_key = {e.key: e for e in entries}
    assert len(entries) == 7  # header + 6, the obsolete one is dropped
    assert by_key[(None, "")].is_header and by_key[(None, "")].fuzzy
    assert by_key[(None, "Leads")].msgstr == "线索"
    assert by_key[(None, "Leads")].references == ["leads/views.py:10"]
    plural = by_key[(None, "%(count)s lead")]
    assert plural.msgid_plural == "%(count)s leads" and plural.msgstr_plural == {0: "%(count)s 条线索"}
    assert plural.flags == {"python-format"} and plural.translated
    assert by_key[("stage", "Won")].msgstr == "赢单"
    assert by_key[(None, "Lost")].fuzzy
    assert not by_key[(None, "Untranslated")].translated
    assert by_key[(None, "Two lines\n")].msgstr == "两行\n"
    assert (None, "Old") not in by_key


def test_builtin_compiler_output_reads_like_msgfmt(tmp_path):
    po = _write(tmp_path / "django.po", SAMPLE)
    mo = tmp_path / "django.mo"
    assert pofile.write_mo(pofile.parse(po), mo) == 5  # header + 4 translated, not fuzzy
    catalog = gettext.GNUTranslations(mo.open("rb"))
    # Aliases, so that makemessages does not extract these test strings into the catalogue.
    tr, ntr, ptr = catalog.gettext, catalog.ngettext, catalog.pgettext
    assert tr("Leads") == "线索"
    assert ntr("%(count)s lead", "%(count)s leads", 5) == "%(count)s 条线索"
    assert ptr("stage", "Won") == "赢单"
    assert tr("Lost") == "Lost"  # fuzzy entries are not used
    assert tr("Untranslated") == "Untranslated"
    assert tr("Two lines\n") == "两行\n"
    assert catalog.info()["plural-forms"] == "nplurals=1; plural=0;"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext is not installed")
def test_builtin_compiler_matches_msgfmt(tmp_path):
    import subprocess

    po = _write(tmp_path / "django.po", SAMPLE)
    subprocess.run(["msgfmt", "-o", str(tmp_path / "gnu.mo"), str(po)], check=True)
    pofile.write_mo(pofile.parse(po), tmp_path / "ours.mo")
    gnu = gettext.GNUTranslations((tmp_path / "gnu.mo").open("rb"))
    ours = gettext.GNUTranslations((tmp_path / "ours.mo").open("rb"))
    assert ours._catalog == gnu._catalog  # type: ignore[attr-defined]


def test_parse_rejects_garbage(tmp_path):
    with pytest.raises(pofile.PoSyntaxError, match=r"django\.po:2"):
        pofile.parse(_write(tmp_path / "django.po", 'msgid "a"\nmsgstr oops\n'))


SOURCE = textwrap.dedent(
    """\
    from django.utils.translation import gettext_lazy as _

    LABELS = [_("Leads"), _("Won"), _("Brand new message")]
    """
)


def _package(tmp_path: Path, catalogue: str) -> Path:
    package = tmp_path / "salesflow"
    _write(package / "__init__.py", "")
    _write(package / "leads" / "labels.py", SOURCE)
    _write(package / "leads" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po", catalogue)
    return package


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_check_reports_untranslated_fuzzy_and_missing_messages(tmp_path, capsys):
    catalogue = HEADER + '\nmsgid "Leads"\nmsgstr ""\n\n#, fuzzy\nmsgid "Won"\nmsgstr "赢"\n'
    package = _package(tmp_path, catalogue)
    before = (package / "leads/locale/zh_Hans/LC_MESSAGES/django.po").read_bytes()

    assert check_translations.main(package) == 1
    out = capsys.readouterr().out
    assert "FAIL salesflow/leads/locale/zh_Hans/LC_MESSAGES/django.po" in out
    assert "1 untranslated entries" in out and ": Leads" in out
    assert "1 fuzzy entries" in out and ": Won" in out
    assert "1 messages in the source are missing" in out
    assert "salesflow/leads/labels.py:3: Brand new message" in out
    # The committed catalogue is never modified.
    assert (package / "leads/locale/zh_Hans/LC_MESSAGES/django.po").read_bytes() == before
    assert not list(package.rglob("*.mo"))


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_check_passes_a_complete_catalogue(tmp_path, capsys):
    catalogue = (
        HEADER
        + '\nmsgid "Leads"\nmsgstr "线索"\n\nmsgid "Won"\nmsgstr "赢单"\n\nmsgid "Brand new message"\nmsgstr "新消息"\n'
    )
    package = _package(tmp_path, catalogue)
    assert check_translations.main(package) == 0
    assert "ok   salesflow/leads/locale/zh_Hans/LC_MESSAGES/django.po (3 messages)" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext is not installed")
def test_check_reports_broken_placeholders(tmp_path, capsys):
    source = 'from django.utils.translation import gettext as _\n\nX = _("Hello %(name)s") % {"name": 1}\n'
    catalogue = HEADER + '\n#, python-format\nmsgid "Hello %(name)s"\nmsgstr "你好 %(nom)s"\n'
    package = tmp_path / "salesflow"
    _write(package / "app" / "x.py", source)
    _write(package / "app" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po", catalogue)
    assert check_translations.main(package) == 1
    assert "msgfmt --check-format failed" in capsys.readouterr().out
