"""Consents, the assurance level of each authorization code, and cross-device QR sign-ins."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

from shebao.sso.choices import Assurance, QrLoginStatus


class Consent(models.Model):
    """A citizen's permission for one portal (an OIDC client) to sign him or her in and
    receive the claims of `scopes`. Revoking ends it and deletes the portal's tokens; a
    later sign-in asks again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_consents"
    )
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    scopes = models.CharField("授权范围", max_length=255)
    granted_at = models.DateTimeField("授权时间", default=timezone.now)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)

    class Meta:
        verbose_name = "单点登录授权"
        verbose_name_plural = "单点登录授权"
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "application"],
                condition=models.Q(revoked_at__isnull=True),
                name="sso_consent_one_active_per_client",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.application_id}"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class GrantAssurance(models.Model):
    """The assurance level (acr) of the sign-in behind one authorization code; read when
    the code is exchanged, deleted with the code."""

    grant = models.OneToOneField(
        oauth2_settings.GRANT_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    acr = models.CharField("认证级别", max_length=64, choices=Assurance.choices)

    class Meta:
        verbose_name = "授权码认证级别"
        verbose_name_plural = "授权码认证级别"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(acr__in=Assurance.values), name="sso_grant_acr_valid"
            )
        ]

    def __str__(self) -> str:
        return self.acr


class QrLogin(models.Model):
    """A sign-in started on a computer and confirmed from "my e-card" on the holder's phone.
    `token` is shown in the QR code; only the browser holding the secret behind
    `browser_key_hash` (in its session) may complete it."""

    token = models.CharField("二维码令牌", max_length=64, unique=True)
    browser_key_hash = models.CharField("浏览器密钥摘要", max_length=64)
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    scopes = models.CharField("申请范围", max_length=255, blank=True)
    status = models.CharField(
        "状态", max_length=16, choices=QrLoginStatus.choices, default=QrLoginStatus.PENDING
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    expires_at = models.DateTimeField("过期时间")
    decided_at = models.DateTimeField("确认时间", null=True, blank=True)

    class Meta:
        verbose_name = "扫码登录"
        verbose_name_plural = "扫码登录"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=QrLoginStatus.values),
                name="sso_qrlogin_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status="pending")
                | models.Q(user__isnull=False)
                | models.Q(status="refused"),
                name="sso_qrlogin_decided_has_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.status}"
