"""The card's life in the database: activation at the bank, temporary loss and its lapse,
formal loss, unlock, replacement and renewal with fees and a new card, PIN reset and
information change on the record, cancellation — by hand and when the registry records a
death — and every refused transition audited."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent
from shebao.cards.domain.codes import validate_card_id_code, validate_card_number
from shebao.cards.domain.lifecycle import (
    TRANSITIONS,
    CardEvent,
    CardStatus,
    CardTransitionError,
    FeeKind,
    RenewalReason,
)
from shebao.cards.models import Card, CardHistory, CardIssuingPolicy
from shebao.cards.selectors.custody import custody_invariant_violations
from shebao.cards.services.card_life import (
    card_activate,
    card_apply_event,
    card_cancel,
    card_change_information,
    card_reissue,
    card_report_loss,
    card_report_temporary_loss,
    card_reset_pin,
    card_unlock,
    cards_cancel_for_deceased,
    cards_lapse_temporary_losses,
)
from shebao.errors import NotFound, ShebaoError
from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person
from shebao.registry.services import person_record_status
from tests.factories import make_card
from tests.integration.cards.custody_world import Chain, build_chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain() -> Chain:
    return build_chain()


def _issued(chain: Chain, status: CardStatus = CardStatus.ISSUED) -> Card:
    return make_card(chain.people[0], custodian=None, status=status.value, bank=chain.bank)


def _status(card: Card) -> CardStatus:
    card.refresh_from_db()
    return CardStatus(card.status)


def test_activation_at_the_cards_own_bank(chain: Chain) -> None:
    card = _issued(chain)
    with pytest.raises(NotFound):
        card_activate(actor=chain.other_bank_clerk, card_id=card.pk)
    card_activate(actor=chain.bank_clerk, card_id=card.pk)
    assert _status(card) is CardStatus.ACTIVE
    entry = CardHistory.objects.get(card=card, event=CardEvent.ACTIVATE)
    assert entry.actor == chain.bank_clerk and entry.organisation == chain.branch
    assert entry.channel == "bank"


def test_temporary_loss_lapses_after_the_configured_days(chain: Chain) -> None:
    CardIssuingPolicy.objects.create(temporary_loss_days=3)
    card = _issued(chain, CardStatus.ACTIVE)
    other = _issued(chain, CardStatus.ACTIVE)
    card_report_temporary_loss(actor=None, card_id=card.pk, channel="phone")
    card_report_temporary_loss(actor=None, card_id=other.pk, channel="online")
    assert _status(card) is CardStatus.TEMPORARY_LOSS
    Card.objects.filter(pk=card.pk).update(
        temporary_loss_reported_on=timezone.localdate() - timedelta(days=3)
    )
    out = StringIO()
    call_command("cards", "lapse-temporary-losses", stdout=out)
    assert "临时挂失到期自动解除 1 张" in out.getvalue()
    assert _status(card) is CardStatus.ACTIVE
    card.refresh_from_db()
    assert card.temporary_loss_reported_on is None
    assert _status(other) is CardStatus.TEMPORARY_LOSS
    assert cards_lapse_temporary_losses() == 0


def test_formal_loss_then_unlock(chain: Chain) -> None:
    card = _issued(chain, CardStatus.ACTIVE)
    card_report_temporary_loss(actor=chain.bank_clerk, card_id=card.pk)
    card_report_loss(actor=chain.bank_clerk, card_id=card.pk)
    assert _status(card) is CardStatus.LOST
    # A lost card no longer lapses.
    assert cards_lapse_temporary_losses(today=timezone.localdate() + timedelta(days=60)) == 0
    card_unlock(actor=chain.bank_clerk, card_id=card.pk)
    assert _status(card) is CardStatus.ACTIVE


def test_an_invalid_transition_is_refused_in_chinese_and_audited(chain: Chain) -> None:
    card = _issued(chain, CardStatus.ACTIVE)
    with pytest.raises(CardTransitionError) as exc:
        card_unlock(actor=chain.bank_clerk, card_id=card.pk)
    assert exc.value.code == "CARD_INVALID_TRANSITION"
    assert exc.value.message.startswith("卡片状态为“正常”，不能办理“解挂”。")
    assert _status(card) is CardStatus.ACTIVE
    denied = AuditEvent.objects.get(action=AuditAction.DENIED, target_type="card")
    assert denied.target_id == str(card.pk) and denied.user_id == chain.bank_clerk.pk
    assert denied.detail == {
        "event": "unlock",
        "status": "active",
        "code": "CARD_INVALID_TRANSITION",
        "reason": "not_applied",
    }
    assert not CardHistory.objects.filter(card=card).exists()


@pytest.mark.parametrize("status", list(CardStatus))
def test_every_refused_event_through_the_service_changes_nothing(
    chain: Chain, status: CardStatus
) -> None:
    custodian = None if status.phase.name == "WITH_HOLDER" else chain.centre
    card = make_card(chain.people[0], custodian=custodian, status=status.value)
    refused = [e for e in CardEvent if (e, status) not in TRANSITIONS]
    for event in refused:
        with pytest.raises(CardTransitionError):
            card_apply_event(card_id=card.pk, event=event, actor=chain.centre_clerk)
    assert _status(card) is status
    assert AuditEvent.objects.filter(
        action=AuditAction.DENIED, target_id=str(card.pk)
    ).count() == len(refused)


def test_replacement_after_loss_starts_a_new_card_with_the_fee(chain: Chain) -> None:
    card = _issued(chain, CardStatus.LOST)
    with pytest.raises(ShebaoError) as exc:
        card_reissue(actor=chain.centre_clerk, card_id=card.pk, kind=FeeKind.REPLACEMENT)
    assert exc.value.code == "CARD_FEES_NOT_CONFIGURED"
    assert _status(card) is CardStatus.LOST
    CardIssuingPolicy.objects.create(replacement_fee=Decimal("20.00"), renewal_fee=Decimal("20.00"))
    reissue = card_reissue(actor=chain.centre_clerk, card_id=card.pk, kind=FeeKind.REPLACEMENT)
    assert _status(card) is CardStatus.VOID
    assert reissue.fee == Decimal("20.00")
    new = reissue.new_card
    assert new is not None
    assert new.replaces_id == card.pk and new.person_id == card.person_id
    assert new.status == CardStatus.PENDING_PRODUCTION and new.custodian_id == chain.centre.pk
    assert validate_card_number(new.card_number).ok
    assert validate_card_id_code(new.card_id_code).ok
    assert not custody_invariant_violations().exists()


def test_renewal_fees_follow_the_reason(chain: Chain) -> None:
    CardIssuingPolicy.objects.create(replacement_fee=Decimal("20.00"), renewal_fee=Decimal("15.00"))
    expired = _issued(chain, CardStatus.ACTIVE)
    damaged = _issued(chain, CardStatus.ISSUED)
    free = card_reissue(
        actor=chain.centre_clerk, card_id=expired.pk, kind=FeeKind.RENEWAL,
        reason=RenewalReason.EXPIRED,
    )  # fmt: skip
    paid = card_reissue(
        actor=chain.centre_clerk, card_id=damaged.pk, kind=FeeKind.RENEWAL,
        reason=RenewalReason.DAMAGED,
    )  # fmt: skip
    assert (free.fee, paid.fee) == (Decimal("0"), Decimal("15.00"))
    assert free.new_card is not None and paid.new_card is not None
    assert free.new_card.card_number != paid.new_card.card_number
    # A lost card is replaced, not renewed.
    lost = _issued(chain, CardStatus.LOST)
    with pytest.raises(CardTransitionError):
        card_reissue(
            actor=chain.centre_clerk, card_id=lost.pk, kind=FeeKind.RENEWAL,
            reason=RenewalReason.DAMAGED,
        )  # fmt: skip
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, target_id=str(lost.pk)).exists()
    assert _status(lost) is CardStatus.LOST


def test_replacement_numbers_come_from_the_regions_production_series(chain: Chain) -> None:
    """补领 / 换领 take their numbers from the same series (and row lock) as production and
    instant issuance: one series per issuing region, no number given twice."""
    from django.db import transaction

    from shebao.cards.domain.codes import CardNumberSeries
    from shebao.cards.models import CardSeries
    from shebao.cards.services.numbering import card_numbers_allocate

    CardIssuingPolicy.objects.create(replacement_fee=Decimal("20.00"), renewal_fee=Decimal("15.00"))
    lost = [_issued(chain, CardStatus.LOST) for _ in range(3)]
    region = lost[0].issuing_region
    with transaction.atomic():  # a production batch took the first three numbers
        _, first, _ = card_numbers_allocate(region=region, count=3)
    assert first == 1
    new_cards = [
        card_reissue(actor=chain.centre_clerk, card_id=c.pk, kind=FeeKind.REPLACEMENT).new_card
        for c in lost
    ]
    series = CardNumberSeries()
    assert [c.card_number for c in new_cards if c is not None] == [
        series.card_number_for(n) for n in (4, 5, 6)
    ]
    row = CardSeries.objects.get(region=region)
    assert (row.next_number, row.next_unique) == (7, 7)
    with transaction.atomic():  # the next production batch continues after them
        _, after, _ = card_numbers_allocate(region=region, count=2)
    assert after == 7
    numbers = list(Card.objects.values_list("card_number", flat=True))
    codes = list(Card.objects.values_list("card_id_code", flat=True))
    assert len(set(numbers)) == len(numbers) and len(set(codes)) == len(codes)
    for card in new_cards:
        assert card is not None
        assert card.card_id_code.startswith(region.code[:6] + "D156000005")
        assert card.issued_on is not None and card.expires_on is not None


def test_pin_reset_and_information_change_are_recorded(chain: Chain) -> None:
    card = _issued(chain, CardStatus.ACTIVE)
    card_reset_pin(actor=chain.bank_clerk, card_id=card.pk)
    card_change_information(actor=chain.bank_clerk, card_id=card.pk, what="联系电话")
    events = list(CardHistory.objects.filter(card=card).values_list("event", "to_status", "note"))
    assert events == [("reset_pin", "active", ""), ("change_information", "active", "联系电话")]


def test_cancellation_needs_a_reason(chain: Chain) -> None:
    card = _issued(chain, CardStatus.ACTIVE)
    with pytest.raises(ShebaoError) as exc:
        card_cancel(actor=chain.centre_clerk, card_id=card.pk, reason=" ")
    assert exc.value.code == "CANCEL_REASON_REQUIRED"
    card_cancel(actor=chain.centre_clerk, card_id=card.pk, reason="本人申请")
    assert _status(card) is CardStatus.CANCELLED


def test_a_death_recorded_in_the_registry_cancels_the_cards(chain: Chain) -> None:
    person = chain.people[1]
    active = make_card(person, custodian=None, status=CardStatus.ACTIVE.value)
    in_chain = make_card(person, custodian=chain.centre, status=CardStatus.MADE.value)
    someone_else = _issued(chain, CardStatus.ACTIVE)
    person_record_status(
        actor=None,
        person_id=person.pk,
        status=LifeStatus.DECEASED,
        on=timezone.localdate(),
        reason="公安死亡注销",
    )
    assert _status(active) is CardStatus.CANCELLED
    assert _status(in_chain) is CardStatus.CANCELLED
    assert _status(someone_else) is CardStatus.ACTIVE
    assert CardHistory.objects.get(card=active).event == CardEvent.CANCEL_ON_DEATH


def test_the_sweep_cancels_cards_of_deaths_loaded_in_bulk(chain: Chain) -> None:
    person = chain.people[2]
    card = make_card(person, custodian=None, status=CardStatus.ACTIVE.value)
    # A bulk load writes the column directly (no signal), as COPY does.
    Person.objects.filter(pk=person.pk).update(
        life_status=LifeStatus.DECEASED, status_date=timezone.localdate()
    )
    assert _status(card) is CardStatus.ACTIVE
    out = StringIO()
    call_command("cards", "cancel-deceased", stdout=out)
    assert "已注销死亡人员的卡片 1 张" in out.getvalue()
    assert _status(card) is CardStatus.CANCELLED
    assert cards_cancel_for_deceased() == 0
