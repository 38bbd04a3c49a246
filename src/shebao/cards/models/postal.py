"""Postal delivery (邮寄到家) of cards applied for online: the card centre mails the card
instead of sending it down the village chain, records the mailing (tracking number, date,
address), and the card is issued when its holder (self-service) or a clerk confirms receipt.

One dispatch per mailing; a returned letter closes the dispatch (`returned_on`) and the card
may be mailed again, so at most one dispatch per card is open at a time.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from shebao.accounts.models import Organisation
from shebao.cards.models.card import Card
from shebao.vault.fields import EncryptedTextField


class PostalDispatchStatus(models.TextChoices):
    MAILED = "mailed", "已邮寄"
    DELIVERED = "delivered", "已签收"
    RETURNED = "returned", "邮件退回"


class PostalReturnReason(models.TextChoices):
    """Why the post brought a letter back (the slip the postman attaches)."""

    ADDRESS_UNKNOWN = "address_unknown", "地址不详"
    ADDRESSEE_UNKNOWN = "addressee_unknown", "查无此人"
    MOVED = "moved", "收件人已迁移"
    REFUSED = "refused", "收件人拒收"
    NOT_COLLECTED = "not_collected", "逾期无人领取"
    DAMAGED = "damaged", "邮件破损"
    OTHER = "other", "其他（须说明）"


class PostalDispatch(models.Model):
    card = models.ForeignKey(
        Card, verbose_name="社会保障卡", on_delete=models.PROTECT, related_name="postal_dispatches"
    )
    card_centre = models.ForeignKey(
        Organisation, verbose_name="寄件机构", on_delete=models.PROTECT, related_name="+"
    )
    tracking_number = models.CharField("邮件单号", max_length=32, db_index=True)
    mailed_on = models.DateField("邮寄日期")
    # Sealed (SM4, ADR 0017).
    address = EncryptedTextField("邮寄地址", max_length=255)
    phone = EncryptedTextField("收件电话", max_length=32, blank=True)
    status = models.CharField(
        "状态",
        max_length=16,
        choices=PostalDispatchStatus.choices,
        default=PostalDispatchStatus.MAILED,
        db_index=True,
    )
    delivered_on = models.DateField("签收日期", null=True, blank=True)
    confirmed_by = models.CharField("签收确认方式", max_length=16, blank=True)
    returned_on = models.DateField("退回日期", null=True, blank=True)
    return_reason = models.CharField(
        "退回原因", max_length=24, choices=PostalReturnReason.choices, blank=True
    )
    note = models.CharField("备注", max_length=255, blank=True)
    mailed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="寄件经办人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="签收登记人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("登记时间", default=timezone.now)

    class Meta:
        verbose_name = "社保卡邮寄"
        verbose_name_plural = "社保卡邮寄"
        ordering = ["-mailed_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PostalDispatchStatus.values),
                name="postal_dispatch_status_valid",
            ),
            models.UniqueConstraint(
                fields=["card"],
                condition=Q(status="mailed"),
                name="postal_dispatch_one_open_per_card",
            ),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_on__isnull=False),
                name="postal_dispatch_delivered_has_date",
            ),
            models.CheckConstraint(
                condition=Q(return_reason="") | Q(return_reason__in=PostalReturnReason.values),
                name="postal_dispatch_return_reason_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_number
