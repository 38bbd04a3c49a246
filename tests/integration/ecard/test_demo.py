"""The demo's e-cards: issued set-based to holders of active cards with a phone, one holder
kept without an e-card for the journey, the choice written for the journeys to read."""

from __future__ import annotations

import json

import pytest

from shebao.ecard.demo import demo_holders_path, demo_seed
from shebao.ecard.models import ECard
from shebao.ecard.services.ecards import ecard_issue_start
from tests.integration.ecard.world import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path


def test_demo_seed_issues_ecards_and_keeps_one_holder_for_the_journey() -> None:
    world: World = build_world()
    chosen = demo_seed(count=2)
    assert json.loads(demo_holders_path().read_text(encoding="utf-8")) == chosen
    assert ECard.objects.count() == 2
    assert sorted(ECard.objects.values_list("card__card_number", flat=True)) == sorted(
        chosen["with_ecard"]  # type: ignore[arg-type]
    )
    keep = next(c for c in world.cards if c.card_number == chosen["apply"])
    assert not ECard.objects.filter(card=keep).exists()
    person = keep.person
    sent = ecard_issue_start(
        id_number=person.id_number, name=person.name, card_number=keep.card_number
    )
    assert sent.person_id == person.pk
    demo_seed(count=2)  # a second run adds to what is there, never fails
    assert ECard.objects.count() == 3
