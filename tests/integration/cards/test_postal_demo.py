"""The postal/reissue demo: the online application mailed, an activated card renewed and
offered for a 补换卡 batch; a second run changes nothing."""

from __future__ import annotations

import pytest

from shebao.cards.demo_postal import demo_postal_seed
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import CardReissue, PostalDispatch
from shebao.cards.selectors.custody import custody_invariant_violations
from shebao.cards.services.applications import application_online_submit
from tests.factories import make_card
from tests.integration.cards.issuing_world import build_world

pytestmark = pytest.mark.django_db


def test_demo_postal_seed() -> None:
    world = build_world(2)
    person = world.people[0]
    application_online_submit(
        id_number=person.id_number,
        name=person.name,
        phone=person.phone,
        bank_id=world.bank.pk,
        postal_address="湖北省鄂州市鄂城区凤凰街道凤凰村8组16号",
    )
    card = make_card(world.people[1], custodian=None, status="active", bank=world.bank)
    # Issued by the city's card centre, whose series production also draws from.
    type(card).objects.filter(pk=card.pk).update(issuing_region_id="420700")
    summary = demo_postal_seed()
    assert (summary.mailed, summary.reissued) == (1, 1)
    dispatch = PostalDispatch.objects.get()
    assert dispatch.card.status == CardStatus.MAILED and dispatch.card.person == person
    reissue = CardReissue.objects.get()
    assert reissue.new_card is not None
    assert reissue.new_card.status == CardStatus.PENDING_PRODUCTION
    assert not custody_invariant_violations().exists()
    assert demo_postal_seed() == type(summary)(0, 0)
