"""Registration in a real browser: a card-centre clerk uploads a department file and sees
the batch with its rejected rows; a village clerk works a finding and records a household
survey result on a phone-sized screen."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from shebao.jobs.services import job_run_next
from shebao.registration.choices import FindingStatus
from shebao.registration.models import Finding, SurveyRecord
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD, id_number_for
from tests.integration.registration.world import PHOENIX, build_world, run_comparison_now

pytestmark = pytest.mark.e2e

FAST = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def _log_in(page: Any, username: str) -> None:
    # The card-centre clerk gives a one-time code after the password (enrolling first).
    log_in(page, username, PASSWORD)
    page.wait_for_url("**/")


@override_settings(PASSWORD_HASHERS=FAST)
def test_clerk_uploads_a_file_and_sees_rejected_rows(
    browser_page: Any, screenshot_dir: Path, tmp_path: Path
) -> None:
    page = browser_page
    build_world(tmp_path)
    upload = tmp_path / "参保数据-二季度.csv"
    with upload.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["身份证号码", "姓名", "险种代码", "参保状态", "参保地区划代码"])
        writer.writerow(
            [id_number_for("420704", date(1970, 1, 1), 1), "周一", "170", "1", "420704"]
        )
        writer.writerow(
            [id_number_for("420704", date(1971, 1, 1), 2), "吴二", "888", "1", "420704"]
        )
        writer.writerow(
            [id_number_for("420704", date(1972, 1, 1), 3), "郑三", "390", "停保", "420704"]
        )

    _log_in(page, "centre")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="数据导入").click()
    page.get_by_label("数据类型").select_option(label="参保数据")
    page.locator("#id_file").set_input_files(str(upload))
    # A whole file far smaller than the current data (5 rows) must be confirmed as such.
    page.get_by_label("确认是完整的全量数据").check()
    page.get_by_role("button", name="上传并导入").click()
    page.wait_for_url("**/registration/imports/*/")
    assert page.get_by_test_id("batch-status").inner_text() == "排队中"
    assert page.get_by_test_id("job-progress").is_visible()

    job_run_next()  # the worker picks the job up; the page is polling and reloads
    page.get_by_test_id("batch-status").filter(has_text="已导入").wait_for()
    assert page.get_by_test_id("rows-read").inner_text() == "3"
    assert page.get_by_test_id("rows-rejected").inner_text() == "2"
    rejected = page.get_by_test_id("rejected-rows").inner_text()
    assert "UNKNOWN_SCHEME" in rejected and "“888”无法识别" in rejected
    assert "UNKNOWN_STATUS" in rejected and "“停保”无法识别" in rejected
    page.screenshot(path=str(screenshot_dir / "registration-import.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_test_id("rejected-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    page.get_by_role("link", name="返回导入批次列表").click()
    assert "参保数据-二季度.csv" in page.get_by_test_id("batches").inner_text()


@override_settings(PASSWORD_HASHERS=FAST)
def test_village_clerk_works_a_finding_and_records_a_survey(
    browser_page: Any, screenshot_dir: Path, tmp_path: Path
) -> None:
    page = browser_page
    world = build_world(tmp_path)
    run_comparison_now(world)
    mismatch = Finding.objects.filter(category="NAME_MISMATCH").order_by("row").first()
    assert mismatch is not None

    _log_in(page, "phoenix_clerk")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="比对问题处理").click()
    page.get_by_label("问题类别").select_option(label="姓名与公安人口库不一致")
    page.get_by_role("button", name="筛选").click()
    table = page.get_by_test_id("findings")
    assert "张*" in table.inner_text() and world.misnamed.id_number not in page.content()
    # The person's name differs in more than one row; open this finding's own link (the
    # list's order of equal rows is the database's).
    table.locator(f"a[href='/registration/findings/{mismatch.pk}/']").click()
    page.wait_for_url(f"**/registration/findings/{mismatch.pk}/")

    page.get_by_label("已更正（更正人员库）").check()
    page.get_by_text("更正人员库（选择“已更正”时）").click()
    page.get_by_label("更正姓名").fill("张玮")
    page.get_by_label("处理说明").fill("核对户口簿，姓名应为张玮")
    page.get_by_test_id("resolve").click()
    page.get_by_test_id("finding-status").filter(has_text="已更正").wait_for()
    mismatch.refresh_from_db()
    world.misnamed.refresh_from_db()
    assert mismatch.status == FindingStatus.CORRECTED and world.misnamed.name == "张玮"

    page.set_viewport_size({"width": 390, "height": 844})  # a surveyor's phone
    page.goto("/registration/survey/")
    page.get_by_role("link", name="花名册").click()
    page.wait_for_url(f"**/registration/survey/villages/{PHOENIX}/")
    row = page.locator(f"tr[data-person='{world.uninsured.pk}']")
    assert "应参未参养老保险" in row.inner_text()
    row.get_by_role("link", name="登记调查结果").click()
    page.get_by_label("务农").check()
    page.get_by_label("未参保原因").select_option(label="不了解政策")
    page.get_by_label("拟参加险种").select_option(value="170")
    page.get_by_label("联系电话（手机）").fill("13900001111")
    page.screenshot(path=str(screenshot_dir / "registration-survey-form.png"), full_page=True)
    page.get_by_role("button", name="保存调查结果").click()
    page.wait_for_url(f"**/registration/survey/villages/{PHOENIX}/")
    assert "已登记" in page.locator(f"tr[data-person='{world.uninsured.pk}']").inner_text()
    record = SurveyRecord.objects.get(person=world.uninsured)
    assert record.employment == "farming" and record.scheme_wanted == "170"
    assert set(Finding.objects.filter(person=world.uninsured).values_list("status", flat=True)) == {
        FindingStatus.CONFIRMED
    }
