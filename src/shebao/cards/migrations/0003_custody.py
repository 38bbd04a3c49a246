"""Custody chain: handovers and their items, signing sheets (领卡签收表) and pickups, the
issuing policy, reissue records (issue #4, §5–§6)."""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_audit_append_only_triggers"),
        ("cards", "0002_applications_production_banking"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CardIssuingPolicy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "recall_after_days",
                    models.PositiveIntegerField(
                        default=90,
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="逾期未领回收天数",
                    ),
                ),
                (
                    "subsidy_per_card",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        max_digits=8,
                        verbose_name="每张卡工作补助经费（元）",
                    ),
                ),
                (
                    "temporary_loss_days",
                    models.PositiveIntegerField(
                        default=5,
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="临时挂失有效天数",
                    ),
                ),
                (
                    "replacement_fee",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        max_digits=8,
                        null=True,
                        verbose_name="补领工本费（元）",
                    ),
                ),
                (
                    "renewal_fee",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        max_digits=8,
                        null=True,
                        verbose_name="换领工本费（元）",
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="更新时间"
                    ),
                ),
            ],
            options={
                "verbose_name": "发卡业务参数",
                "verbose_name_plural": "发卡业务参数",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("recall_after_days__gte", 1), ("temporary_loss_days__gte", 1)
                        ),
                        name="issuing_policy_days_positive",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("subsidy_per_card__gte", 0)),
                        name="issuing_policy_subsidy_nonnegative",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Handover",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.CharField(max_length=32, unique=True, verbose_name="交接单号")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("cards", "卡片下发"),
                            ("recall", "逾期卡片回收"),
                            ("receipts", "领卡签收表上交"),
                        ],
                        max_length=16,
                        verbose_name="交接类型",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "草稿"),
                            ("dispatched", "已移交待接收"),
                            ("confirmed", "已接收"),
                            ("confirmed_with_discrepancies", "已接收（有差异）"),
                            ("cancelled", "已撤销"),
                        ],
                        db_index=True,
                        default="draft",
                        max_length=32,
                        verbose_name="状态",
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="制单时间"
                    ),
                ),
                (
                    "dispatched_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="移交时间"),
                ),
                (
                    "confirmed_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="接收时间"),
                ),
                (
                    "cancelled_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="撤销时间"),
                ),
                ("listed_count", models.PositiveIntegerField(default=0, verbose_name="清单数量")),
                ("received_count", models.PositiveIntegerField(default=0, verbose_name="实收数量")),
                ("missing_count", models.PositiveIntegerField(default=0, verbose_name="短少数量")),
                ("extra_count", models.PositiveIntegerField(default=0, verbose_name="多出数量")),
                ("note", models.CharField(blank=True, max_length=255, verbose_name="备注")),
                (
                    "confirmed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="接收人",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="制单人",
                    ),
                ),
                (
                    "dispatched_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="移交人",
                    ),
                ),
                (
                    "from_organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.organisation",
                        verbose_name="移交机构",
                    ),
                ),
                (
                    "to_organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.organisation",
                        verbose_name="接收机构",
                    ),
                ),
            ],
            options={
                "verbose_name": "交接单",
                "verbose_name_plural": "交接单",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="Receipt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.CharField(max_length=32, unique=True, verbose_name="签收表编号")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "发放中"),
                            ("sealed", "已汇总盖章"),
                            ("submitted", "已交回卡管中心"),
                        ],
                        default="open",
                        max_length=16,
                        verbose_name="状态",
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="建表时间"
                    ),
                ),
                (
                    "sealed_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="汇总盖章时间"),
                ),
                (
                    "handover",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="receipt",
                        to="cards.handover",
                        verbose_name="来源交接单",
                    ),
                ),
                (
                    "holder",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.organisation",
                        verbose_name="签收表当前所在机构",
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="card_receipts",
                        to="accounts.organisation",
                        verbose_name="发放单位",
                    ),
                ),
                (
                    "sealed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="汇总人",
                    ),
                ),
            ],
            options={
                "verbose_name": "领卡签收表",
                "verbose_name_plural": "领卡签收表",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="HandoverItem",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=32, verbose_name="卡号或签收表编号")),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("listed", "在途"),
                            ("received", "已接收"),
                            ("missing", "短少"),
                            ("extra", "多出"),
                        ],
                        default="listed",
                        max_length=16,
                        verbose_name="交接结果",
                    ),
                ),
                ("is_open", models.BooleanField(default=True, verbose_name="在途")),
                (
                    "card",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="handover_items",
                        to="cards.card",
                        verbose_name="卡片",
                    ),
                ),
                (
                    "handover",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="items",
                        to="cards.handover",
                    ),
                ),
                (
                    "receipt",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="handover_items",
                        to="cards.receipt",
                        verbose_name="签收表",
                    ),
                ),
            ],
            options={
                "verbose_name": "交接明细",
                "verbose_name_plural": "交接明细",
                "ordering": ["handover_id", "code"],
            },
        ),
        migrations.CreateModel(
            name="ReceiptLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("pending", "待领取"),
                            ("picked_up", "已领取"),
                            ("recalled", "逾期回收"),
                        ],
                        default="pending",
                        max_length=16,
                        verbose_name="发放情况",
                    ),
                ),
                (
                    "picked_up_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="领卡时间"),
                ),
                ("by_agent", models.BooleanField(default=False, verbose_name="代领")),
                (
                    "agent_name",
                    models.CharField(blank=True, max_length=64, verbose_name="代领人姓名"),
                ),
                (
                    "agent_id_number",
                    models.CharField(blank=True, max_length=18, verbose_name="代领人身份证号码"),
                ),
                (
                    "agent_authorised",
                    models.BooleanField(default=False, verbose_name="已核验委托书"),
                ),
                ("identity_checked", models.BooleanField(default=False, verbose_name="已核验身份")),
                ("signed", models.BooleanField(default=False, verbose_name="已签名")),
                (
                    "signature",
                    models.FileField(blank=True, upload_to="receipts/%Y/", verbose_name="签名图片"),
                ),
                (
                    "card",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="receipt_lines",
                        to="cards.card",
                        verbose_name="卡片",
                    ),
                ),
                (
                    "issued_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="发放人",
                    ),
                ),
                (
                    "receipt",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="cards.receipt",
                    ),
                ),
            ],
            options={
                "verbose_name": "领卡签收记录",
                "verbose_name_plural": "领卡签收记录",
                "ordering": ["receipt_id", "pk"],
            },
        ),
        migrations.CreateModel(
            name="CardReissue",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=16, verbose_name="业务类型")),
                ("reason", models.CharField(blank=True, max_length=32, verbose_name="换领原因")),
                (
                    "fee",
                    models.DecimalField(
                        decimal_places=2, max_digits=8, verbose_name="工本费（元）"
                    ),
                ),
                (
                    "at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="办理时间"
                    ),
                ),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="经办人",
                    ),
                ),
                (
                    "new_card",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reissued_from",
                        to="cards.card",
                        verbose_name="新卡",
                    ),
                ),
                (
                    "old_card",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reissue",
                        to="cards.card",
                        verbose_name="原卡",
                    ),
                ),
            ],
            options={
                "verbose_name": "补换领记录",
                "verbose_name_plural": "补换领记录",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("fee__gte", 0)), name="card_reissue_fee_nonnegative"
                    )
                ],
            },
        ),
        migrations.AddIndex(
            model_name="handover",
            index=models.Index(fields=["from_organisation", "status"], name="handover_from_status"),
        ),
        migrations.AddIndex(
            model_name="handover",
            index=models.Index(fields=["to_organisation", "status"], name="handover_to_status"),
        ),
        migrations.AddConstraint(
            model_name="handover",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        [
                            "draft",
                            "dispatched",
                            "confirmed",
                            "confirmed_with_discrepancies",
                            "cancelled",
                        ],
                    )
                ),
                name="handover_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="handover",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["cards", "recall", "receipts"])),
                name="handover_kind_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="handover",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("from_organisation", models.F("to_organisation")), _negated=True
                ),
                name="handover_between_two_organisations",
            ),
        ),
        migrations.AddConstraint(
            model_name="handover",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status", "draft"),
                    ("status", "cancelled"),
                    ("dispatched_at__isnull", False),
                    _connector="OR",
                ),
                name="handover_dispatch_dated",
            ),
        ),
        migrations.AddConstraint(
            model_name="handover",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("status__in", ["confirmed", "confirmed_with_discrepancies"]), _negated=True
                    ),
                    ("confirmed_at__isnull", False),
                    _connector="OR",
                ),
                name="handover_confirmation_dated",
            ),
        ),
        migrations.AddConstraint(
            model_name="receipt",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["open", "sealed", "submitted"])),
                name="receipt_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="receipt",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status", "open"), ("sealed_at__isnull", False), _connector="OR"
                ),
                name="receipt_sealed_dated",
            ),
        ),
        migrations.AddConstraint(
            model_name="handoveritem",
            constraint=models.CheckConstraint(
                condition=models.Q(("outcome__in", ["listed", "received", "missing", "extra"])),
                name="handover_item_outcome_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="handoveritem",
            constraint=models.UniqueConstraint(
                fields=("handover", "code"), name="handover_item_code_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="handoveritem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("card__isnull", False), ("is_open", True)),
                fields=("card",),
                name="handover_item_card_one_open",
            ),
        ),
        migrations.AddConstraint(
            model_name="handoveritem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_open", True), ("receipt__isnull", False)),
                fields=("receipt",),
                name="handover_item_receipt_one_open",
            ),
        ),
        migrations.AddConstraint(
            model_name="receiptline",
            constraint=models.CheckConstraint(
                condition=models.Q(("outcome__in", ["pending", "picked_up", "recalled"])),
                name="receipt_line_outcome_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="receiptline",
            constraint=models.UniqueConstraint(
                fields=("receipt", "card"), name="receipt_line_card_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="receiptline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("outcome", "picked_up"), _negated=True),
                    models.Q(
                        ("identity_checked", True),
                        ("picked_up_at__isnull", False),
                        ("signed", True),
                        models.Q(
                            ("by_agent", False),
                            models.Q(
                                ("agent_authorised", True),
                                models.Q(("agent_id_number", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                    ),
                    _connector="OR",
                ),
                name="receipt_line_pickup_complete",
            ),
        ),
    ]
