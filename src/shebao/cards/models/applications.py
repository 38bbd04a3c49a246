"""Applications for a card (申领): the batches units and village committees send up the
chain, and the one application per person inside them.

An `ApplicationBatch` sits with one organisation at a time (`holder`) and travels up the
organisation tree — unit → department → district card office → card centre for a collective
batch, village committee → town → district card office → card centre for the counter — each
level seeing the batches it holds or has passed on. Its status says where it is; it changes
only through `cards.services.applications` (one service per transition).

An `Application` carries the eligibility result (reason codes and the Chinese reasons). An
ineligible application goes back down to the unit or village that sent it (it stays visible
there with its reasons); a corrected copy is a new application pointing at the old one
(`resubmission_of`), which is then marked 已更正重报.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from shebao.accounts.models import Organisation
from shebao.geo.models import Region
from shebao.registry.models import Person
from shebao.vault.fields import EncryptedTextField


class ApplicationKind(models.TextChoices):
    COLLECTIVE = "collective", "集体申领"
    INDIVIDUAL = "individual", "个人申领"


class ApplicationChannel(models.TextChoices):
    COLLECTIVE = "collective", "单位集体申领"
    COUNTER = "counter", "村（居）委窗口申领"
    ONLINE = "online", "网上申领"
    INSTANT = "instant", "银行网点即时制卡"


class ApplicationBatchStatus(models.TextChoices):
    AT_SUBMITTER = "at_submitter", "申领单位待上报"
    AT_INTERMEDIATE = "at_intermediate", "职能部门/镇（街）汇总中"
    AT_DISTRICT = "at_district", "区卡办汇总中"
    AT_CARD_CENTRE = "at_card_centre", "卡管理中心已接收"
    IN_PRODUCTION = "in_production", "已安排制卡"


class ApplicationStatus(models.TextChoices):
    ELIGIBLE = "eligible", "符合制卡条件"
    INELIGIBLE = "ineligible", "不符合制卡条件"
    RESUBMITTED = "resubmitted", "已更正重报"
    IN_PRODUCTION = "in_production", "制卡中"
    MADE = "made", "已制卡"
    PRODUCTION_FAILED = "production_failed", "制卡失败"
    ISSUED = "issued", "已即时发卡"


# Applications that block another application of the same person (重复申领).
OPEN_APPLICATION_STATUSES: tuple[str, ...] = (
    ApplicationStatus.ELIGIBLE,
    ApplicationStatus.IN_PRODUCTION,
    ApplicationStatus.MADE,
)


class PhotoSource(models.TextChoices):
    NONE = "", "无"
    ZIP = "zip", "单位照片包"
    UPLOAD = "upload", "窗口上传"
    POLICE = "police", "公安照片"


class ApplicationBatch(models.Model):
    code = models.CharField("批次号", max_length=32, unique=True)
    kind = models.CharField("申领方式", max_length=16, choices=ApplicationKind.choices)
    submitter = models.ForeignKey(
        Organisation,
        verbose_name="申领单位",
        on_delete=models.PROTECT,
        related_name="submitted_application_batches",
    )
    holder = models.ForeignKey(
        Organisation,
        verbose_name="当前所在机构",
        on_delete=models.PROTECT,
        related_name="held_application_batches",
    )
    region = models.ForeignKey(
        Region, verbose_name="申领单位区划", on_delete=models.PROTECT, related_name="+"
    )
    # The organisations the batch has passed through (codes joined by ','), so that every
    # level keeps seeing the batches it forwarded.
    path = models.CharField("流转路径", max_length=255, blank=True)
    status = models.CharField(
        "状态",
        max_length=24,
        choices=ApplicationBatchStatus.choices,
        default=ApplicationBatchStatus.AT_SUBMITTER,
        db_index=True,
    )
    programme = models.CharField("发卡项目", max_length=255, blank=True)
    source_file = models.FileField("申领文件", upload_to="cards/applications/%Y/", blank=True)
    photo_zip = models.FileField("照片压缩包", upload_to="cards/photos/%Y/", blank=True)
    row_count = models.PositiveIntegerField("记录数", default=0)
    eligible_count = models.PositiveIntegerField("符合条件数", default=0)
    ineligible_count = models.PositiveIntegerField("不符合条件数", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="经办人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "申领批次"
        verbose_name_plural = "申领批次"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ApplicationBatchStatus.values),
                name="application_batch_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ApplicationKind.values),
                name="application_batch_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Application(models.Model):
    batch = models.ForeignKey(
        ApplicationBatch,
        verbose_name="申领批次",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    row = models.PositiveIntegerField("行号", default=0)
    channel = models.CharField("申领渠道", max_length=16, choices=ApplicationChannel.choices)
    person = models.ForeignKey(
        Person,
        verbose_name="人员",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="card_applications",
    )
    id_number = models.CharField("身份证号码", max_length=32)
    name = models.CharField("姓名", max_length=64)
    gender = models.CharField("性别", max_length=4, blank=True)
    work_number = models.CharField("工作证号(学籍号)", max_length=32, blank=True)
    bank_name = models.CharField("所选银行", max_length=64, blank=True)
    bank = models.ForeignKey(
        Organisation,
        verbose_name="合作银行",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="card_applications",
    )
    # Phone and postal address are sealed (SM4, ADR 0017); "" stays "".
    phone = EncryptedTextField("联系电话", max_length=32, blank=True)
    photo_source = models.CharField(
        "照片来源", max_length=8, choices=PhotoSource.choices, blank=True, default=""
    )
    photo = models.FileField("照片", upload_to="cards/photos/%Y/", blank=True)
    photo_entry = models.CharField("照片包内文件", max_length=255, blank=True)
    signed_form = models.FileField("申领登记表扫描件", upload_to="cards/forms/%Y/", blank=True)
    postal_delivery = models.BooleanField("邮寄到家", default=False)
    postal_address = EncryptedTextField("邮寄地址", max_length=255, blank=True)
    # Where the application belongs, for scoping: the submitting unit's or village's region,
    # or (online) the applicant's household-registration region.
    region = models.ForeignKey(
        Region, verbose_name="申领地区划", on_delete=models.PROTECT, related_name="+"
    )
    submitter = models.ForeignKey(
        Organisation,
        verbose_name="申领单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="submitted_applications",
    )
    status = models.CharField(
        "状态", max_length=24, choices=ApplicationStatus.choices, db_index=True
    )
    reasons = models.CharField("不符合原因代码", max_length=255, blank=True)
    messages = models.TextField("不符合制卡条件原因", blank=True)
    resubmission_of = models.OneToOneField(
        "self",
        verbose_name="更正前的申领",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="resubmission",
    )
    production_batch = models.ForeignKey(
        "cards.ProductionBatch",
        verbose_name="制卡批次",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    card = models.OneToOneField(
        "cards.Card",
        verbose_name="社会保障卡",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="application",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="经办人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("申领时间", default=timezone.now)
    checked_at = models.DateTimeField("检查时间", null=True, blank=True)

    class Meta:
        verbose_name = "社保卡申领"
        verbose_name_plural = "社保卡申领"
        ordering = ["batch_id", "row", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ApplicationStatus.values),
                name="application_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=ApplicationChannel.values),
                name="application_channel_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="ineligible") | ~models.Q(reasons=""),
                name="application_ineligible_has_reasons",
            ),
            models.CheckConstraint(
                condition=models.Q(postal_delivery=False) | ~models.Q(postal_address=""),
                name="application_postal_has_address",
            ),
        ]
        indexes = [
            models.Index(fields=["person", "status"], name="application_person_status"),
            models.Index(fields=["status", "channel"], name="application_status_channel"),
        ]

    def __str__(self) -> str:
        return f"申领#{self.pk}"

    @property
    def reason_list(self) -> list[str]:
        return [m for m in self.messages.split("；") if m]
