"""Personal data at rest (ADR 0017): a survey's phone and free-text answer are sealed with SM4-GCM;
the columns become text, then the existing rows are sealed in chunks inside the migration's
transaction."""

from django.db import migrations

import shebao.vault.fields
from shebao.vault.columns import seal_column, unseal_column

SEALED = [("registration_surveyrecord", "phone"), ("registration_surveyrecord", "note")]


def seal(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table, column in SEALED:
        seal_column(table, column)


def unseal(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table, column in SEALED:
        unseal_column(table, column)


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0004_survey_visit_outcome"),
    ]

    operations = [
        migrations.AlterField(
            model_name="surveyrecord",
            name="note",
            field=shebao.vault.fields.EncryptedTextField(
                blank=True, max_length=255, verbose_name="备注"
            ),
        ),
        migrations.AlterField(
            model_name="surveyrecord",
            name="phone",
            field=shebao.vault.fields.EncryptedTextField(
                blank=True, max_length=16, verbose_name="联系电话"
            ),
        ),
        migrations.RunPython(seal, unseal),
    ]
