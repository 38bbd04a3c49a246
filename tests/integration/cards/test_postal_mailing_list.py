"""The card centre's mailing work (issue #10, item 16): full postal addresses only after a
purpose is given (audited), printed mailing labels and the exported mailing list (audited
exports with their purpose), and a returned letter recorded with the post's reason."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import AuditEvent, User
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.domain.progress import mask_address
from shebao.cards.models import Card, CardHistory, PostalDispatch
from shebao.cards.services.applications import application_online_submit
from shebao.cards.services.postal import postal_dispatch_record, postal_dispatch_return
from shebao.errors import ValidationFailed
from tests.integration.cards.issuing_world import World, build_world, produce_all

pytestmark = pytest.mark.django_db

ADDRESS = "湖北省鄂州市鄂城区凤凰街道凤凰村3组12号"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _online_card(world: World, i: int = 0) -> Card:
    person = world.people[i]
    application_online_submit(
        id_number=person.id_number,
        name=person.name,
        phone=person.phone,
        bank_id=world.bank.pk,
        postal_address=ADDRESS,
    )
    produce_all(world)
    card = Card.objects.get(person=person)
    assert card.status == CardStatus.MADE
    return card


def test_full_addresses_only_with_a_purpose_and_audited() -> None:
    world = build_world(2)
    card = _online_card(world)
    client = _client(world.centre_clerk)
    masked = client.get(reverse("cards:postal")).content.decode()
    assert mask_address(ADDRESS) in masked and ADDRESS not in masked
    refused = client.post(reverse("cards:postal"), {"action": "reveal", "purpose": ""})
    assert refused.status_code == 400 and "须选择用途" in refused.content.decode()
    client.post(
        reverse("cards:postal"), {"action": "reveal", "purpose": Purpose.CARD_SERVICE.value}
    )
    full = client.get(reverse("cards:postal")).content.decode()
    assert ADDRESS in full and "正在显示完整地址" in full
    event = AuditEvent.objects.get(target_type="postal_addresses")
    assert event.action == AuditAction.VIEW_PERSON and event.purpose == Purpose.CARD_SERVICE
    assert card.pk in event.detail["cards"]
    client.post(reverse("cards:postal"), {"action": "mask"})
    assert ADDRESS not in client.get(reverse("cards:postal")).content.decode()
    # A village clerk has no postal page at all.
    assert _client(world.village_clerk).get(reverse("cards:postal")).status_code == 403


def test_mailing_labels_and_the_exported_list_carry_full_addresses_and_are_audited() -> None:
    world = build_world(2)
    card = _online_card(world)
    client = _client(world.centre_clerk)
    assert client.get(reverse("cards:postal_labels")).status_code == 400
    labels = client.get(reverse("cards:postal_labels"), {"purpose": "card_service"})
    body = labels.content.decode()
    assert labels.status_code == 200
    assert ADDRESS in body and card.person.name in body and card.card_number in body
    export = client.get(reverse("cards:postal_export"), {"purpose": "card_service"})
    assert export.status_code == 200 and "attachment" in export["Content-Disposition"]
    sheet = load_workbook(BytesIO(export.content)).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["序号", "卡号", "收件人", "联系电话", "邮寄地址", "邮件单号"]
    assert rows[1][:5] == [1, card.card_number, card.person.name, card.person.phone, ADDRESS]
    exports = AuditEvent.objects.filter(
        action=AuditAction.EXPORT, target_type="postal_mailing_list"
    ).order_by("pk")
    assert [(e.purpose, e.detail["as"]) for e in exports] == [
        ("card_service", "labels"),
        ("card_service", "xlsx"),
    ]


def test_a_returned_letter_needs_its_reason() -> None:
    world = build_world(2)
    card = _online_card(world)
    postal_dispatch_record(
        actor=world.centre_clerk, card_number=card.card_number, tracking_number="EM30000001CN"
    )
    with pytest.raises(ValidationFailed) as no_reason:
        postal_dispatch_return(actor=world.centre_clerk, card_id=card.pk, reason="")
    assert no_reason.value.code == "POSTAL_RETURN_REASON_REQUIRED"
    with pytest.raises(ValidationFailed) as other:
        postal_dispatch_return(actor=world.centre_clerk, card_id=card.pk, reason="other")
    assert other.value.code == "POSTAL_RETURN_NOTE_REQUIRED"
    client = _client(world.centre_clerk)
    done = client.post(
        reverse("cards:postal"),
        {
            "action": "returned",
            "card": card.pk,
            "reason": "addressee_unknown",
            "note": "门牌不存在",
        },
        follow=True,
    ).content.decode()
    assert "已登记邮件退回（查无此人）" in done
    dispatch = PostalDispatch.objects.get(card=card)
    assert (dispatch.return_reason, dispatch.note) == ("addressee_unknown", "门牌不存在")
    assert "查无此人" in done and "门牌不存在" in done
    last = CardHistory.objects.filter(card=card).order_by("at", "pk").last()
    assert last is not None and "查无此人" in last.note and "EM30000001CN" in last.note
