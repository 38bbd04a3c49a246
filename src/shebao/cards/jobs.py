"""The cards' time-driven rules, run every night by the worker (and by hand with
`shebao cards recall-overdue|lapse-temporary-losses|cancel-deceased [--as-of D] [--dry-run]`):

- 回收逾期未领取卡片 (recall-overdue): cards waiting at a point of issue past the configured
  days go back up the chain;
- 临时挂失到期自动解除 (lapse-temporary-losses): temporary losses past their days lapse;
- 死亡人员卡片注销 (cancel-deceased): open cards of persons the registry records as deceased
  are cancelled (deaths loaded in bulk send no signal).

Each rule is one function taking the day it is run for (`as_of`, default today) and
`dry_run`; the command and the job kind call the same function, and the schedules enqueue
the job kinds once a day through `jobs.schedules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Final

from django.utils import timezone

from shebao.jobs.kinds import JobContext, job_kind
from shebao.jobs.schedules import DailyAt, schedule

RECALL_OVERDUE: Final[str] = "cards.recall_overdue"
LAPSE_TEMPORARY_LOSSES: Final[str] = "cards.lapse_temporary_losses"
CANCEL_DECEASED: Final[str] = "cards.cancel_deceased"


@dataclass
class SweepOutcome:
    """What a rule did (or, dry, would do) on its day: a count, and details per point of
    issue and recall handover for the recall."""

    rule: str
    as_of: date
    dry_run: bool
    count: int
    per_organisation: dict[str, int] = field(default_factory=dict)
    handovers: list[tuple[str, int]] = field(default_factory=list)

    def as_result(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "count": self.count,
            "per_organisation": self.per_organisation,
            "handovers": [{"number": n, "cards": c} for n, c in self.handovers],
        }


def end_of_day(day: date) -> datetime:
    """The last moment of `day` in local time: a rule run "as of" a day sees that whole day."""
    return timezone.make_aware(datetime.combine(day, time.max), timezone.get_current_timezone())


def sweep_recall_overdue(*, as_of: date | None = None, dry_run: bool = False) -> SweepOutcome:
    from shebao.cards.services.custody import cards_recall_overdue

    day = as_of or timezone.localdate()
    result = cards_recall_overdue(actor=None, now=end_of_day(day), dry_run=dry_run)
    return SweepOutcome(
        rule=RECALL_OVERDUE,
        as_of=day,
        dry_run=dry_run,
        count=result.total,
        per_organisation=dict(sorted(result.per_organisation.items())),
        handovers=[(h.number, h.listed_count) for h in result.handovers],
    )


def sweep_lapse_temporary_losses(
    *, as_of: date | None = None, dry_run: bool = False
) -> SweepOutcome:
    from shebao.cards.services.card_life import cards_lapse_temporary_losses

    day = as_of or timezone.localdate()
    n = cards_lapse_temporary_losses(today=day, dry_run=dry_run)
    return SweepOutcome(rule=LAPSE_TEMPORARY_LOSSES, as_of=day, dry_run=dry_run, count=n)


def sweep_cancel_deceased(*, as_of: date | None = None, dry_run: bool = False) -> SweepOutcome:
    from shebao.cards.services.card_life import cards_cancel_for_deceased

    day = as_of or timezone.localdate()
    n = cards_cancel_for_deceased(as_of=day, dry_run=dry_run)
    return SweepOutcome(rule=CANCEL_DECEASED, as_of=day, dry_run=dry_run, count=n)


SWEEPS = {
    RECALL_OVERDUE: sweep_recall_overdue,
    LAPSE_TEMPORARY_LOSSES: sweep_lapse_temporary_losses,
    CANCEL_DECEASED: sweep_cancel_deceased,
}


def _run(ctx: JobContext, rule: str, label: str) -> dict[str, Any]:
    params = ctx.parameters
    as_of = date.fromisoformat(params["as_of"]) if params.get("as_of") else None
    ctx.progress(0, 1, label)
    outcome = SWEEPS[rule](as_of=as_of, dry_run=bool(params.get("dry_run", False)))
    ctx.progress(1, 1, f"{label}：{outcome.count:,} 张")
    return outcome.as_result()


@job_kind(RECALL_OVERDUE, label="回收逾期未领取卡片")
def run_recall_overdue(ctx: JobContext) -> dict[str, Any]:
    return _run(ctx, RECALL_OVERDUE, "回收逾期未领取卡片")


@job_kind(LAPSE_TEMPORARY_LOSSES, label="临时挂失到期自动解除")
def run_lapse_temporary_losses(ctx: JobContext) -> dict[str, Any]:
    return _run(ctx, LAPSE_TEMPORARY_LOSSES, "临时挂失到期自动解除")


@job_kind(CANCEL_DECEASED, label="注销死亡人员的卡片")
def run_cancel_deceased(ctx: JobContext) -> dict[str, Any]:
    return _run(ctx, CANCEL_DECEASED, "注销死亡人员的卡片")


# Early every morning, before the offices open, in an order that does not matter (each rule
# touches cards in its own statuses).
schedule("cards.cancel_deceased", every=DailyAt(hour=1, minute=10), kind=CANCEL_DECEASED)
schedule(
    "cards.lapse_temporary_losses", every=DailyAt(hour=1, minute=20), kind=LAPSE_TEMPORARY_LOSSES
)
schedule("cards.recall_overdue", every=DailyAt(hour=1, minute=30), kind=RECALL_OVERDUE)
