"""A province on one platform: two cities' card centres issue cards in one database and
never give out the same card number or card identification code (issue #11, section 6)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from shebao.cards.models import Card, CardSeries
from shebao.cards.services.numbering import next_card_codes, series_of_region
from shebao.geo.models import Region
from tests.conftest import postgres_only
from tests.factories import make_person, make_regions


def _second_city() -> Region:
    make_regions()
    return Region.objects.create(
        code="420200",
        name="黄石市",
        level=2,
        parent_id="420000",
        prefix="4202",
        full_name="湖北省黄石市",
    )


def _issue(region: Region, person_region: str) -> Card:
    person = make_person(person_region)
    with transaction.atomic():
        number, id_code = next_card_codes(region)
        return Card.objects.create(
            card_number=number,
            card_id_code=id_code,
            person=person,
            status="made",
            issuing_region=region,
        )


@pytest.mark.django_db
def test_two_cities_take_disjoint_series() -> None:
    huangshi = _second_city()
    ezhou = Region.objects.get(code="420700")
    first = [_issue(ezhou, "420704001201") for _ in range(3)]
    second = [_issue(huangshi, "420704001202") for _ in range(3)]
    assert CardSeries.objects.get(region=ezhou).prefix == ""
    assert CardSeries.objects.get(region=huangshi).prefix == "A"
    numbers = [c.card_number for c in first + second]
    assert len(set(numbers)) == 6
    assert all(c.card_number.startswith("A") for c in second)
    assert all(c.card_id_code.startswith("420200D156000005") for c in second)
    assert all(c.card_id_code.startswith("420700D156000005") for c in first)
    # Each city counts from its own first number.
    assert CardSeries.objects.get(region=ezhou).next_number == 4
    assert CardSeries.objects.get(region=huangshi).next_number == 4


@pytest.mark.django_db
def test_an_existing_series_keeps_its_prefix() -> None:
    huangshi = _second_city()
    CardSeries.objects.create(region=huangshi, prefix="HS")
    assert series_of_region(huangshi).prefix == "HS"


def _run_at_once(jobs: list[Callable[[], None]]) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_card_centres_issuing_at_once_never_collide() -> None:
    postgres_only("concurrent transactions need PostgreSQL (set DATABASE_URL)")
    huangshi = _second_city()
    ezhou = Region.objects.get(code="420700")
    people = {
        ezhou.code: [make_person("420704001201") for _ in range(8)],
        huangshi.code: [make_person("420704001202") for _ in range(8)],
    }

    def issue_all(region: Region) -> None:
        # Both cities create their series for the first time at the same moment.
        for person in people[region.code]:
            with transaction.atomic():
                number, id_code = next_card_codes(region)
                Card.objects.create(
                    card_number=number,
                    card_id_code=id_code,
                    person=person,
                    status="made",
                    issuing_region=region,
                )

    errors = _run_at_once([lambda r=r: issue_all(r) for r in (ezhou, huangshi, ezhou, huangshi)])
    assert errors == []
    numbers = list(Card.objects.values_list("card_number", flat=True))
    codes = list(Card.objects.values_list("card_id_code", flat=True))
    assert len(numbers) == 32 and len(set(numbers)) == 32 and len(set(codes)) == 32
    prefixes = sorted(CardSeries.objects.values_list("prefix", flat=True))
    assert prefixes == ["", "A"]
