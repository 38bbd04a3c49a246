"""The scheduled work: each occurrence of a schedule is enqueued once, the worker refreshes
the live figures and produces last month's bulletins, and a re-run keeps what was
published."""

from __future__ import annotations

from datetime import datetime
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from shebao.accounts.choices import OrganisationKind
from shebao.jobs.models import Job, ScheduledRun
from shebao.jobs.schedules import DailyAt, Every, MonthlyAt, schedules_enqueue_due
from shebao.reports.jobs import BULLETINS, LIVE_REFRESH
from shebao.reports.models import Bulletin, LiveRefresh, ReportedFigure
from tests.factories import make_org
from tests.integration.reports.test_pages import make_ezhou

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
CST = ZoneInfo("Asia/Shanghai")


def test_slots_of_each_kind_of_schedule() -> None:
    now = datetime(2026, 11, 5, 6, 40, tzinfo=CST)
    assert Every(minutes=15).slot(now) == datetime(2026, 11, 5, 6, 30, tzinfo=CST)
    assert DailyAt(hour=6).slot(now) == datetime(2026, 11, 5, 6, 0, tzinfo=CST)
    assert DailyAt(hour=7).slot(now) is None
    assert MonthlyAt(day=5, hour=6).slot(now) == datetime(2026, 11, 5, 6, 0, tzinfo=CST)
    assert MonthlyAt(day=6).slot(now) is None
    with pytest.raises(ValueError):
        MonthlyAt(day=31)


def test_each_occurrence_is_enqueued_once() -> None:
    at = datetime(2026, 11, 5, 6, 40, tzinfo=CST)
    first = schedules_enqueue_due(at)
    kinds = set(Job.objects.filter(pk__in=first).values_list("kind", flat=True))
    # Other apps schedule their own work too; the reports' two are among what is due.
    assert {LIVE_REFRESH, BULLETINS} <= kinds
    assert schedules_enqueue_due(at) == []  # a second worker looking at the same clock
    later = schedules_enqueue_due(datetime(2026, 11, 5, 6, 46, tzinfo=CST))
    assert [
        kind for pk in later if (kind := Job.objects.get(pk=pk).kind).startswith("reports.")
    ] == [LIVE_REFRESH]
    assert ScheduledRun.objects.filter(name__startswith="reports.").count() == 3


def test_the_worker_refreshes_figures_and_publishes_last_months_bulletin_once(
    settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path
    make_ezhou()
    make_org(OrganisationKind.CARD_CENTRE, "420700")
    for code, value in (("420702", 300), ("420703", 200), ("420704", 500)):
        ReportedFigure.objects.create(
            year=2026, month=10, region_id=code, metric="submitted", value=value
        )
    from shebao.jobs.services import job_enqueue

    job_enqueue(kind=BULLETINS, parameters={"today": "2026-11-05"})
    job_enqueue(kind=LIVE_REFRESH)
    out = StringIO()
    call_command("worker", "--once", "--no-schedules", stdout=out)
    assert "共运行 2 个任务" in out.getvalue()
    assert LiveRefresh.objects.count() == 1
    kept = Bulletin.objects.filter(region_id="420700", year=2026, month=10)
    assert sorted(kept.values_list("format", flat=True)) == ["docx", "xlsx"]
    assert (tmp_path / "bulletins" / "420700" / "2026-10.docx").stat().st_size > 0
    assert "全市累计上报开户数据" in kept.first().text  # type: ignore[union-attr]

    # The same figures next time: nothing new. A corrected figure: a new bulletin beside.
    job_enqueue(kind=BULLETINS, parameters={"today": "2026-11-05"})
    call_command("worker", "--once", "--no-schedules", stdout=StringIO())
    assert kept.count() == 2
    ReportedFigure.objects.filter(region_id="420704").update(value=600)
    job_enqueue(kind=BULLETINS, parameters={"today": "2026-11-05"})
    call_command("worker", "--once", "--no-schedules", stdout=StringIO())
    assert kept.count() == 4
    result = Job.objects.filter(kind=BULLETINS).order_by("-pk").first().result  # type: ignore[union-attr]
    assert result["regions"] == [{"region": "420700", "status": "produced"}]
