"""The auditor sees every event — also those of nobody's organisation (anonymous self-service,
failed logins under unknown names) — with the person masked, the object by its Chinese name
and the detail as labelled Chinese fields (issue #10, items 31 and 3)."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import transaction
from django.test import Client

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import AuditEvent
from shebao.identity.masking import mask_id_number, mask_name
from tests.integration.web.conftest import World

pytestmark = pytest.mark.integration


def _rows(page: str) -> str:
    return page[page.index("<tbody>") :] if "<tbody>" in page else ""


def test_auditor_sees_events_without_an_organisation(world: World, auditor_client: Client) -> None:
    Client(REMOTE_ADDR="198.51.100.4").post(
        "/login/", {"username": "no_such_user", "password": "Wrong-password-1"}
    )
    with transaction.atomic():
        audit_record(
            actor=None,
            action=AuditAction.SEARCH_PERSON,
            target_type="card_self_service",
            person_id=world.person.pk,
            username="",
            detail={"channel": "web", "verified_by": "phone_last4"},
        )
    page = _rows(auditor_client.get("/audit/").content.decode())
    assert "no_such_user" in page
    assert "登录失败" in page
    assert "群众自助服务" in page
    assert "（未登录）" in page
    assert AuditEvent.objects.filter(organisation__isnull=True).count() >= 2


def test_persons_are_masked_and_details_are_labelled(world: World, auditor_client: Client) -> None:
    with transaction.atomic():
        audit_record(
            actor=world.clerk,
            action=AuditAction.UPDATE,
            target_type="organisation",
            target_id=world.village_org.pk,
            person_id=world.person.pk,
            purpose=Purpose.DATA_CORRECTION,
            detail={
                "locked": True,
                "client": "10.0.0.9",
                "until": "2026-12-07T12:00:00+00:00",
                "reason": f"核对 {world.person.id_number}",
                "roles": ["village_clerk"],
            },
        )
    page = _rows(auditor_client.get("/audit/").content.decode())
    assert f"{mask_name(world.person.name)}（{mask_id_number(world.person.id_number)}）" in page
    assert f"人员 #{world.person.pk}" not in page
    assert world.person.id_number not in page
    # The object by its own name, the detail as labelled Chinese fields.
    assert "机构 · 凤凰村村委会" in page
    for label, text in (
        ("已锁定", "是"),
        ("客户端地址", "10.0.0.9"),
        ("截止时间", "2026-12-07 20:00"),
        ("角色", "村（居）经办"),
    ):
        assert f"<dt>{label}</dt><dd>{text}</dd>" in page, label
    assert '"locked"' not in page and "{&quot;" not in page

    response = auditor_client.get("/audit/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    row = next(r for r in rows if "修改" in r)
    assert row[4] == "机构" and row[5] == "机构 · 凤凰村村委会"
    assert row[6] == f"{mask_name(world.person.name)}（{mask_id_number(world.person.id_number)}）"
    assert "已锁定：是" in row[11] and world.person.id_number not in row[11]


def test_application_and_card_channels_read_in_chinese() -> None:
    from shebao.web.audit_display import detail_fields

    shown = dict(detail_fields({"channel": "counter", "status": "ineligible"}))
    assert "村（居）委窗口申领" in shown.values() and "不符合制卡条件" in shown.values()
    assert "制卡厂商" in dict(detail_fields({"channel": "vendor"})).values()
    assert "网页" in dict(detail_fields({"channel": "web"})).values()
