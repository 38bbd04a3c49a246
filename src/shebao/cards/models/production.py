"""Card production (制卡): production batches and the per-region card-number series.

A production batch gathers the eligible applications of one unit (collective) or one town
(individual: counter and online), and holds the cards made for them. Card numbers and card
identification codes come from a `CardSeries` row per issuing region, whose counters are
advanced under a row lock (SELECT … FOR UPDATE), so that concurrent batches never share a
number; the card and card-id unique constraints stand behind it.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from shebao.accounts.models import Organisation
from shebao.cards.models.applications import ApplicationKind
from shebao.geo.models import Region


class ProductionBatchStatus(models.TextChoices):
    FORMED = "formed", "已组批待送厂"
    SENT = "sent", "已送制卡厂商"
    COMPLETED = "completed", "制卡结果已回盘"


class CardSeries(models.Model):
    """The number series of one issuing region: the next card-number sequence (spelled by
    `cards.domain.codes.CardNumberSeries(prefix)`) and the next card-id sequence."""

    region = models.OneToOneField(
        Region, verbose_name="发卡地区", on_delete=models.PROTECT, related_name="+"
    )
    # Unique: two issuing regions on one platform must never spell the same card number
    # (see `cards.domain.codes.next_series_prefix`).
    prefix = models.CharField("卡号前缀", max_length=7, blank=True, unique=True)
    next_number = models.BigIntegerField("下一卡号序号", default=1)
    next_unique = models.BigIntegerField("下一卡识别码序号", default=1)

    class Meta:
        verbose_name = "卡号号段"
        verbose_name_plural = "卡号号段"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(next_number__gte=0) & models.Q(next_unique__gte=0),
                name="card_series_counters_positive",
            )
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.prefix}"


class ProductionBatch(models.Model):
    REMAKE_PREFIX: ClassVar[str] = "CZ"

    code = models.CharField("制卡批次号", max_length=32, unique=True)
    kind = models.CharField("申领方式", max_length=16, choices=ApplicationKind.choices)
    # The unit (collective) or the town office (individual) the batch is made for.
    organisation = models.ForeignKey(
        Organisation,
        verbose_name="申领单位/镇（街）",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="production_batches",
    )
    region = models.ForeignKey(
        Region, verbose_name="单位/镇（街）区划", on_delete=models.PROTECT, related_name="+"
    )
    issuing_region = models.ForeignKey(
        Region, verbose_name="发卡地区", on_delete=models.PROTECT, related_name="+"
    )
    card_centre = models.ForeignKey(
        Organisation,
        verbose_name="卡管理中心",
        on_delete=models.PROTECT,
        related_name="+",
    )
    vendor = models.ForeignKey(
        Organisation,
        verbose_name="制卡厂商",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vendor_batches",
    )
    status = models.CharField(
        "状态",
        max_length=16,
        choices=ProductionBatchStatus.choices,
        default=ProductionBatchStatus.FORMED,
        db_index=True,
    )
    # A batch of replacement and renewal cards (补换卡), formed per town from the cards the
    # card centre started at 待制卡 (`CardReissue.production_batch`), not from applications.
    is_reissue = models.BooleanField("补换卡批次", default=False)
    card_count = models.PositiveIntegerField("卡数", default=0)
    made_count = models.PositiveIntegerField("制卡成功数", default=0)
    failed_count = models.PositiveIntegerField("制卡失败数", default=0)
    export_digest = models.CharField("送厂文件SM3摘要", max_length=64, blank=True)
    result_digests = models.TextField("已导入回盘文件SM3摘要", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="经办人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("组批时间", default=timezone.now)
    sent_at = models.DateTimeField("送厂时间", null=True, blank=True)
    completed_at = models.DateTimeField("回盘时间", null=True, blank=True)

    class Meta:
        verbose_name = "制卡批次"
        verbose_name_plural = "制卡批次"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ProductionBatchStatus.values),
                name="production_batch_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ApplicationKind.values),
                name="production_batch_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_remake(self) -> bool:
        """A batch remaking cards the vendor reported failed (重新制卡), formed by
        `production_failed_remake`: its code starts with 重制's prefix."""
        return self.code.startswith(self.REMAKE_PREFIX)
