"""Card-number series of different issuing regions must not share a prefix.

Before this, every region's series was created with the empty prefix, so a second region
would have spelled the first region's numbers. Rows that share a prefix keep it on the one
that has issued the most numbers; the others take the first free letter (letter series
never overlap all-digit ones), then the prefix becomes unique."""

from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _separate_shared_prefixes(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    card_series = apps.get_model("cards", "CardSeries")
    rows = list(card_series.objects.order_by("-next_number", "pk"))
    taken: set[str] = set()
    for row in rows:
        if row.prefix not in taken:
            taken.add(row.prefix)
            continue
        letter = next(ch for ch in _LETTERS if not any(p.startswith(ch) for p in taken))
        row.prefix = letter
        row.save(update_fields=["prefix"])
        taken.add(letter)


class Migration(migrations.Migration):
    dependencies = [
        ("cards", "0006_issuing_policy_free_renewal_reasons"),
    ]

    operations = [
        migrations.RunPython(_separate_shared_prefixes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="cardseries",
            name="prefix",
            field=models.CharField(blank=True, max_length=7, unique=True, verbose_name="卡号前缀"),
        ),
    ]
