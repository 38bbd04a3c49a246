"""Benefits and subsidies paid into the card's bank account (待遇及补贴发放进卡, issue #12 §1).

A `PaymentProgramme` is configuration, like the card issuing programmes: what is paid, by which
paying office, whether imprisonment stops it, the most one person may receive in one period and
the period form. A `PaymentBatch` is one programme's payment for one period: its rows
(`PaymentRow`) are imported from the office's file or generated from the system's data, checked
row by row (the reason codes of `payments.domain.reasons`), corrected or dropped, then approved
by a clerk who did not prepare it (`PaymentBatchHistory` records who did what). Approval
freezes the batch: each payable row keeps a snapshot of who is paid, into which bank account
and card, so that a later registry or card change does not alter an approved batch. The bank
side (payment files, results, failures, recoveries) lives in its own models and reads the
snapshot only.

Money is integer fen (`BigIntegerField`) everywhere.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from shebao.accounts.models import Organisation
from shebao.payments.domain.batch_lifecycle import BatchEvent, BatchStatus
from shebao.registry.models import Person, Scheme

BATCH_STATUS_CHOICES = [(s.value, s.label) for s in BatchStatus]
BATCH_EVENT_CHOICES = [(e.value, e.label) for e in BatchEvent]


class ProgrammeKind(models.TextChoices):
    PENSION = "pension", "养老保险待遇"
    UNEMPLOYMENT = "unemployment", "失业保险待遇"
    WORK_INJURY = "work_injury", "工伤保险待遇"
    EMPLOYMENT_SUBSIDY = "employment_subsidy", "就业补贴"
    INSURANCE_SUBSIDY = "insurance_subsidy", "社会保险补贴"
    FINANCE_SUBSIDY = "finance_subsidy", "惠民惠农财政补贴"


class PeriodForm(models.TextChoices):
    MONTH = "month", "按月（YYYY-MM）"
    QUARTER = "quarter", "按季（YYYY-Q1）"
    ONE_OFF = "one_off", "一次性"


class BatchSource(models.TextChoices):
    IMPORT = "import", "导入发放文件"
    GENERATED = "generated", "按系统数据生成"


class PaymentProgramme(models.Model):
    code = models.CharField("项目编码", max_length=32, unique=True)
    name = models.CharField("项目名称", max_length=64, unique=True)
    paying_office = models.ForeignKey(
        Organisation,
        verbose_name="发放机构",
        on_delete=models.PROTECT,
        related_name="payment_programmes",
    )
    kind = models.CharField("项目类别", max_length=24, choices=ProgrammeKind.choices)
    # The insurance scheme whose enrolled persons a generated batch pays (pensions: 110, 120,
    # 170); empty for programmes paid only from the office's lists.
    scheme = models.ForeignKey(
        Scheme,
        verbose_name="对应险种",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    stops_in_prison = models.BooleanField("服刑期间停发", default=False)
    max_amount_fen = models.BigIntegerField("每人每期发放上限（分）", null=True, blank=True)
    # The amount a generated batch pays each person when the system holds no individual
    # amount (a flat subsidy); empty when amounts come only from the office's file.
    standard_amount_fen = models.BigIntegerField("标准发放金额（分）", null=True, blank=True)
    period_form = models.CharField("发放期别", max_length=8, choices=PeriodForm.choices)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "发放项目"
        verbose_name_plural = "发放项目"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ProgrammeKind.values), name="payment_programme_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(period_form__in=PeriodForm.values),
                name="payment_programme_period_form_valid",
            ),
            models.CheckConstraint(
                condition=Q(max_amount_fen__isnull=True) | Q(max_amount_fen__gt=0),
                name="payment_programme_max_positive",
            ),
            models.CheckConstraint(
                condition=Q(standard_amount_fen__isnull=True) | Q(standard_amount_fen__gt=0),
                name="payment_programme_standard_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PaymentBatch(models.Model):
    code = models.CharField("批次号", max_length=32, unique=True)
    programme = models.ForeignKey(
        PaymentProgramme,
        verbose_name="发放项目",
        on_delete=models.PROTECT,
        related_name="batches",
    )
    # YYYY-MM, YYYY-Q1..Q4 or a one-off label; `period_start` is its first day, the day the
    # death and imprisonment checks look at.
    period = models.CharField("发放期别", max_length=32)
    period_start = models.DateField("期别首日")
    status = models.CharField(
        "状态",
        max_length=16,
        choices=BATCH_STATUS_CHOICES,
        default=BatchStatus.DRAFT.value,
        db_index=True,
    )
    source = models.CharField("数据来源", max_length=16, choices=BatchSource.choices)
    source_file_name = models.CharField("发放文件名", max_length=255, blank=True)
    # SM3 of the imported file's bytes (or of the generated rows): the same file imported
    # twice for the same programme and period finds the batch it made the first time.
    source_digest = models.CharField("来源摘要", max_length=64)
    row_count = models.PositiveIntegerField("明细数", default=0)
    payable_count = models.PositiveIntegerField("可发放笔数", default=0)
    payable_fen = models.BigIntegerField("可发放金额（分）", default=0)
    problem_count = models.PositiveIntegerField("有问题笔数", default=0)
    dropped_count = models.PositiveIntegerField("已剔除笔数", default=0)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="制单人",
        on_delete=models.PROTECT,
        related_name="+",
    )
    prepared_at = models.DateTimeField("制单时间", default=timezone.now)
    checked_at = models.DateTimeField("校验时间", null=True, blank=True)
    # A digest of every input the last check read (`services.checking.check_inputs_digest`):
    # approval checks the batch again only when it differs.
    checked_inputs = models.CharField("校验时数据摘要", max_length=64, blank=True, default="")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="提交人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="审批人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField("审批时间", null=True, blank=True)
    cancelled_at = models.DateTimeField("作废时间", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "发放批次"
        verbose_name_plural = "发放批次"
        ordering = ["-prepared_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in BatchStatus]),
                name="payment_batch_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(source__in=BatchSource.values), name="payment_batch_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(payable_fen__gte=0), name="payment_batch_payable_fen_nonnegative"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "exported", "reconciled", "closed"])
                | (Q(approved_by__isnull=False) & Q(approved_at__isnull=False)),
                name="payment_batch_frozen_is_approved",
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("prepared_by")),
                name="payment_batch_preparer_not_approver",
            ),
            # Idempotent import: one live batch per programme, period and source file.
            models.UniqueConstraint(
                fields=["programme", "period", "source_digest"],
                condition=~Q(status="cancelled"),
                name="payment_batch_source_once",
            ),
        ]
        indexes = [models.Index(fields=["programme", "period"], name="payment_batch_prog_period")]

    def __str__(self) -> str:
        return self.code

    @property
    def batch_status(self) -> BatchStatus:
        return BatchStatus(self.status)


class PaymentRow(models.Model):
    batch = models.ForeignKey(
        PaymentBatch, verbose_name="发放批次", on_delete=models.PROTECT, related_name="rows"
    )
    row_number = models.PositiveIntegerField("行号")
    person = models.ForeignKey(
        Person,
        verbose_name="人员",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment_rows",
    )
    # As the office's file gives them (normalised ID number when it is valid).
    id_number = models.CharField("社会保障号码", max_length=32)
    name = models.CharField("姓名", max_length=64)
    amount_text = models.CharField("金额（原文）", max_length=32, blank=True)
    amount_fen = models.BigIntegerField("金额（分）", null=True, blank=True)
    payable = models.BooleanField("可发放", default=False)
    reasons = models.CharField("问题原因代码", max_length=255, blank=True)
    dropped = models.BooleanField("已剔除", default=False)
    note = models.CharField("更正或剔除说明", max_length=255, blank=True)
    # The snapshot frozen at approval: who is paid, into which account and card. Filled in
    # one transaction with the approval; the bank files are written from these fields only.
    frozen_name = models.CharField("冻结-姓名", max_length=64, blank=True)
    frozen_id_number = models.CharField("冻结-社会保障号码", max_length=18, blank=True)
    frozen_bank = models.ForeignKey(
        Organisation,
        verbose_name="冻结-合作银行",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    frozen_branch = models.ForeignKey(
        Organisation,
        verbose_name="冻结-开户网点",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    frozen_account_number = models.CharField("冻结-银行账号", max_length=32, blank=True)
    frozen_card_number = models.CharField("冻结-社会保障卡号", max_length=9, blank=True)
    # The row of an earlier batch whose failed payment this row pays again (补发); p3's
    # failure queue sets it, and a failure is re-paid at most once.
    repays = models.OneToOneField(
        "self",
        verbose_name="重新发放的原明细",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="repaid_by",
    )

    class Meta:
        verbose_name = "发放明细"
        verbose_name_plural = "发放明细"
        ordering = ["batch_id", "row_number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "row_number"], name="payment_row_number_once"),
            models.UniqueConstraint(
                fields=["batch", "person"],
                condition=Q(payable=True),
                name="payment_row_person_once_payable",
            ),
            models.CheckConstraint(
                condition=Q(payable=False)
                | (Q(amount_fen__gt=0) & Q(person__isnull=False) & Q(dropped=False)),
                name="payment_row_payable_complete",
            ),
            models.CheckConstraint(
                condition=Q(amount_fen__isnull=True) | Q(amount_fen__gt=0),
                name="payment_row_amount_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["batch", "payable"], name="payment_row_batch_payable"),
            models.Index(fields=["person", "batch"], name="payment_row_person_batch"),
        ]

    def __str__(self) -> str:
        return f"发放明细#{self.pk}"

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(code for code in self.reasons.split(";") if code)


class PaymentBatchHistory(models.Model):
    """Every event on a batch, in order, beside the audit log: the makers are read here."""

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="history")
    at = models.DateTimeField("时间", default=timezone.now)
    event = models.CharField("事项", max_length=16, choices=BATCH_EVENT_CHOICES)
    from_status = models.CharField("原状态", max_length=16, choices=BATCH_STATUS_CHOICES)
    to_status = models.CharField("新状态", max_length=16, choices=BATCH_STATUS_CHOICES)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="经办人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField("备注", max_length=255, blank=True)

    class Meta:
        verbose_name = "发放批次业务记录"
        verbose_name_plural = "发放批次业务记录"
        ordering = ["batch_id", "at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(event__in=[e.value for e in BatchEvent]),
                name="payment_batch_history_event_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id} {self.event}"


# The bank side (files, results, failures, recoveries, withholding): issue #12 §2.
from shebao.payments.models_bank import (  # noqa: E402
    BankFileStatus,
    BankPaymentFile,
    BankPaymentLine,
    BankResultFile,
    BankResultRow,
    DeductionFile,
    DeductionLine,
    FailureStatus,
    LineStatus,
    PaymentFailure,
    PaymentRecovery,
    RecoveryStatus,
    ResultOutcome,
    WithholdingAuthorisation,
)

__all__ = [
    "BankFileStatus",
    "BankPaymentFile",
    "BankPaymentLine",
    "BankResultFile",
    "BankResultRow",
    "DeductionFile",
    "DeductionLine",
    "FailureStatus",
    "LineStatus",
    "PaymentFailure",
    "PaymentRecovery",
    "RecoveryStatus",
    "ResultOutcome",
    "WithholdingAuthorisation",
]
