from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OneTimeCode(models.Model):
    """A code sent by SMS for one purpose to one subject (e.g. ``person:7``); only its salted
    HMAC is kept. Written through `sms.services` only."""

    purpose = models.CharField("用途", max_length=32)
    subject = models.CharField("对象", max_length=64)
    code_hash = models.CharField("验证码摘要", max_length=64)
    salt = models.CharField("盐", max_length=32)
    client = models.CharField("客户端地址", max_length=64, blank=True)
    created_at = models.DateTimeField("发送时间", default=timezone.now)
    expires_at = models.DateTimeField("失效时间")
    attempts = models.PositiveSmallIntegerField("已尝试次数", default=0)
    used_at = models.DateTimeField("使用时间", null=True, blank=True)

    class Meta:
        verbose_name = "短信验证码"
        verbose_name_plural = "短信验证码"
        indexes = [
            models.Index(fields=["purpose", "subject", "created_at"], name="sms_code_subject_at")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="sms_code_expires_later"
            )
        ]

    def __str__(self) -> str:
        return f"验证码#{self.pk}（{self.purpose}）"


class Attempt(models.Model):
    """One counted attempt for a rate limit: a scope (``self_service.identify``), a key (a
    client address, or an HMAC of an ID number: no personal data in clear) and whether it
    succeeded."""

    scope = models.CharField("范围", max_length=48)
    key = models.CharField("键", max_length=64)
    ok = models.BooleanField("成功", default=False)
    at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        verbose_name = "限流计数"
        verbose_name_plural = "限流计数"
        indexes = [models.Index(fields=["scope", "key", "at"], name="sms_attempt_scope_key_at")]

    def __str__(self) -> str:
        return f"{self.scope} {self.at:%Y-%m-%d %H:%M}"
