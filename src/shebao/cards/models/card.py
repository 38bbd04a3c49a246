"""The social security card (社会保障卡) and its recorded history.

The status follows `cards.domain.lifecycle` and changes only through
`cards.services.card_life.card_apply_event`, which locks the row, checks the transition,
writes the history and the audit log in one transaction. Custody (who physically holds a card
before issue) is the `custodian` organisation; once issued the holder has it and `custodian`
is empty — the custody module keeps that invariant.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from shebao.accounts.models import Organisation
from shebao.cards.domain.lifecycle import CardEvent, CardStatus
from shebao.geo.models import Region
from shebao.registry.models import Person

STATUS_CHOICES = [(s.value, s.label) for s in CardStatus]
EVENT_CHOICES = [(e.value, e.label) for e in CardEvent]


class Card(models.Model):
    card_number = models.CharField("卡号", max_length=9, unique=True)
    card_id_code = models.CharField("卡识别码", max_length=32, unique=True)
    person = models.ForeignKey(
        Person, verbose_name="持卡人", on_delete=models.PROTECT, related_name="cards"
    )
    status = models.CharField(
        "卡状态",
        max_length=24,
        choices=STATUS_CHOICES,
        default=CardStatus.PENDING_PRODUCTION.value,
        db_index=True,
    )
    issuing_region = models.ForeignKey(
        Region, verbose_name="发卡地区", on_delete=models.PROTECT, related_name="+"
    )
    spec_version = models.CharField("规范版本", max_length=8, default="3.00")
    issued_on = models.DateField("发卡日期", null=True, blank=True)
    expires_on = models.DateField("有效期至", null=True, blank=True)
    bank = models.ForeignKey(
        Organisation,
        verbose_name="合作银行",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bank_cards",
    )
    custodian = models.ForeignKey(
        Organisation,
        verbose_name="当前保管机构",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cards_in_custody",
    )
    replaces = models.ForeignKey(
        "self",
        verbose_name="所替换的卡",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )
    temporary_loss_reported_on = models.DateField("临时挂失日期", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "社会保障卡"
        verbose_name_plural = "社会保障卡"
        ordering = ["card_number"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in CardStatus]),
                name="card_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["person", "status"], name="card_person_status")]

    def __str__(self) -> str:
        return self.card_number

    @property
    def card_status(self) -> CardStatus:
        return CardStatus(self.status)


class CardHistory(models.Model):
    """Every event on a card, in order: the card's own record beside the audit log."""

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="history")
    at = models.DateTimeField("时间", default=timezone.now)
    event = models.CharField("事项", max_length=32, choices=EVENT_CHOICES)
    from_status = models.CharField("原状态", max_length=24, choices=STATUS_CHOICES)
    to_status = models.CharField("新状态", max_length=24, choices=STATUS_CHOICES)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="经办人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name="经办机构",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    channel = models.CharField("渠道", max_length=16, blank=True)
    note = models.CharField("备注", max_length=255, blank=True)

    class Meta:
        verbose_name = "卡片业务记录"
        verbose_name_plural = "卡片业务记录"
        ordering = ["card_id", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.card_id} {self.event}"
