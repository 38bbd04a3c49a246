"""The work plan in a real browser: a district card office imports its plan, sees the overdue
task highlighted and marks it done; a town office sees only its own tasks."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from shebao.accounts.choices import OrganisationKind, Role
from shebao.geo.codes import level_of, parent_code_of, prefix_of
from shebao.geo.models import Region
from shebao.reports.domain.work_plan import WORK_PLAN_COLUMNS
from tests.factories import PASSWORD, make_org, make_user

pytestmark = pytest.mark.e2e

REGIONS = {"420000": "湖北省", "420700": "鄂州市", "420704": "鄂城区", "420704001": "凤凰街道"}
OFFICE = "鄂城区社保卡管理办公室"
ROWS = [
    ["1", "制订方案", "制订发卡工作方案，报区政府审定。", OFFICE, "", "2020年7月底前", "",
     "进行中"],
    ["", "", "了解掌握我区机关事业单位基本情况数据。", OFFICE, "", "2020年7月8日", "", "已完成"],
    ["2", "个人申领", "各镇（街）政务服务中心设立社保（市民）卡服务窗口。", OFFICE, "各镇（街）",
     "2099年10月底前", "", "未开始"],
]  # fmt: skip


def log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")


def test_import_overdue_and_status(
    browser_page: Any, screenshot_dir: Path, e2e_db: None, tmp_path: Path
) -> None:
    page = browser_page
    for code, name in REGIONS.items():
        parent = parent_code_of(code)
        Region.objects.create(
            code=code,
            name=name,
            level=level_of(code),
            parent_id=parent if parent in REGIONS else None,
            prefix=prefix_of(code),
            full_name=name,
        )
    office = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420704", name=OFFICE)
    make_user(Role.DISTRICT_CLERK, office, username="district")
    town = make_org(OrganisationKind.TOWN_OFFICE, "420704001", name="凤凰街道办事处")
    make_user(Role.TOWN_CLERK, town, username="town")
    plan = tmp_path / "plan.csv"
    with plan.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([WORK_PLAN_COLUMNS, *ROWS])

    log_in(page, "district")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="工作计划").click()
    page.get_by_label("计划名称").fill("鄂城区社会保障卡发行工作计划表")
    page.get_by_label("文件（XLSX 或 CSV）").set_input_files(str(plan))
    page.get_by_role("button", name="导入").click()
    page.wait_for_url("**/reports/work-plan/?plan=*")
    assert "已导入“鄂城区社会保障卡发行工作计划表”共3项" in page.get_by_role("status").inner_text()
    overdue = page.locator("tr.overdue")
    assert overdue.count() == 1
    assert "制订发卡工作方案" in overdue.inner_text() and "已逾期" in overdue.inner_text()
    assert page.get_by_test_id("overdue-count").inner_text() == "逾期 1 项"
    page.screenshot(path=str(screenshot_dir / "reports-work-plan.png"), full_page=True)

    overdue.get_by_role("button", name="标记已完成").click()
    page.wait_for_url("**/reports/work-plan/?plan=*")
    assert page.locator("tr.overdue").count() == 0
    assert "已标记为已完成" in page.get_by_role("status").inner_text()

    page.get_by_role("button", name="退出登录").click()
    log_in(page, "town")
    page.goto("/reports/work-plan/")
    rows = page.locator("table.plan-table tbody tr")
    assert rows.count() == 1
    assert "各镇（街）政务服务中心设立" in rows.inner_text()
    assert page.get_by_role("button", name="标记进行中").count() == 0  # not its task to move
