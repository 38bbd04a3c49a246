"""Bank payment lines are written once at export and updated once by the bank's answer.

With no index on a column the answer changes and room left in each page (fillfactor), a
results import of a million lines updates them in place (PostgreSQL's heap-only tuples)
instead of writing a new entry into every index per line; the unused pattern-ops index that
`unique=True` adds to the reference goes too (a unique constraint instead)."""

from collections.abc import Callable

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

_FILLFACTOR = 60


def _fillfactor(value: int) -> Callable[[StateApps, BaseDatabaseSchemaEditor], None]:
    def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite has no fillfactor; its updates rewrite the row either way
        schema_editor.execute(
            f"ALTER TABLE payments_bankpaymentline SET (fillfactor = {int(value)})"
        )

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_batch_checked_inputs"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="bankpaymentline",
            name="bank_payment_line_file_st",
        ),
        migrations.AlterField(
            model_name="bankpaymentline",
            name="reference",
            field=models.CharField(max_length=40, verbose_name="流水号"),
        ),
        migrations.AddConstraint(
            model_name="bankpaymentline",
            constraint=models.UniqueConstraint(
                fields=("reference",), name="bank_payment_line_reference"
            ),
        ),
        migrations.RunPython(_fillfactor(_FILLFACTOR), _fillfactor(100)),
    ]
