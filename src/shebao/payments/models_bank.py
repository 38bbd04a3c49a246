"""The bank side of payments into the card (issue #12 §2): files to each cooperating bank and
the bank's results, the failure queue and re-payment, the recovery list (追回) and the
withholding authorisations (代扣) with their monthly deduction files.

A payment file is one per approved batch, bank and branch (a branch's customers in its own
file, the undivided rest in the head bank's). Its lines (`BankPaymentLine`) are the batch's
frozen payable rows, each sent exactly once. The file on disk is the SM4 + SM3 sealed
exchange file; the record is written only once the file is complete on disk (see
`services_bank`), so a killed export leaves nothing counted as sent.

The bank answers with results files (`BankResultFile`, one per distinct file content: the same
file twice is recognised by its SM3), whose rows (`BankResultRow`) are kept as received,
including answers for references never sent; the line takes the first answer. A failed line
enters the failure queue (`PaymentFailure`): corrected, then re-paid by a row of a later batch,
at most once (a one-to-one on the re-paying row). A payment whose period begins after the
payee's death enters the recovery list (`PaymentRecovery`).

Deductions (代扣) mirror payments: a person's `WithholdingAuthorisation` for a scheme and
account, a monthly `DeductionFile` per bank with its `DeductionLine`s and results rows.

Money is integer fen everywhere.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from shebao.accounts.models import Organisation
from shebao.payments.domain.bankfile import FailureReason
from shebao.registry.models import Person, Scheme

FAILURE_REASON_CHOICES = [(r.value, r.label) for r in FailureReason]


class BankFileStatus(models.TextChoices):
    READY = "ready", "已生成待发送"
    SENT = "sent", "已发送银行"
    ANSWERED = "answered", "已全部回盘"


class LineStatus(models.TextChoices):
    PENDING = "pending", "待回盘"
    PAID = "paid", "成功"
    FAILED = "failed", "失败"


class ResultOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "成功"
    FAILED = "failed", "失败"


class BankPaymentFile(models.Model):
    code = models.CharField("文件编号", max_length=32, unique=True)
    batch = models.ForeignKey(
        "payments.PaymentBatch",
        verbose_name="发放批次",
        on_delete=models.PROTECT,
        related_name="bank_files",
    )
    bank = models.ForeignKey(
        Organisation, verbose_name="合作银行", on_delete=models.PROTECT, related_name="+"
    )
    branch = models.ForeignKey(
        Organisation,
        verbose_name="开户网点",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        "状态", max_length=16, choices=BankFileStatus.choices, default=BankFileStatus.READY
    )
    record_count = models.PositiveIntegerField("笔数")
    total_fen = models.BigIntegerField("金额（分）")
    paid_count = models.PositiveIntegerField("成功笔数", default=0)
    paid_fen = models.BigIntegerField("成功金额（分）", default=0)
    failed_count = models.PositiveIntegerField("失败笔数", default=0)
    failed_fen = models.BigIntegerField("失败金额（分）", default=0)
    # Relative to MEDIA_ROOT; the sealed file as the bank downloads it.
    stored_path = models.CharField("文件存储路径", max_length=255)
    file_sm3 = models.CharField("加密文件SM3", max_length=64)
    content_sm3 = models.CharField("明文SM3", max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="生成人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("生成时间", default=timezone.now)
    sent_on = models.DateField("发送日期", null=True, blank=True)
    first_downloaded_at = models.DateTimeField("首次下载时间", null=True, blank=True)
    first_downloaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="首次下载人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    download_count = models.PositiveIntegerField("下载次数", default=0)

    class Meta:
        verbose_name = "银行代发文件"
        verbose_name_plural = "银行代发文件"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "bank", "branch"], name="bank_payment_file_once"
            ),
            models.UniqueConstraint(
                fields=["batch", "bank"],
                condition=Q(branch__isnull=True),
                name="bank_payment_file_once_headbank",
            ),
            models.CheckConstraint(
                condition=Q(status__in=BankFileStatus.values), name="bank_payment_file_status"
            ),
            models.CheckConstraint(
                condition=Q(status="ready") | Q(sent_on__isnull=False),
                name="bank_payment_file_sent_dated",
            ),
            models.CheckConstraint(
                condition=Q(total_fen__gt=0) & Q(record_count__gt=0),
                name="bank_payment_file_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class BankPaymentLine(models.Model):
    file = models.ForeignKey(
        BankPaymentFile, verbose_name="代发文件", on_delete=models.PROTECT, related_name="lines"
    )
    # A frozen payable row goes to a bank once, ever.
    row = models.OneToOneField(
        "payments.PaymentRow",
        verbose_name="发放明细",
        on_delete=models.PROTECT,
        related_name="bank_line",
    )
    # Unique by a constraint rather than `unique=True`, which on PostgreSQL adds a second
    # (pattern-ops) index no query uses: each of a million lines paid for it at export.
    reference = models.CharField("流水号", max_length=40)
    amount_fen = models.BigIntegerField("应发金额（分）")
    status = models.CharField(
        "状态", max_length=16, choices=LineStatus.choices, default=LineStatus.PENDING
    )
    paid_fen = models.BigIntegerField("实发金额（分）", null=True, blank=True)
    failure_reason = models.CharField(
        "失败原因", max_length=24, choices=FAILURE_REASON_CHOICES, blank=True
    )
    failure_text = models.CharField("银行反馈原因", max_length=255, blank=True)
    answered_at = models.DateTimeField("回盘时间", null=True, blank=True)

    class Meta:
        verbose_name = "代发明细"
        verbose_name_plural = "代发明细"
        ordering = ["file_id", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=LineStatus.values), name="bank_payment_line_status"
            ),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="bank_payment_line_amount"),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_fen__isnull=False),
                name="bank_payment_line_paid_amount",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(failure_reason=""),
                name="bank_payment_line_failed_reason",
            ),
            models.UniqueConstraint(fields=["reference"], name="bank_payment_line_reference"),
        ]
        # No index covers a column the bank's answer changes (status, amounts, reason): the
        # results import then updates a million lines in place (HOT, with the table's
        # fillfactor leaving room; migration 0005) instead of rewriting every index entry.
        # Lines are found by file (the foreign key's index) and by reference.

    def __str__(self) -> str:
        return self.reference


class BankResultFile(models.Model):
    """One imported results file (代发 or 代扣 results): its SM3 makes a second import of the
    same file a no-op."""

    payment_file = models.ForeignKey(
        BankPaymentFile,
        verbose_name="代发文件",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="result_files",
    )
    deduction_file = models.ForeignKey(
        "payments.DeductionFile",
        verbose_name="代扣文件",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="result_files",
    )
    content_sm3 = models.CharField("回盘明文SM3", max_length=64)
    row_count = models.PositiveIntegerField("回盘笔数")
    succeeded_count = models.PositiveIntegerField("成功笔数")
    failed_count = models.PositiveIntegerField("失败笔数")
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="导入人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    imported_at = models.DateTimeField("导入时间", default=timezone.now)

    class Meta:
        verbose_name = "银行回盘文件"
        verbose_name_plural = "银行回盘文件"
        ordering = ["-imported_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(payment_file__isnull=True) ^ Q(deduction_file__isnull=True),
                name="bank_result_file_one_target",
            ),
            models.UniqueConstraint(
                fields=["payment_file", "content_sm3"], name="bank_result_file_payment_once"
            ),
            models.UniqueConstraint(
                fields=["deduction_file", "content_sm3"], name="bank_result_file_deduction_once"
            ),
        ]

    def __str__(self) -> str:
        return f"回盘#{self.pk}"


class BankResultRow(models.Model):
    """A results row as the bank sent it, kept even when it answers a reference never sent
    (reconciliation reports it)."""

    result_file = models.ForeignKey(
        BankResultFile, verbose_name="回盘文件", on_delete=models.PROTECT, related_name="rows"
    )
    row_number = models.PositiveIntegerField("行号")
    reference = models.CharField("流水号", max_length=40, db_index=True)
    id_number = models.CharField("社会保障号码", max_length=32)
    account_number = models.CharField("银行账号", max_length=32)
    outcome = models.CharField("结果", max_length=16, choices=ResultOutcome.choices)
    amount_fen = models.BigIntegerField("金额（分）")
    failure_reason = models.CharField(
        "失败原因", max_length=24, choices=FAILURE_REASON_CHOICES, blank=True
    )
    failure_text = models.CharField("银行反馈原因", max_length=255, blank=True)

    class Meta:
        verbose_name = "银行回盘明细"
        verbose_name_plural = "银行回盘明细"
        ordering = ["result_file_id", "row_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["result_file", "row_number"], name="bank_result_row_once"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=ResultOutcome.values), name="bank_result_row_outcome"
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class FailureStatus(models.TextChoices):
    OPEN = "open", "待更正"
    CORRECTED = "corrected", "已更正待补发"
    QUEUED = "queued", "已纳入补发批次"
    REPAID = "repaid", "已补发成功"
    CLOSED = "closed", "不再补发"


class PaymentFailure(models.Model):
    """The failure queue: a line the bank could not pay."""

    line = models.OneToOneField(
        BankPaymentLine,
        verbose_name="失败的代发明细",
        on_delete=models.PROTECT,
        related_name="failure",
    )
    person = models.ForeignKey(
        Person, verbose_name="人员", on_delete=models.PROTECT, related_name="+"
    )
    bank = models.ForeignKey(
        Organisation, verbose_name="原合作银行", on_delete=models.PROTECT, related_name="+"
    )
    amount_fen = models.BigIntegerField("应补发金额（分）")
    reason = models.CharField("失败原因", max_length=24, choices=FAILURE_REASON_CHOICES)
    status = models.CharField(
        "状态", max_length=16, choices=FailureStatus.choices, default=FailureStatus.OPEN
    )
    corrected_account_number = models.CharField("更正后银行账号", max_length=32, blank=True)
    corrected_card_number = models.CharField("更正后社会保障卡号", max_length=9, blank=True)
    correction_note = models.CharField("更正说明", max_length=255, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="更正人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    corrected_at = models.DateTimeField("更正时间", null=True, blank=True)
    # The row of a later batch that pays it again: one failure, one re-payment, ever.
    repaid_by_row = models.OneToOneField(
        "payments.PaymentRow",
        verbose_name="补发明细",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="repays_failure",
    )
    # 不再补发: why (e.g. the payee died, or was paid by other means), who and when; a
    # database default because the queue is filled by a raw INSERT.
    closed_reason = models.CharField("不再补发原因", max_length=255, blank=True, db_default="")
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="关闭人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    closed_at = models.DateTimeField("关闭时间", null=True, blank=True)
    created_at = models.DateTimeField("进入队列时间", default=timezone.now)

    class Meta:
        verbose_name = "发放失败队列"
        verbose_name_plural = "发放失败队列"
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=FailureStatus.values), name="payment_failure_status"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["queued", "repaid"]) | Q(repaid_by_row__isnull=False),
                name="payment_failure_queued_has_row",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(status="closed") | ~Q(corrected_account_number=""),
                name="payment_failure_corrected_account",
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | ~Q(closed_reason=""),
                name="payment_failure_closed_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"失败#{self.pk}"


class RecoveryStatus(models.TextChoices):
    OPEN = "open", "待追回"
    RECOVERED = "recovered", "已追回"
    WAIVED = "waived", "核销"


class PaymentRecovery(models.Model):
    """追回: money paid for a period that began after the payee's death."""

    line = models.OneToOneField(
        BankPaymentLine,
        verbose_name="代发明细",
        on_delete=models.PROTECT,
        related_name="recovery",
    )
    person = models.ForeignKey(
        Person, verbose_name="人员", on_delete=models.PROTECT, related_name="+"
    )
    died_on = models.DateField("死亡日期")
    period_start = models.DateField("发放期别首日")
    amount_fen = models.BigIntegerField("应追回金额（分）")
    status = models.CharField(
        "状态", max_length=16, choices=RecoveryStatus.choices, default=RecoveryStatus.OPEN
    )
    recovered_fen = models.BigIntegerField("已追回金额（分）", default=0)
    # The last money recovered: when and the bank's or the receipt's reference.
    recovered_on = models.DateField("追回日期", null=True, blank=True)
    recovered_reference = models.CharField("追回凭证号", max_length=64, blank=True, db_default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="登记人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # 核销 is maker–checker: one clerk asks with the reason, another clerk decides.
    waive_reason = models.CharField("核销原因", max_length=255, blank=True, db_default="")
    waive_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="申请核销人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    waive_requested_at = models.DateTimeField("申请核销时间", null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="核销审批人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    waived_at = models.DateTimeField("核销时间", null=True, blank=True)
    note = models.CharField("说明", max_length=255, blank=True)
    created_at = models.DateTimeField("列入时间", default=timezone.now)

    class Meta:
        verbose_name = "待遇追回"
        verbose_name_plural = "待遇追回"
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RecoveryStatus.values), name="payment_recovery_status"
            ),
            models.CheckConstraint(
                condition=Q(died_on__lt=models.F("period_start")),
                name="payment_recovery_after_death",
            ),
            models.CheckConstraint(
                condition=Q(recovered_fen__gte=0) & Q(recovered_fen__lte=models.F("amount_fen")),
                name="payment_recovery_amount_range",
            ),
            models.CheckConstraint(
                condition=~Q(status="waived")
                | (
                    Q(waived_by__isnull=False)
                    & Q(waive_requested_by__isnull=False)
                    & ~Q(waived_by=models.F("waive_requested_by"))
                ),
                name="payment_recovery_waiver_two_people",
            ),
            models.CheckConstraint(
                condition=~Q(status="recovered") | Q(recovered_fen=models.F("amount_fen")),
                name="payment_recovery_recovered_in_full",
            ),
        ]

    def __str__(self) -> str:
        return f"追回#{self.pk}"


# ---- withholding (代扣) ----------------------------------------------------------------------


class WithholdingAuthorisation(models.Model):
    person = models.ForeignKey(
        Person, verbose_name="人员", on_delete=models.PROTECT, related_name="withholdings"
    )
    scheme = models.ForeignKey(
        Scheme, verbose_name="险种", on_delete=models.PROTECT, related_name="+"
    )
    bank = models.ForeignKey(
        Organisation, verbose_name="扣款银行", on_delete=models.PROTECT, related_name="+"
    )
    account_number = models.CharField("扣款账号", max_length=32)
    valid_from = models.DateField("生效日期")
    valid_to = models.DateField("截止日期", null=True, blank=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="撤销人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="经办人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("签约时间", default=timezone.now)

    class Meta:
        verbose_name = "代扣授权"
        verbose_name_plural = "代扣授权"
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One live authorisation per person and scheme: a second would deduct twice.
            models.UniqueConstraint(
                fields=["person", "scheme"],
                condition=Q(revoked_at__isnull=True),
                name="withholding_one_live_per_scheme",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="withholding_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"代扣授权#{self.pk}"


class DeductionFile(models.Model):
    """A month's deductions at one bank for one scheme."""

    code = models.CharField("文件编号", max_length=32, unique=True)
    bank = models.ForeignKey(
        Organisation, verbose_name="扣款银行", on_delete=models.PROTECT, related_name="+"
    )
    scheme = models.ForeignKey(
        Scheme, verbose_name="险种", on_delete=models.PROTECT, related_name="+"
    )
    period = models.CharField("扣款期别", max_length=7)
    status = models.CharField(
        "状态", max_length=16, choices=BankFileStatus.choices, default=BankFileStatus.READY
    )
    record_count = models.PositiveIntegerField("笔数")
    total_fen = models.BigIntegerField("金额（分）")
    deducted_count = models.PositiveIntegerField("成功笔数", default=0)
    deducted_fen = models.BigIntegerField("成功金额（分）", default=0)
    failed_count = models.PositiveIntegerField("失败笔数", default=0)
    failed_fen = models.BigIntegerField("失败金额（分）", default=0)
    stored_path = models.CharField("文件存储路径", max_length=255)
    file_sm3 = models.CharField("加密文件SM3", max_length=64)
    content_sm3 = models.CharField("明文SM3", max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="生成人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("生成时间", default=timezone.now)
    sent_on = models.DateField("发送日期", null=True, blank=True)
    download_count = models.PositiveIntegerField("下载次数", default=0)

    class Meta:
        verbose_name = "银行代扣文件"
        verbose_name_plural = "银行代扣文件"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank", "scheme", "period"], name="deduction_file_once"
            ),
            models.CheckConstraint(
                condition=Q(status__in=BankFileStatus.values), name="deduction_file_status"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class DeductionLine(models.Model):
    file = models.ForeignKey(
        DeductionFile, verbose_name="代扣文件", on_delete=models.PROTECT, related_name="lines"
    )
    authorisation = models.ForeignKey(
        WithholdingAuthorisation,
        verbose_name="代扣授权",
        on_delete=models.PROTECT,
        related_name="lines",
    )
    person = models.ForeignKey(
        Person, verbose_name="人员", on_delete=models.PROTECT, related_name="+"
    )
    period = models.CharField("扣款期别", max_length=7)
    reference = models.CharField("流水号", max_length=40, unique=True)
    account_number = models.CharField("扣款账号", max_length=32)
    amount_fen = models.BigIntegerField("应扣金额（分）")
    status = models.CharField(
        "状态", max_length=16, choices=LineStatus.choices, default=LineStatus.PENDING
    )
    deducted_fen = models.BigIntegerField("实扣金额（分）", null=True, blank=True)
    failure_reason = models.CharField(
        "失败原因", max_length=24, choices=FAILURE_REASON_CHOICES, blank=True
    )
    failure_text = models.CharField("银行反馈原因", max_length=255, blank=True)

    class Meta:
        verbose_name = "代扣明细"
        verbose_name_plural = "代扣明细"
        ordering = ["file_id", "pk"]
        constraints = [
            # A person is deducted once per scheme and month.
            models.UniqueConstraint(
                fields=["authorisation", "period"], name="deduction_line_once_per_period"
            ),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="deduction_line_amount"),
            models.CheckConstraint(
                condition=Q(status__in=LineStatus.values), name="deduction_line_status"
            ),
        ]

    def __str__(self) -> str:
        return self.reference
