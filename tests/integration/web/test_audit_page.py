from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import AuditEvent
from shebao.identity.masking import mask_id_number
from tests.integration.web.conftest import World

pytestmark = pytest.mark.integration


def _rows(page: str) -> str:
    """The table body of the audit page (labels also appear in the action select)."""
    return page[page.index("<tbody>") :] if "<tbody>" in page else ""


def _clerk_activity(world: World, clerk_client: Client) -> None:
    clerk_client.post(f"/persons/{world.person.pk}/", {"purpose": Purpose.SURVEY})
    clerk_client.get(f"/persons/{world.person.pk}/")
    clerk_client.post(
        f"/persons/{world.person.pk}/reveal/",
        {"reveal-purpose": Purpose.SURVEY, "reveal-purpose_note": ""},
    )
    clerk_client.get(f"/persons/{world.outsider.pk}/")  # denied


def test_village_clerk_is_refused(world: World, clerk_client: Client) -> None:
    for url in ("/audit/", "/audit/export.csv"):
        response = clerk_client.get(url)
        assert response.status_code == 403
        assert "只有审计员和系统管理员可以查看审计日志" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_menu_shows_the_audit_log_to_auditors_only(
    world: World, clerk_client: Client, auditor_client: Client
) -> None:
    assert 'href="/audit/"' not in clerk_client.get("/").content.decode()
    assert 'href="/audit/"' in auditor_client.get("/").content.decode()


def test_auditor_sees_the_log_newest_first(
    world: World, clerk_client: Client, auditor_client: Client
) -> None:
    _clerk_activity(world, clerk_client)
    page = auditor_client.get("/audit/").content.decode()
    assert "fenghuang_clerk" in page
    assert "查看完整个人信息" in page
    assert "越权访问被拒绝" in page
    assert "入户调查" in page
    rows = _rows(page)
    assert rows.index("越权访问被拒绝") < rows.index("查看完整个人信息")


def test_auditor_does_not_see_other_districts(world: World, auditor_client: Client) -> None:
    from tests.factories import make_org, make_user

    far = make_org("village_committee", "420702100201", name="太和村村委会")
    far_clerk = make_user("village_clerk", far, username="taihe_clerk")
    with transaction.atomic():
        audit_record(actor=far_clerk, action=AuditAction.SEARCH_PERSON)
    assert "taihe_clerk" not in auditor_client.get("/audit/").content.decode()


def test_filters(world: World, clerk_client: Client, auditor_client: Client) -> None:
    _clerk_activity(world, clerk_client)
    other = Client()
    other.force_login(world.other_clerk)
    other.get("/persons/")
    with transaction.atomic():
        audit_record(actor=world.other_clerk, action=AuditAction.SEARCH_PERSON)

    by_user = auditor_client.get("/audit/", {"username": "fankou"}).content.decode()
    assert "fankou_clerk" in by_user and "fenghuang_clerk" not in by_user

    by_action = _rows(
        auditor_client.get("/audit/", {"action": AuditAction.DENIED}).content.decode()
    )
    assert "越权访问被拒绝" in by_action
    assert "查看完整个人信息" not in by_action

    by_person = auditor_client.get("/audit/", {"person": world.outsider.id_number}).content.decode()
    assert mask_id_number(world.outsider.id_number) in _rows(by_person)
    assert mask_id_number(world.person.id_number) not in _rows(by_person)
    # The clerk's refused view, and the record's creation (by the system, no organisation).
    assert f"共 {AuditEvent.objects.filter(person_id=world.outsider.pk).count()} 条" in by_person

    unknown_person = auditor_client.get(
        "/audit/", {"person": "110102199101010078"}
    ).content.decode()
    assert "没有符合条件的记录" in unknown_person

    today = timezone.localdate()
    in_range = auditor_client.get(
        "/audit/", {"date_from": today.isoformat(), "date_to": today.isoformat()}
    ).content.decode()
    assert "fenghuang_clerk" in in_range
    yesterday = (today - timedelta(days=1)).isoformat()
    out_of_range = auditor_client.get(
        "/audit/", {"date_from": yesterday, "date_to": yesterday}
    ).content.decode()
    assert "没有符合条件的记录" in out_of_range


def test_invalid_filters_are_explained_in_chinese(world: World, auditor_client: Client) -> None:
    page = auditor_client.get("/audit/", {"person": "36042619910102009X"}).content.decode()
    assert "身份证号码有误" in page
    assert "请先更正筛选条件" in page
    page = auditor_client.get(
        "/audit/", {"date_from": "2026-02-02", "date_to": "2026-02-01"}
    ).content.decode()
    assert "结束日期不能早于开始日期" in page


def test_pagination_fifty_per_page(world: World, auditor_client: Client) -> None:
    with transaction.atomic():
        for _ in range(60):
            audit_record(actor=world.clerk, action=AuditAction.SEARCH_PERSON)
    first = auditor_client.get("/audit/", {"action": AuditAction.SEARCH_PERSON}).content.decode()
    assert "共 60 条" in first
    assert first.count('<td class="nowrap">') == 50
    second = auditor_client.get(
        "/audit/", {"action": AuditAction.SEARCH_PERSON, "page": 2}
    ).content.decode()
    assert second.count('<td class="nowrap">') == 10
    assert "action=search_person" in first  # page links keep the filters


def test_csv_export_is_filtered_and_audited(
    world: World, clerk_client: Client, auditor_client: Client
) -> None:
    _clerk_activity(world, clerk_client)
    response = auditor_client.get("/audit/export.csv", {"action": AuditAction.REVEAL_PERSON})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[attr-defined]
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["时间", "用户名", "机构", "操作"]
    assert len(rows) == 2
    assert rows[1][1] == "fenghuang_clerk"
    assert rows[1][2] == "凤凰村村委会"
    assert rows[1][3] == "查看完整个人信息"
    assert rows[1][7] == "入户调查"
    export = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert export.user_id == world.auditor.pk
    assert export.detail["rows"] == 1
    assert export.detail["filters"]["action"] == AuditAction.REVEAL_PERSON


def test_csv_export_by_person_records_the_person(world: World, auditor_client: Client) -> None:
    response = auditor_client.get("/audit/export.csv", {"person": world.person.id_number})
    assert response.status_code == 200
    b"".join(response.streaming_content)  # type: ignore[attr-defined]
    export = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert export.person_id == world.person.pk
    assert world.person.id_number not in str(export.detail)


def test_csv_cells_cannot_become_formulas(world: World, auditor_client: Client) -> None:
    with transaction.atomic():
        audit_record(actor=None, action=AuditAction.LOGIN_FAILED, username="=HYPERLINK(1)")
    # Failed logins of unknown names have no organisation: a system administrator sees them.
    from tests.factories import make_user

    admin = make_user("system_admin", None, username="sysadmin")
    client = Client()
    client.force_login(admin)
    response = client.get("/audit/export.csv", {"action": AuditAction.LOGIN_FAILED})
    text = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[attr-defined]
    assert "'=HYPERLINK(1)" in text


def test_invalid_export_filters_go_back_to_the_form(world: World, auditor_client: Client) -> None:
    response = auditor_client.get("/audit/export.csv", {"person": "123"})
    assert response.status_code == 302
    assert response["Location"].startswith("/audit/?")
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()
