from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from shebao.jobs.choices import JobStatus


class Job(models.Model):
    """One piece of background work: a registered kind with its parameters, its progress and
    its result. Status changes go through `jobs.services` only."""

    kind = models.CharField("任务类型", max_length=64, db_index=True)
    parameters = models.JSONField("参数", default=dict, blank=True)
    status = models.CharField(
        "状态", max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    progress_done = models.BigIntegerField("已完成", default=0)
    progress_total = models.BigIntegerField("总量", default=0)
    message = models.CharField("进度说明", max_length=255, blank=True)
    result = models.JSONField("结果", default=dict, blank=True)
    error = models.TextField("错误", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="提交人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    worker = models.CharField("执行进程", max_length=128, blank=True)
    created_at = models.DateTimeField("提交时间", default=timezone.now, db_index=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField("最近进度时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        verbose_name = "后台任务"
        verbose_name_plural = "后台任务"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="job_status_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="job_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(progress_done__gte=0) & Q(progress_total__gte=0),
                name="job_progress_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(status=JobStatus.QUEUED) | Q(started_at__isnull=False),
                name="job_started_when_not_queued",
            ),
        ]

    def __str__(self) -> str:
        return f"任务#{self.pk} {self.kind}"

    @property
    def percent(self) -> int | None:
        if self.status == JobStatus.SUCCEEDED:
            return 100
        if self.progress_total <= 0:
            return None
        return min(100, int(self.progress_done * 100 / self.progress_total))

    @property
    def is_final(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class ScheduledRun(models.Model):
    """One occurrence of a recurring job (see `jobs.schedules`): unique per schedule and slot,
    so that each occurrence is enqueued once whatever the number of workers."""

    name = models.CharField("计划任务", max_length=64)
    slot = models.DateTimeField("计划时间")
    job = models.ForeignKey(Job, verbose_name="任务", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField("登记时间", default=timezone.now)

    class Meta:
        verbose_name = "计划任务记录"
        verbose_name_plural = "计划任务记录"
        ordering = ["-slot"]
        constraints = [
            models.UniqueConstraint(fields=["name", "slot"], name="scheduled_run_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.slot:%Y-%m-%d %H:%M}"


class WorkerPresence(models.Model):
    """A running `shebao worker`: it writes `seen_at` every few seconds while alive, so that
    pages can say when no worker will pick queued work up, and so that the jobs of a worker
    that died can be failed (with their import batch or comparison run)."""

    name = models.CharField("工作进程", max_length=128, unique=True)
    host = models.CharField("主机", max_length=128)
    pid = models.PositiveIntegerField("进程号")
    started_at = models.DateTimeField("启动时间", default=timezone.now)
    seen_at = models.DateTimeField("最近心跳", default=timezone.now, db_index=True)
    stopped_at = models.DateTimeField("停止时间", null=True, blank=True)

    class Meta:
        verbose_name = "工作进程"
        verbose_name_plural = "工作进程"
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"工作进程 {self.name}"
