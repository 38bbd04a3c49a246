"""The demo's usage step: months of card use at the terminals allowed to upload, a second
city's cards from a series of its own, a few home-service appointments; a second run adds
nothing."""

from __future__ import annotations

from datetime import date

import pytest

from shebao.accounts.choices import OrganisationKind, Role
from shebao.cards.models import Card, CardSeries, HomeServiceAppointment
from shebao.cards.services.numbering import series_of_region
from shebao.geo.models import Region
from shebao.partners.services.registry import partner_set_scopes
from shebao.usage.demo import PER_TERMINAL, demo_seed
from shebao.usage.models import UsageRecord
from tests.factories import make_org, make_person, make_user
from tests.integration.partners.world import build_partner_world

pytestmark = pytest.mark.django_db


def test_demo_seed_is_fast_shaped_and_idempotent() -> None:
    world = build_partner_world()
    partner_set_scopes(
        actor=world.centre_user, partner_id=world.bus.pk, fields=[], services=["upload_usage"]
    )
    Region.objects.create(
        code="420200", name="黄石市", level=2, parent_id="420000", prefix="4202",
        full_name="湖北省黄石市",
    )  # fmt: skip
    town = make_org(OrganisationKind.TOWN_OFFICE, "420704001")
    make_user(Role.TOWN_CLERK, town, username="town")
    make_person("420704001201", name="王秀英", birth=date(1938, 3, 1))
    for _ in range(3):
        make_person("420704001202", name="张伟")
    # The demo city's production has made its series first (the all-digit one).
    series_of_region(Region.objects.get(code="420700"))
    first = demo_seed(city_code="420700")
    # Only the bus company may upload: its terminal's months of rides.
    assert first.records_added == PER_TERMINAL
    assert set(UsageRecord.objects.values_list("field", flat=True)) == {"transport"}
    assert UsageRecord.objects.filter(result="refused").exclude(reason="").exists()
    assert first.second_city_cards >= 1
    assert CardSeries.objects.get(region_id="420200").prefix == "A"
    assert all(
        c.startswith("A")
        for c in Card.objects.filter(issuing_region_id="420200").values_list(
            "card_number", flat=True
        )
    )
    assert first.appointments == 1
    assert HomeServiceAppointment.objects.get().status == "booked"
    again = demo_seed(city_code="420700")
    assert again.records_added == 0
    assert UsageRecord.objects.count() == PER_TERMINAL
    assert Card.objects.filter(issuing_region_id="420200").count() == first.second_city_cards
