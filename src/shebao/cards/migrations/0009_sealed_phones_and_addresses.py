"""Personal data at rest (ADR 0017): the phones and postal/visit addresses of card
applications, postal dispatches and home-service appointments are sealed with SM4-GCM. The
columns become text, then the existing rows are sealed in chunks inside the migration's
transaction."""

from django.db import migrations

import shebao.vault.fields
from shebao.vault.columns import seal_column, unseal_column

SEALED = [
    ("cards_application", "phone"),
    ("cards_application", "postal_address"),
    ("cards_postaldispatch", "address"),
    ("cards_postaldispatch", "phone"),
    ("cards_homeserviceappointment", "phone"),
    ("cards_homeserviceappointment", "address"),
]


def seal(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table, column in SEALED:
        seal_column(table, column)


def unseal(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table, column in SEALED:
        unseal_column(table, column)


class Migration(migrations.Migration):
    dependencies = [
        ("cards", "0008_home_service_appointments"),
    ]

    operations = [
        migrations.AlterField(
            model_name="application",
            name="phone",
            field=shebao.vault.fields.EncryptedTextField(
                blank=True, max_length=32, verbose_name="联系电话"
            ),
        ),
        migrations.AlterField(
            model_name="application",
            name="postal_address",
            field=shebao.vault.fields.EncryptedTextField(
                blank=True, max_length=255, verbose_name="邮寄地址"
            ),
        ),
        migrations.AlterField(
            model_name="homeserviceappointment",
            name="address",
            field=shebao.vault.fields.EncryptedTextField(max_length=255, verbose_name="上门地址"),
        ),
        migrations.AlterField(
            model_name="homeserviceappointment",
            name="phone",
            field=shebao.vault.fields.EncryptedTextField(max_length=20, verbose_name="联系电话"),
        ),
        migrations.AlterField(
            model_name="postaldispatch",
            name="address",
            field=shebao.vault.fields.EncryptedTextField(max_length=255, verbose_name="邮寄地址"),
        ),
        migrations.AlterField(
            model_name="postaldispatch",
            name="phone",
            field=shebao.vault.fields.EncryptedTextField(
                blank=True, max_length=32, verbose_name="收件电话"
            ),
        ),
        migrations.RunPython(seal, unseal),
    ]
