"""The work plan (工作计划表): importing seed 001's plan, who sees which items, overdue items,
status changes, rejected files and the XLSX export that imports again."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook, load_workbook

from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import AuditEvent, Organisation, User
from shebao.geo.codes import level_of, parent_code_of, prefix_of
from shebao.geo.models import Region
from shebao.reports.choices import WorkPlanStatus
from shebao.reports.domain.work_plan import WORK_PLAN_COLUMNS
from shebao.reports.models import WorkPlan, WorkPlanItem
from shebao.reports.services import (
    DEMO_WORK_PLAN,
    WorkPlanRejected,
    work_plan_import,
    work_plan_item_transition,
)
from tests.factories import make_org, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

REGIONS = {
    "420000": "湖北省",
    "420700": "鄂州市",
    "420702": "梁子湖区",
    "420704": "鄂城区",
    "420704001": "凤凰街道",
    "420704002": "古楼街道",
    "420704001201": "凤凰村村委会",
    "420702100": "太和镇",
}
TITLE = "2026年鄂城区社会保障卡发行工作计划表"


@pytest.fixture
def area(db: None) -> dict[str, Organisation]:
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
    orgs = {
        "centre": make_org(OrganisationKind.CARD_CENTRE, "420700", name="鄂州市社会保障卡管理中心"),
        "office": make_org(
            OrganisationKind.DISTRICT_CARD_OFFICE, "420704", name="鄂城区社保卡管理办公室"
        ),
        "bb": make_org(OrganisationKind.DEPARTMENT, "420704", name="鄂城区委编办"),
        "zfb": make_org(OrganisationKind.DEPARTMENT, "420704", name="鄂城区人民政府办公室"),
        "zwb": make_org(OrganisationKind.DEPARTMENT, "420704", name="鄂城区政务服务中心"),
        "town": make_org(OrganisationKind.TOWN_OFFICE, "420704001", name="凤凰街道办事处"),
        "village": make_org(OrganisationKind.VILLAGE_COMMITTEE, "420704001201", name="凤凰村"),
        # A town of the neighbouring district: "各镇（街）" of 鄂城区 is not about it.
        "other_town": make_org(OrganisationKind.TOWN_OFFICE, "420702100", name="太和镇人民政府"),
        "bureau": make_org(OrganisationKind.BUREAU, "420700", name="鄂州市人社局"),
    }
    return orgs


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def xlsx(rows: list[list[object]], headers: tuple[str, ...] = WORK_PLAN_COLUMNS) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(headers))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client: Client, content: bytes, name: str = "plan.xlsx", title: str = TITLE) -> object:
    return client.post(
        "/reports/work-plan/import/",
        {"title": title, "file": SimpleUploadedFile(name, content)},
    )


def import_demo(actor: User | None = None) -> WorkPlan:
    return work_plan_import(
        path=DEMO_WORK_PLAN, title=TITLE, region_code="420704", actor=actor
    ).plan


def visible_tasks(user: User) -> list[str]:
    page = client_for(user).get("/reports/work-plan/").content.decode()
    return [i.task for i in WorkPlanItem.objects.order_by("position") if i.task in page]


def test_the_district_office_imports_seed_001s_plan(area: dict[str, Organisation]) -> None:
    clerk = make_user(Role.DISTRICT_CLERK, area["office"])
    response = upload(client_for(clerk), DEMO_WORK_PLAN.read_bytes(), name="plan.csv")
    assert response.status_code == 302
    plan = WorkPlan.objects.get()
    assert (plan.title, plan.region_id, plan.updated_by) == (TITLE, "420704", clerk)
    items = list(plan.items.order_by("position"))
    assert len(items) == 13
    first = items[0]
    assert (first.number, first.item, first.lead.name) == (1, "制订方案", "鄂城区社保卡管理办公室")
    assert first.due_date == date(2026, 7, 8)
    assert [o.name for o in first.cooperating.all()] == ["鄂城区委编办"]
    scanners = items[4]  # "市社保卡管理中心、各镇（街）、各村（居）委"
    assert [o.name for o in scanners.cooperating.all()] == ["鄂州市社会保障卡管理中心"]
    assert sorted(g.kind for g in scanners.groups.all()) == ["town_office", "village_committee"]
    assert (scanners.due_date, scanners.due_text) == (date(2026, 10, 31), "2026年10月底前")
    assert AuditEvent.objects.filter(action=AuditAction.IMPORT, user=clerk).count() == 1


def test_each_organisation_sees_what_it_leads_or_cooperates_in(
    area: dict[str, Organisation],
) -> None:
    import_demo()
    all_tasks = [i.task for i in WorkPlanItem.objects.order_by("position")]
    # The district card office runs the plan: it sees all of it (and may import it).
    assert visible_tasks(make_user(Role.DISTRICT_CLERK, area["office"])) == all_tasks
    # 政务服务中心 leads two tasks, cooperates by name in two, and as a department of
    # 鄂城区 in the two of "各职能部门".
    zwb = visible_tasks(make_user(Role.DEPARTMENT_CLERK, area["zwb"]))
    assert [t[:8] for t in zwb] == [
        "各职能部门统一收",
        "各村（居）委完成",
        "完成各镇（街）、",
        "各镇（街）政务服",
        "把个人申领表格汇",
        "完成集体申领卡片",
    ]

    # 编办 cooperates in one task by name, and as a department of 鄂城区 in the tasks of
    # "各职能部门".
    bb = make_user(Role.DEPARTMENT_CLERK, area["bb"])
    assert visible_tasks(bb) == [
        "了解掌握我区机关事业单位基本情况数据。",
        "各职能部门统一收集本单位及下属事业单位申领表格及电子文档，并汇总交区卡办。"
        "区教育局同时负责我区中小学生的申领数据采集工作。",
        "完成集体申领卡片领取和发放。",
    ]

    # A town office of 鄂城区 sees the items of "各镇（街）"; one of 梁子湖区 sees nothing.
    town = visible_tasks(make_user(Role.TOWN_CLERK, area["town"]))
    assert "各镇（街）政务服务中心设立社保（市民）卡服务窗口。" in town
    assert "了解掌握我区机关事业单位基本情况数据。" not in town
    assert len(town) == 6
    assert visible_tasks(make_user(Role.TOWN_CLERK, area["other_town"])) == []
    village = visible_tasks(make_user(Role.VILLAGE_CLERK, area["village"]))
    assert "市社保卡管理中心为我区各村（居）委配备扫描仪，完成安装调试工作。" in village
    assert "各镇（街）政务服务中心设立社保（市民）卡服务窗口。" not in village

    # Leaders of the city see the whole plan.
    assert visible_tasks(make_user(Role.LEADER_VIEWER, area["bureau"])) == all_tasks


def test_overdue_items_are_highlighted(area: dict[str, Organisation]) -> None:
    office = area["office"].name
    content = xlsx(
        [
            [1, "制订方案", "过期未完成的任务", office, "", "2020年7月底前", "", "进行中"],
            [None, None, "过期但已完成的任务", office, "", "2020-07-08", "", "已完成"],
            [2, "卡片发放", "尚未到期的任务", office, "", "2099年3月", "", "未开始"],
        ]
    )
    clerk = make_user(Role.DISTRICT_CLERK, area["office"])
    assert upload(client_for(clerk), content).status_code == 302
    page = client_for(clerk).get("/reports/work-plan/").content.decode()
    assert "逾期 1 项" in page
    rows = page.split('<tr id="item-')[1:]
    overdue = [r for r in rows if 'class="overdue"' in r.split(">", 1)[0]]
    assert len(overdue) == 1 and "过期未完成的任务" in overdue[0]
    assert "已逾期" in overdue[0]
    # The merged cell: the second row continues item 1.
    second = WorkPlanItem.objects.get(task="过期但已完成的任务")
    assert (second.number, second.item) == (1, "制订方案")


def test_bad_rows_are_rejected_with_row_column_and_reason(
    area: dict[str, Organisation], tmp_path: Path
) -> None:
    clerk = make_user(Role.DISTRICT_CLERK, area["office"])
    client = client_for(clerk)
    import_demo(clerk)
    before = list(WorkPlanItem.objects.values_list("pk", flat=True))
    office = area["office"].name
    content = xlsx(
        [
            [1, "制订方案", "正确的一行", office, "鄂城区委编办", "2026年7月8日", "", "未开始"],
            [2, "动员培训", "牵头单位不存在", "区卡办", "", "2026年8月", "", ""],
            [3, "集中申领", "", office, "不存在的单位、各镇（街）", "下个月", "", "完成了"],
            ["x", "扫描仪安装", "序号有误", office, "", "", "", ""],
        ]
    )
    response = upload(client, content)
    assert response.status_code == 422
    page = response.content.decode()
    assert "工作计划表有6处错误，未导入任何数据" in page
    for expected in (
        "单位“区卡办”不存在",
        "具体任务不能为空",
        "单位“不存在的单位”不存在",
        "完成时限“下个月”应为日期或月份",
        "状态“完成了”应为：未开始、进行中、已完成",
        "序号“x”应为正整数",
    ):
        assert expected in page
    assert "第3行" in page and "第4行" in page and "第5行" in page
    # Nothing changed: the plan keeps its items.
    assert list(WorkPlanItem.objects.values_list("pk", flat=True)) == before

    path = tmp_path / "plan.xlsx"
    path.write_bytes(content)
    with pytest.raises(WorkPlanRejected) as caught:
        work_plan_import(path=path, title=TITLE, region_code="420704", actor=clerk)
    assert [(e.row, e.column, e.code) for e in caught.value.errors] == [
        (3, "牵头单位", "LEAD_UNKNOWN"),
        (4, "具体任务", "TASK_MISSING"),
        (4, "配合单位", "ORGANISATION_UNKNOWN"),
        (4, "完成时限", "DUE_DATE_INVALID"),
        (4, "状态", "STATUS_INVALID"),
        (5, "序号", "NUMBER_INVALID"),
    ]


def test_missing_columns_are_named(area: dict[str, Organisation]) -> None:
    clerk = make_user(Role.DISTRICT_CLERK, area["office"])
    response = upload(client_for(clerk), xlsx([[1, "x"]], headers=("序号", "工作内容")))
    assert response.status_code == 422
    page = response.content.decode()
    assert "缺少“工作事项”列" in page and "缺少“牵头单位”列" in page


def test_only_managers_import(area: dict[str, Organisation]) -> None:
    town = make_user(Role.TOWN_CLERK, area["town"])
    response = upload(client_for(town), DEMO_WORK_PLAN.read_bytes(), name="plan.csv")
    assert response.status_code == 403
    assert not WorkPlan.objects.exists()


def test_the_lead_moves_an_item_through_its_states(area: dict[str, Organisation]) -> None:
    import_demo()
    item = WorkPlanItem.objects.get(task="制订发卡工作方案，报区政府审定。")  # 已完成
    office = make_user(Role.DISTRICT_CLERK, area["office"])
    client = client_for(office)
    url = f"/reports/work-plan/items/{item.pk}/status/"

    response = client.post(url, {"status": "not_started"})  # not allowed from 已完成
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == WorkPlanStatus.DONE
    assert client.post(url, {"status": "in_progress"}).status_code == 302
    item.refresh_from_db()
    assert (item.status, item.status_changed_by) == (WorkPlanStatus.IN_PROGRESS, office)
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, target_type="reports.WorkPlanItem", target_id=str(item.pk)
    ).exists()

    # A cooperating organisation cannot change it.
    zfb = make_user(Role.DEPARTMENT_CLERK, area["zfb"])
    assert client_for(zfb).post(url, {"status": "done"}).status_code == 403
    with pytest.raises(Exception, match="只有牵头单位"):
        work_plan_item_transition(item_id=item.pk, to_status="done", actor=zfb)


def test_the_export_opens_and_imports_again(area: dict[str, Organisation]) -> None:
    plan = import_demo()
    office = make_user(Role.DISTRICT_CLERK, area["office"])
    client = client_for(office)
    response = client.get(f"/reports/work-plan/{plan.pk}/export.xlsx")
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    book = load_workbook(io.BytesIO(content))
    sheet = book.active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert tuple(rows[0]) == WORK_PLAN_COLUMNS
    assert rows[1] == [
        1,
        "制订方案",
        "了解掌握我区机关事业单位基本情况数据。",
        "鄂城区社保卡管理办公室",
        "鄂城区委编办",
        "2026年7月8日",
        None,
        "已完成",
    ]
    assert rows[5][4] == "鄂州市社会保障卡管理中心、各镇（街）、各村（居）委"

    def snapshot() -> list[tuple[object, ...]]:
        return [
            (
                i.number,
                i.item,
                i.task,
                i.lead_id,
                sorted(o.pk for o in i.cooperating.all()),
                sorted(g.kind for g in i.groups.all()),
                i.due_date,
                i.status,
            )
            for i in WorkPlanItem.objects.order_by("position")
        ]

    before = snapshot()
    assert upload(client, content).status_code == 302
    assert snapshot() == before
    assert WorkPlan.objects.count() == 1


def test_a_town_exports_only_its_items(area: dict[str, Organisation]) -> None:
    plan = import_demo()
    town = make_user(Role.TOWN_CLERK, area["town"])
    response = client_for(town).get(f"/reports/work-plan/{plan.pk}/export.xlsx")
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book.active
    assert sheet is not None
    assert sheet.max_row == 1 + 6
    other = make_user(Role.TOWN_CLERK, area["other_town"])
    assert client_for(other).get(f"/reports/work-plan/{plan.pk}/export.xlsx").status_code == 404
