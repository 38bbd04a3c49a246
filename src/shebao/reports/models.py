"""Targets, figures reported upward, their import batches, and the bulletins produced.

Banks are stored by name, not as `accounts.Organisation`: levels that report upward name
banks (农信社联社, 邮储银行 …) that need not exist as organisations in this system, and the
files carry only the name. An empty bank is the region's own figure or target.
"""

from __future__ import annotations

from datetime import date

from django.db import models
from django.db.models import Q
from django.utils import timezone

from shebao.accounts.choices import OrganisationKind
from shebao.accounts.models import Organisation, User
from shebao.geo.models import Region
from shebao.reports.choices import BulletinFormat, ImportKind, MetricChoice, WorkPlanStatus
from shebao.reports.domain.rows import FIRST_YEAR, LAST_YEAR, MAX_BANK_LENGTH

_YEAR_OK = Q(year__gte=FIRST_YEAR, year__lte=LAST_YEAR)
_METRIC_OK = Q(metric__in=MetricChoice.values)


class ImportBatch(models.Model):
    """One import of a targets or figures file (also a no-op re-import: who sent what)."""

    kind = models.CharField("类型", max_length=16, choices=ImportKind.choices)
    file_name = models.CharField("文件名", max_length=255)
    sha256 = models.CharField("文件摘要", max_length=64)
    rows = models.PositiveIntegerField("行数")
    created = models.PositiveIntegerField("新增")
    updated = models.PositiveIntegerField("更新")
    unchanged = models.PositiveIntegerField("未变")
    imported_at = models.DateTimeField("导入时间", default=timezone.now)
    imported_by = models.ForeignKey(
        User,
        verbose_name="导入人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"
        ordering = ["-imported_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ImportKind.values), name="import_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}（{self.imported_at:%Y-%m-%d %H:%M}）"


class Target(models.Model):
    """An annual target (month empty) or the cumulative target at a month's end."""

    year = models.PositiveSmallIntegerField("年度")
    month = models.PositiveSmallIntegerField("月份", null=True, blank=True)
    region = models.ForeignKey(
        Region, verbose_name="区划", on_delete=models.PROTECT, related_name="report_targets"
    )
    bank = models.CharField("合作银行", max_length=MAX_BANK_LENGTH, blank=True, default="")
    metric = models.CharField("指标", max_length=16, choices=MetricChoice.choices)
    value = models.PositiveBigIntegerField("目标值")
    batch = models.ForeignKey(
        ImportBatch,
        verbose_name="导入批次",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="targets",
    )
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "任务目标"
        verbose_name_plural = "任务目标"
        ordering = ["year", "month", "region_id", "bank", "metric"]
        indexes = [models.Index(fields=["region", "year"], name="target_region_year")]
        constraints = [
            models.CheckConstraint(condition=_YEAR_OK, name="target_year_valid"),
            models.CheckConstraint(
                condition=Q(month__isnull=True) | Q(month__gte=1, month__lte=12),
                name="target_month_valid",
            ),
            models.CheckConstraint(condition=_METRIC_OK, name="target_metric_valid"),
            models.CheckConstraint(condition=Q(value__gte=0), name="target_value_nonnegative"),
            # NULL months are distinct in a plain unique index, so the annual targets get
            # their own partial one.
            models.UniqueConstraint(
                fields=["year", "region", "bank", "metric"],
                condition=Q(month__isnull=True),
                name="target_annual_unique",
            ),
            models.UniqueConstraint(
                fields=["year", "month", "region", "bank", "metric"],
                condition=Q(month__isnull=False),
                name="target_month_unique",
            ),
        ]

    def __str__(self) -> str:
        period = f"{self.year}年" + (f"{self.month}月" if self.month else "全年")
        bank = f" {self.bank}" if self.bank else ""
        return f"{period} {self.region_id}{bank} {self.get_metric_display()} {self.value}"


class ReportedFigure(models.Model):
    """A cumulative count at a month's end, as a level reported it upward."""

    year = models.PositiveSmallIntegerField("年")
    month = models.PositiveSmallIntegerField("月")
    region = models.ForeignKey(
        Region, verbose_name="区划", on_delete=models.PROTECT, related_name="report_figures"
    )
    bank = models.CharField("合作银行", max_length=MAX_BANK_LENGTH, blank=True, default="")
    metric = models.CharField("指标", max_length=16, choices=MetricChoice.choices)
    value = models.PositiveBigIntegerField("累计值")
    batch = models.ForeignKey(
        ImportBatch,
        verbose_name="导入批次",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="figures",
    )
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "上报数据"
        verbose_name_plural = "上报数据"
        ordering = ["year", "month", "region_id", "bank", "metric"]
        indexes = [models.Index(fields=["region", "year", "month"], name="figure_region_month")]
        constraints = [
            models.CheckConstraint(condition=_YEAR_OK, name="figure_year_valid"),
            models.CheckConstraint(
                condition=Q(month__gte=1, month__lte=12), name="figure_month_valid"
            ),
            models.CheckConstraint(condition=_METRIC_OK, name="figure_metric_valid"),
            models.CheckConstraint(condition=Q(value__gte=0), name="figure_value_nonnegative"),
            models.UniqueConstraint(
                fields=["year", "month", "region", "bank", "metric"], name="figure_unique"
            ),
        ]

    def __str__(self) -> str:
        bank = f" {self.bank}" if self.bank else ""
        return f"{self.period} {self.region_id}{bank} {self.get_metric_display()} {self.value}"

    @property
    def period(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class LiveCount(models.Model):
    """How much work of one kind the system recorded on one day in one region (the finest it
    knows: a village or a town), per bank where the work has one. The pre-aggregate that
    `live_figures_refresh` keeps current, day by day."""

    day = models.DateField("日期")
    region = models.ForeignKey(
        Region, verbose_name="区划", on_delete=models.PROTECT, related_name="+"
    )
    bank = models.CharField("合作银行", max_length=MAX_BANK_LENGTH, blank=True, default="")
    metric = models.CharField("指标", max_length=16, choices=MetricChoice.choices)
    count = models.PositiveBigIntegerField("当日数")

    class Meta:
        verbose_name = "实时日统计"
        verbose_name_plural = "实时日统计"
        ordering = ["day", "region_id", "bank", "metric"]
        indexes = [models.Index(fields=["day"], name="livecount_day")]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "region", "bank", "metric"], name="livecount_unique"
            ),
        ]

    def __str__(self) -> str:
        bank = f" {self.bank}" if self.bank else ""
        return f"{self.day} {self.region_id}{bank} {self.get_metric_display()} 当日{self.count}"


class LiveFigure(models.Model):
    """A month-end cumulative figure computed from the system's own records, in the shape of
    `ReportedFigure`. Where both exist for a region, month, bank and metric, this one is used
    (pages say so)."""

    year = models.PositiveSmallIntegerField("年")
    month = models.PositiveSmallIntegerField("月")
    region = models.ForeignKey(
        Region, verbose_name="区划", on_delete=models.PROTECT, related_name="live_figures"
    )
    bank = models.CharField("合作银行", max_length=MAX_BANK_LENGTH, blank=True, default="")
    metric = models.CharField("指标", max_length=16, choices=MetricChoice.choices)
    value = models.PositiveBigIntegerField("累计值")

    class Meta:
        verbose_name = "实时统计"
        verbose_name_plural = "实时统计"
        ordering = ["year", "month", "region_id", "bank", "metric"]
        indexes = [models.Index(fields=["region", "year", "month"], name="livefig_region_month")]
        constraints = [
            models.UniqueConstraint(
                fields=["year", "month", "region", "bank", "metric"], name="livefigure_unique"
            ),
        ]

    def __str__(self) -> str:
        bank = f" {self.bank}" if self.bank else ""
        return (
            f"{self.year}年{self.month}月 {self.region_id}{bank} "
            f"{self.get_metric_display()} 实时累计{self.value}"
        )


class LiveRefresh(models.Model):
    """One run of the live-figure refresh: from which day it re-counted, what it wrote."""

    started_at = models.DateTimeField("开始时间", default=timezone.now)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    since = models.DateField("重算起始日")
    counts = models.PositiveIntegerField("日统计行数", default=0)
    figures = models.PositiveIntegerField("月度统计行数", default=0)

    class Meta:
        verbose_name = "实时统计刷新"
        verbose_name_plural = "实时统计刷新"
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"实时统计刷新 {self.started_at:%Y-%m-%d %H:%M}（自{self.since}起重算）"


class Bulletin(models.Model):
    """A produced bulletin with the figures it was computed from, kept as published.

    The snapshot is what the document says; correcting a figure later changes the next
    bulletin, never this one (`figures_sha256` tells whether two bulletins differ)."""

    year = models.PositiveSmallIntegerField("年")
    month = models.PositiveSmallIntegerField("月")
    region = models.ForeignKey(
        Region, verbose_name="区划", on_delete=models.PROTECT, related_name="bulletins"
    )
    format = models.CharField("格式", max_length=8, choices=BulletinFormat.choices)
    snapshot = models.JSONField("数据快照")
    figures_sha256 = models.CharField("数据摘要", max_length=64, db_index=True)
    text = models.TextField("通报正文")
    file_name = models.CharField("文件名", max_length=255, blank=True)
    file_sha256 = models.CharField("文件摘要", max_length=64, blank=True)
    generated_at = models.DateTimeField("生成时间", default=timezone.now)
    generated_by = models.ForeignKey(
        User,
        verbose_name="生成人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    issuer = models.CharField("发文单位", max_length=128, blank=True)
    # Versions of the same region, month and format: a new one supersedes the last (kept).
    version = models.PositiveSmallIntegerField("版本", default=1)
    superseded_by = models.ForeignKey(
        "self",
        verbose_name="被更正为",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supersedes",
    )
    superseded_at = models.DateTimeField("更正时间", null=True, blank=True)
    correction_reason = models.CharField("更正原因", max_length=255, blank=True)

    class Meta:
        verbose_name = "进度通报"
        verbose_name_plural = "进度通报"
        ordering = ["-generated_at", "-id"]
        indexes = [models.Index(fields=["region", "year", "month"], name="bulletin_region_month")]
        constraints = [
            models.CheckConstraint(condition=_YEAR_OK, name="bulletin_year_valid"),
            models.CheckConstraint(
                condition=Q(month__gte=1, month__lte=12), name="bulletin_month_valid"
            ),
            models.CheckConstraint(
                condition=Q(format__in=BulletinFormat.values), name="bulletin_format_valid"
            ),
        ]

    def __str__(self) -> str:
        state = "，已被更正" if self.superseded_by_id else ""
        return (
            f"{self.region.name}{self.year}年{self.month}月进度通报"
            f"（{self.get_format_display()}，第{self.version}版{state}）"
        )

    @property
    def is_current(self) -> bool:
        return self.superseded_by_id is None


class WorkPlan(models.Model):
    """A work plan (工作计划表) of an area, as seed 001's attachment lays it out.

    Leaders of the area see the whole plan; other organisations see the items they lead or
    cooperate in (see `selectors.work_plan_items_visible`)."""

    title = models.CharField("计划名称", max_length=128)
    region = models.ForeignKey(
        Region, verbose_name="区划", on_delete=models.PROTECT, related_name="work_plans"
    )
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)
    updated_by = models.ForeignKey(
        User,
        verbose_name="导入人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = "工作计划"
        verbose_name_plural = "工作计划"
        ordering = ["region_id", "title"]
        constraints = [
            models.UniqueConstraint(fields=["region", "title"], name="work_plan_title_unique"),
        ]

    def __str__(self) -> str:
        return self.title


class WorkPlanItem(models.Model):
    """One concrete task of a plan: who leads it, who cooperates, by when, how far it is."""

    plan = models.ForeignKey(
        WorkPlan, verbose_name="工作计划", on_delete=models.CASCADE, related_name="items"
    )
    position = models.PositiveIntegerField("行次")  # order within the plan, from 1
    number = models.PositiveSmallIntegerField("序号")
    item = models.CharField("工作事项", max_length=100)
    task = models.TextField("具体任务")
    lead = models.ForeignKey(
        Organisation,
        verbose_name="牵头单位",
        on_delete=models.PROTECT,
        related_name="work_plan_leads",
    )
    cooperating = models.ManyToManyField(
        Organisation,
        verbose_name="配合单位",
        blank=True,
        related_name="work_plan_cooperations",
    )
    due_date = models.DateField("完成时限", null=True, blank=True)
    # The deadline as the plan words it ("2013年7月底前"); due_date is its last day.
    due_text = models.CharField("完成时限（原文）", max_length=32, blank=True)
    note = models.CharField("备注", max_length=255, blank=True)
    status = models.CharField(
        "状态", max_length=16, choices=WorkPlanStatus.choices, default=WorkPlanStatus.NOT_STARTED
    )
    status_changed_at = models.DateTimeField("状态变更时间", null=True, blank=True)
    status_changed_by = models.ForeignKey(
        User,
        verbose_name="状态变更人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = "工作计划事项"
        verbose_name_plural = "工作计划事项"
        ordering = ["plan_id", "position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=WorkPlanStatus.values), name="work_plan_item_status_valid"
            ),
            models.CheckConstraint(condition=Q(position__gte=1), name="work_plan_item_position"),
            models.UniqueConstraint(fields=["plan", "position"], name="work_plan_item_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.item}：{self.task[:20]}"

    def overdue_on(self, day: date) -> bool:
        """Past its deadline and not done."""
        return (
            self.due_date is not None and self.due_date < day and self.status != WorkPlanStatus.DONE
        )


class WorkPlanItemGroup(models.Model):
    """A kind of organisation cooperating as a whole ("各镇（街）"): every organisation of that
    kind in the plan's area cooperates in the item."""

    item = models.ForeignKey(
        WorkPlanItem, verbose_name="工作计划事项", on_delete=models.CASCADE, related_name="groups"
    )
    kind = models.CharField("机构类型", max_length=32, choices=OrganisationKind.choices)

    class Meta:
        verbose_name = "配合单位类别"
        verbose_name_plural = "配合单位类别"
        ordering = ["item_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["item", "kind"], name="work_plan_group_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=OrganisationKind.values), name="work_plan_group_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"事项{self.item_id} 配合单位：各{self.get_kind_display()}"
