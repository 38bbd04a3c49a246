from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from shebao.accounts.models import Organisation
from shebao.geo.models import Region
from shebao.registry.choices import (
    SCHEME_CODES,
    EmployerKind,
    EnrollmentStatus,
    Gender,
    HukouType,
    LifeStatus,
    SchemeGroup,
)
from shebao.vault.fields import EncryptedTextField
from shebao.vault.storage import encrypted_storage


class Household(models.Model):
    number = models.CharField("户号", max_length=32, unique=True)
    region = models.ForeignKey(
        Region, verbose_name="户籍地", on_delete=models.PROTECT, related_name="+"
    )
    # Personal data at rest is sealed (SM4, ADR 0017); "" stays "" so emptiness is queryable.
    address = EncryptedTextField("住址", max_length=255, blank=True)

    class Meta:
        verbose_name = "户"
        verbose_name_plural = "户"

    def __str__(self) -> str:
        return self.number


class Person(models.Model):
    id_number = models.CharField("公民身份号码", max_length=18, unique=True)
    name = models.CharField("姓名", max_length=64, db_index=True)
    gender = models.CharField("性别", max_length=1, choices=Gender.choices)
    birth_date = models.DateField("出生日期")
    ethnicity = models.CharField("民族", max_length=16, blank=True)
    hukou_region = models.ForeignKey(
        Region,
        verbose_name="户籍地区划",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=True,
    )
    residence_region = models.ForeignKey(
        Region,
        verbose_name="居住地区划",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    household = models.ForeignKey(
        Household,
        verbose_name="户",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    relation_to_head = models.CharField("与户主关系", max_length=16, blank=True)
    hukou_type = models.CharField(
        "户籍类型", max_length=16, choices=HukouType.choices, default=HukouType.HUKOU
    )
    life_status = models.CharField(
        "人员状态", max_length=16, choices=LifeStatus.choices, default=LifeStatus.ALIVE
    )
    status_date = models.DateField("状态变更日期", null=True, blank=True)
    phone = EncryptedTextField("联系电话", max_length=16, blank=True)
    photo = models.FileField("照片", upload_to="photos/%Y/", blank=True, storage=encrypted_storage)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "人员"
        verbose_name_plural = "人员"
        constraints = [
            models.CheckConstraint(
                condition=Q(gender__in=Gender.values), name="person_gender_valid"
            ),
            models.CheckConstraint(
                condition=Q(hukou_type__in=HukouType.values), name="person_hukou_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(life_status__in=LifeStatus.values), name="person_life_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status_date__isnull=True) | Q(status_date__gte=F("birth_date")),
                name="person_status_after_birth",
            ),
            models.CheckConstraint(
                condition=Q(life_status=LifeStatus.ALIVE) | Q(status_date__isnull=False),
                name="person_status_change_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"人员#{self.pk}"


class Employer(models.Model):
    credit_code = models.CharField("统一社会信用代码", max_length=18, unique=True)
    name = models.CharField("单位名称", max_length=128, db_index=True)
    kind = models.CharField("单位类型", max_length=32, choices=EmployerKind.choices)
    region = models.ForeignKey(
        Region, verbose_name="所在区划", on_delete=models.PROTECT, related_name="+"
    )
    registered_on = models.DateField("成立日期", null=True, blank=True)
    is_active = models.BooleanField("存续", default=True)

    class Meta:
        verbose_name = "用人单位"
        verbose_name_plural = "用人单位"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=EmployerKind.values), name="employer_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Scheme(models.Model):
    code = models.CharField("险种代码", max_length=3, primary_key=True)
    name = models.CharField("险种名称", max_length=64)
    group = models.CharField("险种类别", max_length=16, choices=SchemeGroup.choices)

    class Meta:
        verbose_name = "险种"
        verbose_name_plural = "险种"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__in=SCHEME_CODES), name="scheme_code_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Enrollment(models.Model):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="enrollments")
    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="+")
    employer = models.ForeignKey(
        Employer, null=True, blank=True, on_delete=models.PROTECT, related_name="enrollments"
    )
    insurance_region = models.ForeignKey(
        Region, verbose_name="参保地", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField("参保状态", max_length=16, choices=EnrollmentStatus.choices)
    start_date = models.DateField("参保日期")
    end_date = models.DateField("终止日期", null=True, blank=True)
    source = models.CharField("数据来源", max_length=64, blank=True)

    class Meta:
        verbose_name = "参保记录"
        verbose_name_plural = "参保记录"
        indexes = [models.Index(fields=["person", "scheme"], name="enrollment_person_scheme")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=EnrollmentStatus.values), name="enrollment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="enrollment_dates_in_order",
            ),
            models.CheckConstraint(
                condition=~Q(status=EnrollmentStatus.TERMINATED) | Q(end_date__isnull=False),
                name="enrollment_terminated_has_end",
            ),
        ]

    def __str__(self) -> str:
        return f"参保#{self.pk}"


class BankAccount(models.Model):
    """A person's card-linked bank account; it makes the person a customer of that bank."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="bank_accounts")
    bank = models.ForeignKey(
        Organisation, verbose_name="合作银行", on_delete=models.PROTECT, related_name="+"
    )
    branch = models.ForeignKey(
        Organisation,
        verbose_name="开户网点",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    account_number = models.CharField("银行账号", max_length=32)
    opened_on = models.DateField("开户日期")

    class Meta:
        verbose_name = "银行账户"
        verbose_name_plural = "银行账户"
        constraints = [
            models.UniqueConstraint(fields=["bank", "account_number"], name="bank_account_unique")
        ]

    def __str__(self) -> str:
        return f"账户#{self.pk}"


class PersonChange(models.Model):
    """History of a person's registry data: one row per changed field, never edited."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="changes")
    at = models.DateTimeField("时间", default=timezone.now)
    changed_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    field = models.CharField("字段", max_length=64)
    # A changed phone or name is personal data too: sealed like the field it came from.
    old_value = EncryptedTextField("原值", max_length=255, blank=True)
    new_value = EncryptedTextField("新值", max_length=255, blank=True)
    reason = models.CharField("原因", max_length=255, blank=True)
    source = models.CharField("来源", max_length=64, blank=True)

    class Meta:
        verbose_name = "人员信息变更"
        verbose_name_plural = "人员信息变更"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"变更#{self.pk}"
