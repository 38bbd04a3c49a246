"""The registration pages through Django's test client: each role's pages render, act
through the services, and refuse what the role may not do."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from shebao.accounts.models import AuditEvent, User
from shebao.intake.models import ImportBatch
from shebao.jobs.services import job_run_next
from shebao.registration.choices import FindingStatus
from shebao.registration.models import Finding, SurveyRecord
from tests.integration.registration.world import PHOENIX, RegWorld, build_world, run_comparison_now

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(tmp_path: Path) -> RegWorld:
    w = build_world(tmp_path)
    run_comparison_now(w)
    return w


def test_upload_page_queues_and_shows_the_batch(world: RegWorld) -> None:
    client = client_for(world.centre)
    assert "部门数据导入" in client.get("/registration/imports/").content.decode()
    content = (
        "公民身份号码,姓名,死亡日期\n"
        "420704195001010011,张老汉,2025年3月1日\n"
        "420704195001010029,李老太,不详\n"
    )
    response = client.post(
        "/registration/imports/",
        {"kind": "death", "file": SimpleUploadedFile("死亡.csv", content.encode("gb18030"))},
    )
    assert response.status_code == 302
    batch = ImportBatch.objects.get(file_name="死亡.csv")
    page = client.get(response["Location"]).content.decode()
    assert "排队中" in page and "data-job-url" in page
    job_run_next()
    page = client.get(f"/registration/imports/{batch.pk}/").content.decode()
    assert "已导入" in page and "BAD_DATE" in page
    xlsx = client.get(f"/registration/imports/{batch.pk}/rejected.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row == 2
    assert AuditEvent.objects.filter(target_type="import_rejected").exists()


def test_upload_missing_column_shows_the_chinese_error(world: RegWorld) -> None:
    client = client_for(world.centre)
    response = client.post(
        "/registration/imports/",
        {
            "kind": "death",
            "file": SimpleUploadedFile("缺列.csv", "公民身份号码,姓名\n1,2\n".encode()),
        },
    )
    assert response.status_code == 200
    assert "死亡日期" in response.content.decode()


def test_village_clerk_cannot_import_or_run(world: RegWorld) -> None:
    client = client_for(world.clerk)
    assert client.get("/registration/imports/").status_code == 403
    assert client.get("/registration/runs/").status_code == 403


def test_runs_page_starts_a_run(world: RegWorld) -> None:
    client = client_for(world.centre)
    response = client.post(
        "/registration/runs/", {"engine": "duckdb", "as_of": "2026-06-30", "threshold": "0.9"}
    )
    assert response.status_code == 302
    job_run_next()
    page = client.get(response["Location"]).content.decode()
    assert "已完成" in page and "姓名与公安人口库不一致" in page


def test_findings_queue_detail_and_resolution(world: RegWorld) -> None:
    client = client_for(world.clerk)
    page = client.get("/registration/findings/").content.decode()
    assert "比对问题处理" in page
    # The browser tab shows the title as text: no markup may end up inside it.
    assert "<title>比对问题处理" in page
    assert "<script" not in page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert world.uninsured.id_number not in page and world.uninsured.name not in page  # masked
    finding = Finding.objects.get(category="PENSION_UNINSURED", person=world.uninsured)
    detail = client.get(f"/registration/findings/{finding.pk}/").content.decode()
    assert world.uninsured.id_number not in detail
    revealed = client.post(
        f"/registration/findings/{finding.pk}/", {"action": "reveal", "purpose": "registration"}
    ).content.decode()
    assert world.uninsured.id_number in revealed
    assert AuditEvent.objects.filter(action="reveal_person", target_id=str(finding.pk)).exists()
    client.post(f"/registration/findings/{finding.pk}/assign/", {"assignee": str(world.clerk.pk)})
    finding.refresh_from_db()
    assert finding.status == FindingStatus.ASSIGNED
    client.post(
        f"/registration/findings/{finding.pk}/resolve/",
        {"outcome": "corrected", "scheme_code": "170", "note": "已补录"},
    )
    finding.refresh_from_db()
    assert finding.status == FindingStatus.CORRECTED
    assert world.uninsured.enrollments.filter(scheme_id="170").exists()
    export = client.get("/registration/findings/export.xlsx?status=all")
    assert export.status_code == 200
    assert AuditEvent.objects.filter(action="export", target_type="findings").exists()
    other = client_for(world.other_clerk)
    assert other.get(f"/registration/findings/{finding.pk}/").status_code == 403


def test_survey_roster_and_form(world: RegWorld) -> None:
    client = client_for(world.surveyor)
    assert "凤凰村" in client.get("/registration/survey/").content.decode()
    roster = client.get(f"/registration/survey/villages/{PHOENIX}/").content.decode()
    assert world.uninsured.name in roster and "应参未参养老保险" in roster
    assert client.get(f"/registration/survey/villages/{PHOENIX}/roster.xlsx").status_code == 200
    form = client.get(f"/registration/survey/persons/{world.uninsured.pk}/").content.decode()
    assert "就业情况" in form
    response = client.post(
        f"/registration/survey/persons/{world.uninsured.pk}/",
        {
            "employment": "farming",
            "reason_uninsured": "unaware",
            "scheme_wanted": "170",
            "phone": "13900001111",
        },
    )
    assert response.status_code == 302
    assert SurveyRecord.objects.filter(person=world.uninsured).exists()
    bad = client.post(
        f"/registration/survey/persons/{world.uninsured.pk}/",
        {"employment": "farming", "phone": "123"},
    )
    assert bad.status_code == 200 and "手机号码有误" in bad.content.decode()


def test_coverage_page_json_and_export(world: RegWorld) -> None:
    client = client_for(world.centre)
    page = client.get("/registration/coverage/?region=420704001").content.decode()
    assert "参保覆盖情况" in page and "coverage-data" in page
    data = client.get("/registration/coverage/data.json?region=420704001").json()
    assert {r["code"] for r in data["regions"]} == {PHOENIX, "420704001202"}
    assert data["goals"] == {"pension": 95.0, "medical": 100.0}
    assert client.get("/registration/coverage/export.xlsx?region=420704001").status_code == 200
    assert (
        client_for(world.clerk).get("/registration/coverage/?region=420704001").status_code == 403
    )


def test_navigation_shows_the_entries_by_role(world: RegWorld) -> None:
    home = client_for(world.clerk).get("/").content.decode()
    assert "比对问题处理" in home and "入户调查" in home and "数据导入" not in home
    centre = client_for(world.centre).get("/").content.decode()
    assert "数据导入" in centre and "数据比对" in centre and "参保覆盖" in centre


def test_list_pages_query_count_does_not_grow_with_rows(
    world: RegWorld, django_assert_max_num_queries: Any
) -> None:
    client = client_for(world.centre)
    client.get("/registration/findings/?status=all")  # warm caches (sessions, roles)
    with django_assert_max_num_queries(25):
        client.get("/registration/findings/?status=all")
    with django_assert_max_num_queries(20):
        client.get("/registration/imports/")
