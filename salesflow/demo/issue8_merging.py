"""Issue 8 demo data (merging): duplicate pairs to find and merge, and one pending access
request. The pairs are made from existing demo records (so the demo's counts stay as they
are), the way they arise in practice, and saved "anyway" with a reason as a rep would:

- 张伟 typed a trade-show lead's mobile into another of his leads (same mobile and company);
- 张伟 renamed one account to another's name with another legal form (same company);
- one of 张伟's accounts has the same person twice (same mobile);
- 李娜 found a lead of 刘洋's (another team) as a possible duplicate and asked for access.

Everything goes through the services (intake checks, audit) with ``duplicate_reason``.
"""

from __future__ import annotations

import re

from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_update
from salesflow.merging.services import access_request_create
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import account_update, contact_update
from salesflow.users.models import User

SUFFIX = re.compile(r"(股份有限公司|有限责任公司|有限公司|集团)$")


def other_legal_form(name: str) -> str:
    """The same company name with another legal-form suffix (the matcher ignores it)."""
    stem = SUFFIX.sub("", name)
    return f"{stem}有限公司" if name.endswith("股份有限公司") else f"{stem}股份有限公司"


def write_merging_demo(users: dict[str, User]) -> int:
    """Make the duplicate pairs and the access request; returns the number of pairs made."""
    rep, other, north = users["zhangwei"], users["lina"], users["liuyang"]
    pairs = 0
    leads = list(Lead.objects.filter(owner=rep, status=LeadStatus.NEW).exclude(mobile="").exclude(company_name="")[:2])
    if len(leads) == 2:
        original, copy = leads
        lead_update(
            actor=rep,
            lead=copy,
            name=f"{original.name}（展会）",
            mobile=original.mobile,
            company_name=original.company_name,
            intake_options={"duplicate_reason": "展会名单又录了一遍，回头核实后合并"},
        )
        pairs += 1
    accounts = [a for a in Account.objects.filter(owner=rep).order_by("pk")[:20] if SUFFIX.search(a.name)][:2]
    if len(accounts) == 2:
        account_update(
            actor=rep,
            account=accounts[1],
            name=other_legal_form(accounts[0].name),  # the same company, another legal form
            intake_options={"duplicate_reason": "客户说是新成立的公司，待确认"},
        )
        pairs += 1
    for account in Account.objects.filter(owner=rep).order_by("pk")[:50]:
        people = list(Contact.objects.filter(account=account).exclude(mobile="").order_by("pk")[:2])
        if len(people) == 2:
            contact_update(
                actor=rep,
                contact=people[1],
                name=people[0].name,
                mobile=people[0].mobile,
                intake_options={"duplicate_reason": "名片上的职务不同，先单独记下"},
            )
            pairs += 1
            break
    theirs = Lead.objects.filter(owner=north).exclude(mobile="").order_by("pk").first()
    if theirs is not None:
        access_request_create(
            actor=other,
            kind="lead",
            object_id=theirs.pk,
            message="客户也联系了我们华东这边，想看一下跟进情况。",
        )
    return pairs
