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
    assert "部门数据：参保.csv 第3行" in page and "人员库" in page
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
