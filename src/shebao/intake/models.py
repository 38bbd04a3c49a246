from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from shebao.geo.models import Region
from shebao.intake.choices import SOURCE_KIND_CHOICES, ImportMode, ImportStatus
from shebao.intake.formats.kinds import SourceKind
from shebao.jobs.models import Job


class ImportBatch(models.Model):
    """One department file imported once: its standardised Parquet snapshot and its rejected
    rows (a Parquet file beside it), with counts. Status changes go through `services`."""

    kind = models.CharField("数据类型", max_length=16, choices=SOURCE_KIND_CHOICES)
    mode = models.CharField(
        "全量或增量", max_length=16, choices=ImportMode.choices, default=ImportMode.SNAPSHOT
    )
    base = models.ForeignKey(
        "self",
        verbose_name="叠加于批次",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="增量批次所叠加的批次（导入时该类数据的当前批次）",
    )
    shrink_confirmed = models.BooleanField("已确认行数大幅减少的全量数据", default=False)
    rows_effective = models.BigIntegerField(
        "叠加后有效行数", default=0, help_text="全量：接收行数；增量：叠加到所依据数据后的行数"
    )
    is_current = models.BooleanField(
        "当前数据", default=False, help_text="比对使用每类数据的当前批次（增量连同其所依据的批次）"
    )
    file_name = models.CharField("文件名", max_length=255)
    file_sha256 = models.CharField("文件 SHA-256", max_length=64, db_index=True)
    file_size = models.BigIntegerField("文件大小（字节）", default=0)
    stored_path = models.CharField("原始文件（数据目录内）", max_length=500)
    snapshot_path = models.CharField("标准化快照（数据目录内）", max_length=500, blank=True)
    rejected_path = models.CharField("拒收行文件（数据目录内）", max_length=500, blank=True)
    file_format = models.CharField("文件格式", max_length=16, blank=True)
    encoding = models.CharField("编码", max_length=16, blank=True)
    header_line = models.PositiveIntegerField("表头所在行", default=1)
    columns = models.JSONField("列对应", default=dict, blank=True)
    rows_read = models.BigIntegerField("读取行数", default=0)
    rows_accepted = models.BigIntegerField("接收行数", default=0)
    rows_rejected = models.BigIntegerField("拒收行数", default=0)
    status = models.CharField(
        "状态", max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    error_code = models.CharField("错误代码", max_length=32, blank=True)
    error_message = models.TextField("错误说明", blank=True)
    region = models.ForeignKey(
        Region,
        verbose_name="所属地区",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
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
        verbose_name="导入人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("提交时间", default=timezone.now, db_index=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="import_batch_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in SourceKind]), name="import_batch_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(mode__in=ImportMode.values), name="import_batch_mode_valid"
            ),
            # One current batch per kind, and only an imported one.
            models.UniqueConstraint(
                fields=["kind"], condition=Q(is_current=True), name="import_batch_one_current"
            ),
            models.CheckConstraint(
                condition=Q(is_current=False) | Q(status=ImportStatus.IMPORTED),
                name="import_batch_current_imported",
            ),
            models.CheckConstraint(
                condition=Q(mode=ImportMode.SNAPSHOT, base__isnull=True)
                | Q(mode=ImportMode.INCREMENT),
                name="import_batch_snapshot_has_no_base",
            ),
            models.CheckConstraint(
                condition=Q(rows_read=models.F("rows_accepted") + models.F("rows_rejected")),
                name="import_batch_rows_add_up",
            ),
            # The same file imported twice is one batch (a failed attempt may be retried).
            models.UniqueConstraint(
                fields=["kind", "file_sha256"],
                condition=~Q(status=ImportStatus.FAILED),
                name="import_batch_file_once",
            ),
        ]

    def __str__(self) -> str:
        return f"导入批次#{self.pk} {self.file_name}"

    @property
    def kind_label(self) -> str:
        return SourceKind(self.kind).label

    @property
    def mode_label(self) -> str:
        return ImportMode(self.mode).label
