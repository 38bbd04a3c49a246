"""Statuses of comparison runs, findings and persons' registration, and the survey's
vocabulary. Each life cycle's allowed moves are listed next to its statuses."""

from __future__ import annotations

from typing import Final

from django.db import models

from shebao.comparison.domain import Category


class RunStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "比对中"
    SUCCEEDED = "succeeded", "已完成"
    FAILED = "failed", "失败"


RUN_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.FAILED}),
    RunStatus.RUNNING: frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED}),
    RunStatus.SUCCEEDED: frozenset(),
    RunStatus.FAILED: frozenset(),
}


class FindingStatus(models.TextChoices):
    OPEN = "open", "待处理"
    ASSIGNED = "assigned", "已分派"
    CORRECTED = "corrected", "已更正"
    CONFIRMED = "confirmed", "已确认"
    DISMISSED = "dismissed", "已排除"


_RESOLVED: Final[frozenset[str]] = frozenset(
    {FindingStatus.CORRECTED, FindingStatus.CONFIRMED, FindingStatus.DISMISSED}
)
FINDING_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    FindingStatus.OPEN: frozenset({FindingStatus.ASSIGNED}) | _RESOLVED,
    # Re-assigning moves assigned → assigned.
    FindingStatus.ASSIGNED: frozenset({FindingStatus.ASSIGNED}) | _RESOLVED,
    FindingStatus.CORRECTED: frozenset(),
    FindingStatus.CONFIRMED: frozenset(),
    FindingStatus.DISMISSED: frozenset(),
}
UNRESOLVED_STATUSES: Final[tuple[str, ...]] = (FindingStatus.OPEN, FindingStatus.ASSIGNED)
RESOLVED_STATUSES: Final[frozenset[str]] = _RESOLVED

CATEGORY_CHOICES: Final[list[tuple[str, str]]] = [(c.value, c.label) for c in Category]
UNINSURED_CATEGORIES: Final[tuple[str, ...]] = (
    Category.PENSION_UNINSURED.value,
    Category.MEDICAL_UNINSURED.value,
)


class RegistrationState(models.TextChoices):
    """A person's universal-registration status, derived from the registry and findings."""

    REGISTERED = "registered", "已登记"  # complete, consistent, insured: confirmed automatically
    PENDING = "pending", "待核实"  # open findings other than being uninsured
    UNINSURED = "uninsured", "应参未参"
    NOT_APPLICABLE = "not_applicable", "不适用"  # deceased or moved out


class VisitOutcome(models.TextChoices):
    """What a household visit came to, for one person."""

    INTERVIEWED = "interviewed", "已入户登记"
    NOBODY_HOME = "nobody_home", "无人在家"
    REFUSED = "refused", "拒绝调查"
    MOVED_AWAY = "moved_away", "已迁出"
    DECEASED = "deceased", "已死亡"
    NOT_FOUND = "not_found", "查无此人"


# The visit settled the person: nothing more to ask (the others are visited again).
SETTLED_OUTCOMES: Final[frozenset[str]] = frozenset(
    {
        VisitOutcome.INTERVIEWED,
        VisitOutcome.MOVED_AWAY,
        VisitOutcome.DECEASED,
        VisitOutcome.NOT_FOUND,
    }
)
# Nobody left to ask: the items of the survey are not required.
GONE_OUTCOMES: Final[frozenset[str]] = frozenset(
    {VisitOutcome.MOVED_AWAY, VisitOutcome.DECEASED, VisitOutcome.NOT_FOUND}
)


class Employment(models.TextChoices):
    EMPLOYED = "employed", "单位就业"
    FLEXIBLE = "flexible", "灵活就业"
    FARMING = "farming", "务农"
    UNEMPLOYED = "unemployed", "失业"
    STUDENT = "student", "在校学生"
    RETIRED = "retired", "退休"
    OTHER = "other", "其他"


class ReasonUninsured(models.TextChoices):
    INSURED_ELSEWHERE = "insured_elsewhere", "已在外地参保"
    CANNOT_AFFORD = "cannot_afford", "经济困难"
    UNWILLING = "unwilling", "不愿参保"
    UNAWARE = "unaware", "不了解政策"
    WORKING_AWAY = "working_away", "外出务工未参保"
    OTHER = "other", "其他"


# Schemes a person may ask for or join voluntarily (the resident schemes and the employee
# schemes the flexibly employed may join).
SCHEME_WANTED_CHOICES: Final[list[tuple[str, str]]] = [
    ("170", "城乡居民基本养老保险"),
    ("390", "城乡居民基本医疗保险"),
    ("110", "企业职工基本养老保险（灵活就业）"),
    ("310", "职工基本医疗保险（灵活就业）"),
]


# The comparison engines as users read them (runs store the engine's code).
ENGINE_LABELS: Final[dict[str, str]] = {"duckdb": "嵌入式引擎（DuckDB）", "spark": "Spark 集群"}
