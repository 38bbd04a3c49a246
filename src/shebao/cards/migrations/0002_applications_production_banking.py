"""Applications, production batches and card series, cooperating banks and account opening (#4)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_audit_append_only_triggers"),
        ("cards", "0001_initial"),
        ("geo", "0001_initial"),
        ("registry", "0002_load_schemes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApplicationBatch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=32, unique=True, verbose_name="批次号")),
                (
                    "kind",
                    models.CharField(
                        choices=[("collective", "集体申领"), ("individual", "个人申领")],
                        max_length=16,
                        verbose_name="申领方式",
                    ),
                ),
                ("path", models.CharField(blank=True, max_length=255, verbose_name="流转路径")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("at_submitter", "申领单位待上报"),
                            ("at_intermediate", "职能部门/镇（街）汇总中"),
                            ("at_district", "区卡办汇总中"),
                            ("at_card_centre", "卡管理中心已接收"),
                            ("in_production", "已安排制卡"),
                        ],
                        db_index=True,
                        default="at_submitter",
                        max_length=24,
                        verbose_name="状态",
                    ),
                ),
                (
                    "programme",
                    models.CharField(blank=True, max_length=255, verbose_name="发卡项目"),
                ),
                (
                    "source_file",
                    models.FileField(
                        blank=True, upload_to="cards/applications/%Y/", verbose_name="申领文件"
                    ),
                ),
                (
                    "photo_zip",
                    models.FileField(
                        blank=True, upload_to="cards/photos/%Y/", verbose_name="照片压缩包"
                    ),
                ),
                ("row_count", models.PositiveIntegerField(default=0, verbose_name="记录数")),
                (
                    "eligible_count",
                    models.PositiveIntegerField(default=0, verbose_name="符合条件数"),
                ),
                (
                    "ineligible_count",
                    models.PositiveIntegerField(default=0, verbose_name="不符合条件数"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="创建时间"
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="更新时间"
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
                        verbose_name="经办人",
                    ),
                ),
                (
                    "holder",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="held_application_batches",
                        to="accounts.organisation",
                        verbose_name="当前所在机构",
                    ),
                ),
                (
                    "region",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="geo.region",
                        verbose_name="申领单位区划",
                    ),
                ),
                (
                    "submitter",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="submitted_application_batches",
                        to="accounts.organisation",
                        verbose_name="申领单位",
                    ),
                ),
            ],
            options={
                "verbose_name": "申领批次",
                "verbose_name_plural": "申领批次",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="CardSeries",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("prefix", models.CharField(blank=True, max_length=7, verbose_name="卡号前缀")),
                ("next_number", models.BigIntegerField(default=1, verbose_name="下一卡号序号")),
                ("next_unique", models.BigIntegerField(default=1, verbose_name="下一卡识别码序号")),
                (
                    "region",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="geo.region",
                        verbose_name="发卡地区",
                    ),
                ),
            ],
            options={
                "verbose_name": "卡号号段",
                "verbose_name_plural": "卡号号段",
            },
        ),
        migrations.CreateModel(
            name="CooperatingBank",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "since",
                    models.DateField(
                        default=django.utils.timezone.localdate, verbose_name="合作起始日期"
                    ),
                ),
                (
                    "bank",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cooperation_regions",
                        to="accounts.organisation",
                        verbose_name="合作银行",
                    ),
                ),
                (
                    "region",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="geo.region",
                        verbose_name="区划",
                    ),
                ),
            ],
            options={
                "verbose_name": "合作银行",
                "verbose_name_plural": "合作银行",
            },
        ),
        migrations.CreateModel(
            name="ProductionBatch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=32, unique=True, verbose_name="制卡批次号")),
                (
                    "kind",
                    models.CharField(
                        choices=[("collective", "集体申领"), ("individual", "个人申领")],
                        max_length=16,
                        verbose_name="申领方式",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("formed", "已组批待送厂"),
                            ("sent", "已送制卡厂商"),
                            ("completed", "制卡结果已回盘"),
                        ],
                        db_index=True,
                        default="formed",
                        max_length=16,
                        verbose_name="状态",
                    ),
                ),
                ("card_count", models.PositiveIntegerField(default=0, verbose_name="卡数")),
                ("made_count", models.PositiveIntegerField(default=0, verbose_name="制卡成功数")),
                ("failed_count", models.PositiveIntegerField(default=0, verbose_name="制卡失败数")),
                (
                    "export_digest",
                    models.CharField(blank=True, max_length=64, verbose_name="送厂文件SM3摘要"),
                ),
                (
                    "result_digests",
                    models.TextField(blank=True, verbose_name="已导入回盘文件SM3摘要"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="组批时间"
                    ),
                ),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="送厂时间")),
                (
                    "completed_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="回盘时间"),
                ),
                (
                    "card_centre",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.organisation",
                        verbose_name="卡管理中心",
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
                        verbose_name="经办人",
                    ),
                ),
                (
                    "issuing_region",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="geo.region",
                        verbose_name="发卡地区",
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="production_batches",
                        to="accounts.organisation",
                        verbose_name="申领单位/镇（街）",
                    ),
                ),
                (
                    "region",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="geo.region",
                        verbose_name="单位/镇（街）区划",
                    ),
                ),
                (
                    "vendor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="vendor_batches",
                        to="accounts.organisation",
                        verbose_name="制卡厂商",
                    ),
                ),
            ],
            options={
                "verbose_name": "制卡批次",
                "verbose_name_plural": "制卡批次",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="Application",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("row", models.PositiveIntegerField(default=0, verbose_name="行号")),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("collective", "单位集体申领"),
                            ("counter", "村（居）委窗口申领"),
                            ("online", "网上申领"),
                            ("instant", "银行网点即时制卡"),
                        ],
                        max_length=16,
                        verbose_name="申领渠道",
                    ),
                ),
                ("id_number", models.CharField(max_length=32, verbose_name="身份证号码")),
                ("name", models.CharField(max_length=64, verbose_name="姓名")),
                ("gender", models.CharField(blank=True, max_length=4, verbose_name="性别")),
                (
                    "work_number",
                    models.CharField(blank=True, max_length=32, verbose_name="工作证号(学籍号)"),
                ),
                ("bank_name", models.CharField(blank=True, max_length=64, verbose_name="所选银行")),
                ("phone", models.CharField(blank=True, max_length=32, verbose_name="联系电话")),
                (
                    "photo_source",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("", "无"),
                            ("zip", "单位照片包"),
                            ("upload", "窗口上传"),
                            ("police", "公安照片"),
                        ],
                        default="",
                        max_length=8,
                        verbose_name="照片来源",
                    ),
                ),
                (
                    "photo",
                    models.FileField(blank=True, upload_to="cards/photos/%Y/", verbose_name="照片"),
                ),
                (
                    "photo_entry",
                    models.CharField(blank=True, max_length=255, verbose_name="照片包内文件"),
                ),
                (
                    "signed_form",
                    models.FileField(
                        blank=True, upload_to="cards/forms/%Y/", verbose_name="申领登记表扫描件"
                    ),
                ),
                ("postal_delivery", models.BooleanField(default=False, verbose_name="邮寄到家")),
                (
                    "postal_address",
                    models.CharField(blank=True, max_length=255, verbose_name="邮寄地址"),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("eligible", "符合制卡条件"),
                            ("ineligible", "不符合制卡条件"),
                            ("resubmitted", "已更正重报"),
                            ("in_production", "制卡中"),
                            ("made", "已制卡"),
                            ("production_failed", "制卡失败"),
                            ("issued", "已即时发卡"),
                        ],
                        db_index=True,
                        max_length=24,
                        verbose_name="状态",
                    ),
                ),
                (
                    "reasons",
                    models.CharField(blank=True, max_length=255, verbose_name="不符合原因代码"),
                ),
                ("messages", models.TextField(blank=True, verbose_name="不符合制卡条件原因")),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="申领时间"
                    ),
                ),
                (
                    "checked_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="检查时间"),
                ),
                (
                    "bank",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="card_applications",
                        to="accounts.organisation",
                        verbose_name="合作银行",
                    ),
                ),
                (
                    "card",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="application",
                        to="cards.card",
                        verbose_name="社会保障卡",
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
                        verbose_name="经办人",
                    ),
                ),
                (
                    "person",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="card_applications",
                        to="registry.person",
                        verbose_name="人员",
                    ),
                ),
                (
                    "region",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="geo.region",
                        verbose_name="申领地区划",
                    ),
                ),
                (
                    "resubmission_of",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="resubmission",
                        to="cards.application",
                        verbose_name="更正前的申领",
                    ),
                ),
                (
                    "submitter",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="submitted_applications",
                        to="accounts.organisation",
                        verbose_name="申领单位",
                    ),
                ),
                (
                    "batch",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="applications",
                        to="cards.applicationbatch",
                        verbose_name="申领批次",
                    ),
                ),
                (
                    "production_batch",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="applications",
                        to="cards.productionbatch",
                        verbose_name="制卡批次",
                    ),
                ),
            ],
            options={
                "verbose_name": "社保卡申领",
                "verbose_name_plural": "社保卡申领",
                "ordering": ["batch_id", "row", "pk"],
            },
        ),
        migrations.CreateModel(
            name="AccountOpeningRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=32, unique=True, verbose_name="开户批次号")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("prepared", "待发送"),
                            ("sent", "已发送银行"),
                            ("completed", "开户结果已回盘"),
                        ],
                        db_index=True,
                        default="prepared",
                        max_length=16,
                        verbose_name="状态",
                    ),
                ),
                ("record_count", models.PositiveIntegerField(default=0, verbose_name="开户记录数")),
                ("opened_count", models.PositiveIntegerField(default=0, verbose_name="开户成功数")),
                ("failed_count", models.PositiveIntegerField(default=0, verbose_name="开户失败数")),
                ("sent_on", models.DateField(blank=True, null=True, verbose_name="发送日期")),
                ("due_on", models.DateField(blank=True, null=True, verbose_name="应完成日期")),
                ("completed_on", models.DateField(blank=True, null=True, verbose_name="完成日期")),
                (
                    "export_digest",
                    models.CharField(blank=True, max_length=64, verbose_name="开户文件SM3摘要"),
                ),
                (
                    "result_digests",
                    models.TextField(blank=True, verbose_name="已导入回盘文件SM3摘要"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="创建时间"
                    ),
                ),
                (
                    "bank",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="account_opening_requests",
                        to="accounts.organisation",
                        verbose_name="合作银行",
                    ),
                ),
                (
                    "branch",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="branch_account_requests",
                        to="accounts.organisation",
                        verbose_name="开户网点",
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
                        verbose_name="经办人",
                    ),
                ),
                (
                    "region",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="geo.region",
                        verbose_name="区划",
                    ),
                ),
                (
                    "production_batch",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="account_requests",
                        to="cards.productionbatch",
                        verbose_name="制卡批次",
                    ),
                ),
            ],
            options={
                "verbose_name": "开户请求",
                "verbose_name_plural": "开户请求",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="AccountOpeningItem",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "待开户"),
                            ("opened", "开户成功"),
                            ("failed", "开户失败"),
                            ("resubmitted", "已清理重新提交"),
                        ],
                        db_index=True,
                        default="pending",
                        max_length=16,
                        verbose_name="状态",
                    ),
                ),
                (
                    "failure_reason",
                    models.CharField(blank=True, max_length=255, verbose_name="开户失败原因"),
                ),
                ("resolved_on", models.DateField(blank=True, null=True, verbose_name="回盘日期")),
                (
                    "account",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="registry.bankaccount",
                        verbose_name="银行账户",
                    ),
                ),
                (
                    "card",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="account_items",
                        to="cards.card",
                        verbose_name="社会保障卡",
                    ),
                ),
                (
                    "person",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="registry.person",
                        verbose_name="人员",
                    ),
                ),
                (
                    "resubmitted_as",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="resubmission_of",
                        to="cards.accountopeningitem",
                        verbose_name="重新提交为",
                    ),
                ),
                (
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="items",
                        to="cards.accountopeningrequest",
                        verbose_name="开户请求",
                    ),
                ),
                (
                    "application",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="account_items",
                        to="cards.application",
                        verbose_name="申领",
                    ),
                ),
            ],
            options={
                "verbose_name": "开户明细",
                "verbose_name_plural": "开户明细",
                "ordering": ["request_id", "pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("status__in", ["pending", "opened", "failed", "resubmitted"])
                        ),
                        name="account_item_status_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "opened"), _negated=True),
                            ("account__isnull", False),
                            _connector="OR",
                        ),
                        name="account_item_opened_has_account",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "failed"), _negated=True),
                            models.Q(("failure_reason", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="account_item_failed_has_reason",
                    ),
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="applicationbatch",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        [
                            "at_submitter",
                            "at_intermediate",
                            "at_district",
                            "at_card_centre",
                            "in_production",
                        ],
                    )
                ),
                name="application_batch_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="applicationbatch",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["collective", "individual"])),
                name="application_batch_kind_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="cardseries",
            constraint=models.CheckConstraint(
                condition=models.Q(("next_number__gte", 0), ("next_unique__gte", 0)),
                name="card_series_counters_positive",
            ),
        ),
        migrations.AddConstraint(
            model_name="cooperatingbank",
            constraint=models.UniqueConstraint(
                fields=("region", "bank"), name="cooperating_bank_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="productionbatch",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["formed", "sent", "completed"])),
                name="production_batch_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="productionbatch",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["collective", "individual"])),
                name="production_batch_kind_valid",
            ),
        ),
        migrations.AddIndex(
            model_name="application",
            index=models.Index(fields=["person", "status"], name="application_person_status"),
        ),
        migrations.AddIndex(
            model_name="application",
            index=models.Index(fields=["status", "channel"], name="application_status_channel"),
        ),
        migrations.AddConstraint(
            model_name="application",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        [
                            "eligible",
                            "ineligible",
                            "resubmitted",
                            "in_production",
                            "made",
                            "production_failed",
                            "issued",
                        ],
                    )
                ),
                name="application_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="application",
            constraint=models.CheckConstraint(
                condition=models.Q(("channel__in", ["collective", "counter", "online", "instant"])),
                name="application_channel_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="application",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "ineligible"), _negated=True),
                    models.Q(("reasons", ""), _negated=True),
                    _connector="OR",
                ),
                name="application_ineligible_has_reasons",
            ),
        ),
        migrations.AddConstraint(
            model_name="application",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("postal_delivery", False),
                    models.Q(("postal_address", ""), _negated=True),
                    _connector="OR",
                ),
                name="application_postal_has_address",
            ),
        ),
        migrations.AddConstraint(
            model_name="accountopeningrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["prepared", "sent", "completed"])),
                name="account_request_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="accountopeningrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("sent_on__isnull", True), ("due_on__gt", models.F("sent_on")), _connector="OR"
                ),
                name="account_request_due_after_sent",
            ),
        ),
    ]
