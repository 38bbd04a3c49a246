import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="Attempt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("scope", models.CharField(max_length=48, verbose_name="范围")),
                ("key", models.CharField(max_length=64, verbose_name="键")),
                ("ok", models.BooleanField(default=False, verbose_name="成功")),
                (
                    "at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="时间"),
                ),
            ],
            options={
                "verbose_name": "限流计数",
                "verbose_name_plural": "限流计数",
                "indexes": [
                    models.Index(fields=["scope", "key", "at"], name="sms_attempt_scope_key_at")
                ],
            },
        ),
        migrations.CreateModel(
            name="OneTimeCode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("purpose", models.CharField(max_length=32, verbose_name="用途")),
                ("subject", models.CharField(max_length=64, verbose_name="对象")),
                ("code_hash", models.CharField(max_length=64, verbose_name="验证码摘要")),
                ("salt", models.CharField(max_length=32, verbose_name="盐")),
                ("client", models.CharField(blank=True, max_length=64, verbose_name="客户端地址")),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="发送时间"
                    ),
                ),
                ("expires_at", models.DateTimeField(verbose_name="失效时间")),
                (
                    "attempts",
                    models.PositiveSmallIntegerField(default=0, verbose_name="已尝试次数"),
                ),
                ("used_at", models.DateTimeField(blank=True, null=True, verbose_name="使用时间")),
            ],
            options={
                "verbose_name": "短信验证码",
                "verbose_name_plural": "短信验证码",
                "indexes": [
                    models.Index(
                        fields=["purpose", "subject", "created_at"], name="sms_code_subject_at"
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("expires_at__gt", models.F("created_at"))),
                        name="sms_code_expires_later",
                    )
                ],
            },
        ),
    ]
