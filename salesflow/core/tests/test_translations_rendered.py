"""The project's translations are what users see: no other catalogue overrides them."""

from __future__ import annotations

import sys
from pathlib import Path

from django.utils import translation

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))

from rendered_translations import problems


def test_no_project_message_is_overridden_or_translated_twice() -> None:
    assert problems() == []


def test_project_terms_win_over_djangos_own() -> None:
    """Django's admin translates "Filter" as 过滤器 and forms' "Email" as 电子邮件; ours win."""
    # through aliases, so makemessages does not collect these test strings
    render, render_in = translation.gettext, translation.pgettext
    with translation.override("zh-hans"):
        assert render("Filter") == "筛选"
        assert render("Email") == "邮箱"
        assert render("active") == "启用"
        assert render_in("notification channel", "Email") == "邮件"
        assert render_in("buying role", "User") == "使用者"
        assert render_in("board", "Pipeline") == "销售看板"
        assert render_in("forecast category", "Pipeline") == "销售漏斗"
        assert render("Pipeline") == "商机流程"
        assert render("Salesflow") == "销售流程"
