"""The custody demo: cards for the demo village moved down the chain with the demo accounts,
some handed out; a second run changes nothing."""

from __future__ import annotations

import pytest

from shebao.accounts.choices import OrganisationKind, Role
from shebao.cards.demo_custody import demo_custody_seed
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Card, Handover, ReceiptLine
from shebao.cards.selectors.custody import custody_invariant_violations
from tests.factories import make_org, make_person, make_regions, make_user

pytestmark = pytest.mark.django_db


def test_demo_custody_seed_fills_the_pages() -> None:
    make_regions()
    centre = make_org(OrganisationKind.CARD_CENTRE, "420700")
    district = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420704", parent=centre)
    town = make_org(OrganisationKind.TOWN_OFFICE, "420704001", parent=district)
    village = make_org(OrganisationKind.VILLAGE_COMMITTEE, "420704001201", parent=town)
    bank = make_org(OrganisationKind.BANK, "420700")
    branch = make_org(OrganisationKind.BANK_BRANCH, "420704", parent=bank)
    make_user(Role.CARD_CENTRE_OPERATOR, centre, username="centre")
    make_user(Role.DISTRICT_CLERK, district, username="district")
    make_user(Role.TOWN_CLERK, town, username="town")
    make_user(Role.VILLAGE_CLERK, village, username="village")
    make_user(Role.BANK_OPERATOR, branch, username="bank")
    names = "一二三四五六七八九十甲乙"
    for i in range(12):
        person = make_person("420704001201", name=f"张{names[i]}明", phone=f"1390000{i:04d}")
        person.residence_region_id = "420704001201"
        person.save(update_fields=["residence_region"])

    summary = demo_custody_seed()
    assert (summary.cards, summary.issued, summary.skipped) == (12, 5, False)
    assert Handover.objects.count() == summary.handovers == 4
    assert Handover.objects.filter(missing_count=1).count() == 1
    statuses = list(Card.objects.values_list("status", flat=True))
    assert statuses.count(CardStatus.ISSUED) == 2
    assert statuses.count(CardStatus.ACTIVE) == 2
    assert statuses.count(CardStatus.TEMPORARY_LOSS) == 1
    assert statuses.count(CardStatus.AWAITING_PICKUP) == 3
    assert ReceiptLine.objects.filter(outcome="picked_up").count() == 5
    assert not custody_invariant_violations().exists()
    assert demo_custody_seed().skipped
    assert Card.objects.count() == 12
