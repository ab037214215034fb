"""Words that mean different things in different places keep their own Chinese translation
(Django merges all catalogues, so a bare msgid would take whichever app comes first)."""

from __future__ import annotations

from django.utils import translation

from salesflow.activities.choices import ActivityKind
from salesflow.leads.models import Lead
from salesflow.parties.models import Account, Contact
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Stage


def test_context_sensitive_labels_in_chinese():
    with translation.override("zh-hans"):
        assert str(ActivityKind.EMAIL.label) == "邮件"
        assert str(Lead._meta.get_field("name").verbose_name) == "姓名"
        assert str(Contact._meta.get_field("name").verbose_name) == "姓名"
        assert str(Account._meta.get_field("name").verbose_name) == "名称"
        assert str(Stage._meta.get_field("position").verbose_name) == "顺序"
        assert str(Contact._meta.get_field("title").verbose_name) == "职位"
        assert str(Outcome.WON.label) == "赢单"


def test_same_labels_in_english():
    with translation.override("en"):
        assert str(ActivityKind.EMAIL.label) == "Email"
        assert str(Lead._meta.get_field("name").verbose_name) == "name"
        assert str(Stage._meta.get_field("position").verbose_name) == "position"
