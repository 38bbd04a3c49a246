from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from shebao.geo.models import Region
from shebao.intake.models import ImportBatch
from shebao.jobs.models import Job
from shebao.registration.choices import (
    CATEGORY_CHOICES,
    ENGINE_LABELS,
    Employment,
    FindingStatus,
    ReasonUninsured,
    RegistrationState,
    RunStatus,
    VisitOutcome,
)
from shebao.registry.models import Household, Person
from shebao.vault.fields import EncryptedTextField


class ComparisonRun(models.Model):
    """One comparison over import batches: engine, as-of date, counts, duration, status."""

    engine = models.CharField("比对引擎", max_length=16, default="duckdb")
    as_of = models.DateField("比对基准日期")
    threshold = models.FloatField("匹配概率阈值", default=0.9)
    inputs = models.ManyToManyField(ImportBatch, verbose_name="输入批次", related_name="runs")
    status = models.CharField(
        "状态", max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    counts = models.JSONField("各类问题数", default=dict, blank=True)
    skipped = models.JSONField("未计算的类别", default=dict, blank=True)
    findings_total = models.BigIntegerField("问题总数", default=0)
    findings_loaded = models.BigIntegerField("已入库问题数", default=0)
    confirmed_links = models.BigIntegerField("应用人工确认匹配的行数", default=0)
    duration_seconds = models.FloatField("用时（秒）", null=True, blank=True)
    timings = models.JSONField("各步用时", default=dict, blank=True)
    out_dir = models.CharField("结果目录（数据目录内）", max_length=500, blank=True)
    error = models.TextField("错误", blank=True)
    job = models.ForeignKey(
        Job,
        verbose_name="后台任务",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="发起人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("提交时间", default=timezone.now, db_index=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "比对批次"
        verbose_name_plural = "比对批次"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="comparison_run_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"比对#{self.pk}"

    @property
    def engine_label(self) -> str:
        return ENGINE_LABELS.get(self.engine, self.engine)


class Finding(models.Model):
    """One problem a comparison found, with its evidence, and the work on it. Status changes
    go through `registration.services` only.

    A finding keeps its identity across comparisons: a later run that finds the same problem
    (same category, ID number and `source_key`) updates this row (`run`, evidence) and keeps
    its status, assignee and resolution (see `bulk.findings_load`). `run` is the latest run
    that found it; `first_run` the first."""

    # run and region are indexed by the composite indexes below (they lead them).
    run = models.ForeignKey(
        ComparisonRun,
        verbose_name="比对批次",
        on_delete=models.CASCADE,
        related_name="findings",
        db_index=False,
    )
    first_run = models.ForeignKey(
        ComparisonRun,
        verbose_name="首次发现于比对",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    category = models.CharField("问题类别", max_length=32, choices=CATEGORY_CHOICES)
    source_key = models.CharField(
        "来源标识",
        max_length=64,
        blank=True,
        help_text="跨月份识别同一问题：数据类型、险种或险种组、同类问题的序号",
    )
    source = models.CharField("来源文件", max_length=255, blank=True)
    row = models.BigIntegerField("行号", null=True, blank=True)
    id_number = models.CharField("公民身份号码", max_length=64, db_index=True)
    name = models.CharField("姓名", max_length=128, blank=True)
    matched_id_number = models.CharField("疑似对应号码", max_length=18, blank=True)
    match_probability = models.FloatField("匹配概率", null=True, blank=True)
    detail = models.JSONField("证据", default=dict, blank=True)
    person = models.ForeignKey(
        Person,
        verbose_name="人员",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
    )
    region = models.ForeignKey(
        Region,
        verbose_name="所属地区",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    status = models.CharField(
        "处理状态", max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="经办人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField("处理说明", blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="处理人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField("处理时间", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "比对问题"
        verbose_name_plural = "比对问题"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["run", "status"], name="finding_run_status"),
            models.Index(fields=["region", "status"], name="finding_region_status"),
            models.Index(fields=["run", "category"], name="finding_run_category"),
            models.Index(fields=["id_number", "category", "source_key"], name="finding_identity"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=FindingStatus.values), name="finding_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[FindingStatus.OPEN, FindingStatus.ASSIGNED])
                | Q(resolved_at__isnull=False),
                name="finding_resolved_dated",
            ),
            models.CheckConstraint(
                condition=~Q(status=FindingStatus.ASSIGNED) | Q(assignee__isnull=False),
                name="finding_assigned_has_assignee",
            ),
        ]

    def __str__(self) -> str:
        return f"问题#{self.pk}"


class ConfirmedMatch(models.Model):
    """A clerk's confirmation that a source row flagged PROBABLE_MATCH is the matched person:
    from the next comparison run on, rows of that kind read with the same ID number and name
    count for the matched ID number (see `registration.links`). Written by
    `services.finding_resolve` only, audited."""

    finding = models.ForeignKey(
        Finding,
        verbose_name="疑似同一人问题",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    batch = models.ForeignKey(
        ImportBatch, verbose_name="导入批次", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField("数据类型", max_length=16)
    source = models.CharField("来源文件", max_length=255)
    row = models.BigIntegerField("行号")
    id_number = models.CharField("原号码（按文件）", max_length=64)
    name = models.CharField("姓名（按文件）", max_length=128)
    matched_id_number = models.CharField("确认对应号码", max_length=18)
    person = models.ForeignKey(
        Person,
        verbose_name="对应人员",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="确认人", on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField("确认时间", default=timezone.now)

    class Meta:
        verbose_name = "人工确认匹配"
        verbose_name_plural = "人工确认匹配"
        ordering = ["confirmed_at", "id"]
        indexes = [models.Index(fields=["kind", "id_number"], name="confirmed_match_kind_id")]
        constraints = [
            models.UniqueConstraint(fields=["batch", "row"], name="confirmed_match_row_once"),
        ]

    def __str__(self) -> str:
        return f"确认匹配#{self.pk}"


class PersonRegistration(models.Model):
    """A person's registration status and coverage per scheme group, derived from the
    registry and the latest comparison's unresolved findings (see services)."""

    person = models.OneToOneField(
        Person, primary_key=True, on_delete=models.CASCADE, related_name="registration"
    )
    state = models.CharField("登记状态", max_length=16, choices=RegistrationState.choices)
    region = models.ForeignKey(
        Region, verbose_name="所属地区", on_delete=models.PROTECT, related_name="+"
    )
    pension_eligible = models.BooleanField("应参养老保险", default=False)
    pension_scheme = models.CharField("养老保险险种", max_length=3, blank=True)
    medical_scheme = models.CharField("医疗保险险种", max_length=3, blank=True)
    open_findings = models.PositiveIntegerField("未处理问题数", default=0)
    run = models.ForeignKey(
        ComparisonRun,
        verbose_name="依据比对",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "参保登记状态"
        verbose_name_plural = "参保登记状态"
        indexes = [models.Index(fields=["region", "state"], name="registration_region_state")]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=RegistrationState.values), name="registration_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"登记#{self.pk}"


class SurveyRecord(models.Model):
    """One household-survey visit's result for one person (后调查)."""

    person = models.ForeignKey(
        Person, verbose_name="人员", on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(
        Household,
        verbose_name="户",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    region = models.ForeignKey(
        Region, verbose_name="所属地区", on_delete=models.PROTECT, related_name="+"
    )
    run = models.ForeignKey(
        ComparisonRun,
        verbose_name="依据比对",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outcome = models.CharField(
        "走访结果",
        max_length=16,
        choices=VisitOutcome.choices,
        default=VisitOutcome.INTERVIEWED,
    )
    # Empty when nobody could be asked (see `outcome`).
    employment = models.CharField("就业情况", max_length=16, choices=Employment.choices, blank=True)
    scheme_wanted = models.CharField("拟参加险种", max_length=3, blank=True)
    reason_uninsured = models.CharField(
        "未参保原因", max_length=32, choices=ReasonUninsured.choices, blank=True
    )
    # The phone and the free-text answer are sealed (SM4, ADR 0017); the coded answers above
    # stay clear for the statistics that aggregate them in SQL.
    phone = EncryptedTextField("联系电话", max_length=16, blank=True)
    voluntary_schemes = models.JSONField("自愿参加险种", default=list, blank=True)
    note = EncryptedTextField("备注", max_length=255, blank=True)
    surveyed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="调查员", on_delete=models.PROTECT, related_name="+"
    )
    surveyed_at = models.DateTimeField("调查时间", default=timezone.now)

    class Meta:
        verbose_name = "入户调查记录"
        verbose_name_plural = "入户调查记录"
        ordering = ["-surveyed_at", "-id"]
        indexes = [models.Index(fields=["region", "run"], name="survey_region_run")]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=VisitOutcome.values), name="survey_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(employment__in=Employment.values)
                | (Q(employment="") & ~Q(outcome=VisitOutcome.INTERVIEWED)),
                name="survey_employment_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"调查#{self.pk}"
