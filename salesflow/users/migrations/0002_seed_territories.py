"""Seed a territory tree for mainland China (country → region → province-level division)."""

from django.db import migrations

TREE = {
    ("cn", "中国"): {
        ("east", "华东"): [
            ("shanghai", "上海"),
            ("jiangsu", "江苏"),
            ("zhejiang", "浙江"),
            ("shandong", "山东"),
            ("anhui", "安徽"),
            ("fujian", "福建"),
        ],
        ("north", "华北"): [("beijing", "北京"), ("tianjin", "天津"), ("hebei", "河北"), ("shanxi", "山西")],
        ("south", "华南"): [("guangdong", "广东"), ("guangxi", "广西"), ("hainan", "海南")],
        ("central", "华中"): [("hubei", "湖北"), ("hunan", "湖南"), ("henan", "河南"), ("jiangxi", "江西")],
        ("southwest", "西南"): [("sichuan", "四川"), ("chongqing", "重庆"), ("yunnan", "云南"), ("guizhou", "贵州")],
        ("northwest", "西北"): [("shaanxi", "陕西"), ("gansu", "甘肃"), ("xinjiang", "新疆")],
        ("northeast", "东北"): [("liaoning", "辽宁"), ("jilin", "吉林"), ("heilongjiang", "黑龙江")],
    }
}


def seed(apps, schema_editor):
    Territory = apps.get_model("users", "Territory")
    for (code, name), regions in TREE.items():
        country, _ = Territory.objects.get_or_create(code=code, defaults={"name": name})
        for (rcode, rname), provinces in regions.items():
            region, _ = Territory.objects.get_or_create(code=rcode, defaults={"name": rname, "parent": country})
            for pcode, pname in provinces:
                Territory.objects.get_or_create(code=pcode, defaults={"name": pname, "parent": region})


class Migration(migrations.Migration):
    dependencies = [("users", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
