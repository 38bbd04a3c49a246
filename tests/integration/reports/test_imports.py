"""`shebao targets import FILE` and `shebao figures import FILE`: all or nothing, idempotent."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from openpyxl import Workbook

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent
from shebao.geo.models import Region
from shebao.reports.models import ImportBatch, ReportedFigure, Target

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DATA = Path(__file__).parent / "data"
TARGETS_HEADER = "年度,月份,区划代码,合作银行,指标,目标值"
FIGURES_HEADER = "统计月份,区划代码,合作银行,指标,累计值"


def write_csv(path: Path, header: str, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join([header, *lines]) + "\r\n").encode(encoding))
    return path


def run(command: str, path: Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, "import", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_importing_the_same_file_twice_changes_nothing(hunan: dict[str, Region]) -> None:
    first, _ = run("targets", DATA / "hunan_2014_07_targets.csv")
    assert "共 28 行，新增 28，更新 0，未变 0" in first
    again, _ = run("targets", DATA / "hunan_2014_07_targets.csv")
    assert "共 28 行，新增 0，更新 0，未变 28" in again
    assert Target.objects.count() == 28
    assert Target.objects.filter(month__isnull=True).count() == 14
    annual = Target.objects.get(region_id="431100", month__isnull=True)
    assert (annual.year, annual.bank, annual.metric, annual.value) == (
        2014,
        "",
        "submitted",
        2_006_000,
    )
    # Both imports are recorded (who sent what), but the rows keep the batch that wrote them.
    first_batch, second_batch = ImportBatch.objects.order_by("id")
    assert (second_batch.created, second_batch.unchanged) == (0, 28)
    assert set(Target.objects.values_list("batch_id", flat=True)) == {first_batch.pk}


def test_a_corrected_file_updates_only_what_changed(
    hunan: dict[str, Region], tmp_path: Path
) -> None:
    run("figures", DATA / "hunan_2014_07_figures.csv")
    corrected = write_csv(
        tmp_path / "corrected.csv",
        FIGURES_HEADER,
        "2014-07,431100,,上报开户数据,3260000",
        "2014-07,430100,,上报开户数据,970000",
        "2014-08,430100,,上报开户数据,1200000",
    )
    out, _ = run("figures", corrected)
    assert "共 3 行，新增 1，更新 1，未变 1" in out
    yongzhou = ReportedFigure.objects.get(
        year=2014, month=7, region_id="431100", metric="submitted"
    )
    assert yongzhou.value == 3_260_000
    assert yongzhou.batch == ImportBatch.objects.latest("id")
    assert ReportedFigure.objects.count() == 49


def test_any_bad_row_rejects_the_whole_file_with_every_reason(
    hunan: dict[str, Region], tmp_path: Path
) -> None:
    bad = write_csv(
        tmp_path / "bad.csv",
        TARGETS_HEADER,
        "2014,,430100,,上报开户数据,3204000",  # good
        "2014,,439900,,上报开户数据,1",  # unknown region
        "2014,7,430200,,开卡,1",  # unknown metric
        "2014,13,430200,,上报开户数据,1",  # bad month
        "2014,7,430300,,上报开户数据,-1",  # negative
        "2014,7,430400,,上报开户数据,1.5",  # not an integer
        "2014,,430100,,上报开户数据,5",  # duplicate of row 2
    )
    err = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("targets", "import", str(bad), stdout=StringIO(), stderr=err)
    assert raised.value.returncode == 1
    assert "导入文件有6处错误，未导入任何数据" in str(raised.value)
    assert err.getvalue().splitlines() == [
        "第3行【区划代码】区划代码“439900”不存在（REGION_UNKNOWN）",
        "第4行【指标】指标“开卡”不是以下之一：上报开户数据、接收开户数据、完成开户、制卡、"
        "发卡、激活、电子社保卡、参保登记（METRIC_UNKNOWN）",
        "第5行【月份】月份“13”应为1–12（留空表示全年目标）（MONTH_INVALID）",
        "第6行【目标值】目标值“-1”不能为负数（VALUE_NEGATIVE）",
        "第7行【目标值】目标值“1.5”应为非负整数（人数或张数）（VALUE_NOT_INTEGER）",
        "第8行【年度/月份/区划代码/合作银行/指标】与第2行重复"
        "（同一期间、区划、合作银行和指标只能有一行）（DUPLICATE_KEY）",
    ]
    assert Target.objects.count() == 0
    assert ImportBatch.objects.count() == 0
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORT).exists()


def test_a_file_that_is_not_a_table(hunan: dict[str, Region], tmp_path: Path) -> None:
    broken = tmp_path / "figures.xlsx"
    broken.write_bytes(b"PK\x03\x04 broken")
    err = StringIO()
    with pytest.raises(CommandError, match="IMPORT_REJECTED"):
        call_command("figures", "import", str(broken), stdout=StringIO(), stderr=err)
    assert "FILE_UNREADABLE" in err.getvalue()


def test_xlsx_and_gb18030_files(hunan: dict[str, Region], tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(TARGETS_HEADER.split(","))
    sheet.append([2014, None, 430100, None, "上报开户数据", 3204000])
    sheet.append([2014, 7, "430100", "农业银行", "完成开户", 1000])
    workbook.save(tmp_path / "targets.xlsx")
    out, _ = run("targets", tmp_path / "targets.xlsx")
    assert "新增 2" in out
    assert Target.objects.get(bank="农业银行").month == 7

    gb = write_csv(
        tmp_path / "figures.csv",
        FIGURES_HEADER,
        "2014-07,430100,农信社联社,接收开户数据,8170000",
        encoding="gb18030",
    )
    run("figures", gb)
    assert ReportedFigure.objects.get().bank == "农信社联社"


def test_imports_are_audited(hunan: dict[str, Region]) -> None:
    run("figures", DATA / "hunan_2014_07_figures.csv")
    event = AuditEvent.objects.get(action=AuditAction.IMPORT)
    batch = ImportBatch.objects.get()
    assert event.username == "命令行"
    assert event.target_id == str(batch.pk)
    assert event.detail["rows"] == 48
    assert event.detail["sha256"] == batch.sha256


def test_the_database_holds_the_same_invariants(hunan: dict[str, Region]) -> None:
    Target.objects.create(year=2014, month=None, region_id="430100", metric="submitted", value=1)
    Target.objects.create(
        year=2014, month=None, region_id="430100", bank="农业银行", metric="submitted", value=1
    )
    Target.objects.create(year=2014, month=7, region_id="430100", metric="submitted", value=1)
    for duplicate in (
        {"month": None, "bank": ""},
        {"month": 7, "bank": ""},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Target.objects.create(
                year=2014, region_id="430100", metric="submitted", value=2, **duplicate
            )
    for bad in ({"value": -1}, {"month": 13, "value": 1}, {"metric": "bogus", "value": 1}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Target.objects.create(
                **{"year": 2015, "region_id": "430100", "metric": "submitted", **bad}
            )
    ReportedFigure.objects.create(year=2014, month=7, region_id="430100", metric="opened", value=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportedFigure.objects.create(
            year=2014, month=7, region_id="430100", metric="opened", value=5
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportedFigure.objects.create(
            year=2014, month=7, region_id="430100", metric="produced", value=-5
        )
