from django.db import models

from shebao.reports.domain.metrics import METRIC_LABELS, Metric


class MetricChoice(models.TextChoices):
    """The eight metrics; values and labels come from the pure domain's `Metric`."""

    SUBMITTED = Metric.SUBMITTED.value, METRIC_LABELS[Metric.SUBMITTED]
    RECEIVED = Metric.RECEIVED.value, METRIC_LABELS[Metric.RECEIVED]
    OPENED = Metric.OPENED.value, METRIC_LABELS[Metric.OPENED]
    PRODUCED = Metric.PRODUCED.value, METRIC_LABELS[Metric.PRODUCED]
    DISTRIBUTED = Metric.DISTRIBUTED.value, METRIC_LABELS[Metric.DISTRIBUTED]
    ACTIVATED = Metric.ACTIVATED.value, METRIC_LABELS[Metric.ACTIVATED]
    ECARD = Metric.ECARD.value, METRIC_LABELS[Metric.ECARD]
    REGISTERED = Metric.REGISTERED.value, METRIC_LABELS[Metric.REGISTERED]


class ImportKind(models.TextChoices):
    TARGETS = "targets", "任务目标"
    FIGURES = "figures", "上报数据"


class BulletinFormat(models.TextChoices):
    TEXT = "text", "纯文本"
    XLSX = "xlsx", "Excel 表格"
    DOCX = "docx", "Word 文档"
    PDF = "pdf", "PDF 文档"


class WorkPlanStatus(models.TextChoices):
    """A work-plan item's life cycle; changes only through `work_plan_item_transition`."""

    NOT_STARTED = "not_started", "未开始"
    IN_PROGRESS = "in_progress", "进行中"
    DONE = "done", "已完成"
