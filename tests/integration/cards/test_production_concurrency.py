"""Card numbers under concurrent production batches (PostgreSQL row locks)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from shebao.cards.models import Application, ApplicationKind, Card, CardSeries
from shebao.cards.services.production import production_batch_form
from shebao.geo.models import Region
from tests.conftest import postgres_only
from tests.integration.cards.issuing_world import TOWN, build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _eligible(world, people) -> list[int]:  # type: ignore[no-untyped-def]
    return [
        Application.objects.create(
            channel="counter",
            person=person,
            id_number=person.id_number,
            name=person.name,
            region_id=person.hukou_region_id,
            status="eligible",
            bank=world.bank,
            row=i + 1,
        ).pk
        for i, person in enumerate(people)
    ]


def _run_at_once(jobs) -> list[BaseException]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job) -> None:  # type: ignore[no-untyped-def]
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


def test_concurrent_batches_never_share_a_card_number() -> None:
    postgres_only("row locks need PostgreSQL (set DATABASE_URL)")
    world = build_world(24, police_photos=False)
    ids = _eligible(world, world.people)
    town = Region.objects.get(code=TOWN)
    chunks = [ids[i::6] for i in range(6)]
    errors = _run_at_once(
        [
            (
                lambda chunk=chunk: production_batch_form(
                    actor=world.centre_clerk,
                    application_ids=chunk,
                    kind=ApplicationKind.INDIVIDUAL,
                    organisation=world.town,
                    region=town,
                )
            )
            for chunk in chunks
        ]
    )
    assert errors == []
    numbers = list(Card.objects.values_list("card_number", flat=True))
    codes = list(Card.objects.values_list("card_id_code", flat=True))
    assert len(numbers) == 24 and len(set(numbers)) == 24 and len(set(codes)) == 24
    assert CardSeries.objects.get(region_id="420700").next_number == 25
    assert all(
        a.card is not None and a.card.person_id == a.person_id for a in Application.objects.all()
    )


def test_two_clerks_forming_the_same_applications_make_each_card_once() -> None:
    postgres_only("row locks need PostgreSQL (set DATABASE_URL)")
    world = build_world(5, police_photos=False)
    ids = _eligible(world, world.people)
    town = Region.objects.get(code=TOWN)
    errors = _run_at_once(
        [
            lambda: production_batch_form(
                actor=world.centre_clerk,
                application_ids=ids,
                kind=ApplicationKind.INDIVIDUAL,
                organisation=world.town,
                region=town,
            )
        ]
        * 3
    )
    assert errors == []
    assert Card.objects.count() == 5
    assert Application.objects.values("production_batch").distinct().count() == 1
