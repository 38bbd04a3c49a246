"""The monthly bulletin's 用卡 section: card use per field in the month, with the e-card's
share and the holders who used the card, kept in the bulletin's snapshot (issue #11 §5)."""

from __future__ import annotations

import json

import pytest

from shebao.reports.domain.bulletin import BulletinFigures, compute_bulletin
from shebao.reports.domain.document import bulletin_document, render_text
from shebao.reports.selectors import bulletin_figures
from shebao.usage.choices import UploadChannel
from shebao.usage.services import usage_upload_text
from tests.integration.usage.world import build_usage_world

pytestmark = pytest.mark.django_db


def test_the_bulletin_has_a_card_use_section_and_table() -> None:
    world = build_usage_world(holders=2)
    lines = [
        {"sequence": s, "occurred_at": f"2026-11-0{s}T08:00:00+08:00", "service": "transit_ride",
         "card_form": "ecard" if s == 1 else "physical",
         "card_number": world.cards[s % 2].card_number, "result": "ok"}
        for s in (1, 2, 3)
    ]  # fmt: skip
    usage_upload_text(
        actor=world.bus.service_user,
        terminal=world.bus,
        text="\n".join(json.dumps(x) for x in lines),
        fmt="jsonl",
        channel=UploadChannel.API,
    )
    figures = bulletin_figures(year=2026, month=11, region_code="420700")
    assert [(u.field, u.uses, u.ecard_uses, u.users) for u in figures.usage] == [("交通", 3, 1, 2)]
    # The snapshot keeps it, and a stored bulletin renders it again.
    again = BulletinFigures.from_snapshot(figures.to_snapshot())
    assert again.usage == figures.usage
    text = render_text(bulletin_document(compute_bulletin(again)))
    assert "（三）社会保障卡应用情况。" in text
    assert "用卡3次，其中使用电子社保卡1次；按应用领域：交通3次（详见附表三）" in text
    assert "附表三  2026年11月份社会保障卡用卡情况统计表" in text
    # A month without use has no section and no key in the snapshot.
    october = bulletin_figures(year=2026, month=10, region_code="420700")
    assert october.usage == () and "usage" not in october.to_snapshot()
