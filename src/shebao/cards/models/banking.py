"""Bank accounts for the cards (开户): which banks cooperate where, the account-opening
requests sent to each bank, and one item per applicant with the bank's result.

A bank must open the accounts within 15 working days of receiving the data (the seed's rule):
`due_on` is counted on the official holiday calendar when the request is sent. Failed items
form the clean-up queue (开户失败数据清理): corrected and re-sent in a new request, the old item
is marked 已重新提交.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from shebao.accounts.models import Organisation
from shebao.geo.models import Region
from shebao.registry.models import BankAccount, Person


class CooperatingBank(models.Model):
    """A bank that issues cards in a region (and the regions under it)."""

    region = models.ForeignKey(
        Region, verbose_name="区划", on_delete=models.PROTECT, related_name="+"
    )
    bank = models.ForeignKey(
        Organisation,
        verbose_name="合作银行",
        on_delete=models.PROTECT,
        related_name="cooperation_regions",
    )
    since = models.DateField("合作起始日期", default=timezone.localdate)

    class Meta:
        verbose_name = "合作银行"
        verbose_name_plural = "合作银行"
        constraints = [
            models.UniqueConstraint(fields=["region", "bank"], name="cooperating_bank_unique")
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.bank_id}"


class AccountRequestStatus(models.TextChoices):
    PREPARED = "prepared", "待发送"
    SENT = "sent", "已发送银行"
    COMPLETED = "completed", "开户结果已回盘"


class AccountItemStatus(models.TextChoices):
    PENDING = "pending", "待开户"
    OPENED = "opened", "开户成功"
    FAILED = "failed", "开户失败"
    RESUBMITTED = "resubmitted", "已清理重新提交"


class AccountOpeningRequest(models.Model):
    code = models.CharField("开户批次号", max_length=32, unique=True)
    bank = models.ForeignKey(
        Organisation,
        verbose_name="合作银行",
        on_delete=models.PROTECT,
        related_name="account_opening_requests",
    )
    branch = models.ForeignKey(
        Organisation,
        verbose_name="开户网点",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="branch_account_requests",
    )
    region = models.ForeignKey(
        Region, verbose_name="区划", on_delete=models.PROTECT, related_name="+"
    )
    production_batch = models.ForeignKey(
        "cards.ProductionBatch",
        verbose_name="制卡批次",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="account_requests",
    )
    status = models.CharField(
        "状态",
        max_length=16,
        choices=AccountRequestStatus.choices,
        default=AccountRequestStatus.PREPARED,
        db_index=True,
    )
    record_count = models.PositiveIntegerField("开户记录数", default=0)
    opened_count = models.PositiveIntegerField("开户成功数", default=0)
    failed_count = models.PositiveIntegerField("开户失败数", default=0)
    sent_on = models.DateField("发送日期", null=True, blank=True)
    due_on = models.DateField("应完成日期", null=True, blank=True)
    completed_on = models.DateField("完成日期", null=True, blank=True)
    export_digest = models.CharField("开户文件SM3摘要", max_length=64, blank=True)
    result_digests = models.TextField("已导入回盘文件SM3摘要", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="经办人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("创建时间", default=timezone.now)

    class Meta:
        verbose_name = "开户请求"
        verbose_name_plural = "开户请求"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AccountRequestStatus.values),
                name="account_request_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(sent_on__isnull=True) | models.Q(due_on__gt=models.F("sent_on")),
                name="account_request_due_after_sent",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class AccountOpeningItem(models.Model):
    request = models.ForeignKey(
        AccountOpeningRequest,
        verbose_name="开户请求",
        on_delete=models.PROTECT,
        related_name="items",
    )
    application = models.ForeignKey(
        "cards.Application",
        verbose_name="申领",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="account_items",
    )
    person = models.ForeignKey(
        Person, verbose_name="人员", on_delete=models.PROTECT, related_name="+"
    )
    card = models.ForeignKey(
        "cards.Card",
        verbose_name="社会保障卡",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="account_items",
    )
    status = models.CharField(
        "状态",
        max_length=16,
        choices=AccountItemStatus.choices,
        default=AccountItemStatus.PENDING,
        db_index=True,
    )
    account = models.ForeignKey(
        BankAccount,
        verbose_name="银行账户",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    failure_reason = models.CharField("开户失败原因", max_length=255, blank=True)
    resolved_on = models.DateField("回盘日期", null=True, blank=True)
    resubmitted_as = models.OneToOneField(
        "self",
        verbose_name="重新提交为",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="resubmission_of",
    )

    class Meta:
        verbose_name = "开户明细"
        verbose_name_plural = "开户明细"
        ordering = ["request_id", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AccountItemStatus.values),
                name="account_item_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="opened") | models.Q(account__isnull=False),
                name="account_item_opened_has_account",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="failed") | ~models.Q(failure_reason=""),
                name="account_item_failed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"开户明细#{self.pk}"
