"""The rule engine (pure): a lead's features, each rule's match, the total and its explanation.

``features_for`` reads what the rules look at for a batch of leads in a fixed number of
queries (one per distinct activity look-back, plus two), whatever the batch size.
``score`` is deterministic: the same features and rules give the same total,
contributions and ``inputs_hash``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q

from salesflow.activities.models import Activity
from salesflow.leads.choices import BantAnswer
from salesflow.leads.models import Lead
from salesflow.parties.choices import SubChannel
from salesflow.parties.models import Account
from salesflow.scoring.choices import RuleAttribute, RuleOperator
from salesflow.scoring.models import ScoreRule

#: The sub-channel of leads that came in through a web-to-lead form (线索表单).
WEB_FORM_SUB_CHANNEL = SubChannel.WEBSITE

NUMERIC_ATTRIBUTES = frozenset({RuleAttribute.ACTIVITIES, RuleAttribute.FORM_SUBMISSIONS, RuleAttribute.BANT_KNOWN})


@dataclass(frozen=True)
class LeadFeatures:
    """What the rules see of one lead.

    ``size`` is the company size of the lead's account (the converted account, else an
    account with the same company key); ``region`` the region's code; ``activities`` the
    number of activities logged on the lead in the last N days, per look-back N;
    ``form_submissions`` the number of leads (this one included) with the same mobile or
    email that came in through a web form; ``bant_known`` how many of the four BANT items
    are known (0–4).
    """

    industry: str = ""
    size: str = ""
    region: str = ""
    title: str = ""
    source_channel: str = ""
    sub_channel: str = ""
    activities: dict[int, int] = field(default_factory=dict)
    form_submissions: int = 0
    bant_known: int = 0


def bant_known(lead: Lead) -> int:
    """How many of budget, authority, need and timeline are known on ``lead``."""
    return sum(
        (
            lead.budget_status != BantAnswer.UNKNOWN,
            lead.authority_status != BantAnswer.UNKNOWN,
            bool((lead.need or "").strip()),
            lead.timeline is not None,
        )
    )


def split_values(value: str) -> list[str]:
    """A rule's comma-separated value (``,`` or ``，``) as trimmed, lower-cased items."""
    return [item.strip().lower() for item in value.replace("，", ",").split(",") if item.strip()]


def _value_of(rule: ScoreRule, f: LeadFeatures) -> str | int:
    attribute = rule.attribute
    if attribute == RuleAttribute.ACTIVITIES:
        return f.activities.get(rule.window_days, 0)
    if attribute == RuleAttribute.FORM_SUBMISSIONS:
        return f.form_submissions
    if attribute == RuleAttribute.BANT_KNOWN:
        return f.bant_known
    return str(getattr(f, str(attribute), "") or "")


def matches(rule: ScoreRule, f: LeadFeatures) -> bool:
    """Whether ``rule`` applies to a lead with features ``f`` (an invalid value never matches)."""
    actual = _value_of(rule, f)
    op = rule.operator
    if isinstance(actual, int):
        try:
            wanted = int(rule.value.strip())
        except ValueError:
            return False
        if op == RuleOperator.EQ:
            return actual == wanted
        if op == RuleOperator.GTE:
            return actual >= wanted
        if op == RuleOperator.LTE:
            return actual <= wanted
        return False
    text = actual.lower()
    items = split_values(rule.value)
    if op == RuleOperator.EQ:
        return bool(text) and text == rule.value.strip().lower()
    if op == RuleOperator.IN:
        return bool(text) and text in items
    if op == RuleOperator.CONTAINS:
        return bool(text) and any(item in text for item in items)
    return False


def rule_fingerprint(rules: Sequence[ScoreRule]) -> list[Any]:
    return [[r.pk, r.category, r.attribute, r.operator, r.value, r.window_days, r.points] for r in rules]


def score(features: LeadFeatures, rules: Sequence[ScoreRule]) -> tuple[int, list[dict[str, Any]], str]:
    """(total, contributions, inputs_hash) of a lead under the active ``rules`` (in order).

    Every rule appears in the contributions, with ``points`` 0 when it did not match, so
    the page can show why a lead did not earn them.
    """
    contributions: list[dict[str, Any]] = []
    total = 0
    for rule in rules:
        hit = matches(rule, features)
        points = rule.points if hit else 0
        total += points
        contributions.append(
            {"rule": rule.pk, "label": rule.label, "category": rule.category, "points": points, "matched": hit}
        )
    payload = json.dumps([asdict(features), rule_fingerprint(rules)], sort_keys=True, default=str)
    return total, contributions, hashlib.sha256(payload.encode()).hexdigest()


def features_for(leads: Iterable[Lead], *, windows: Iterable[int], now: datetime) -> dict[int, LeadFeatures]:
    """The features of ``leads`` (loaded with ``region``), keyed by lead id, in a fixed
    number of queries: accounts for the size, one count per look-back, web-form leads."""
    leads = list(leads)
    if not leads:
        return {}
    ids = [lead.pk for lead in leads]
    keys = {lead.company_key for lead in leads if lead.company_key}
    converted = {lead.converted_account_id for lead in leads if lead.converted_account_id}
    size_by_id: dict[int, str] = {}
    size_by_key: dict[str, str] = {}
    if keys or converted:
        rows = Account.objects.filter(Q(pk__in=converted) | Q(name_key__in=keys)).values_list("pk", "name_key", "size")
        for pk, key, size in rows.order_by("pk"):
            size_by_id[pk] = size
            if key and size:
                size_by_key.setdefault(key, size)
    counts: dict[int, dict[int, int]] = {}
    for days in sorted(set(windows)):
        since = now - timedelta(days=days)
        rows_n = (
            Activity.objects.filter(lead_id__in=ids, created_at__gte=since)
            .values("lead_id")
            .annotate(n=Count("id"))
            .values_list("lead_id", "n")
        )
        for lead_id, n in rows_n:
            counts.setdefault(lead_id, {})[days] = n
    mobiles = {lead.mobile for lead in leads if lead.mobile}
    emails = {lead.email for lead in leads if lead.email}
    web: list[tuple[int, str, str]] = []
    if mobiles or emails:
        web = list(
            Lead.objects.filter(sub_channel=WEB_FORM_SUB_CHANNEL)
            .filter(Q(mobile__in=mobiles) | Q(email__in=emails))
            .values_list("pk", "mobile", "email")
        )
    out: dict[int, LeadFeatures] = {}
    for lead in leads:
        submissions = sum(
            1
            for pk, mobile, email in web
            if (lead.mobile and mobile == lead.mobile) or (lead.email and email == lead.email)
        )
        size = size_by_id.get(lead.converted_account_id or 0) or size_by_key.get(lead.company_key, "")
        out[lead.pk] = LeadFeatures(
            industry=lead.industry,
            size=size,
            region=lead.region.code if lead.region_id is not None and lead.region is not None else "",
            title=lead.title,
            source_channel=lead.source_channel,
            sub_channel=lead.sub_channel,
            activities={days: counts.get(lead.pk, {}).get(days, 0) for days in sorted(set(windows))},
            form_submissions=submissions,
            bant_known=bant_known(lead),
        )
    return out
