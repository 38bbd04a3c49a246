"""Card-use uploads from partner terminals: atomic, idempotent by (terminal, sequence),
bad rows named in Chinese with nothing imported, scoped to partners granted the upload."""

from __future__ import annotations

import json

import pytest

from shebao.accounts.models import AuditEvent
from shebao.errors import PermissionDenied, ValidationFailed
from shebao.usage.choices import UploadChannel
from shebao.usage.models import UsageRecord, UsageUpload
from shebao.usage.selectors import usage_for_person
from shebao.usage.services import usage_upload_text
from tests.integration.usage.world import UsageWorld, build_usage_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> UsageWorld:
    return build_usage_world()


def _transit_batch(world: UsageWorld, sequences: range) -> str:
    return "\n".join(
        json.dumps(
            {
                "sequence": s,
                "occurred_at": f"2026-11-{1 + s % 28:02d}T07:{s % 60:02d}:00+08:00",
                "service": "transit_ride",
                "card_form": "physical" if s % 2 else "ecard",
                "card_number": world.cards[s % len(world.cards)].card_number,
                "result": "ok",
            }
        )
        for s in sequences
    )


def test_a_transit_batch_sent_twice_adds_nothing_the_second_time(world: UsageWorld) -> None:
    text = _transit_batch(world, range(1, 101))
    first = usage_upload_text(
        actor=world.bus.service_user,
        terminal=world.bus,
        text=text,
        fmt="jsonl",
        channel=UploadChannel.API,
    )
    assert (first.received, first.added, first.already) == (100, 100, 0)
    again = usage_upload_text(
        actor=world.bus.service_user,
        terminal=world.bus,
        text=text,
        fmt="jsonl",
        channel=UploadChannel.API,
    )
    assert (again.received, again.added, again.already) == (100, 0, 100)
    assert "已存在 100 条" in again.message
    assert UsageRecord.objects.count() == 100
    # A batch overlapping the first adds only its new sequences.
    overlap = usage_upload_text(
        actor=world.bus.service_user,
        terminal=world.bus,
        text=_transit_batch(world, range(91, 121)),
        fmt="jsonl",
        channel=UploadChannel.API,
    )
    assert (overlap.added, overlap.already) == (20, 10)
    assert UsageRecord.objects.count() == 120
    record = UsageRecord.objects.get(terminal=world.bus, sequence=1)
    assert record.field == "transport" and record.region_id == "420704"
    assert record.month.isoformat() == "2026-11-01"
    assert record.person_id == world.cards[1].person_id
    assert AuditEvent.objects.filter(target_type="usage_upload", action="import").count() == 3


def test_the_same_sequence_at_another_terminal_is_another_record(world: UsageWorld) -> None:
    text = _transit_batch(world, range(1, 4)).replace("transit_ride", "medical_settlement")
    usage_upload_text(
        actor=world.bus.service_user,
        terminal=world.bus,
        text=text,
        fmt="jsonl",
        channel=UploadChannel.API,
    )
    outcome = usage_upload_text(
        actor=world.hospital.service_user,
        terminal=world.hospital,
        text=text,
        fmt="jsonl",
        channel=UploadChannel.API,
    )
    assert outcome.added == 3
    assert UsageRecord.objects.filter(field="medical").count() == 6


def test_a_bad_row_names_row_and_field_and_nothing_is_imported(world: UsageWorld) -> None:
    csv_text = (
        "序号,用卡时间,服务项目,卡形态,卡号,结果,原因\n"
        f"1,2026-11-02T08:00:00,乘车,实体卡,{world.cards[0].card_number},成功,\n"
        f"2,2026-11-02T08:01:00,坐飞机,实体卡,{world.cards[0].card_number},成功,\n"
        f"3,yesterday,乘车,电子卡,{world.cards[1].card_number},拒绝,\n"
        f"1,2026-11-02T08:03:00,乘车,实体卡,{world.cards[2].card_number},成功,\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        usage_upload_text(
            actor=world.bus_operator,
            terminal=world.bus,
            text=csv_text,
            fmt="csv",
            channel=UploadChannel.PAGE,
        )
    messages = [d["message"] for d in caught.value.details]
    assert messages == [
        "第3行 服务项目：未知的服务项目“坐飞机”",
        "第4行 用卡时间：“yesterday”不是 ISO 8601 时间",
        "第4行 拒绝原因：拒绝的记录须写明原因",
        "第5行 序号：与第2行重复",
    ]
    assert caught.value.code == "USAGE_BAD_ROWS"
    assert UsageRecord.objects.count() == 0 and UsageUpload.objects.count() == 0


def test_a_csv_with_chinese_titles_and_values_is_stored(world: UsageWorld) -> None:
    csv_text = (
        "序号,用卡时间,服务项目,卡形态,卡号,结果,原因\n"
        f"7,2026-10-31T23:30:00,乘车,电子卡,{world.cards[0].card_number},成功,\n"
        "8,2026-10-31T23:40:00,乘车,实体卡,X00000000,拒绝,卡片已挂失\n"
    )
    outcome = usage_upload_text(
        actor=world.bus_operator,
        terminal=world.bus,
        text=csv_text,
        fmt="csv",
        channel=UploadChannel.PAGE,
        file_name="bus.csv",
    )
    assert (outcome.added, outcome.unknown_cards) == (2, 1)
    refused = UsageRecord.objects.get(sequence=8)
    assert (refused.result, refused.reason, refused.card_id) == ("refused", "卡片已挂失", None)
    # Local (Beijing) time without an offset: 23:30 on 31 October is October's use.
    assert UsageRecord.objects.get(sequence=7).month.isoformat() == "2026-10-01"


def test_a_partner_without_the_upload_grant_is_refused(world: UsageWorld) -> None:
    with pytest.raises(PermissionDenied) as caught:
        usage_upload_text(
            actor=world.not_granted.service_user,
            terminal=world.not_granted,
            text=_transit_batch(world, range(1, 3)),
            fmt="jsonl",
            channel=UploadChannel.API,
        )
    assert caught.value.code == "SCOPE_DENIED"
    assert UsageRecord.objects.count() == 0


def test_the_holder_sees_his_own_use_in_words(world: UsageWorld) -> None:
    usage_upload_text(
        actor=world.bus.service_user,
        terminal=world.bus,
        text=_transit_batch(world, range(1, 7)),
        fmt="jsonl",
        channel=UploadChannel.API,
    )
    mine = usage_for_person(world.people[0])
    assert len(mine) == 2
    assert {u.service for u in mine} == {"乘车"} and {u.field for u in mine} == {"交通"}
    assert mine[0].occurred_at > mine[1].occurred_at
    assert mine[0].place == "鄂州公交集团网点"
