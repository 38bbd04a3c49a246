"""The custody and counter pages through Django's test client: dispatch with typed numbers
and its per-line errors, receiving with missing and extra cards, pickup, the printable
receipt (masked), recall, the subsidy table, the counter and the citizen self-service page
(masked, audited, rate-limited)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent, User
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Card, CardIssuingPolicy, Handover, ReceiptLine
from shebao.identity.masking import mask_id_number, mask_name
from tests.factories import make_card
from tests.integration.cards.custody_world import Chain, build_chain, deliver_to_village, numbers

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain() -> Chain:
    return build_chain()


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_dispatch_page_sends_typed_numbers_and_shows_the_handover(chain: Chain) -> None:
    cards = chain.cards_at_centre(2)
    client = _client(chain.centre_clerk)
    page = client.get(reverse("cards:custody_home"))
    assert page.status_code == 200
    # The district is the next hop of both cards (their holders live there): offered first.
    assert (
        f'<option value="{chain.district.pk}" selected>鄂城区社保卡管理办公室（待下发 2 张）'
        in page.content.decode()
    )
    response = client.post(
        reverse("cards:custody_dispatch"),
        {"to": chain.district.pk, "card_numbers": numbers(cards), "direction": "down"},
        follow=True,
    )
    body = response.content.decode()
    assert "已移交 鄂城区社保卡管理办公室，共 2 张" in body
    assert "已移交待接收" in body
    # Names and ID numbers on the handover are masked.
    assert mask_name(cards[0].person.name) in body
    assert cards[0].person.id_number not in body


def test_dispatch_page_lists_each_refused_line(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    bad = cards[0].card_number[:8] + ("1" if cards[0].card_number[8] != "1" else "2")
    response = _client(chain.centre_clerk).post(
        reverse("cards:custody_dispatch"),
        {"to": chain.district.pk, "card_numbers": f"{cards[0].card_number}\n{bad}"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "有 1 个卡号不正确" in body and "第2行" in body and "校验位错误" in body
    assert not Handover.objects.exists()


def test_receive_page_flags_missing_and_extra(chain: Chain) -> None:
    cards = chain.cards_at_centre(3)
    stray = chain.cards_at_centre(1)[0]
    _client(chain.centre_clerk).post(
        reverse("cards:custody_dispatch"),
        {"to": chain.district.pk, "card_numbers": numbers(cards)},
    )
    handover = Handover.objects.get()
    client = _client(chain.district_clerk)
    assert handover.number in client.get(reverse("cards:custody_home")).content.decode()
    response = client.post(
        reverse("cards:handover_receive", args=[handover.pk]),
        {"arrived": numbers([cards[0], cards[1], stray])},
        follow=True,
    )
    body = response.content.decode()
    assert "已确认接收 2 张；短少 1 张，多出 1 张" in body
    assert "已接收（有差异）" in body
    assert "短少" in body and "多出" in body
    # The sender cannot confirm its own handover.
    other = chain.cards_at_centre(1)
    _client(chain.centre_clerk).post(
        reverse("cards:custody_dispatch"), {"to": chain.district.pk, "card_numbers": numbers(other)}
    )
    second = Handover.objects.exclude(pk=handover.pk).get()
    refused = _client(chain.centre_clerk).post(
        reverse("cards:handover_receive", args=[second.pk]), {"arrived": numbers(other)}
    )
    assert refused.status_code == 403


def test_a_handover_of_others_is_not_shown(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    _client(chain.centre_clerk).post(
        reverse("cards:custody_dispatch"), {"to": chain.district.pk, "card_numbers": numbers(cards)}
    )
    handover = Handover.objects.get()
    response = _client(chain.village_clerk).get(
        reverse("cards:handover_detail", args=[handover.pk])
    )
    assert response.status_code == 403


def test_pickup_page_and_the_printable_receipt(chain: Chain) -> None:
    cards = chain.cards_at_centre(2)
    deliver_to_village(chain, cards)
    client = _client(chain.village_clerk)
    page = client.get(reverse("cards:pickup")).content.decode()
    assert cards[0].card_number in page and cards[0].person.id_number not in page
    wrong = client.post(
        reverse("cards:pickup"),
        {"card_number": cards[0].card_number, "holder_id_number": chain.people[3].id_number,
         "by_agent": "0", "signed": "1"},
    )  # fmt: skip
    assert wrong.status_code == 400
    assert "持卡人身份证号码与卡片不符" in wrong.content.decode()
    ok = client.post(
        reverse("cards:pickup"),
        {"card_number": cards[0].card_number, "holder_id_number": cards[0].person.id_number,
         "by_agent": "0", "signed": "1"},
        follow=True,
    )  # fmt: skip
    assert "已发放给持卡人本人" in ok.content.decode()
    assert Card.objects.get(pk=cards[0].pk).status == CardStatus.ISSUED
    receipt = ReceiptLine.objects.get(card=cards[0]).receipt
    sheet = client.get(reverse("cards:receipt_print", args=[receipt.pk])).content.decode()
    assert "社会保障卡领卡签收表" in sheet
    assert mask_id_number(cards[0].person.id_number) in sheet
    assert cards[0].person.id_number not in sheet
    assert "共 2 张，已领取 1 张" in sheet
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, target_type="receipt").exists()
    # Sealing is refused while a card waits.
    sealed = client.post(reverse("cards:receipt_seal", args=[receipt.pk]), follow=True)
    assert "还有 1 张卡待领取" in sealed.content.decode()


def test_recall_page_action(chain: Chain) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from shebao.cards.models import CardHistory

    CardIssuingPolicy.objects.create(recall_after_days=10)
    cards = chain.cards_at_centre(1)
    deliver_to_village(chain, cards)
    CardHistory.objects.filter(card=cards[0], event="arrive_for_pickup").update(
        at=timezone.now() - timedelta(days=11)
    )
    client = _client(chain.town_clerk)
    page = client.get(reverse("cards:recall")).content.decode()
    assert "超过 10 天仍未领取" in page and cards[0].card_number in page
    done = client.post(reverse("cards:recall"), follow=True).content.decode()
    assert "已回收逾期未领取卡片 1 张，发出回收交接单 1 张" in done
    assert Card.objects.get(pk=cards[0].pk).status == CardStatus.MADE


def test_subsidy_page(chain: Chain) -> None:
    CardIssuingPolicy.objects.create(subsidy_per_card=Decimal("2.00"))
    cards = chain.cards_at_centre(1)
    deliver_to_village(chain, cards)
    _client(chain.village_clerk).post(
        reverse("cards:pickup"),
        {"card_number": cards[0].card_number, "holder_id_number": cards[0].person.id_number,
         "signed": "1"},
    )  # fmt: skip
    body = _client(chain.district_clerk).get(reverse("cards:subsidy")).content.decode()
    assert "凤凰街道" in body and "2.00" in body


def test_counter_page_activates_and_refuses_in_chinese(chain: Chain) -> None:
    card = make_card(chain.people[0], custodian=None, status="issued", bank=chain.bank)
    client = _client(chain.bank_clerk)
    client.post(reverse("cards:counter"), {"lookup": "1", "card_number": card.card_number})
    page = client.get(reverse("cards:counter")).content.decode()
    assert "已发放" in page and card.person.id_number not in page
    done = client.post(reverse("cards:counter"), {"action": "activate"}, follow=True)
    assert "已办理激活" in done.content.decode()
    refused = client.post(reverse("cards:counter"), {"action": "unlock"})
    assert refused.status_code == 400
    assert "卡片状态为“正常”，不能办理“解挂”" in refused.content.decode()
    # Another bank cannot find the card.
    other = _client(chain.other_bank_clerk)
    missing = other.post(
        reverse("cards:counter"), {"lookup": "1", "card_number": card.card_number}, follow=True
    )
    assert "未找到该卡号" in missing.content.decode()
