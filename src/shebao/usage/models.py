"""Card-use records (用卡记录) and the uploads that brought them.

A record belongs to the terminal that saw the card and is identified by the terminal's own
sequence number: (terminal, sequence) is unique, so a batch sent again adds nothing. Partner,
service point, field and region are copied onto the record when it is stored (they do not
change for a past event), so that the statistics group one table without joins.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from shebao.usage.choices import (
    CARD_FORM_CHOICES,
    FIELD_CHOICES,
    RESULT_CHOICES,
    SERVICE_CHOICES,
    UploadChannel,
)


class UsageUpload(models.Model):
    """One upload (an API call or a file on the page): what came, what was new."""

    terminal = models.ForeignKey(
        "partners.Terminal", verbose_name="终端", on_delete=models.PROTECT, related_name="+"
    )
    partner = models.ForeignKey(
        "partners.Partner", verbose_name="合作机构", on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField("方式", max_length=8, choices=UploadChannel.choices)
    file_name = models.CharField("文件名", max_length=255, blank=True)
    received = models.PositiveIntegerField("收到条数", default=0)
    added = models.PositiveIntegerField("新增条数", default=0)
    already = models.PositiveIntegerField("已存在条数", default=0)
    uploaded_by = models.ForeignKey(
        "accounts.User", verbose_name="上传人", on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField("上传时间", default=timezone.now)

    class Meta:
        verbose_name = "用卡记录上传"
        verbose_name_plural = "用卡记录上传"
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.terminal_id}@{self.uploaded_at:%Y-%m-%d %H:%M}"


class UsageRecord(models.Model):
    terminal = models.ForeignKey(
        "partners.Terminal", verbose_name="终端", on_delete=models.PROTECT, related_name="+"
    )
    sequence = models.BigIntegerField("终端流水号")
    service_point = models.ForeignKey(
        "partners.ServicePoint",
        verbose_name="服务网点",
        on_delete=models.PROTECT,
        related_name="+",
    )
    partner = models.ForeignKey(
        "partners.Partner", verbose_name="合作机构", on_delete=models.PROTECT, related_name="+"
    )
    field = models.CharField("应用领域", max_length=24, choices=FIELD_CHOICES)
    service = models.CharField("服务项目", max_length=32, choices=SERVICE_CHOICES)
    occurred_at = models.DateTimeField("用卡时间")
    # First day of the month of `occurred_at` in Beijing time: the statistics group by it.
    month = models.DateField("月份")
    region = models.ForeignKey(
        "geo.Region", verbose_name="所在区划", on_delete=models.PROTECT, related_name="+"
    )
    card_form = models.CharField("卡形态", max_length=8, choices=CARD_FORM_CHOICES)
    result = models.CharField("结果", max_length=8, choices=RESULT_CHOICES)
    reason = models.CharField("拒绝原因", max_length=64, blank=True)
    # Null when the terminal read a card number the platform does not know.
    card = models.ForeignKey(
        "cards.Card",
        verbose_name="社保卡",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    person = models.ForeignKey(
        "registry.Person",
        verbose_name="持卡人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    upload = models.ForeignKey(
        UsageUpload, verbose_name="上传", on_delete=models.PROTECT, related_name="records"
    )

    class Meta:
        verbose_name = "用卡记录"
        verbose_name_plural = "用卡记录"
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["terminal", "sequence"], name="usage_terminal_sequence_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(result__in=[c for c, _ in RESULT_CHOICES]),
                name="usage_result_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(card_form__in=[c for c, _ in CARD_FORM_CHOICES]),
                name="usage_card_form_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(field__in=[c for c, _ in FIELD_CHOICES]),
                name="usage_field_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["month", "field"], name="usage_month_field"),
            models.Index(fields=["person", "occurred_at"], name="usage_person_time"),
            models.Index(fields=["region", "month"], name="usage_region_month"),
        ]

    def __str__(self) -> str:
        return f"{self.terminal_id}#{self.sequence}"
