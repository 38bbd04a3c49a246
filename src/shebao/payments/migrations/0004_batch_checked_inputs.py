from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_failure_closing_recovery_actions"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentbatch",
            name="checked_inputs",
            field=models.CharField(
                blank=True, default="", max_length=64, verbose_name="校验时数据摘要"
            ),
        ),
    ]
