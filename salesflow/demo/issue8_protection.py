"""Demo data of customer protection (issue 8): a known-customer list from the "ERP" (some
of the demo accounts' companies, with owners and sales offices, plus customers the CRM does
not have yet), a lead routed to its known customer's owner, two open collisions and one
decided by the manager. Everything goes through the services, as a team would do it."""

from __future__ import annotations

from typing import Any

from salesflow.leads.models import Lead
from salesflow.leads.services import lead_create
from salesflow.parties.choices import SourceChannel
from salesflow.parties.models import Account, Contact
from salesflow.protection.models import Collision, KnownCustomer, KnownCustomerLoad
from salesflow.protection.services import collision_decide, known_customers_load
from salesflow.users.models import User

OFFICES = {"zhangwei": "华东销售处", "lina": "华东销售处", "liuyang": "华北销售处", "chenjing": "华北销售处"}
DEMO_SOURCE = "ERP-demo"  # the demo's list (removed with the demo)
DEMO_OPTIONS = {"duplicate_reason": "demo"}


def write_protection_demo(users: dict[str, User]) -> None:
    """Seed the list, one routed lead, two open collisions and one decided (deterministic)."""
    admin = next(u for u in users.values() if u.is_admin)
    east, east2, north, north2 = (users[n] for n in ("zhangwei", "lina", "liuyang", "chenjing"))
    manager = users["wang"]

    # 1. the ERP's customer list: the first two accounts of each rep, plus two not in the CRM
    listed: list[Account] = []
    rows: list[dict[str, Any]] = []
    for rep in (east, east2, north, north2):
        for account in Account.objects.filter(owner=rep).order_by("pk")[:2]:
            listed.append(account)
            rows.append(
                {
                    "company_name": account.name,
                    "credit_code": account.credit_code,
                    "owner": rep.display_name,
                    "sales_office": OFFICES[rep.username],
                    "external_id": f"ERP-{len(rows) + 1:04d}",
                }
            )
    rows.append({"company_name": "苏州恒川精密机械有限公司", "owner": east2.username, "sales_office": "华东销售处",
                 "external_id": "ERP-9001", "contact_name": "周建国"})  # fmt: skip
    rows.append({"company_name": "深圳南粤电子有限公司", "owner": "孙浩", "sales_office": "华南销售处",
                 "external_id": "ERP-9002"})  # fmt: skip
    known_customers_load(actor=admin, source_system=DEMO_SOURCE, rows=rows, file_name="ERP客户导出.xlsx")

    # 2. a web lead for a known customer of 李娜, entered by 张伟: routed to 李娜
    lead_create(
        actor=east,
        owner=east,
        name="周建国",
        title="设备部经理",
        company_name="苏州恒川精密机械",
        mobile="13962150188",
        source_channel=SourceChannel.INBOUND,
        need="询价：数控机床维保服务",
        intake_options=DEMO_OPTIONS,
    )

    # 3. collisions: 李娜 enters a lead at a company 张伟 holds; 陈静 a person 刘洋 has as a lead;
    #    张伟 a person who is a contact at 李娜's customer (decided: shared)
    skip = {a.pk for a in listed}
    listed_keys = {a.name_key for a in listed}
    held = (
        Account.objects.filter(owner=east)
        .exclude(pk__in=skip)
        .exclude(name_key__in=listed_keys)
        .exclude(credit_code__in=[a.credit_code for a in listed if a.credit_code])
        .order_by("pk")
        .first()
    )
    if held is not None:
        lead_create(
            actor=east2,
            owner=east2,
            name="吴立新",
            title="采购总监",
            company_name=held.name,
            mobile="13816620457",
            source_channel=SourceChannel.REFERRAL,
            intake_options=DEMO_OPTIONS,
        )
    lead = Lead.objects.filter(owner=north).exclude(mobile="").order_by("pk").first()
    if lead is not None:
        lead_create(
            actor=north2,
            owner=north2,
            name=lead.name,
            mobile=lead.mobile,
            source_channel=SourceChannel.OUTBOUND,
            notes="展会上认识的",
            intake_options=DEMO_OPTIONS,
        )
    contact = (
        Contact.objects.filter(account__owner=east2)
        .exclude(mobile="")
        .exclude(account_id__in=skip)
        .exclude(account__name_key__in=listed_keys)
        .order_by("pk")
        .first()
    )
    if contact is not None:
        mine = lead_create(
            actor=east,
            owner=east,
            name=contact.name,
            mobile=contact.mobile,
            source_channel=SourceChannel.REFERRAL,
            intake_options=DEMO_OPTIONS,
        )
        collision = Collision.objects.filter(new_kind="lead", new_id=mine.pk, status="open").first()
        if collision is not None:
            collision_decide(actor=manager, collision=collision, decision="share", note="两人共同跟进，张伟负责新项目")


def delete_protection_demo() -> int:
    """Remove the demo's known-customer list and its loads (``salesflow demo --delete``);
    collisions go with the demo users. Returns the rows deleted."""
    deleted = KnownCustomer.objects.filter(source_system=DEMO_SOURCE).delete()[0]
    return deleted + KnownCustomerLoad.objects.filter(source_system=DEMO_SOURCE).delete()[0]
