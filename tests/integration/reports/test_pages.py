"""The progress pages through Django's test client: the bulletin page and its downloads, the
dashboard with its JSON and XLSX, for a province (seed 004's Hunan), a city and a district
(the demo's 鄂州), and who may see which region."""

from __future__ import annotations

import io
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import AuditEvent, User
from shebao.geo.codes import level_of, parent_code_of, prefix_of
from shebao.geo.models import Region
from shebao.reports.documents import chromium_path
from shebao.reports.models import Bulletin, ReportedFigure, WorkPlan
from shebao.reports.services import reports_demo_seed
from tests.conftest import require
from tests.factories import make_org, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DATA = Path(__file__).parent / "data"

EZHOU = {
    "420000": "湖北省",
    "420700": "鄂州市",
    "420702": "梁子湖区",
    "420703": "华容区",
    "420704": "鄂城区",
    "420702100": "太和镇",
    "420702101": "东沟镇",
    "420703100": "华容镇",
    "420703101": "葛店镇",
    "420704001": "凤凰街道",
    "420704002": "古楼街道",
    "420704003": "西山街道",
}


def make_ezhou() -> None:
    for code, name in EZHOU.items():
        parent = parent_code_of(code)
        Region.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "level": level_of(code),
                "parent_id": parent if parent in EZHOU else None,
                "prefix": prefix_of(code),
                "full_name": name,
            },
        )


@pytest.fixture
def seed_004(hunan: dict[str, Region]) -> None:
    call_command("targets", "import", str(DATA / "hunan_2014_07_targets.csv"), stdout=StringIO())
    call_command("figures", "import", str(DATA / "hunan_2014_07_figures.csv"), stdout=StringIO())


@pytest.fixture
def ezhou(db: None) -> None:
    make_ezhou()
    reports_demo_seed(year=2026, through_month=10)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def leader(region: str) -> User:
    return make_user(Role.LEADER_VIEWER, make_org(OrganisationKind.BUREAU, region))


def district_clerk(region: str = "420704") -> User:
    return make_user(Role.DISTRICT_CLERK, make_org(OrganisationKind.DISTRICT_CARD_OFFICE, region))


def text_of(response: Any) -> str:
    return response.content.decode()


# ---------------------------------------------------------------- bulletin page


def test_the_province_bulletin_page_states_the_seeds_figures(seed_004: None) -> None:
    client = client_for(leader("430000"))
    response = client.get("/reports/bulletin/", {"month": "2014-07"})
    assert response.status_code == 200
    page = text_of(response)
    assert (
        "截止7月底，全省累计上报开户数据1855万人，完成年数据采集目标任务的87.3%，"
        "完成月数据采集目标任务的101.5%" in page
    )
    assert "附表一" in page and "附表二" in page
    # The attachment tables as HTML: the prefectures by code, the banks' total row 84.8%.
    assert page.index("长沙市") < page.index("湘西州")
    assert "84.8%" in page
    assert "尚未发布该地区的通报" in page


def test_downloading_publishes_the_bulletin_and_the_file_opens(seed_004: None) -> None:
    user = leader("430000")
    client = client_for(user)
    response = client.post(
        "/reports/bulletin/produce/", {"region": "430000", "month": "2014-07", "format": "xlsx"}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.sheetnames == ["附表一", "附表二", "通报正文"]
    total = [c.value for c in workbook["附表一"][workbook["附表一"].max_row]]
    assert total[1] == "合计" and total[4] == 18_550_000 and total[6] == pytest.approx(87.3)
    stored = Bulletin.objects.get()
    assert (stored.format, stored.region_id, stored.generated_by) == ("xlsx", "430000", user)

    # The page lists it, and downloads it again from its stored figures even after a
    # correction of the figures.
    assert "尚未发布该地区的通报" not in text_of(client.get("/reports/bulletin/"))
    ReportedFigure.objects.filter(region_id="430100", month=7, bank="").update(value=1)
    page = text_of(client.get("/reports/bulletin/", {"month": "2014-07"}))
    assert "所依据的数据已有更正" in page
    again = client.get(f"/reports/bulletin/{stored.pk}/download/")
    assert again.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(again.streaming_content)))
    assert book["附表一"][book["附表一"].max_row][4].value == 18_550_000


def test_docx_download(seed_004: None) -> None:
    response = client_for(leader("430000")).post(
        "/reports/bulletin/produce/", {"region": "430000", "month": "2014-07", "format": "docx"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].endswith("wordprocessingml.document")
    assert b"".join(response.streaming_content)[:2] == b"PK"


def test_pdf_download(seed_004: None) -> None:
    require(chromium_path() is not None, "Chromium is needed to print PDFs")
    response = client_for(leader("430000")).post(
        "/reports/bulletin/produce/", {"region": "430000", "month": "2014-07", "format": "pdf"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert Bulletin.objects.get().format == "pdf"


def test_city_and_district_bulletins(ezhou: None) -> None:
    city = text_of(client_for(leader("420700")).get("/reports/bulletin/", {"month": "2026-10"}))
    assert "截止10月底，全市累计上报开户数据" in city
    for district in ("梁子湖区", "华容区", "鄂城区"):
        assert district in city
    clerk = client_for(district_clerk())
    page = text_of(clerk.get("/reports/bulletin/", {"month": "2026-10"}))
    assert "鄂城区" in page and "全区累计上报开户数据" in page
    assert "凤凰街道" in page and "西山街道" in page  # its towns in 附表一
    response = clerk.post(
        "/reports/bulletin/produce/", {"region": "420704", "month": "2026-10", "format": "xlsx"}
    )
    assert response.status_code == 200


def test_a_month_without_figures_says_so(ezhou: None) -> None:
    page = text_of(client_for(leader("420700")).get("/reports/bulletin/", {"month": "2026-12"}))
    assert "鄂州市2026年12月没有上报数据，无法生成通报" in page


# ---------------------------------------------------------------- who sees what


def test_regions_outside_the_scope_are_refused_and_audited(ezhou: None) -> None:
    clerk = district_clerk()
    client = client_for(clerk)
    for url in ("/reports/bulletin/", "/reports/dashboard/", "/reports/dashboard/export.xlsx"):
        response = client.get(url, {"region": "420700"})
        assert response.status_code == 403, url
        assert "不在您的管辖范围内" in text_of(response)
    response = client.get("/reports/dashboard/data.json", {"region": "420703"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "OUT_OF_SCOPE"
    response = client.post(
        "/reports/bulletin/produce/", {"region": "420700", "month": "2026-10", "format": "xlsx"}
    )
    assert response.status_code == 403
    assert not Bulletin.objects.exists()
    denied = AuditEvent.objects.filter(user=clerk, action=AuditAction.DENIED)
    assert denied.count() == 5
    # Its own region and the towns below it are fine.
    assert client.get("/reports/dashboard/data.json", {"region": "420704001"}).status_code == 200


def test_roles_without_reports_are_refused(ezhou: None) -> None:
    village = make_user(
        Role.TOWN_CLERK, make_org(OrganisationKind.TOWN_OFFICE, "420704001", name="凤凰街道办")
    )
    client = client_for(village)
    assert client.get("/reports/bulletin/").status_code == 403
    assert client.get("/reports/dashboard/data.json").status_code == 403
    assert Client().get("/reports/dashboard/").status_code == 302  # to the login page


def test_unknown_region_is_not_found(ezhou: None) -> None:
    admin = make_user(Role.SYSTEM_ADMIN, make_org(OrganisationKind.DATA_CENTRE, "420700"))
    client = client_for(admin)
    assert client.get("/reports/dashboard/", {"region": "999999"}).status_code == 404
    assert client.get("/reports/dashboard/", {"region": "abc"}).status_code == 404


# ---------------------------------------------------------------- dashboard


def test_the_province_dashboard_json(seed_004: None) -> None:
    client = client_for(leader("430000"))
    data = client.get("/reports/dashboard/data.json", {"month": "2014-07"}).json()
    assert data["region"] == {"code": "430000", "name": "湖南省", "level": 1}
    assert (data["year"], data["month"], data["metric"]["code"]) == (2014, 7, "submitted")
    submitted = next(m for m in data["metrics"] if m["code"] == "submitted")
    assert submitted["annual_percent"] == 87.3 and submitted["month_percent"] == 101.5
    assert len(data["subordinates"]) == 14
    # The ranking is the seed's "met early" order at its head (永州 162% first).
    ranking = [r["name"] for r in data["ranking"]]
    assert ranking[:4] == ["永州市", "张家界市", "娄底市", "湘西土家族苗族自治州"]
    assert [(b["name"], b["rate"]) for b in data["banks"]] == [
        ("农业银行", 85.5),
        ("邮储银行", 81.8),
        ("农信社联社", 85.3),
    ]
    july = data["trend"]["points"][6]
    assert july["month"] == 7 and july["value"] == submitted["value"]
    assert not any(r["drillable"] for r in data["subordinates"])  # nothing below prefectures


def test_the_dashboard_json_is_a_fixed_number_of_queries(
    seed_004: None, django_assert_max_num_queries: Any
) -> None:
    # Session and user (4), the region, its months and figures (reported, the codes of the
    # levels shown, live: 3 each), targets, the tree, and the session's savepoint: the same
    # for 14 regions or 140.
    client = client_for(leader("430000"))
    with django_assert_max_num_queries(16):
        client.get("/reports/dashboard/data.json", {"month": "2014-07"})


def test_city_dashboard_drills_down_to_districts_and_towns(ezhou: None) -> None:
    client = client_for(leader("420700"))
    city = client.get("/reports/dashboard/data.json", {"month": "2026-10"}).json()
    names = [r["name"] for r in city["subordinates"]]
    assert names == ["梁子湖区", "华容区", "鄂城区"]
    assert all(r["drillable"] for r in city["subordinates"])
    assert city["drill_url"].startswith("/reports/dashboard/?month=2026-10")
    values = {r["code"]: r["value"] for r in city["subordinates"]}

    district = client.get(
        "/reports/dashboard/data.json", {"month": "2026-10", "region": "420704"}
    ).json()
    assert [r["name"] for r in district["subordinates"]] == ["凤凰街道", "古楼街道", "西山街道"]
    # A district's figure is the sum of its towns'.
    assert sum(r["value"] for r in district["subordinates"]) == values["420704"]
    assert district["trend"]["points"][9]["value"] == values["420704"]
    assert district["trend"]["points"][10]["value"] is None  # November not yet reported

    page = text_of(client.get("/reports/dashboard/", {"region": "420704", "month": "2026-10"}))
    assert "鄂城区 · 社会保障卡建设进度" in page
    assert "上级地区" in page and "鄂州市" in page  # the way back up
    assert "echarts.min.js" in page


def test_metric_choice_changes_the_figures(ezhou: None) -> None:
    client = client_for(leader("420700"))
    a = client.get("/reports/dashboard/data.json", {"month": "2026-10"}).json()
    b = client.get(
        "/reports/dashboard/data.json", {"month": "2026-10", "metric": "activated"}
    ).json()
    assert b["metric"] == {"code": "activated", "label": "激活", "unit": "张"}
    assert a["subordinates"][0]["value"] != b["subordinates"][0]["value"]


@pytest.mark.parametrize("region", ["430000"])
def test_dashboard_export_has_the_same_figures_as_the_json(seed_004: None, region: str) -> None:
    client = client_for(leader(region))
    data = client.get("/reports/dashboard/data.json", {"month": "2014-07"}).json()
    response = client.get("/reports/dashboard/export.xlsx", {"month": "2014-07"})
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.sheetnames == ["指标汇总", "下级区划进度", "排名", "逐月趋势", "合作银行"]
    regions = workbook["下级区划进度"]
    rows = [[c.value for c in row] for row in regions.iter_rows(min_row=3)]
    assert [r[0] for r in rows] == [s["code"] for s in data["subordinates"]]
    assert [r[2] for r in rows] == [s["value"] for s in data["subordinates"]]
    assert [r[5] for r in rows] == [s["annual_percent"] for s in data["subordinates"]]
    banks = [[c.value for c in row] for row in workbook["合作银行"].iter_rows(min_row=3)]
    assert banks[0] == ["农业银行", 5_980_000, 5_110_000, 870_000, 85.5, "上报"]
    kpi = next(
        [c.value for c in row]
        for row in workbook["指标汇总"].iter_rows(min_row=3)
        if row[0].value == "上报开户数据"
    )
    assert kpi[2] == 18_550_000 and kpi[5] == 87.3


@pytest.mark.parametrize(
    ("user_region", "region"), [("420700", "420700"), ("420700", "420704"), ("420704", "420704")]
)
def test_dashboard_page_and_export_for_city_and_district(
    ezhou: None, user_region: str, region: str
) -> None:
    user = leader(user_region) if user_region == "420700" else district_clerk(user_region)
    client = client_for(user)
    page = client.get("/reports/dashboard/", {"region": region})
    assert page.status_code == 200
    assert "2026年10月" in text_of(page)  # the latest month with figures, by default
    export = client.get("/reports/dashboard/export.xlsx", {"region": region})
    book = load_workbook(io.BytesIO(b"".join(export.streaming_content)))
    assert book["下级区划进度"].max_row >= 4  # heading, header, and the subordinates


def test_menu_shows_the_reports_to_their_roles(ezhou: None) -> None:
    page = text_of(client_for(leader("420700")).get("/"))
    assert "进度看板" in page and "进度通报" in page and "工作计划" in page
    town = make_user(
        Role.TOWN_CLERK, make_org(OrganisationKind.TOWN_OFFICE, "420704001", name="凤凰街道办")
    )
    page = text_of(client_for(town).get("/"))
    assert "工作计划" in page and "进度看板" not in page


def test_the_demo_seed_is_repeatable(ezhou: None) -> None:
    again = reports_demo_seed(year=2026, through_month=10)
    assert again.units == 7  # the towns of the three districts
    assert (again.figures.created, again.figures.updated) == (0, 0)
    assert (again.targets.created, again.targets.updated) == (0, 0)
    assert again.work_plan is None  # imported once, then left to the demo's users
    assert WorkPlan.objects.get().items.count() == 13
