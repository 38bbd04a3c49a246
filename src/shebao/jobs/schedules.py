"""Recurring jobs: the apps declare what runs when; the worker enqueues each occurrence once.

    from shebao.jobs.schedules import Every, DailyAt, schedule

    schedule("reports.live_refresh", every=Every(minutes=15), kind="reports.live_refresh")
    schedule("reports.monthly_bulletins", every=MonthlyAt(day=5, hour=6), kind="reports.bulletins")

An occurrence is a *slot* (the start of its period). `schedules_enqueue_due` records
(schedule, slot) in `ScheduledRun`, unique in the database, and enqueues the job in the same
transaction: any number of workers may look at the clock at once and each occurrence runs
once. A slot missed while no worker ran is not replayed; the next one is taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

__all__ = [
    "DailyAt",
    "Every",
    "MonthlyAt",
    "Schedule",
    "schedule",
    "schedules_enqueue_due",
    "schedules_registered",
]


@dataclass(frozen=True, slots=True)
class Every:
    """A fixed period from midnight (local time): slots at 00:00, 00:15, … for 15 minutes."""

    minutes: int

    def slot(self, now: datetime) -> datetime:
        local = timezone.localtime(now)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        elapsed = int((local - midnight).total_seconds() // 60)
        return midnight + timedelta(minutes=elapsed - elapsed % self.minutes)


@dataclass(frozen=True, slots=True)
class DailyAt:
    """Once a day at a local time; before that time, today's slot is not due yet."""

    hour: int
    minute: int = 0

    def slot(self, now: datetime) -> datetime | None:
        local = timezone.localtime(now)
        at = local.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        return at if local >= at else None


@dataclass(frozen=True, slots=True)
class MonthlyAt:
    """Once a month on a day at a local time (day 1-28, so that every month has it)."""

    day: int
    hour: int = 0
    minute: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.day <= 28:
            raise ValueError("day must be 1-28")

    def slot(self, now: datetime) -> datetime | None:
        local = timezone.localtime(now)
        at = local.replace(
            day=self.day, hour=self.hour, minute=self.minute, second=0, microsecond=0
        )
        return at if local >= at else None


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    every: Every | DailyAt | MonthlyAt
    kind: str
    parameters: dict[str, Any] = field(default_factory=dict)


_SCHEDULES: dict[str, Schedule] = {}


def schedule(
    name: str,
    *,
    every: Every | DailyAt | MonthlyAt,
    kind: str,
    parameters: dict[str, Any] | None = None,
) -> Schedule:
    item = Schedule(name=name, every=every, kind=kind, parameters=parameters or {})
    _SCHEDULES[name] = item
    return item


def schedules_registered() -> dict[str, Schedule]:
    return dict(_SCHEDULES)


def schedules_enqueue_due(now: datetime | None = None) -> list[int]:
    """Enqueue the jobs of every schedule whose current slot has not been enqueued yet;
    return the ids of the jobs enqueued."""
    from shebao.jobs.models import ScheduledRun
    from shebao.jobs.services import job_enqueue

    now = now or timezone.now()
    enqueued: list[int] = []
    for item in _SCHEDULES.values():
        slot = item.every.slot(now)
        if slot is None or ScheduledRun.objects.filter(name=item.name, slot=slot).exists():
            continue
        try:
            with transaction.atomic():
                job = job_enqueue(kind=item.kind, parameters=dict(item.parameters))
                ScheduledRun.objects.create(name=item.name, slot=slot, job=job)
        except IntegrityError:
            continue  # another worker took this slot
        enqueued.append(job.pk)
    return enqueued
