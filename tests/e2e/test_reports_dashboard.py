"""Progress reporting in a real browser: the dashboard draws its charts and drills down when a
region's bar is clicked; the bulletin page states seed 004's figures and downloads."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from shebao.accounts.choices import OrganisationKind, Role
from shebao.geo.codes import level_of, parent_code_of, prefix_of
from shebao.geo.models import Region
from shebao.reports.services import reports_demo_seed
from tests.factories import PASSWORD, make_org, make_user

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parents[1] / "integration" / "reports" / "data"

EZHOU = {
    "420000": "湖北省",
    "420700": "鄂州市",
    "420702": "梁子湖区",
    "420703": "华容区",
    "420704": "鄂城区",
    "420702100": "太和镇",
    "420702101": "东沟镇",
    "420702102": "沼山镇",
    "420703100": "华容镇",
    "420703101": "葛店镇",
    "420703102": "段店镇",
    "420704001": "凤凰街道",
    "420704002": "古楼街道",
    "420704003": "西山街道",
    "420704100": "樊口街道",
}
HUNAN = {
    "430000": "湖南省",
    "430100": "长沙市",
    "430200": "株洲市",
    "430300": "湘潭市",
    "430400": "衡阳市",
    "430500": "邵阳市",
    "430600": "岳阳市",
    "430700": "常德市",
    "430800": "张家界市",
    "430900": "益阳市",
    "431000": "郴州市",
    "431100": "永州市",
    "431200": "怀化市",
    "431300": "娄底市",
    "433100": "湘西土家族苗族自治州",
}


def make_regions(names: dict[str, str]) -> None:
    for code, name in names.items():
        parent = parent_code_of(code)
        Region.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "level": level_of(code),
                "parent_id": parent if parent in names else None,
                "prefix": prefix_of(code),
                "full_name": name,
            },
        )


def log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")


def wait_for_charts(page: Any) -> None:
    page.locator("#dashboard[data-ready='true']").wait_for()
    for chart in ("chart-regions", "chart-trend", "chart-banks", "chart-ranking"):
        assert page.locator(f"#{chart} canvas").count() >= 1, chart


def bar_position(page: Any, name: str) -> dict[str, float]:
    """The middle of a region's bar in the progress chart, in page coordinates."""
    page.locator("#chart-regions").scroll_into_view_if_needed()
    position: dict[str, float] = page.evaluate(
        """(name) => {
            const el = document.getElementById("chart-regions");
            const chart = echarts.getInstanceByDom(el);
            const option = chart.getOption();
            const index = option.xAxis[0].data.indexOf(name);
            const value = option.series[0].data[index].value;
            const [x, y] = chart.convertToPixel({ seriesIndex: 0 }, [index, value / 2]);
            const box = el.getBoundingClientRect();
            return { x: box.left + x, y: box.top + y };
        }""",
        name,
    )
    return position


def test_dashboard_draws_charts_and_drills_down(
    browser_page: Any, screenshot_dir: Path, e2e_db: None
) -> None:
    page = browser_page
    make_regions(EZHOU)
    reports_demo_seed(year=2026, through_month=10)
    make_user(Role.LEADER_VIEWER, make_org(OrganisationKind.BUREAU, "420700"), username="leader")
    log_in(page, "leader")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="进度看板").click()
    page.wait_for_url("**/reports/dashboard/")
    heading = page.locator("#region-heading")
    assert heading.inner_text() == "鄂州市 · 社会保障卡建设进度"
    wait_for_charts(page)
    assert "2026年10月" in page.locator("main").inner_text()
    page.screenshot(path=str(screenshot_dir / "reports-dashboard-city.png"), full_page=True)

    spot = bar_position(page, "鄂城区")
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_url("**/reports/dashboard/?*region=420704*")
    assert heading.inner_text() == "鄂城区 · 社会保障卡建设进度"
    wait_for_charts(page)
    table = page.get_by_test_id("region-table").inner_text()
    assert "凤凰街道" in table and "樊口街道" in table
    page.screenshot(path=str(screenshot_dir / "reports-dashboard-district.png"), full_page=True)

    # And back up through the trail of regions above.
    page.locator(".dash-trail").get_by_role("link", name="鄂州市").click()
    page.wait_for_url("**region=420700*")
    assert heading.inner_text() == "鄂州市 · 社会保障卡建设进度"


def test_bulletin_page_shows_the_seeds_figures_and_downloads(
    browser_page: Any, screenshot_dir: Path, e2e_db: None, tmp_path: Path
) -> None:
    page = browser_page
    make_regions(HUNAN)
    call_command("targets", "import", str(DATA / "hunan_2014_07_targets.csv"), stdout=StringIO())
    call_command("figures", "import", str(DATA / "hunan_2014_07_figures.csv"), stdout=StringIO())
    make_user(Role.LEADER_VIEWER, make_org(OrganisationKind.BUREAU, "430000"), username="hunan")
    log_in(page, "hunan")

    page.goto("/reports/bulletin/")
    assert page.get_by_test_id("bulletin-region").inner_text() == "湖南省"
    summary = page.get_by_test_id("bulletin-paragraph").first.inner_text()
    assert "全省累计上报开户数据1855万人，完成年数据采集目标任务的87.3%" in summary
    assert "101.5%" in summary
    tables = page.locator("table.report-table")
    assert tables.count() == 2
    assert "87.3%" in tables.first.locator("tr.total").inner_text()
    page.screenshot(path=str(screenshot_dir / "reports-bulletin.png"), full_page=True)

    with page.expect_download() as info:
        page.get_by_role("button", name="下载Excel 表格").click()
    path = tmp_path / "bulletin.xlsx"
    info.value.save_as(path)
    assert info.value.suggested_filename == "湖南省2014年7月社会保障卡建设进展情况通报.xlsx"
    assert load_workbook(path).sheetnames == ["附表一", "附表二", "通报正文"]
    page.reload()
    assert "2014年7月" in page.locator("#produced-title + .table-wrap").inner_text()
