"""Card-use statistics by field, service, region and month; the card centre's list (holders
masked, a card-number search audited); the partner's CSV upload page; the public metrics;
the dashboard's 用卡 panel."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from shebao.accounts.models import AuditEvent
from shebao.ecard.models import ECard
from shebao.reports.services import live_figures_refresh
from shebao.usage.choices import UploadChannel
from shebao.usage.models import UsageRecord
from shebao.usage.selectors import (
    holders_share_by_field,
    service_points_per_region,
    usage_by_field,
    usage_by_month,
    usage_by_region,
    usage_by_service,
    usage_summary,
)
from shebao.usage.services import usage_upload_text
from tests.integration.usage.world import UsageWorld, build_usage_world

pytestmark = pytest.mark.django_db


def _line(
    seq: int, when: str, service: str, card: str, result: str = "ok", form: str = "physical"
) -> str:
    row = {
        "sequence": seq,
        "occurred_at": when,
        "service": service,
        "card_form": form,
        "card_number": card,
        "result": result,
    }
    if result == "refused":
        row["reason"] = "卡片已挂失"
    return json.dumps(row)


@pytest.fixture
def world() -> UsageWorld:
    w = build_usage_world(holders=4)
    c = [card.card_number for card in w.cards]
    bus = [
        _line(1, "2026-10-05T08:00:00+08:00", "transit_ride", c[0]),
        _line(2, "2026-11-05T08:00:00+08:00", "transit_ride", c[0], form="ecard"),
        _line(3, "2026-11-06T08:00:00+08:00", "transit_ride", c[1]),
        _line(4, "2026-11-07T08:00:00+08:00", "transit_ride", c[2], result="refused"),
    ]
    hospital = [
        _line(1, "2026-11-08T09:00:00+08:00", "medical_registration", c[0]),
        _line(2, "2026-11-08T09:30:00+08:00", "medical_settlement", c[0], form="ecard"),
    ]
    for terminal, lines in ((w.bus, bus), (w.hospital, hospital)):
        usage_upload_text(
            actor=terminal.service_user,
            terminal=terminal,
            text="\n".join(lines),
            fmt="jsonl",
            channel=UploadChannel.API,
        )
    return w


def test_statistics_by_field_service_region_and_month(world: UsageWorld) -> None:
    nov = date(2026, 11, 1)
    fields = {t.key: (t.ok, t.refused) for t in usage_by_field(since=nov, until=nov)}
    assert fields == {"transport": (2, 1), "medical": (2, 0)}
    services = {t.key: t.ok for t in usage_by_service(since=nov, until=nov)}
    assert services == {"transit_ride": 2, "medical_registration": 1, "medical_settlement": 1}
    months = [(t.label, t.ok) for t in usage_by_month()]
    assert months == [("2026-10", 1), ("2026-11", 4)]
    regions = {t.key: t.ok for t in usage_by_region(level_digits=6)}
    assert regions == {"420704": 3, "420702": 2}
    assert [(t.key, t.ok) for t in usage_by_region()] == [("420700", 5)]
    # Only the bus company's district:
    assert {t.key for t in usage_by_field(region_prefix="420704")} == {"transport"}


def test_share_of_holders_who_used_the_card_in_each_field(world: UsageWorld) -> None:
    nov = date(2026, 11, 1)
    shares = {
        s.field: (s.users, s.holders, s.share_percent)
        for s in holders_share_by_field(since=nov, until=nov)
    }
    # Four holders; in November two rode (the refused tap does not count), one saw a doctor.
    assert shares["transport"] == (2, 4, 50.0)
    assert shares["medical"] == (1, 4, 25.0)
    assert shares["sports"] == (0, 4, 0.0)
    points = {t.key: t.ok for t in service_points_per_region()}
    assert points == {"420700": 3}


def test_month_summary(world: UsageWorld) -> None:
    summary = usage_summary(region_prefix="4207", year=2026, month=11)
    assert (summary.ok, summary.refused, summary.ecard, summary.year_to_month) == (4, 1, 2, 5)
    assert summary.ecard_percent == 50.0
    assert [t.key for t in summary.by_field] == ["medical", "transport"]


def test_the_card_centre_lists_use_with_holders_masked(world: UsageWorld) -> None:
    client = Client()
    client.force_login(world.centre_clerk)
    page = client.get("/usage/records/", {"field": "transport", "month": "2026-11"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "共 3 条" in text
    name = world.people[0].name
    assert name not in text and name[0] + "*" in text
    assert "卡片已挂失" in text
    card = world.cards[0].card_number
    searched = client.get("/usage/records/", {"card_number": card}).content.decode()
    assert "共 4 条" in searched
    event = AuditEvent.objects.filter(target_type="usage_records").get()
    assert event.purpose == "card_use"


def test_a_partner_operator_uploads_a_csv_twice(world: UsageWorld) -> None:
    client = Client()
    client.force_login(world.bus_operator)
    content = (
        "序号,用卡时间,服务项目,卡形态,卡号,结果,原因\n"
        f"100,2026-11-20T07:00:00,乘车,实体卡,{world.cards[3].card_number},成功,\n"
        f"101,2026-11-20T07:05:00,乘车,电子卡,{world.cards[3].card_number},成功,\n"
    ).encode()
    for expected in ("新增 2 条，已存在 0 条", "新增 0 条，已存在 2 条"):
        response = client.post(
            "/usage/upload/",
            {
                "terminal": world.bus.pk,
                "file": SimpleUploadedFile("bus.csv", content, content_type="text/csv"),
            },
        )
        assert expected in response.content.decode()
    bad = client.post(
        "/usage/upload/",
        {
            "terminal": world.bus.pk,
            "file": SimpleUploadedFile("bad.csv", b"sequence,occurred_at\n1,x\n"),
        },
    )
    assert "表头缺少列：服务项目、卡形态、结果" in bad.content.decode()
    # Another partner's terminal is not offered and not accepted.
    other = client.post(
        "/usage/upload/",
        {"terminal": world.hospital.pk, "file": SimpleUploadedFile("x.csv", content)},
    )
    assert "请选择本机构的终端" in other.content.decode()
    assert UsageRecord.objects.filter(sequence__in=[100, 101]).count() == 2


def test_public_metrics_and_the_dashboard_panel(world: UsageWorld) -> None:
    metrics = Client().get("/usage/metrics/")
    assert metrics.status_code == 200
    text = metrics.content.decode()
    assert "各地区受理服务网点数" in text and "鄂州市" in text
    today = timezone.localdate()
    usage_upload_text(
        actor=world.bus.service_user,
        terminal=world.bus,
        text=_line(500, timezone.now().isoformat(), "transit_ride", world.cards[0].card_number),
        fmt="jsonl",
        channel=UploadChannel.API,
    )
    # The dashboard draws once the city has a figure: an e-card issued, counted live.
    ECard.objects.create(person=world.people[0], card=world.cards[0])
    live_figures_refresh(today=today)
    client = Client()
    client.force_login(world.centre_clerk)
    page = client.get("/reports/dashboard/", {"region": "420700", "month": f"{today:%Y-%m}"})
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="usage-panel"' in body and "用卡情况" in body
    assert 'id="usage-month-ok">1<' in body
