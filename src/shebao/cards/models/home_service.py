"""Home-service appointments (上门服务): booked online by the holder or a relative (the
phone verified by an SMS code), worked by the town or district clerk who visits."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from shebao.cards.domain.home_service import (
    KIND_LABELS,
    REASON_LABELS,
    STATUS_LABELS,
    HomeServiceStatus,
)
from shebao.vault.fields import EncryptedTextField


class HomeServiceAppointment(models.Model):
    reference = models.CharField("预约编号", max_length=16, unique=True)
    person = models.ForeignKey(
        "registry.Person", verbose_name="服务对象", on_delete=models.PROTECT, related_name="+"
    )
    # Where the visit is: the holder's residence, else household region (the clerks of that
    # town or district see it).
    region = models.ForeignKey(
        "geo.Region", verbose_name="所在区划", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField("办理事项", max_length=24, choices=list(KIND_LABELS.items()))
    reason = models.CharField("上门原因", max_length=16, choices=list(REASON_LABELS.items()))
    booker_name = models.CharField("预约人", max_length=64)
    booker_relation = models.CharField("与服务对象关系", max_length=16)
    # Sealed (SM4, ADR 0017).
    phone = EncryptedTextField("联系电话", max_length=20)
    address = EncryptedTextField("上门地址", max_length=255)
    preferred_date = models.DateField("希望上门日期")
    note = models.CharField("说明", max_length=255, blank=True)
    status = models.CharField(
        "状态",
        max_length=16,
        choices=[(s.value, label) for s, label in STATUS_LABELS.items()],
        default=HomeServiceStatus.BOOKED.value,
    )
    assigned_to = models.ForeignKey(
        "accounts.User",
        verbose_name="上门经办人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assigned_at = models.DateTimeField("派单时间", null=True, blank=True)
    visited_at = models.DateTimeField("上门时间", null=True, blank=True)
    outcome = models.CharField("办理结果", max_length=255, blank=True)
    cancelled_reason = models.CharField("取消原因", max_length=255, blank=True)
    booked_at = models.DateTimeField("预约时间", default=timezone.now)

    class Meta:
        verbose_name = "上门服务预约"
        verbose_name_plural = "上门服务预约"
        ordering = ["preferred_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in HomeServiceStatus]),
                name="home_service_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["assigned", "visited"])
                | models.Q(assigned_to__isnull=False),
                name="home_service_assigned_has_clerk",
            ),
        ]
        indexes = [models.Index(fields=["region", "status"], name="home_service_region_status")]

    def __str__(self) -> str:
        return self.reference
