"""Partners (合作机构), their service points and terminals, the application directory, and the
bookkeeping of identity services: which persons a partner has verified (for the change
feed), per-minute call counts (for the rate limit)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from shebao.partners.choices import (
    DirectoryStatus,
    PartnerField,
    PartnerStatus,
    ServicePointKind,
)


class Partner(models.Model):
    """A partner department or company; its staff and terminals belong to `organisation`."""

    organisation = models.OneToOneField(
        "accounts.Organisation",
        verbose_name="机构",
        on_delete=models.PROTECT,
        related_name="partner",
    )
    field = models.CharField("应用领域", max_length=24, choices=PartnerField.choices)
    status = models.CharField(
        "状态", max_length=16, choices=PartnerStatus.choices, default=PartnerStatus.APPLIED
    )
    contact_name = models.CharField("联系人", max_length=64, blank=True)
    contact_phone = models.CharField("联系电话", max_length=32, blank=True)
    granted_fields = models.JSONField("授权字段", default=list, blank=True)
    granted_services = models.JSONField("授权服务", default=list, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField("每分钟调用上限", default=600)
    webhook_url = models.URLField("变更通知地址", max_length=500, blank=True)
    webhook_secret = models.CharField("变更通知签名密钥", max_length=64, blank=True)
    webhook_cursor = models.BigIntegerField("已通知至", default=0)
    webhook_failures = models.PositiveIntegerField("连续通知失败次数", default=0)
    webhook_next_attempt_at = models.DateTimeField("下次通知时间", null=True, blank=True)
    webhook_last_error = models.CharField("最近通知错误", max_length=255, blank=True)
    created_at = models.DateTimeField("申请时间", default=timezone.now)
    approved_at = models.DateTimeField("批准时间", null=True, blank=True)

    class Meta:
        verbose_name = "合作机构"
        verbose_name_plural = "合作机构"
        ordering = ["organisation__name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=PartnerStatus.values), name="partner_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(field__in=PartnerField.values), name="partner_field_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.organisation.name


class ServicePoint(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="service_points")
    name = models.CharField("服务网点", max_length=128)
    region = models.ForeignKey(
        "geo.Region", verbose_name="所在区划", on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField("地址", max_length=255, blank=True)
    kind = models.CharField("网点类型", max_length=24, choices=ServicePointKind.choices)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "服务网点"
        verbose_name_plural = "服务网点"
        ordering = ["partner_id", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ServicePointKind.values),
                name="service_point_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Terminal(models.Model):
    """A device or system at a service point, with its own OAuth2 client-credentials client
    (django-oauth-toolkit's Application, secret stored hashed, found by `client_id`) and
    service user (so that its calls are audited under the partner's organisation)."""

    service_point = models.ForeignKey(
        ServicePoint, on_delete=models.PROTECT, related_name="terminals"
    )
    code = models.CharField("终端编号", max_length=32, unique=True)
    name = models.CharField("终端名称", max_length=64, blank=True)
    # The OAuth2 client of django-oauth-toolkit (client-credentials grant, secret hashed),
    # referred to by its client id: DOT's Application model is swappable, and a foreign key
    # to it would need a project-wide setting for the swap.
    client_id = models.CharField("客户端标识", max_length=100, unique=True)
    service_user = models.OneToOneField(
        "accounts.User", on_delete=models.PROTECT, related_name="terminal"
    )
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    secret_rotated_at = models.DateTimeField("密钥更换时间", default=timezone.now)

    class Meta:
        verbose_name = "终端"
        verbose_name_plural = "终端"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class DirectoryService(models.Model):
    """One entry of the application directory (应用目录): a service that accepts the card."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="directory")
    name = models.CharField("服务名称", max_length=128)
    field = models.CharField("应用领域", max_length=24, choices=PartnerField.choices)
    card_functions = models.JSONField("用卡功能", default=list)
    regions = models.ManyToManyField("geo.Region", verbose_name="服务区域", related_name="+")
    service_points = models.ManyToManyField(
        ServicePoint, verbose_name="服务网点", related_name="directory", blank=True
    )
    since = models.DateField("开通日期")
    status = models.CharField(
        "状态", max_length=16, choices=DirectoryStatus.choices, default=DirectoryStatus.IN_SERVICE
    )
    description = models.CharField("说明", max_length=255, blank=True)

    class Meta:
        verbose_name = "应用目录"
        verbose_name_plural = "应用目录"
        ordering = ["field", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DirectoryStatus.values),
                name="directory_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(field__in=PartnerField.values), name="directory_field_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class VerifiedPerson(models.Model):
    """A person a partner has verified at least once: the partner may hold them in its own
    records, so the change feed tells it of their death or a change of name or ID number."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="+")
    first_at = models.DateTimeField("首次核验", default=timezone.now)

    class Meta:
        verbose_name = "已核验人员"
        verbose_name_plural = "已核验人员"
        constraints = [
            models.UniqueConstraint(fields=["partner", "person"], name="verified_person_unique")
        ]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.person_id}"


class RateWindow(models.Model):
    """Calls of one partner in one minute (epoch seconds of its start), counted atomically in
    the database so that every server process sees the same count."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    window = models.BigIntegerField("分钟")
    calls = models.PositiveIntegerField("调用次数", default=0)

    class Meta:
        verbose_name = "调用计数"
        verbose_name_plural = "调用计数"
        constraints = [
            models.UniqueConstraint(fields=["partner", "window"], name="rate_window_unique")
        ]

    def __str__(self) -> str:
        return f"{self.partner_id}@{self.window}"
