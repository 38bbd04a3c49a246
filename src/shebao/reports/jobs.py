"""The reports' background work: refreshing the live figures every quarter of an hour and
producing last month's bulletins early each month, as job kinds and schedules."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Final

from django.conf import settings
from django.utils import timezone

from shebao.accounts.choices import OrganisationKind
from shebao.accounts.models import Organisation
from shebao.errors import ValidationFailed
from shebao.jobs.kinds import JobContext, job_kind
from shebao.jobs.schedules import Every, MonthlyAt, schedule
from shebao.reports.choices import BulletinFormat
from shebao.reports.domain.bulletin import previous_month
from shebao.reports.models import Bulletin
from shebao.reports.selectors import bulletin_figures
from shebao.reports.services import bulletin_publish, live_figures_refresh, snapshot_digest

LIVE_REFRESH: Final[str] = "reports.live_refresh"
BULLETINS: Final[str] = "reports.bulletins"
SCHEDULED_FORMATS: Final[tuple[BulletinFormat, ...]] = (BulletinFormat.DOCX, BulletinFormat.XLSX)


@job_kind(LIVE_REFRESH, label="刷新实时统计")
def run_live_refresh(ctx: JobContext) -> dict[str, Any]:
    ctx.progress(0, 1, "重算日统计和月度统计")
    outcome = live_figures_refresh(full=bool(ctx.parameters.get("full", False)))
    ctx.progress(1, 1, "完成")
    return {
        "since": outcome.refresh.since.isoformat(),
        "counts": outcome.counts,
        "figures": outcome.figures,
    }


def bulletin_regions() -> list[str]:
    """The regions whose bulletins are produced on schedule: those of the card centres (a
    city's, a province's), in code order."""
    return sorted(
        set(
            Organisation.objects.filter(
                kind=OrganisationKind.CARD_CENTRE, is_active=True
            ).values_list("region_id", flat=True)
        )
    )


def bulletins_produce(*, year: int, month: int, out_dir: Path) -> list[dict[str, Any]]:
    """Produce and keep the month's bulletin of every scheduled region, unless one with the
    same figures is already kept (a re-run changes nothing; a corrected figure makes a new
    bulletin beside the old one, never replaces it)."""
    done: list[dict[str, Any]] = []
    for code in bulletin_regions():
        figures = bulletin_figures(year=year, month=month, region_code=code)
        # Per format: a run killed between the two formats kept one of them; the next run
        # makes the other instead of taking the month for done.
        kept = set(
            Bulletin.objects.filter(
                year=year,
                month=month,
                region_id=code,
                superseded_by__isnull=True,
                figures_sha256=snapshot_digest(figures),
            ).values_list("format", flat=True)
        )
        missing = [fmt for fmt in SCHEDULED_FORMATS if fmt.value not in kept]
        if not missing:
            done.append({"region": code, "status": "unchanged"})
            continue
        for fmt in missing:
            out = out_dir / code / f"{year:04d}-{month:02d}.{fmt.value}"
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                bulletin_publish(
                    year=year,
                    month=month,
                    region_code=code,
                    fmt=fmt,
                    out=out,
                    actor=None,
                    figures=figures,
                )
            except ValidationFailed as exc:
                done.append({"region": code, "status": "skipped", "reason": exc.code})
                break
        else:
            done.append({"region": code, "status": "produced"})
    return done


@job_kind(BULLETINS, label="生成月度进度通报")
def run_bulletins(ctx: JobContext) -> dict[str, Any]:
    today = date.fromisoformat(ctx.parameters["today"]) if "today" in ctx.parameters else None
    today = today or timezone.localdate()
    year, month = previous_month(today.year, today.month)
    ctx.progress(0, 1, f"生成{year}年{month}月通报")
    done = bulletins_produce(year=year, month=month, out_dir=settings.DATA_DIR / "bulletins")
    ctx.progress(1, 1, "完成")
    return {"year": year, "month": month, "regions": done}


schedule("reports.live_refresh", every=Every(minutes=15), kind=LIVE_REFRESH)
schedule("reports.monthly_bulletins", every=MonthlyAt(day=5, hour=6), kind=BULLETINS)
