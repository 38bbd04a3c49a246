"""The eight national insurance scheme codes (AAE140). Inlined: migrations never import
live app code."""

from django.db import migrations

SCHEMES = [
    ("110", "企业职工基本养老保险", "pension"),
    ("120", "机关事业单位养老保险", "pension"),
    ("170", "城乡居民基本养老保险", "pension"),
    ("210", "失业保险", "unemployment"),
    ("310", "职工基本医疗保险", "medical"),
    ("390", "城乡居民基本医疗保险", "medical"),
    ("410", "工伤保险", "work_injury"),
    ("510", "生育保险", "maternity"),
]


def load(apps, schema_editor):
    Scheme = apps.get_model("registry", "Scheme")
    for code, name, group in SCHEMES:
        Scheme.objects.update_or_create(code=code, defaults={"name": name, "group": group})


def unload(apps, schema_editor):
    apps.get_model("registry", "Scheme").objects.filter(
        code__in=[c for c, _, _ in SCHEMES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
