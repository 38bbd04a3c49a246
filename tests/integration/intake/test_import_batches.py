"""Import batches: a file imported as a job, rejected rows kept and downloadable, the same
file twice changes nothing, a file missing a required column is refused whole."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import AuditEvent
from shebao.intake.choices import ImportStatus
from shebao.intake.exports import rejected_csv_lines, rejected_preview, rejected_xlsx
from shebao.intake.formats import IntakeError, SourceKind
from shebao.intake.models import ImportBatch
from shebao.intake.selectors import import_batches_current, import_batches_visible
from shebao.intake.services import import_batch_submit
from shebao.intake.storage import intake_path
from shebao.jobs.choices import JobStatus
from shebao.jobs.models import Job
from shebao.jobs.services import job_run_next
from tests.factories import id_number_for, make_org, make_regions, make_user

pytestmark = pytest.mark.django_db

ENROLLMENT_HEADER = ["公民身份号码", "姓名", "险种代码", "参保状态", "参保地区划代码", "参保日期"]


def write_enrollment(path: Path, *, bad_rows: int = 2, good_rows: int = 3) -> Path:
    rows = [ENROLLMENT_HEADER]
    for i in range(good_rows):
        rows.append(
            [
                id_number_for("420704", date(1980, 1, 1), i),
                f"张{i}",
                "170",
                "参保缴费",
                "420704",
                "2020-01-01",
            ]
        )
    for i in range(bad_rows):
        rows.append(
            [
                id_number_for("420704", date(1981, 1, 1), i),
                f"李{i}",
                "999",
                "参保缴费",
                "420704",
                "2020-01-01",
            ]
        )
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_import_as_a_job_writes_snapshot_and_rejected_rows(tmp_path: Path) -> None:
    make_regions()
    org = make_org(OrganisationKind.CARD_CENTRE, "420700")
    clerk = make_user(Role.CARD_CENTRE_OPERATOR, org)
    path = write_enrollment(tmp_path / "参保.csv")

    batch, created = import_batch_submit(actor=clerk, path=path)  # kind from the headers
    assert created and batch.kind == SourceKind.ENROLLMENT
    assert batch.status == ImportStatus.QUEUED and batch.job is not None
    assert batch.region_id == "420700"

    job = job_run_next()
    assert job is not None and job.status == JobStatus.SUCCEEDED
    batch.refresh_from_db()
    assert batch.status == ImportStatus.IMPORTED
    assert (batch.rows_read, batch.rows_accepted, batch.rows_rejected) == (5, 3, 2)
    assert intake_path(batch.snapshot_path).exists()
    assert job.result["rows_rejected"] == 2 and job.percent == 100

    preview = rejected_preview(batch)
    assert [r[1] for r in preview] == [4, 5]  # 1-based data rows
    assert all(r[3] == "UNKNOWN_SCHEME" for r in preview)
    lines = list(rejected_csv_lines(batch))
    assert lines[0].startswith("\ufeff文件,行号")
    assert len(lines) == 3
    sheet = load_workbook(io.BytesIO(rejected_xlsx(batch))).active
    assert sheet is not None
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == [
        "文件",
        "行号",
        "列",
        "错误代码",
        "原因",
    ]
    assert sheet.max_row == 3

    assert import_batches_current() == [batch]
    assert (
        AuditEvent.objects.filter(target_type="import_batch", target_id=str(batch.pk)).count() == 2
    )


def test_the_same_file_twice_is_the_same_batch(tmp_path: Path) -> None:
    path = write_enrollment(tmp_path / "a.csv")
    first, created = import_batch_submit(actor=None, path=path, kind=SourceKind.ENROLLMENT)
    job_run_next()
    copy = tmp_path / "copy-of-a.csv"
    copy.write_bytes(path.read_bytes())
    again, created_again = import_batch_submit(actor=None, path=copy)
    assert created and not created_again
    assert again.pk == first.pk
    assert ImportBatch.objects.count() == 1 and Job.objects.count() == 1


def test_missing_required_column_refuses_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "缺列.csv"
    path.write_text(
        "公民身份号码,姓名,险种代码,参保地区划代码\n420704198001010011,张三,170,420704\n",
        encoding="utf-8",
    )
    with pytest.raises(IntakeError) as caught:
        import_batch_submit(actor=None, path=path, kind=SourceKind.ENROLLMENT)
    assert "参保状态" in caught.value.message
    assert not ImportBatch.objects.exists() and not Job.objects.exists()


def test_a_file_that_breaks_during_the_job_fails_the_batch_and_may_be_retried(
    tmp_path: Path,
) -> None:
    path = write_enrollment(tmp_path / "b.csv")
    batch, _ = import_batch_submit(actor=None, path=path)
    intake_path(batch.stored_path).write_bytes(b"\xff\xfe garbage without header")
    job = job_run_next()
    assert job is not None and job.status == JobStatus.FAILED
    batch.refresh_from_db()
    assert batch.status == ImportStatus.FAILED and batch.error_message
    assert not batch.snapshot_path
    # The same (good) file again: a new batch, since the failed one does not count.
    retry, created = import_batch_submit(actor=None, path=path)
    assert created and retry.pk != batch.pk


def test_batches_are_scoped_by_region(tmp_path: Path) -> None:
    make_regions()
    city = make_user(Role.CARD_CENTRE_OPERATOR, make_org(OrganisationKind.CARD_CENTRE, "420700"))
    district = make_user(
        Role.DISTRICT_CLERK, make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420702")
    )
    batch, _ = import_batch_submit(actor=city, path=write_enrollment(tmp_path / "c.csv"))
    assert list(import_batches_visible(actor=city)) == [batch]
    assert list(import_batches_visible(actor=district)) == []


def test_import_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_enrollment(tmp_path / "d.csv")
    call_command("import", f"enrollment={path}")
    out = capsys.readouterr().out
    assert "接收 3 行，拒收 2 行" in out
    call_command("import", str(path))
    assert "未重复导入" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("甲,乙\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import", str(bad))
