"""Demo data of imports (issue 8): one finished import with an error report.

张伟 imported a contact list exported from a trade fair's badge scanner (Chinese headers):
three contacts landed at his accounts, one row was already in the CRM (same mobile) and
two rows were rejected (a mobile that is not a mobile; an account he cannot see), so the
job page shows counts, a downloadable error report and the rollback button.
"""

from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count

from salesflow.imports.models import ImportJob
from salesflow.imports.services import import_execute, import_start, import_upload
from salesflow.parties.models import Account, Contact
from salesflow.users.models import User

FILE_NAME = "2026春季展会名片.csv"


def write_demo_import(users: dict[str, User]) -> ImportJob | None:
    """Import the fair's contact list as 张伟 (``zhangwei``); ``None`` without his accounts."""
    rep = users["zhangwei"]
    # accounts with room for one more contact (the generator gives each one to three)
    # (and a name key no other account has: the merging demo saves a same-named account on purpose)
    shared = Account.objects.values("name_key").annotate(n=Count("id")).filter(n__gt=1).values("name_key")
    mine = Account.objects.filter(owner=rep).exclude(name_key__in=shared)
    accounts = list(mine.annotate(n=Count("contacts")).filter(n__lt=3).order_by("pk")[:3])
    existing = Contact.objects.filter(account__in=mine).exclude(mobile="").order_by("pk").first()
    if len(accounts) < 3 or existing is None:
        return None
    rows: list[list[str]] = [["客户名称", "联系人姓名", "职务", "手机", "邮箱", "备注"]]
    rows += [
        [accounts[0].name, "展会·孙立", "采购经理", "13761110001", "sunli@example.cn", "春季展会 A3 展位"],
        [accounts[1].name, "展会·周雪", "IT 总监", "13761110002", "", "对数据平台感兴趣"],
        [accounts[2].name, "展会·吴昊", "总经理", "13761110003", "wuhao@example.cn", "约了下周拜访"],
        [existing.account.name, existing.name, existing.title, existing.mobile, "", "老客户，已在系统中"],
        [accounts[0].name, "展会·郑敏", "工程师", "12345", "", "手机号抄错了"],
        ["未知贸易有限公司", "展会·冯涛", "销售", "13761110006", "", "客户不在系统中"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    upload = SimpleUploadedFile(FILE_NAME, buffer.getvalue().encode("utf-8-sig"))
    job = import_upload(actor=rep, kind="contact", upload=upload)
    import_start(actor=rep, job=job, mode="valid_rows")
    return import_execute(job_id=job.pk)
