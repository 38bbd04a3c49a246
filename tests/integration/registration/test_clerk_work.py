"""A clerk's daily work on the registration pages (issue #10, items 22-24): upload errors
the uploader can act on, evidence as a clerk reads it, a searchable, sortable queue with
bulk assignment, survey outcomes, a roster to write on, and exports laid out for print."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from shebao.accounts.models import User
from shebao.intake.models import ImportBatch
from tests.integration.registration.world import RegWorld, build_world, run_comparison_now

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


def _upload(client: Client, name: str, content: bytes, kind: str = "") -> str:
    response = client.post(
        "/registration/imports/", {"kind": kind, "file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200  # refused: the form again, with the reason
    return response.content.decode()


# ---------------------------------------------------------------- item 24: upload errors


def test_invalid_utf8_is_reported_as_an_encoding_problem_naming_file_row_and_column(
    world: RegWorld,
) -> None:
    content = (
        "公民身份号码,姓名,死亡日期\n".encode()
        + f"{world.insured.id_number},李建国,2025-03-01\n".encode()
        + f"{world.uninsured.id_number},".encode() + b"\xff\xfe\xd0,2025-03-01\n"
    )  # fmt: skip
    page = _upload(client_for(world.centre), "三月死亡名单.csv", content)
    assert "三月死亡名单.csv" in page
    assert "第3行“姓名”列" in page
    assert "UTF-8 或 GB18030" in page
    assert "缺少必需列" not in page and "upload.csv" not in page
    assert not ImportBatch.objects.filter(file_name="三月死亡名单.csv").exists()


def test_a_non_zip_xlsx_is_refused_in_chinese_by_its_own_name(world: RegWorld) -> None:
    page = _upload(client_for(world.centre), "参保名单.xlsx", b"PK? not really a zip")
    assert "参保名单.xlsx" in page and "不是有效的 Excel 文件" in page
    for english in ("zip", "Zip", "EOCD", "archive", "upload.xlsx"):
        assert english not in page


def test_an_unrecognised_kind_points_to_the_kind_field_not_the_command_line(
    world: RegWorld,
) -> None:
    page = _upload(
        client_for(world.centre), "名单.csv", "公民身份号码,姓名\n1,2\n".encode(), kind=""
    )
    assert "名单.csv" in page and "数据类型" in page
    assert "类型=路径" not in page and "population=" not in page


# ---------------------------------------------------------------- item 22: evidence


def _reveal(client: Client, finding_id: int) -> str:
    return client.post(
        f"/registration/findings/{finding_id}/", {"action": "reveal", "purpose": "registration"}
    ).content.decode()


def test_name_mismatch_shows_both_rows_side_by_side_with_the_differing_character_marked(
    world: RegWorld,
) -> None:
    from shebao.registration.models import Finding

    finding = Finding.objects.filter(category="NAME_MISMATCH", person=world.misnamed).first()
    assert finding is not None
    client = client_for(world.clerk)
    masked = client.get(f"/registration/findings/{finding.pk}/").content.decode()
    assert 'data-testid="evidence-compare"' in masked
    assert world.misnamed.id_number not in masked and "张玮" not in masked  # masked first
    assert "不一致" in masked
    page = _reveal(client, finding.pk)
    assert f"部门数据：参保.csv 第{finding.row}行" in page and finding.row in (3, 4)
    assert "人员库" in page
    assert "张<mark>玮</mark>" in page and "张<mark>伟</mark>" in page
    assert f'href="/persons/{world.misnamed.pk}/"' in page  # a link to the person
    for raw in ("population_names", "column", "{'", "{&#x27;", "': "):
        assert raw not in page
    assert "文件中的列" in page and "公安人口库记录" in page


def test_uninsured_evidence_lists_its_records_under_chinese_headers(world: RegWorld) -> None:
    from shebao.registration.models import Finding

    finding = Finding.objects.get(category="PENSION_UNINSURED", person=world.uninsured)
    page = _reveal(client_for(world.clerk), finding.pk)
    assert "比对基准日年龄" in page and "户籍所在区县" in page
    assert "county_code" not in page and "records" not in page
    assert "出生日期" in page and world.uninsured.birth_date.isoformat() in page


# ---------------------------------------------------------------- item 23: the clerk's list


def _ids(page: str) -> list[int]:
    import re

    return [int(n) for n in re.findall(r'data-finding="(\d+)"', page)]


def test_findings_are_searched_by_name_or_id_number(world: RegWorld) -> None:
    from shebao.registration.models import Finding

    client = client_for(world.clerk)
    by_name = client.get("/registration/findings/", {"q": world.uninsured.name}).content.decode()
    expected = set(
        Finding.objects.filter(person=world.uninsured, status="open").values_list("pk", flat=True)
    )
    assert expected and set(_ids(by_name)) == expected
    tail = world.uninsured.id_number[-8:]
    by_id = client.get("/registration/findings/", {"q": tail}).content.decode()
    assert set(_ids(by_id)) == expected
    assert not _ids(client.get("/registration/findings/", {"q": "无此人"}).content.decode())


def test_findings_sort_by_a_column_and_back(world: RegWorld) -> None:
    client = client_for(world.centre)
    up = _ids(client.get("/registration/findings/", {"sort": "id"}).content.decode())
    down = _ids(client.get("/registration/findings/", {"sort": "-id"}).content.decode())
    assert len(up) > 2 and up == sorted(up) and down == sorted(up, reverse=True)
    page = client.get("/registration/findings/", {"sort": "id"}).content.decode()
    assert 'aria-sort="ascending"' in page and "sort=-id" in page


def test_bulk_assign_gives_the_ticked_findings_to_a_clerk_of_the_org(world: RegWorld) -> None:
    from shebao.accounts.models import AuditEvent
    from shebao.registration.models import Finding

    client = client_for(world.clerk)
    page = client.get("/registration/findings/").content.decode()
    assert 'data-testid="bulk-assign-form"' in page
    assert f'<option value="{world.surveyor.pk}"' in page
    ticked = _ids(page)[:2]
    response = client.post(
        "/registration/findings/assign/",
        {"finding": [str(i) for i in ticked], "assignee": str(world.surveyor.pk), "next": "?"},
    )
    assert response.status_code == 302
    for finding in Finding.objects.filter(pk__in=ticked):
        assert finding.status == "assigned" and finding.assignee == world.surveyor
    assert AuditEvent.objects.filter(target_type="finding", target_id__in=ticked).count() >= 2
    outside = Finding.objects.filter(region__code__startswith="420704001202").first()
    assert outside is not None
    client.post(
        "/registration/findings/assign/",
        {"finding": [str(outside.pk)], "assignee": str(world.surveyor.pk)},
    )
    outside.refresh_from_db()
    assert outside.status == "open"  # not in the clerk's scope: refused, nothing changed


# ---------------------------------------------------------------- item 23: roster and exports


def _sheet(content: bytes):  # type: ignore[no-untyped-def]
    import io

    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(content)).worksheets[0]


def test_findings_export_has_title_date_widths_frozen_header_and_filter(world: RegWorld) -> None:
    response = client_for(world.clerk).get("/registration/findings/export.xlsx", {"status": "all"})
    sheet = _sheet(response.content)
    assert "比对问题清单" in str(sheet["A1"].value)
    assert str(sheet["A2"].value).startswith("导出日期：")
    assert sheet["A3"].value == "编号" and sheet["A3"].font.b
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A3:")
    assert sheet.column_dimensions["H"].width >= 40  # the reason column
    assert "户号" not in [c.value for c in sheet[3]]


def test_address_export_for_authorised_roles_with_a_purpose_is_audited(world: RegWorld) -> None:
    from shebao.accounts.models import AuditEvent

    client = client_for(world.clerk)
    refused = client.get("/registration/findings/export.xlsx", {"address": "1"})
    assert refused.status_code == 302  # no purpose stated: back to the list
    response = client.get(
        "/registration/findings/export.xlsx",
        {"address": "1", "purpose": "registration", "status": "all"},
    )
    sheet = _sheet(response.content)
    header = [c.value for c in sheet[3]]
    assert header[-2:] == ["户号", "住址"]
    numbers = {row[-2] for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert world.uninsured.household is not None
    assert world.uninsured.household.number in numbers
    event = AuditEvent.objects.filter(target_type="findings", action="export").latest("id")
    assert event.purpose == "registration" and event.detail["with_address"] is True
    centre = client_for(world.centre).get(
        "/registration/findings/export.xlsx", {"address": "1", "purpose": "registration"}
    )
    assert centre.status_code == 403


def test_roster_has_blank_columns_to_write_in_on_page_and_in_excel(world: RegWorld) -> None:
    from tests.integration.registration.world import PHOENIX

    client = client_for(world.surveyor)
    page = client.get(f"/registration/survey/villages/{PHOENIX}/").content.decode()
    assert "走访结果" in page and "签字" in page and 'data-testid="write-in"' in page
    sheet = _sheet(client.get(f"/registration/survey/villages/{PHOENIX}/roster.xlsx").content)
    header = [c.value for c in sheet[3]]
    for column in ("走访结果", "就业情况", "联系电话", "调查员签字", "调查日期"):
        assert column in header
    assert sheet.freeze_panes == "A4" and sheet.auto_filter.ref
    first = [c.value for c in sheet[4]]
    assert first[header.index("就业情况")] in (None, "")
    assert "无人在家" in first[header.index("走访结果")]


# ---------------------------------------------------------------- item 23: survey outcomes


def test_survey_records_nobody_home_without_settling_and_an_interview_later(
    world: RegWorld,
) -> None:
    from shebao.registration.models import Finding, SurveyRecord
    from tests.integration.registration.world import PHOENIX

    client = client_for(world.surveyor)
    url = f"/registration/survey/persons/{world.uninsured.pk}/"
    form = client.get(url).content.decode()
    for label in ("走访结果", "无人在家", "拒绝调查", "已迁出", "已死亡"):
        assert label in form
    response = client.post(url, {"outcome": "nobody_home"})
    assert response.status_code == 302  # no employment needed: nobody was asked
    record = SurveyRecord.objects.get(person=world.uninsured)
    assert record.outcome == "nobody_home" and record.employment == ""
    open_findings = Finding.objects.filter(
        person=world.uninsured, category="PENSION_UNINSURED", status="open"
    )
    assert open_findings.exists()  # still to visit
    roster = client.get(f"/registration/survey/villages/{PHOENIX}/").content.decode()
    assert "无人在家" in roster and "已登记 0/" in roster

    bad = client.post(url, {"outcome": "interviewed"})
    assert bad.status_code == 200 and "请选择就业情况" in bad.content.decode()
    client.post(
        url,
        {"outcome": "interviewed", "employment": "farming", "reason_uninsured": "unaware"},
    )
    assert not open_findings.exists()  # the interview settles them
    roster = client.get(f"/registration/survey/villages/{PHOENIX}/").content.decode()
    assert "已入户登记" in roster


def test_a_person_moved_away_needs_no_items(world: RegWorld) -> None:
    from shebao.registration.selectors import survey_completeness
    from tests.integration.registration.world import PHOENIX

    client = client_for(world.surveyor)
    before = survey_completeness(actor=world.surveyor, village_code=PHOENIX)
    client.post(
        f"/registration/survey/persons/{world.uninsured.pk}/",
        {"outcome": "moved_away", "note": "2025年迁往武汉"},
    )
    after = survey_completeness(actor=world.surveyor, village_code=PHOENIX)
    assert after.members_recorded == before.members_recorded + 1
    assert after.items_required == before.items_required - 4  # employment, phone, reason, scheme
