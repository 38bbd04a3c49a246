"""Personal data at rest (ADR 0017): phones, addresses, change history values and photos are
sealed with SM4-GCM. The columns become text, then the existing rows are sealed in chunks with
raw SQL and one cipher, and the existing photo files rewritten sealed, all inside the
migration's transaction for the rows (a half-sealed column never lands)."""

from django.db import migrations, models

import shebao.vault.fields
import shebao.vault.storage
from shebao.vault.columns import seal_column, seal_files, unseal_column, unseal_files

SEALED = [
    ("registry_household", "address"),
    ("registry_person", "phone"),
    ("registry_personchange", "old_value"),
    ("registry_personchange", "new_value"),
]


def seal(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table, column in SEALED:
        seal_column(table, column)
    seal_files("registry_person", "photo")


def unseal(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table, column in SEALED:
        unseal_column(table, column)
    unseal_files("registry_person", "photo")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0002_load_schemes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="household",
            name="address",
            field=shebao.vault.fields.EncryptedTextField(
                blank=True, max_length=255, verbose_name="住址"
            ),
        ),
        migrations.AlterField(
            model_name="person",
            name="phone",
            field=shebao.vault.fields.EncryptedTextField(
                blank=True, max_length=16, verbose_name="联系电话"
            ),
        ),
        migrations.AlterField(
            model_name="person",
            name="photo",
            field=models.FileField(
                blank=True,
                storage=shebao.vault.storage.EncryptedFileSystemStorage(),
                upload_to="photos/%Y/",
                verbose_name="照片",
            ),
        ),
        migrations.AlterField(
            model_name="personchange",
            name="new_value",
            field=shebao.vault.fields.EncryptedTextField(
                blank=True, max_length=255, verbose_name="新值"
            ),
        ),
        migrations.AlterField(
            model_name="personchange",
            name="old_value",
            field=shebao.vault.fields.EncryptedTextField(
                blank=True, max_length=255, verbose_name="原值"
            ),
        ),
        migrations.RunPython(seal, unseal),
    ]
