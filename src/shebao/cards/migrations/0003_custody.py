from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cards", "0002_applications_production_banking")]

    operations: list[migrations.operations.base.Operation] = []
