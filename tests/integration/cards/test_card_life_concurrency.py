"""Two clerks acting on the same card at the same moment produce one result (PostgreSQL: the
row lock of `card_apply_event` serialises them; the second sees the first's status)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

import pytest
from django.db import connections

from shebao.accounts.choices import AuditAction, Role
from shebao.accounts.models import AuditEvent
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Card, CardHistory
from shebao.cards.services.card_life import card_activate, card_report_loss, card_unlock
from shebao.errors import ShebaoError
from tests.conftest import postgres_only
from tests.factories import make_card, make_user
from tests.integration.cards.custody_world import Chain, build_chain

pytestmark = pytest.mark.django_db(transaction=True)


def _race(actions: list[Callable[[], object]]) -> list[str]:
    """Run the actions in threads released together; each outcome is "ok" or an error code."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = [""] * len(actions)

    def run(i: int, action: Callable[[], object]) -> None:
        try:
            barrier.wait()
            action()
            outcomes[i] = "ok"
        except ShebaoError as exc:
            outcomes[i] = exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.fixture
def chain() -> Chain:
    postgres_only("set DATABASE_URL to a PostgreSQL database")
    return build_chain()


def test_two_unlocks_at_once_one_succeeds(chain: Chain) -> None:
    card = make_card(chain.people[0], custodian=None, status=CardStatus.LOST.value, bank=chain.bank)
    clerks = [chain.bank_clerk, chain.centre_clerk]
    outcomes = _race([partial(card_unlock, actor=u, card_id=card.pk) for u in clerks])
    assert sorted(outcomes) == ["CARD_INVALID_TRANSITION", "ok"]
    card.refresh_from_db()
    assert card.status == CardStatus.ACTIVE
    assert CardHistory.objects.filter(card=card, event="unlock").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, target_id=str(card.pk)).count() == 1


def test_loss_report_and_activation_at_once_one_wins(chain: Chain) -> None:
    card = make_card(
        chain.people[0], custodian=None, status=CardStatus.ISSUED.value, bank=chain.bank
    )
    outcomes = _race(
        [
            lambda: card_activate(actor=chain.bank_clerk, card_id=card.pk),
            lambda: card_report_loss(actor=chain.centre_clerk, card_id=card.pk),
        ]
    )
    card.refresh_from_db()
    if outcomes == ["ok", "ok"]:
        # Serialised as activate → loss (both valid in that order): the card is lost.
        assert card.status == CardStatus.LOST
        assert CardHistory.objects.filter(card=card).count() == 2
    else:
        # Loss first: activation of a lost card is refused.
        assert outcomes == ["CARD_INVALID_TRANSITION", "ok"]
        assert card.status == CardStatus.LOST
        assert CardHistory.objects.filter(card=card).count() == 1
    assert Card.objects.filter(pk=card.pk, status=CardStatus.LOST.value).exists()


def test_two_clerks_dispatching_the_same_card_at_once(chain: Chain) -> None:
    """The card row locks serialise them; the second finds the card on an open handover."""
    from shebao.cards.models import Handover
    from shebao.cards.services.custody import handover_create

    card = make_card(chain.people[0], custodian=chain.centre)
    other_clerk = make_user(Role.CARD_CENTRE_OPERATOR, chain.centre)
    outcomes = _race(
        [
            partial(
                handover_create,
                actor=u,
                to_organisation_id=chain.district.pk,
                card_numbers=card.card_number,
            )
            for u in (chain.centre_clerk, other_clerk)
        ]
    )
    assert sorted(outcomes) == ["HANDOVER_CARDS_REFUSED", "ok"]
    assert Handover.objects.count() == 1


def test_two_pickups_of_the_same_card_at_once(chain: Chain) -> None:
    from shebao.cards.services.custody import PickupInput, card_pickup
    from tests.integration.cards.custody_world import deliver_to_village

    card = make_card(chain.people[0], custodian=chain.centre)
    deliver_to_village(chain, [card])
    second_clerk = make_user(Role.VILLAGE_CLERK, chain.village)
    data = PickupInput(card.card_number, card.person.id_number, signed=True)
    outcomes = _race(
        [partial(card_pickup, actor=u, data=data) for u in (chain.village_clerk, second_clerk)]
    )
    assert outcomes.count("ok") == 1
    card.refresh_from_db()
    assert card.status == CardStatus.ISSUED and card.custodian_id is None
    assert CardHistory.objects.filter(card=card, event="issue").count() == 1
