"""Test data for routing: forms, rules and leads created through the services."""

from __future__ import annotations

import itertools
from typing import Any

from salesflow.leads.models import Lead
from salesflow.leads.services import lead_create
from salesflow.routing.models import AssignmentRule, LeadCaptureForm
from salesflow.routing.services import form_create, rule_create
from salesflow.users.services import system_actor

_serial = itertools.count(1)


def make_form(**values: Any) -> LeadCaptureForm:
    defaults: dict[str, Any] = {
        "name": "官网联系表单",
        "source_channel": "inbound",
        "sub_channel": "website",
        "campaign": "官网",
        "fields": ["name", "company_name", "mobile", "email", "need"],
        "required_fields": ["name", "mobile"],
    }
    defaults.update(values)
    return form_create(actor=system_actor(), **defaults)


def make_rule(**values: Any) -> AssignmentRule:
    values.setdefault("name", f"规则{next(_serial)}")
    values.setdefault("strategy", "round_robin")
    return rule_create(actor=system_actor(), **values)


def intake_lead(**values: Any) -> Lead:
    """An unassigned lead created by the system actor (the intake checks run)."""
    n = next(_serial)
    values.setdefault("name", f"访客{n}")
    values.setdefault("mobile", f"139{n:08d}")
    values.setdefault("source_channel", "inbound")
    values.setdefault("company_name", f"路由测试公司{n}")
    values.setdefault("owner", None)
    values.setdefault("intake_options", {"duplicate_reason": "test"})
    return lead_create(actor=system_actor(), **values)
