"""Seed the standard reasons for disqualifying a lead."""

from django.db import migrations

REASONS = [
    ("no_need", "No need", "无需求"),
    ("no_budget", "No budget", "无预算"),
    ("no_authority", "Cannot reach a decision maker", "无法接触决策人"),
    ("bad_data", "Wrong or unreachable contact data", "联系方式错误或无法联系"),
    ("duplicate", "Duplicate", "重复线索"),
    ("existing_customer", "Existing customer", "已是老客户"),
    ("competitor", "Competitor or student", "竞争对手或学生"),
    ("other", "Other", "其他"),
]


def seed(apps, schema_editor):
    DisqualifyReason = apps.get_model("leads", "DisqualifyReason")
    for position, (code, en, zh) in enumerate(REASONS):
        DisqualifyReason.objects.get_or_create(code=code, defaults={"name_en": en, "name_zh": zh, "position": position})


class Migration(migrations.Migration):
    dependencies = [("leads", "0004_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
