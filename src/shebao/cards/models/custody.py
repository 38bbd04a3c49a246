"""The custody chain (卡片交接) down to the holder, the receipts (领卡签收表) back up, and the
issuing policy (recall period, work subsidy, fees).

A `Handover` moves cards — or signed receipts — between two adjacent organisations of the
chain: one side dispatches a list, the other confirms what arrived; missing and extra items
are recorded on its `HandoverItem`s. Until the receiver confirms, the sender remains the
custodian: at every moment each card has exactly one custodian organisation, or is with its
holder (`Card.custodian` empty, status issued or later). The status machine of a handover is
`cards.domain.custody`; the writes are `cards.services.custody`.

A `Receipt` is the signing sheet of one batch of cards arriving at a point of issue (a village
committee or a unit); each card has one `ReceiptLine`, filled in at pickup with the identity
check and the signature. Sealed sheets travel back up the chain in receipt handovers.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from shebao.accounts.models import Organisation
from shebao.cards.domain.custody import (
    HandoverItemOutcome,
    HandoverKind,
    HandoverStatus,
    ReceiptLineOutcome,
    ReceiptStatus,
    ShortageResolution,
)
from shebao.cards.models.card import Card

HANDOVER_STATUS_CHOICES = [(s.value, s.label) for s in HandoverStatus]
HANDOVER_KIND_CHOICES = [(k.value, k.label) for k in HandoverKind]
ITEM_OUTCOME_CHOICES = [(o.value, o.label) for o in HandoverItemOutcome]
RECEIPT_STATUS_CHOICES = [(s.value, s.label) for s in ReceiptStatus]
LINE_OUTCOME_CHOICES = [(o.value, o.label) for o in ReceiptLineOutcome]
RESOLUTION_CHOICES = [(r.value, r.label) for r in ShortageResolution]
_OPEN_HANDOVER = [HandoverStatus.DRAFT.value, HandoverStatus.DISPATCHED.value]


class Handover(models.Model):
    number = models.CharField("交接单号", max_length=32, unique=True)
    kind = models.CharField("交接类型", max_length=16, choices=HANDOVER_KIND_CHOICES)
    from_organisation = models.ForeignKey(
        Organisation, verbose_name="移交机构", on_delete=models.PROTECT, related_name="+"
    )
    to_organisation = models.ForeignKey(
        Organisation, verbose_name="接收机构", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        "状态",
        max_length=32,
        choices=HANDOVER_STATUS_CHOICES,
        default=HandoverStatus.DRAFT.value,
        db_index=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="制单人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("制单时间", default=timezone.now)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="移交人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    dispatched_at = models.DateTimeField("移交时间", null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="接收人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField("接收时间", null=True, blank=True)
    cancelled_at = models.DateTimeField("撤销时间", null=True, blank=True)
    listed_count = models.PositiveIntegerField("清单数量", default=0)
    received_count = models.PositiveIntegerField("实收数量", default=0)
    missing_count = models.PositiveIntegerField("短少数量", default=0)
    extra_count = models.PositiveIntegerField("多出数量", default=0)
    note = models.CharField("备注", max_length=255, blank=True)

    class Meta:
        verbose_name = "交接单"
        verbose_name_plural = "交接单"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in HandoverStatus]),
                name="handover_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in HandoverKind]),
                name="handover_kind_valid",
            ),
            models.CheckConstraint(
                condition=~Q(from_organisation=models.F("to_organisation")),
                name="handover_between_two_organisations",
            ),
            models.CheckConstraint(
                condition=Q(status=HandoverStatus.DRAFT.value)
                | Q(status=HandoverStatus.CANCELLED.value)
                | Q(dispatched_at__isnull=False),
                name="handover_dispatch_dated",
            ),
            models.CheckConstraint(
                condition=~Q(
                    status__in=[
                        HandoverStatus.CONFIRMED.value,
                        HandoverStatus.CONFIRMED_WITH_DISCREPANCIES.value,
                    ]
                )
                | Q(confirmed_at__isnull=False),
                name="handover_confirmation_dated",
            ),
        ]
        indexes = [
            models.Index(fields=["from_organisation", "status"], name="handover_from_status"),
            models.Index(fields=["to_organisation", "status"], name="handover_to_status"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def handover_status(self) -> HandoverStatus:
        return HandoverStatus(self.status)

    @property
    def handover_kind(self) -> HandoverKind:
        return HandoverKind(self.kind)


class Receipt(models.Model):
    """领卡签收表: the signing sheet of one batch of cards at one point of issue."""

    number = models.CharField("签收表编号", max_length=32, unique=True)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name="发放单位",
        on_delete=models.PROTECT,
        related_name="card_receipts",
    )
    handover = models.OneToOneField(
        Handover,
        verbose_name="来源交接单",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="receipt",
    )
    holder = models.ForeignKey(
        Organisation,
        verbose_name="签收表当前所在机构",
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        "状态", max_length=16, choices=RECEIPT_STATUS_CHOICES, default=ReceiptStatus.OPEN.value
    )
    created_at = models.DateTimeField("建表时间", default=timezone.now)
    sealed_at = models.DateTimeField("汇总盖章时间", null=True, blank=True)
    sealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="汇总人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = "领卡签收表"
        verbose_name_plural = "领卡签收表"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ReceiptStatus]),
                name="receipt_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status=ReceiptStatus.OPEN.value) | Q(sealed_at__isnull=False),
                name="receipt_sealed_dated",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def receipt_status(self) -> ReceiptStatus:
        return ReceiptStatus(self.status)


class HandoverItem(models.Model):
    """One card (or one receipt) on a handover: listed by the sender, then received or
    missing; or found by the receiver without being listed (extra).

    `is_open` is true while the handover is draft or dispatched: a card is on at most one
    open handover (a partial unique index)."""

    handover = models.ForeignKey(Handover, on_delete=models.CASCADE, related_name="items")
    card = models.ForeignKey(
        Card,
        verbose_name="卡片",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handover_items",
    )
    receipt = models.ForeignKey(
        Receipt,
        verbose_name="签收表",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handover_items",
    )
    code = models.CharField("卡号或签收表编号", max_length=32)
    outcome = models.CharField(
        "交接结果",
        max_length=16,
        choices=ITEM_OUTCOME_CHOICES,
        default=HandoverItemOutcome.LISTED.value,
    )
    is_open = models.BooleanField("在途", default=True)
    # A missing card waits in the discrepancy queue until someone settles it.
    # Database defaults: the set-based inserts of items (cards.services.setwise) name only
    # the columns they fill.
    resolution = models.CharField(
        "短少处理结果",
        max_length=24,
        choices=RESOLUTION_CHOICES,
        blank=True,
        default="",
        db_default="",
    )
    resolution_note = models.CharField(
        "处理说明", max_length=255, blank=True, default="", db_default=""
    )
    resolved_at = models.DateTimeField("处理时间", null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="处理人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = "交接明细"
        verbose_name_plural = "交接明细"
        ordering = ["handover_id", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=[o.value for o in HandoverItemOutcome]),
                name="handover_item_outcome_valid",
            ),
            models.UniqueConstraint(fields=["handover", "code"], name="handover_item_code_unique"),
            models.CheckConstraint(
                condition=Q(resolution="")
                | Q(
                    outcome=HandoverItemOutcome.MISSING.value,
                    resolution__in=[r.value for r in ShortageResolution],
                    resolved_at__isnull=False,
                ),
                name="handover_item_resolution_of_missing",
            ),
            models.UniqueConstraint(
                fields=["card"],
                condition=Q(is_open=True, card__isnull=False),
                name="handover_item_card_one_open",
            ),
            models.UniqueConstraint(
                fields=["receipt"],
                condition=Q(is_open=True, receipt__isnull=False),
                name="handover_item_receipt_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.handover_id}:{self.code}"


class ReceiptLine(models.Model):
    """One card on a signing sheet, and its pickup: who collected it (the holder, or an agent
    with the holder's authorisation), how identity was checked, the signature."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    card = models.ForeignKey(
        Card, verbose_name="卡片", on_delete=models.PROTECT, related_name="receipt_lines"
    )
    outcome = models.CharField(
        "发放情况",
        max_length=16,
        choices=LINE_OUTCOME_CHOICES,
        default=ReceiptLineOutcome.PENDING.value,
    )
    picked_up_at = models.DateTimeField("领卡时间", null=True, blank=True)
    by_agent = models.BooleanField("代领", default=False)
    agent_name = models.CharField("代领人姓名", max_length=64, blank=True)
    agent_id_number = models.CharField("代领人身份证号码", max_length=18, blank=True)
    agent_authorised = models.BooleanField("已核验委托书", default=False)
    identity_checked = models.BooleanField("已核验身份", default=False)
    signed = models.BooleanField("已签名", default=False)
    signature = models.FileField("签名图片", upload_to="receipts/%Y/", blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="发放人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = "领卡签收记录"
        verbose_name_plural = "领卡签收记录"
        ordering = ["receipt_id", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=[o.value for o in ReceiptLineOutcome]),
                name="receipt_line_outcome_valid",
            ),
            models.UniqueConstraint(fields=["receipt", "card"], name="receipt_line_card_unique"),
            models.CheckConstraint(
                condition=~Q(outcome=ReceiptLineOutcome.PICKED_UP.value)
                | (
                    Q(picked_up_at__isnull=False, identity_checked=True, signed=True)
                    & (Q(by_agent=False) | Q(agent_authorised=True) & ~Q(agent_id_number=""))
                ),
                name="receipt_line_pickup_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_id}:{self.card_id}"


def validate_renewal_reasons(value: str) -> None:
    """Comma-separated codes of `RenewalReason`, each known."""
    from django.core.exceptions import ValidationError

    from shebao.cards.domain.lifecycle import RenewalReason

    unknown = [c for c in value.split(",") if c.strip() and RenewalReason.parse(c.strip()) is None]
    if unknown:
        known = "、".join(f"{r.value}（{r.label}）" for r in RenewalReason)
        raise ValidationError(
            {"free_renewal_reasons": f"未知的换领原因代码：{'、'.join(unknown)}；可用：{known}"}
        )


class CardIssuingPolicy(models.Model):
    """The card centre's settings for the chain and the card's life: one row (the latest
    wins); without a row the defaults of `cards.domain.custody.IssuingPolicy` apply."""

    recall_after_days = models.PositiveIntegerField(
        "逾期未领回收天数", default=90, validators=[MinValueValidator(1)]
    )
    subsidy_per_card = models.DecimalField(
        "每张卡工作补助经费（元）", max_digits=8, decimal_places=2, default=Decimal("0.00")
    )
    temporary_loss_days = models.PositiveIntegerField(
        "临时挂失有效天数", default=5, validators=[MinValueValidator(1)]
    )
    replacement_fee = models.DecimalField(
        "补领工本费（元）", max_digits=8, decimal_places=2, null=True, blank=True
    )
    renewal_fee = models.DecimalField(
        "换领工本费（元）", max_digits=8, decimal_places=2, null=True, blank=True
    )
    free_renewal_reasons = models.CharField(
        "免收工本费的换领原因",
        max_length=128,
        blank=True,
        default="expired,quality",
        help_text="以逗号分隔的原因代码：damaged 人为损坏、quality 卡片质量问题或自然老化、"
        "expired 有效期满、information_changed 个人信息变更",
    )
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "发卡业务参数"
        verbose_name_plural = "发卡业务参数"
        constraints = [
            models.CheckConstraint(
                condition=Q(recall_after_days__gte=1) & Q(temporary_loss_days__gte=1),
                name="issuing_policy_days_positive",
            ),
            models.CheckConstraint(
                condition=Q(subsidy_per_card__gte=0), name="issuing_policy_subsidy_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"发卡业务参数#{self.pk}"

    def clean(self) -> None:
        validate_renewal_reasons(self.free_renewal_reasons)


class CardReissue(models.Model):
    """补领 / 换领: the old card ended (作废), a new one started at 待制卡, the fee charged.
    Its primary key numbers the new card in the reissue series (see the service)."""

    old_card = models.OneToOneField(
        Card, verbose_name="原卡", on_delete=models.PROTECT, related_name="reissue"
    )
    new_card = models.OneToOneField(
        Card,
        verbose_name="新卡",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reissued_from",
    )
    kind = models.CharField("业务类型", max_length=16)
    reason = models.CharField("换领原因", max_length=32, blank=True)
    production_batch = models.ForeignKey(
        "cards.ProductionBatch",
        verbose_name="制卡批次",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reissues",
    )
    fee = models.DecimalField("工本费（元）", max_digits=8, decimal_places=2)
    at = models.DateTimeField("办理时间", default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="经办人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = "补换领记录"
        verbose_name_plural = "补换领记录"
        constraints = [
            models.CheckConstraint(condition=Q(fee__gte=0), name="card_reissue_fee_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.old_card_id}"
