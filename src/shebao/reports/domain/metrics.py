"""The eight progress metrics (指标) and their Chinese names as files and bulletins write them."""

from __future__ import annotations

from enum import StrEnum


class Metric(StrEnum):
    """Stored codes; `label` is the name in import files and documents."""

    SUBMITTED = "submitted"
    RECEIVED = "received"
    OPENED = "opened"
    PRODUCED = "produced"
    DISTRIBUTED = "distributed"
    ACTIVATED = "activated"
    ECARD = "ecard"
    REGISTERED = "registered"

    @property
    def label(self) -> str:
        return METRIC_LABELS[self]


METRIC_LABELS: dict[Metric, str] = {
    Metric.SUBMITTED: "上报开户数据",
    Metric.RECEIVED: "接收开户数据",
    Metric.OPENED: "完成开户",
    Metric.PRODUCED: "制卡",
    Metric.DISTRIBUTED: "发卡",
    Metric.ACTIVATED: "激活",
    Metric.ECARD: "电子社保卡",
    Metric.REGISTERED: "参保登记",
}

_BY_LABEL: dict[str, Metric] = {label: metric for metric, label in METRIC_LABELS.items()}


def metric_from_label(text: str) -> Metric | None:
    """The metric a file names, by its Chinese name (or its stored code); None if unknown."""
    text = text.strip()
    if text in _BY_LABEL:
        return _BY_LABEL[text]
    try:
        return Metric(text)
    except ValueError:
        return None
