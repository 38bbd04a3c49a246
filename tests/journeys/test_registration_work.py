"""A clerk's registration work against the real server (issue #10, items 22-24).

The village and town clerks search the findings list, sort it, assign ticked rows, open a
finding and read its evidence side by side, record survey outcomes on the roster, print it
with the columns to write in, and export it and the list as laid-out Excel files; the
department clerk uploads a broken file and reads a Chinese error that names it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import load_workbook


def _finding_ids(page: Any) -> list[int]:
    rows = page.locator("[data-testid=findings] tbody tr[data-finding]")
    return [int(rows.nth(i).get_attribute("data-finding")) for i in range(rows.count())]


def _download(page: Any, click: Callable[[], None]) -> Any:
    with page.expect_download() as info:
        click()
    return load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).worksheets[0]


def _laid_out(sheet: Any, title: str) -> list[str]:
    """The sheet's header row, after checking the layout every export shares."""
    assert title in str(sheet["A1"].value)
    assert str(sheet["A2"].value).startswith("导出日期：")
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A3:")
    return [c.value for c in sheet[3]]


def test_department_upload_errors_name_the_file_row_and_column_in_chinese(
    login: Callable[[str], Any], shot: Callable[[Any, str], Path]
) -> None:
    page = login("dept")
    page.goto("/registration/imports/")
    bad_utf8 = (
        "公民身份号码,姓名,死亡日期\n420704195001010011,张老汉,2025-03-01\n".encode()
        + b"420704195001010029,\xff\xfe\xd0,2025-03-01\n"
    )
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "三月死亡名单.csv", "mimeType": "text/csv", "buffer": bad_utf8}],
    )
    page.get_by_role("button", name="上传并导入").click()
    alert = page.locator(".alert-error").first
    text = alert.inner_text()
    assert "三月死亡名单.csv" in text and "第3行“姓名”列" in text
    assert "UTF-8 或 GB18030" in text and "缺少必需列" not in text
    shot(page, "registration-work-upload-encoding")

    page.set_input_files(
        "input[type=file]",
        files=[
            {
                "name": "参保名单.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": b"not an excel workbook",
            }
        ],
    )
    page.get_by_role("button", name="上传并导入").click()
    text = page.locator(".alert-error").first.inner_text()
    assert "参保名单.xlsx" in text and "不是有效的 Excel 文件" in text
    assert not re.search(r"zip|Zip|archive|EOCD|upload\.", text)
    shot(page, "registration-work-upload-xlsx")


def test_village_clerk_searches_sorts_assigns_and_reads_the_evidence(
    login: Callable[[str], Any], shot: Callable[[Any, str], Path]
) -> None:
    page = login("village")
    page.goto("/registration/findings/?sort=id")
    up = _finding_ids(page)
    assert len(up) >= 2 and up == sorted(up)
    page.locator("[data-testid=findings] thead a[data-sort=id]").click()
    page.wait_for_url(re.compile(r"sort=-id"))
    down = _finding_ids(page)
    assert down == sorted(down, reverse=True)

    # Search by the last four digits the masked list shows of a row's ID number.
    first = page.locator("[data-testid=findings] tbody tr[data-finding]").first
    wanted = int(first.get_attribute("data-finding"))
    digits = first.locator("td.mono").inner_text().strip()[-4:]
    page.get_by_label("姓名或身份证号码").fill(digits)
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"q="))
    assert wanted in _finding_ids(page)
    shot(page, "registration-work-search")

    # Tick two open findings and give them to a clerk of the organisation.
    page.goto("/registration/findings/?status=open&sort=id")
    ticked = _finding_ids(page)[:2]
    for finding_id in ticked:
        page.locator(f"input[name=finding][value='{finding_id}']").check()
    assignee = page.locator("[data-testid=bulk-assign-form] select[name=assignee] option")
    page.locator("[data-testid=bulk-assign-form] select[name=assignee]").select_option(
        assignee.nth(1).get_attribute("value")
    )
    page.get_by_test_id("bulk-assign").click()
    page.wait_for_load_state()
    assert f"已将 {len(ticked)} 条问题分派给" in page.content()
    page.goto("/registration/findings/?status=assigned&sort=-id")
    assert set(ticked) <= set(_finding_ids(page))

    # A finding's evidence: department row beside the register's, Chinese labels.
    page.goto("/registration/findings/?category=NAME_MISMATCH&status=all")
    mismatch = _finding_ids(page)
    target = mismatch[0] if mismatch else ticked[0]
    page.goto(f"/registration/findings/{target}/")
    compare = page.get_by_test_id("evidence-compare")
    assert "部门数据" in compare.inner_text() and "人员库" in compare.inner_text()
    page.get_by_label("查看用途").select_option("registration")
    page.get_by_role("button", name="查看完整证据（记入审计）").click()
    page.wait_for_load_state()
    body = page.locator("main").inner_text()
    assert "{'" not in body and "population_names" not in body and "reason" not in body
    if mismatch:
        assert page.locator("[data-testid=evidence-compare] mark").count() >= 2
    assert page.get_by_test_id("person-link").count() == 1
    shot(page, "registration-work-evidence")

    page.goto("/registration/findings/")
    sheet = _download(page, lambda: page.get_by_test_id("findings-export").click())
    header = _laid_out(sheet, "比对问题清单")
    assert header[0] == "编号" and "户号" not in header


def test_village_survey_outcomes_roster_print_and_excel(
    login: Callable[[str], Any], shot: Callable[[Any, str], Path]
) -> None:
    page = login("village")
    page.goto("/registration/survey/")
    page.locator("[data-testid=villages] a").first.click()
    page.wait_for_url(re.compile(r"/survey/villages/"))
    roster_url = page.url
    member = page.locator("tr[data-person]").first
    person = member.get_attribute("data-person")
    member.get_by_test_id("survey-link").click()
    page.get_by_label("无人在家").check()
    page.get_by_role("button", name="保存调查结果").click()
    page.wait_for_url(roster_url)
    row = page.locator(f"tr[data-person='{person}']")
    assert row.get_by_test_id("visit-outcome").inner_text() == "无人在家"

    row.get_by_test_id("survey-link").click()
    page.get_by_label("已入户登记").check()
    page.get_by_role("button", name="保存调查结果").click()
    assert "请选择就业情况" in page.content()  # an interview needs the answers
    page.get_by_label("务农").check()
    page.get_by_role("button", name="保存调查结果").click()
    page.wait_for_url(roster_url)
    assert (
        page.locator(f"tr[data-person='{person}']").get_by_test_id("visit-outcome").inner_text()
        == "已入户登记"
    )

    page.emulate_media(media="print")
    table = page.locator("section.roster-household table").first
    headers = table.locator("thead th").all_inner_texts()
    for column in ("走访结果", "就业情况", "联系电话", "签字"):
        assert column in headers
    shot(page, "registration-work-roster-print")
    page.emulate_media(media="screen")

    sheet = _download(page, lambda: page.get_by_test_id("roster-xlsx").click())
    header = _laid_out(sheet, "入户调查花名册")
    for column in ("走访结果", "就业情况", "调查员签字", "调查日期"):
        assert column in header


def test_town_clerk_exports_findings_with_address_for_a_stated_purpose(
    login: Callable[[str], Any],
) -> None:
    page = login("town")
    page.goto("/registration/findings/?sort=status")
    assert _finding_ids(page)
    page.get_by_test_id("address-export").locator("summary").click()
    page.get_by_label("用途", exact=True).select_option("registration")
    sheet = _download(page, lambda: page.get_by_test_id("address-export-submit").click())
    header = _laid_out(sheet, "比对问题清单")
    assert header[-2:] == ["户号", "住址"]
