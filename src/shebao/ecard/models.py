"""The electronic social security card: the e-card bound to a physical card, the dynamic QR
codes issued for it, the one-time business tokens a redeem hands a terminal, and the holder's
sign-in account.

Tokens are never stored in the clear: a QR code's opaque token and a business token are kept
as their SM3 hashes (hex), so a copy of the database cannot forge a redeemable code.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from shebao.cards.models import Card
from shebao.ecard.domain.lifecycle import ECardStatus
from shebao.registry.models import Person

ECARD_STATUS_CHOICES = [(s.value, s.label) for s in ECardStatus]


class ECard(models.Model):
    """One per person; bound to exactly one physical card at a time (rebound on 补领/换领)."""

    person = models.OneToOneField(
        Person, verbose_name="持卡人", on_delete=models.PROTECT, related_name="ecard"
    )
    card = models.OneToOneField(
        Card, verbose_name="绑定实体卡", on_delete=models.PROTECT, related_name="ecard"
    )
    status = models.CharField(
        "状态",
        max_length=16,
        choices=ECARD_STATUS_CHOICES,
        default=ECardStatus.ACTIVE.value,
        db_index=True,
    )
    issued_at = models.DateTimeField("签发时间", default=timezone.now)
    issued_channel = models.CharField("签发渠道", max_length=16, blank=True)
    status_changed_at = models.DateTimeField("状态变更时间", default=timezone.now)
    status_reason = models.CharField("状态变更原因", max_length=64, blank=True)

    class Meta:
        verbose_name = "电子社保卡"
        verbose_name_plural = "电子社保卡"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in ECardStatus]),
                name="ecard_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"ecard:{self.pk}"

    @property
    def ecard_status(self) -> ECardStatus:
        return ECardStatus(self.status)


class QrCode(models.Model):
    """A dynamic code shown by the holder: valid 60 seconds, redeemable once."""

    token_hash = models.CharField("令牌摘要", max_length=64, unique=True)
    ecard = models.ForeignKey(ECard, on_delete=models.CASCADE, related_name="qr_codes")
    kid = models.CharField("签名密钥", max_length=16)
    issued_at = models.DateTimeField("生成时间")
    expires_at = models.DateTimeField("失效时间", db_index=True)
    redeemed_at = models.DateTimeField("核验时间", null=True, blank=True)
    redeemed_by = models.CharField("核验终端", max_length=64, blank=True)
    revoked_at = models.DateTimeField("作废时间", null=True, blank=True)

    class Meta:
        verbose_name = "电子社保卡二维码"
        verbose_name_plural = "电子社保卡二维码"
        indexes = [models.Index(fields=["ecard", "expires_at"], name="ecard_qr_ecard_exp")]

    def __str__(self) -> str:
        return f"qr:{self.pk}"


class BusinessToken(models.Model):
    """The one-time business token (like the 电子医保凭证's ecToken) a successful redeem
    returns: it stands for this visit, for this terminal only, for a short time."""

    token_hash = models.CharField("令牌摘要", max_length=64, unique=True)
    qr_code = models.OneToOneField(QrCode, on_delete=models.CASCADE, related_name="business_token")
    ecard = models.ForeignKey(ECard, on_delete=models.CASCADE, related_name="business_tokens")
    terminal_code = models.CharField("终端编码", max_length=64)
    fields = models.JSONField("可见字段", default=list)
    issued_at = models.DateTimeField("签发时间")
    expires_at = models.DateTimeField("失效时间")
    revoked_at = models.DateTimeField("作废时间", null=True, blank=True)

    class Meta:
        verbose_name = "业务令牌"
        verbose_name_plural = "业务令牌"

    def __str__(self) -> str:
        return f"bt:{self.pk}"


class HolderAccount(models.Model):
    """The citizen's sign-in: a `accounts.User` with the citizen role for one person, made
    on the first verified sign-in (the portal and the OIDC provider sign him or her in)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="holder_account"
    )
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="holder_account")
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    last_sign_in_at = models.DateTimeField("最近登录", null=True, blank=True)

    class Meta:
        verbose_name = "持卡人账户"
        verbose_name_plural = "持卡人账户"

    def __str__(self) -> str:
        return f"holder:{self.person_id}"
