"""The custody chain (卡片交接): dispatch, confirmation with missing and extra cards, arrival
at the point of issue, pickup with the signed receipt, receipts back up the chain, recall of
overdue cards, the work subsidy per town."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent
from shebao.cards.domain.codes import card_number_of
from shebao.cards.domain.custody import (
    HandoverItemOutcome,
    HandoverKind,
    HandoverStatus,
    ReceiptLineOutcome,
    ReceiptStatus,
)
from shebao.cards.domain.lifecycle import CardEvent, CardStatus
from shebao.cards.models import Card, CardHistory, CardIssuingPolicy, Handover, ReceiptLine
from shebao.cards.selectors.custody import custody_invariant_violations, subsidy_by_village
from shebao.cards.services.custody import (
    PickupInput,
    card_pickup,
    cards_recall_overdue,
    handover_cancel,
    handover_confirm,
    handover_create,
    receipt_seal,
)
from shebao.errors import NotFound, PermissionDenied, ShebaoError, ValidationFailed
from tests.factories import id_number_for, make_card
from tests.integration.cards.custody_world import (
    Chain,
    build_chain,
    deliver_to_village,
    numbers,
    pass_down,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain() -> Chain:
    return build_chain()


def _status(card: Card) -> str:
    card.refresh_from_db()
    return card.status


def test_dispatch_and_confirm_moves_custody_only_on_confirmation(chain: Chain) -> None:
    cards = chain.cards_at_centre(3)
    handover = handover_create(
        actor=chain.centre_clerk, to_organisation_id=chain.district.pk, card_numbers=numbers(cards)
    )
    assert handover.status == HandoverStatus.DISPATCHED
    assert handover.number.startswith("JJ") and handover.listed_count == 3
    # In transit: the sender is still the custodian.
    assert {c.custodian_id for c in Card.objects.filter(pk__in=[c.pk for c in cards])} == {
        chain.centre.pk
    }
    result = handover_confirm(
        actor=chain.district_clerk, handover_id=handover.pk, arrived=numbers(cards)
    )
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.CONFIRMED
    assert handover.confirmed_by == chain.district_clerk and handover.confirmed_at is not None
    assert result.missing == () and result.extra == ()
    assert set(
        Card.objects.filter(pk__in=[c.pk for c in cards]).values_list("custodian", flat=True)
    ) == {chain.district.pk}
    # Not yet at a point of issue: still 已制卡.
    assert {_status(c) for c in cards} == {CardStatus.MADE}
    assert not custody_invariant_violations().exists()


def test_scanned_list_with_blanks_and_full_width_characters_is_read(chain: Chain) -> None:
    cards = chain.cards_at_centre(3)
    typed = f" {cards[0].card_number}，{cards[1].card_number.lower()}\n\n" + "".join(
        chr(ord(ch) + 0xFEE0) for ch in cards[2].card_number
    )
    handover = handover_create(
        actor=chain.centre_clerk, to_organisation_id=chain.district.pk, card_numbers=typed
    )
    assert handover.listed_count == 3


def test_a_wrong_check_character_is_refused_with_its_line(chain: Chain) -> None:
    cards = chain.cards_at_centre(2)
    bad = cards[1].card_number[:8] + ("0" if cards[1].card_number[8] != "0" else "1")
    with pytest.raises(ValidationFailed) as exc:
        handover_create(
            actor=chain.centre_clerk,
            to_organisation_id=chain.district.pk,
            card_numbers=f"{cards[0].card_number}\n{bad}",
        )
    assert exc.value.code == "CARD_NUMBER_INVALID"
    assert exc.value.details == [
        {"row": 2, "field": "card_number", "value": bad, "reason": "社会保障卡卡号校验位错误"}
    ]
    assert not Handover.objects.exists()


def test_cards_not_in_the_senders_custody_refuse_the_whole_handover(chain: Chain) -> None:
    mine = chain.cards_at_centre(1)
    pass_down(chain.centre_clerk, chain.district_clerk, chain.district, mine)
    others = chain.cards_at_centre(1)
    unknown = card_number_of("Q0000001")
    with pytest.raises(ValidationFailed) as exc:
        handover_create(
            actor=chain.centre_clerk,
            to_organisation_id=chain.district.pk,
            card_numbers=f"{others[0].card_number}\n{mine[0].card_number}\n{unknown}",
        )
    assert exc.value.code == "HANDOVER_CARDS_REFUSED"
    assert [(d["row"], d["reason"]) for d in exc.value.details] == [
        (2, "该卡不在本单位保管"),
        (3, "系统中没有该卡号"),
    ]
    assert Handover.objects.count() == 1  # only the first, confirmed one


def test_a_card_cannot_be_on_two_open_handovers(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    handover_create(
        actor=chain.centre_clerk, to_organisation_id=chain.district.pk, card_numbers=numbers(cards)
    )
    with pytest.raises(ValidationFailed) as exc:
        handover_create(
            actor=chain.centre_clerk,
            to_organisation_id=chain.district.pk,
            card_numbers=numbers(cards),
        )
    assert exc.value.details[0]["reason"] == "该卡已在另一张未完成的交接单上"


def test_handovers_only_go_to_the_next_link_of_the_chain(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    with pytest.raises(ValidationFailed) as exc:
        handover_create(
            actor=chain.centre_clerk, to_organisation_id=chain.town.pk, card_numbers=numbers(cards)
        )
    assert exc.value.code == "HANDOVER_NOT_ADJACENT"
    with pytest.raises(PermissionDenied):
        handover_create(
            actor=chain.bank_clerk,
            to_organisation_id=chain.district.pk,
            card_numbers=numbers(cards),
        )


def test_missing_and_extra_cards_are_flagged_and_only_received_cards_move(chain: Chain) -> None:
    listed = chain.cards_at_centre(3)
    stray = chain.cards_at_centre(1)[0]  # physically in the box, but not on the list
    handover = handover_create(
        actor=chain.centre_clerk, to_organisation_id=chain.district.pk, card_numbers=numbers(listed)
    )
    arrived = [listed[0], listed[2], stray]
    result = handover_confirm(
        actor=chain.district_clerk, handover_id=handover.pk, arrived=numbers(arrived)
    )
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.CONFIRMED_WITH_DISCREPANCIES
    assert (handover.received_count, handover.missing_count, handover.extra_count) == (2, 1, 1)
    assert result.missing == (listed[1].card_number,)
    assert result.extra == (stray.card_number,)
    outcomes = dict(handover.items.values_list("code", "outcome"))
    assert outcomes[listed[1].card_number] == HandoverItemOutcome.MISSING
    assert outcomes[stray.card_number] == HandoverItemOutcome.EXTRA
    custodians = dict(
        Card.objects.filter(pk__in=[c.pk for c in [*listed, stray]]).values_list(
            "pk", "custodian_id"
        )
    )
    assert custodians == {
        listed[0].pk: chain.district.pk,
        listed[1].pk: chain.centre.pk,  # missing: still the sender's
        listed[2].pk: chain.district.pk,
        stray.pk: chain.centre.pk,  # extra: recorded, custody unchanged
    }
    # The missing card can be sent again once found.
    again = handover_create(
        actor=chain.centre_clerk,
        to_organisation_id=chain.district.pk,
        card_numbers=listed[1].card_number,
    )
    assert again.listed_count == 1


def test_only_the_receiver_confirms_and_only_once(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    handover = handover_create(
        actor=chain.centre_clerk, to_organisation_id=chain.district.pk, card_numbers=numbers(cards)
    )
    with pytest.raises(PermissionDenied):
        handover_confirm(actor=chain.town_clerk, handover_id=handover.pk, arrived=numbers(cards))
    handover_confirm(actor=chain.district_clerk, handover_id=handover.pk, arrived=numbers(cards))
    with pytest.raises(ShebaoError) as exc:
        handover_confirm(
            actor=chain.district_clerk, handover_id=handover.pk, arrived=numbers(cards)
        )
    assert exc.value.code == "HANDOVER_INVALID_TRANSITION"
    assert "已接收" in exc.value.message


def test_the_sender_cancels_an_open_handover(chain: Chain) -> None:
    cards = chain.cards_at_centre(2)
    handover = handover_create(
        actor=chain.centre_clerk, to_organisation_id=chain.district.pk, card_numbers=numbers(cards)
    )
    handover_cancel(actor=chain.centre_clerk, handover_id=handover.pk)
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.CANCELLED
    with pytest.raises(ShebaoError) as exc:
        handover_cancel(actor=chain.centre_clerk, handover_id=handover.pk)
    assert exc.value.code == "HANDOVER_INVALID_TRANSITION"
    # The cards are free to go again.
    handover_create(
        actor=chain.centre_clerk, to_organisation_id=chain.district.pk, card_numbers=numbers(cards)
    )


def test_arrival_at_the_village_makes_cards_await_pickup_with_a_signing_sheet(
    chain: Chain,
) -> None:
    cards = chain.cards_at_centre(3)
    deliver_to_village(chain, cards)
    assert {_status(c) for c in cards} == {CardStatus.AWAITING_PICKUP}
    assert {c.custodian_id for c in cards} == {chain.village.pk}
    line_cards = set(
        ReceiptLine.objects.filter(receipt__organisation=chain.village).values_list(
            "card_id", flat=True
        )
    )
    assert line_cards == {c.pk for c in cards}
    assert (
        CardHistory.objects.filter(card__in=cards, event=CardEvent.ARRIVE_FOR_PICKUP).count() == 3
    )
    assert not custody_invariant_violations().exists()


def test_collective_cards_reach_the_unit_through_its_department(chain: Chain) -> None:
    cards = chain.cards_at_centre(2)
    pass_down(chain.centre_clerk, chain.district_clerk, chain.district, cards)
    pass_down(chain.district_clerk, chain.department_clerk, chain.department, cards)
    pass_down(chain.department_clerk, chain.school_clerk, chain.school, cards)
    assert {_status(c) for c in cards} == {CardStatus.AWAITING_PICKUP}


def _pickup(chain: Chain, card: Card, **kw: object) -> ReceiptLine:
    data = {"card_number": card.card_number, "holder_id_number": card.person.id_number,
            "signed": True, **kw}  # fmt: skip
    return card_pickup(actor=chain.village_clerk, data=PickupInput(**data))  # type: ignore[arg-type]


def test_pickup_by_the_holder_issues_the_card_and_signs_the_receipt(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    deliver_to_village(chain, cards)
    line = _pickup(chain, cards[0])
    card = Card.objects.get(pk=cards[0].pk)
    assert card.status == CardStatus.ISSUED and card.custodian_id is None
    assert line.outcome == ReceiptLineOutcome.PICKED_UP
    assert line.identity_checked and line.signed and not line.by_agent
    assert line.issued_by == chain.village_clerk and line.picked_up_at is not None
    assert not custody_invariant_violations().exists()


def test_pickup_with_a_signature_image(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    deliver_to_village(chain, cards)
    signature = SimpleUploadedFile("sig.png", b"\x89PNG\r\n\x1a\nfake", content_type="image/png")
    line = card_pickup(
        actor=chain.village_clerk,
        data=PickupInput(card_number=cards[0].card_number,
                         holder_id_number=cards[0].person.id_number),
        signature=signature,
    )  # fmt: skip
    assert (line.signature.name or "").startswith("receipts/")


def test_pickup_refuses_a_wrong_identity_and_audits_it(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    deliver_to_village(chain, cards)
    someone_else = chain.people[1].id_number
    with pytest.raises(ValidationFailed) as exc:
        _pickup(chain, cards[0], holder_id_number=someone_else)
    assert exc.value.code == "PICKUP_IDENTITY_MISMATCH"
    assert exc.value.message == "持卡人身份证号码与卡片不符，不能发放"
    assert _status(cards[0]) == CardStatus.AWAITING_PICKUP
    denied = AuditEvent.objects.filter(action=AuditAction.DENIED, target_id=str(cards[0].pk))
    assert denied.get().detail["code"] == "PICKUP_IDENTITY_MISMATCH"
    # Unsigned: refused too.
    with pytest.raises(ValidationFailed) as exc:
        _pickup(chain, cards[0], signed=False)
    assert exc.value.code == "PICKUP_NOT_SIGNED"


def test_pickup_by_an_agent_needs_the_authorisation_and_a_valid_id(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    deliver_to_village(chain, cards)
    agent_id = id_number_for("420704", timezone.localdate().replace(year=1985), 77)
    with pytest.raises(ValidationFailed) as exc:
        _pickup(chain, cards[0], by_agent=True, agent_name="王五", agent_id_number=agent_id)
    assert exc.value.code == "PICKUP_AGENT_UNAUTHORISED"
    with pytest.raises(ValidationFailed) as exc:
        _pickup(chain, cards[0], by_agent=True, agent_name="王五", agent_id_number="123",
                agent_authorised=True)  # fmt: skip
    assert exc.value.code == "PICKUP_AGENT_INVALID"
    line = _pickup(
        chain, cards[0], by_agent=True, agent_name="王五", agent_id_number=agent_id,
        agent_authorised=True,
    )  # fmt: skip
    assert line.by_agent and line.agent_id_number == agent_id and line.agent_authorised


def test_pickup_only_at_the_point_that_holds_the_card(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    deliver_to_village(chain, cards)
    with pytest.raises(NotFound):
        card_pickup(
            actor=chain.other_village_clerk,
            data=PickupInput(card_number=cards[0].card_number,
                             holder_id_number=cards[0].person.id_number, signed=True),
        )  # fmt: skip


def test_receipts_are_sealed_and_travel_back_up_to_the_card_centre(chain: Chain) -> None:
    cards = chain.cards_at_centre(2)
    deliver_to_village(chain, cards)
    receipt = ReceiptLine.objects.get(card=cards[0]).receipt
    _pickup(chain, cards[0])
    with pytest.raises(ValidationFailed) as exc:
        receipt_seal(actor=chain.village_clerk, receipt_id=receipt.pk)
    assert exc.value.code == "RECEIPT_HAS_PENDING"
    _pickup(chain, cards[1])
    receipt_seal(actor=chain.village_clerk, receipt_id=receipt.pk)
    hops = [
        (chain.village_clerk, chain.town_clerk, chain.town),
        (chain.town_clerk, chain.district_clerk, chain.district),
        (chain.district_clerk, chain.centre_clerk, chain.centre),
    ]
    for sender, receiver, to in hops:
        handover = handover_create(
            actor=sender,
            to_organisation_id=to.pk,
            kind=HandoverKind.RECEIPTS,
            receipt_ids=[receipt.pk],
        )
        handover_confirm(actor=receiver, handover_id=handover.pk, receipt_numbers=[receipt.number])
        receipt.refresh_from_db()
        assert receipt.holder_id == to.pk
    assert receipt.status == ReceiptStatus.SUBMITTED


def test_an_open_receipt_cannot_be_sent_up(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    deliver_to_village(chain, cards)
    receipt = ReceiptLine.objects.get(card=cards[0]).receipt
    with pytest.raises(ValidationFailed) as exc:
        handover_create(
            actor=chain.village_clerk,
            to_organisation_id=chain.town.pk,
            kind=HandoverKind.RECEIPTS,
            receipt_ids=[receipt.pk],
        )
    assert exc.value.details[0]["reason"] == "签收表尚未汇总盖章"


def _age_arrivals(cards: list[Card], days: int) -> None:
    CardHistory.objects.filter(card__in=cards, event=CardEvent.ARRIVE_FOR_PICKUP).update(
        at=timezone.now() - timedelta(days=days)
    )


def test_overdue_cards_are_recalled_back_to_the_card_centre(chain: Chain) -> None:
    CardIssuingPolicy.objects.create(recall_after_days=30)
    old, fresh = chain.cards_at_centre(2), chain.cards_at_centre(1)
    deliver_to_village(chain, [*old, *fresh])
    _age_arrivals(old, 31)

    preview = cards_recall_overdue(actor=None, dry_run=True)
    assert preview.total == 2 and preview.per_organisation == {"凤凰村村委会": 2}
    assert {_status(c) for c in old} == {CardStatus.AWAITING_PICKUP}

    result = cards_recall_overdue(actor=chain.town_clerk)
    assert result.total == 2
    assert {_status(c) for c in old} == {CardStatus.MADE}
    assert _status(fresh[0]) == CardStatus.AWAITING_PICKUP
    assert set(ReceiptLine.objects.filter(card__in=old).values_list("outcome", flat=True)) == {
        ReceiptLineOutcome.RECALLED
    }
    (recall,) = result.handovers
    # Straight back to the card centre, not one level up to the town.
    assert recall.kind == HandoverKind.RECALL and recall.to_organisation_id == chain.centre.pk
    assert recall.status == HandoverStatus.DISPATCHED
    # Until the centre confirms, the village still holds them.
    assert {c.custodian_id for c in Card.objects.filter(pk__in=[c.pk for c in old])} == {
        chain.village.pk
    }
    handover_confirm(actor=chain.centre_clerk, handover_id=recall.pk, arrived=numbers(old))
    assert {c.custodian_id for c in Card.objects.filter(pk__in=[c.pk for c in old])} == {
        chain.centre.pk
    }
    # The receiving hop is in each card's history, after the recall.
    for card in old:
        events = list(
            CardHistory.objects.filter(card=card)
            .order_by("at", "pk")
            .values_list("event", flat=True)
        )
        assert events[-2:] == [CardEvent.RECALL, CardEvent.HANDOVER_RECEIVED]
        last = CardHistory.objects.filter(card=card).order_by("at", "pk").last()
        assert last is not None and last.organisation_id == chain.centre.pk
        assert recall.number in last.note
    assert not custody_invariant_violations().exists()
    # A second run finds nothing.
    assert cards_recall_overdue(actor=None).total == 0


def test_recall_overdue_command(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    deliver_to_village(chain, cards)
    _age_arrivals(cards, 200)
    out = StringIO()
    call_command("cards", "recall-overdue", "--dry-run", stdout=out)
    assert "应回收逾期未领取卡片 1 张" in out.getvalue()
    assert _status(cards[0]) == CardStatus.AWAITING_PICKUP
    out = StringIO()
    call_command("cards", "recall-overdue", stdout=out)
    assert "已回收逾期未领取卡片 1 张" in out.getvalue()
    assert "回收交接单 HS" in out.getvalue()
    assert _status(cards[0]) == CardStatus.MADE


def test_work_subsidy_per_town_and_village_is_cards_distributed_times_the_amount(
    chain: Chain,
) -> None:
    CardIssuingPolicy.objects.create(subsidy_per_card=Decimal("3.50"))
    cards = chain.cards_at_centre(3)
    deliver_to_village(chain, cards)
    _pickup(chain, cards[0])
    _pickup(chain, cards[1])
    rows, policy = subsidy_by_village(actor=chain.district_clerk)
    assert policy.subsidy_per_card == Decimal("3.50")
    assert [(r.level, r.code, r.name, r.counts["total"], r.amount) for r in rows] == [
        ("town", "420704001", "凤凰街道", 2, Decimal("7.00")),
        ("village", "420704001201", "凤凰村村委会", 2, Decimal("7.00")),
    ]
    # The neighbouring village sees nothing of it.
    assert subsidy_by_village(actor=chain.other_village_clerk)[0] == []


def test_a_card_cancelled_in_transit_changes_hands_but_is_not_offered(chain: Chain) -> None:
    from shebao.registry.choices import LifeStatus
    from shebao.registry.services import person_record_status

    cards = [
        make_card(chain.people[0], custodian=chain.centre),
        make_card(chain.people[1], custodian=chain.centre),
    ]
    pass_down(chain.centre_clerk, chain.district_clerk, chain.district, cards)
    pass_down(chain.district_clerk, chain.town_clerk, chain.town, cards)
    handover = handover_create(
        actor=chain.town_clerk, to_organisation_id=chain.village.pk, card_numbers=numbers(cards)
    )
    person_record_status(
        actor=None,
        person_id=chain.people[1].pk,
        status=LifeStatus.DECEASED,
        on=timezone.localdate(),
        reason="死亡",
    )
    result = handover_confirm(
        actor=chain.village_clerk, handover_id=handover.pk, arrived=numbers(cards)
    )
    assert result.arrived_for_pickup == 1
    assert _status(cards[0]) == CardStatus.AWAITING_PICKUP
    assert _status(cards[1]) == CardStatus.CANCELLED
    assert {c.custodian_id for c in cards} == {chain.village.pk}
    assert result.receipt is not None
    assert list(result.receipt.lines.values_list("card_id", flat=True)) == [cards[0].pk]
    assert not custody_invariant_violations().exists()
