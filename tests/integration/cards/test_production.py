"""Production through the database: batches per unit and per town, card numbers and card
identification codes, the encrypted vendor file both ways, results applied in bulk, the
whole way to an activated card, and unique numbers under concurrent batches (PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shebao.cards.domain.codes import validate_card_id_code, validate_card_number
from shebao.cards.domain.lifecycle import CardEvent
from shebao.cards.models import (
    AccountOpeningRequest,
    Application,
    ApplicationBatchStatus,
    ApplicationStatus,
    Card,
    CardHistory,
    ProductionBatchStatus,
)
from shebao.cards.services.applications import (
    CounterInput,
    application_batch_forward,
    application_batch_upload,
    application_counter_create,
    application_online_submit,
    counter_batch_submit,
)
from shebao.cards.services.banking import (
    account_request_export,
    account_results_import,
    bank_results_file,
)
from shebao.cards.services.card_life import card_apply_event
from shebao.cards.services.exchange import KIND_VENDOR_ORDER, ExchangeError, open_exchange_file
from shebao.cards.services.production import (
    production_batch_export,
    production_batches_form,
    production_results_import,
    vendor_order_read,
    vendor_results_file,
)
from shebao.errors import ShebaoError
from shebao.registry.models import BankAccount
from tests.integration.cards.issuing_world import (
    World,
    build_world,
    collective_csv,
    good_photo,
    photo_zip,
    row_for,
)

pytestmark = pytest.mark.django_db


def _collective_at_centre(world: World, people) -> int:  # type: ignore[no-untyped-def]
    photos = {f"{p.id_number}.jpg": good_photo(i) for i, p in enumerate(people)}
    batch = application_batch_upload(
        actor=world.school_clerk,
        file=SimpleUploadedFile("a.csv", collective_csv([row_for(p) for p in people])),
        photo_zip=SimpleUploadedFile("p.zip", photo_zip(photos)),
    ).batch
    for user in (world.school_clerk, world.department_clerk, world.district_clerk):
        application_batch_forward(actor=user, batch_id=batch.pk)
    return batch.pk


def _counter_at_centre(world: World, people) -> None:  # type: ignore[no-untyped-def]
    for p in people:
        application_counter_create(
            actor=world.village_clerk,
            data=CounterInput(
                p.id_number,
                p.name,
                world.bank.pk,
                "13912345678",
                use_police_photo=True,
                signed_form=b"x",
            ),
        )
    batch = counter_batch_submit(actor=world.village_clerk)
    application_batch_forward(actor=world.town_clerk, batch_id=batch.pk)
    application_batch_forward(actor=world.district_clerk, batch_id=batch.pk)


def test_batches_per_unit_and_per_town_with_valid_unique_numbers() -> None:
    world = build_world(6)
    p = world.people
    collective_id = _collective_at_centre(world, p[:3])
    _counter_at_centre(world, p[3:5])
    application_online_submit(
        id_number=p[5].id_number,
        name=p[5].name,
        phone="13912345678",
        bank_id=world.bank.pk,
        postal_address="凤凰街道凤凰村5组8号",
    )
    formed = production_batches_form(actor=world.centre_clerk, today=date(2025, 3, 3))
    assert sorted((b.kind, b.card_count) for b in formed) == [("collective", 3), ("individual", 3)]
    collective = next(b for b in formed if b.kind == "collective")
    individual = next(b for b in formed if b.kind == "individual")
    assert collective.organisation == world.school
    assert individual.organisation == world.town and individual.region_id == "420704001"

    cards = list(Card.objects.all())
    assert len(cards) == 6
    assert len({c.card_number for c in cards}) == 6 and len({c.card_id_code for c in cards}) == 6
    for card in cards:
        assert validate_card_number(card.card_number).ok
        assert validate_card_id_code(card.card_id_code).ok
        assert card.card_id_code.startswith("420700D156000005")
        assert card.status == "pending_production" and card.custodian == world.centre
        assert (card.spec_version, card.issued_on, card.expires_on) == (
            "3.00",
            date(2025, 3, 3),
            date(2035, 3, 3),
        )
        assert card.issuing_region_id == "420700" and card.bank == world.bank
    apps = Application.objects.exclude(channel="instant")
    assert all(a.card is not None and a.card.person_id == a.person_id for a in apps)
    assert set(apps.values_list("status", flat=True)) == {ApplicationStatus.IN_PRODUCTION}
    assert Application.objects.get(batch_id=collective_id, row=1).batch.status == (
        ApplicationBatchStatus.IN_PRODUCTION
    )
    # account opening prepared per bank (and the branch serving 鄂城区)
    requests = AccountOpeningRequest.objects.all()
    assert {(r.bank, r.branch, r.record_count) for r in requests} == {
        (world.bank, world.branch, 3),
        (world.bank, world.branch, 3),
    }
    # nothing left to form
    assert production_batches_form(actor=world.centre_clerk) == []
    with pytest.raises(ShebaoError):
        production_batches_form(actor=world.district_clerk)


def _vendor_results(content: bytes, failed_rows: set[int]) -> list[tuple[str, str, bool, str]]:
    reader = vendor_order_read(content).rows
    return [
        (
            r["社保卡号"],
            r["社会保障号码"],
            i not in failed_rows,
            "照片模糊" if i in failed_rows else "",
        )
        for i, r in enumerate(reader, start=1)
    ]


def test_vendor_file_is_sm4_encrypted_and_results_apply_in_bulk_once() -> None:
    world = build_world(3)
    _collective_at_centre(world, world.people)
    (batch,) = production_batches_form(actor=world.centre_clerk)
    batch, sealed = production_batch_export(
        actor=world.centre_clerk, batch_id=batch.pk, vendor=world.vendor
    )
    assert batch.status == ProductionBatchStatus.SENT and batch.vendor == world.vendor
    assert world.people[0].id_number.encode() not in sealed  # encrypted
    opened = open_exchange_file(sealed, kind=KIND_VENDOR_ORDER)
    assert opened.reference == batch.code and opened.digest == batch.export_digest
    rows = vendor_order_read(opened.content).rows
    assert [r["社会保障号码"] for r in rows] == sorted(
        (p.id_number for p in world.people),
        key=lambda i: Card.objects.get(person__id_number=i).card_number,
    )

    tampered = bytearray(sealed)
    tampered[len(tampered) // 2] ^= 1
    with pytest.raises(ExchangeError) as exc:
        open_exchange_file(bytes(tampered))
    assert exc.value.code == "EXCHANGE_TAMPERED" and "SM3" in exc.value.message
    with pytest.raises(ExchangeError) as exc:
        open_exchange_file(sealed, key=b"0" * 16)
    assert exc.value.code == "EXCHANGE_TAMPERED"
    with pytest.raises(ExchangeError) as exc:
        production_results_import(actor=world.vendor_clerk, data=sealed)
    assert exc.value.code == "EXCHANGE_WRONG_KIND"
    with pytest.raises(ExchangeError) as exc:
        production_results_import(actor=world.vendor_clerk, data=b"plain text")
    assert exc.value.code == "EXCHANGE_NOT_RECOGNISED"

    results = _vendor_results(opened.content, failed_rows={2})
    bad = vendor_results_file(
        batch,
        [*results[:2], (results[2][0], results[2][1], True, ""), ("000000000", "x", True, "")],
    )
    with pytest.raises(ShebaoError) as exc:
        production_results_import(actor=world.vendor_clerk, data=bad)
    assert exc.value.code == "RESULT_ROWS_INVALID"
    assert set(Card.objects.values_list("status", flat=True)) == {"pending_production"}

    outcome = production_results_import(
        actor=world.vendor_clerk, data=vendor_results_file(batch, results)
    )
    assert (outcome.made, outcome.failed) == (2, 1)
    statuses = dict(Card.objects.values_list("card_number", "status"))
    assert sorted(statuses.values()) == ["made", "made", "production_failed"]
    failed_card = Card.objects.get(status="production_failed")
    assert CardHistory.objects.get(card=failed_card).note == "照片模糊"
    assert Application.objects.get(card=failed_card).status == ApplicationStatus.PRODUCTION_FAILED
    batch.refresh_from_db()
    assert (batch.made_count, batch.failed_count, batch.status) == (2, 1, "completed")
    # the same results again: nothing changes
    again = production_results_import(
        actor=world.vendor_clerk, data=vendor_results_file(batch, results)
    )
    assert (again.made, again.failed) == (0, 0)
    assert CardHistory.objects.count() == 3
    # another vendor may not import
    with pytest.raises(ShebaoError):
        production_results_import(actor=world.bank_clerk, data=vendor_results_file(batch, results))


def _through_to_activation(world: World, card: Card) -> Card:
    for event in (CardEvent.ARRIVE_FOR_PICKUP, CardEvent.ISSUE, CardEvent.ACTIVATE):
        card, _ = card_apply_event(card_id=card.pk, event=event, actor=world.centre_clerk)
    return card


def test_collective_and_individual_applications_to_an_activated_card_with_a_bank_account() -> None:
    world = build_world(4)
    _collective_at_centre(world, world.people[:2])
    _counter_at_centre(world, world.people[2:])
    formed = production_batches_form(actor=world.centre_clerk)
    for batch in formed:
        _, sealed = production_batch_export(
            actor=world.centre_clerk, batch_id=batch.pk, vendor=world.vendor
        )
        content = open_exchange_file(sealed).content
        production_results_import(
            actor=world.vendor_clerk,
            data=vendor_results_file(batch, _vendor_results(content, set())),
        )
    for n, request in enumerate(AccountOpeningRequest.objects.order_by("pk")):
        request, sealed = account_request_export(actor=world.branch_clerk, request_id=request.pk)
        ids = [
            r["社会保障号码"]
            for r in csv.DictReader(io.StringIO(open_exchange_file(sealed).content.decode()))
        ]
        account_results_import(
            actor=world.branch_clerk,
            data=bank_results_file(
                request, [(i, True, f"62284800{n}{k:08d}", "") for k, i in enumerate(ids)]
            ),
        )
    for app in Application.objects.select_related("card"):
        card = _through_to_activation(world, app.card)
        assert card.status == "active"
        assert BankAccount.objects.filter(person_id=app.person_id, bank=world.bank).count() == 1
    assert {a.channel for a in Application.objects.all()} == {"collective", "counter"}


def test_vectorised_card_numbers_match_the_domain_series() -> None:
    from shebao.cards.domain.codes import CardNumberSeries
    from shebao.cards.services.production import card_numbers

    for series in (CardNumberSeries(), CardNumberSeries("E"), CardNumberSeries("B7K")):
        first = series.capacity - 500
        assert card_numbers(series, 1, 300) == [series.card_number_for(1 + i) for i in range(300)]
        assert card_numbers(series, first, 500) == [
            series.card_number_for(first + i) for i in range(500)
        ]


def test_exchange_key_from_the_environment_and_required_in_production(
    monkeypatch, settings
) -> None:  # type: ignore[no-untyped-def]
    from shebao.cards.services.exchange import seal_exchange_file

    dev = seal_exchange_file(b"x", kind="vendor_order", reference="r", partner="p")
    monkeypatch.setenv("SHEBAO_EXCHANGE_KEY", "00112233445566778899aabbccddeeff")
    with pytest.raises(ExchangeError) as exc:
        open_exchange_file(dev)
    assert exc.value.code == "EXCHANGE_TAMPERED"
    sealed = seal_exchange_file(b"y", kind="vendor_order", reference="r", partner="p")
    assert open_exchange_file(sealed, kind="vendor_order").content == b"y"
    monkeypatch.setenv("SHEBAO_EXCHANGE_KEY", "not-hex")
    with pytest.raises(ExchangeError) as exc:
        open_exchange_file(sealed)
    assert exc.value.code == "EXCHANGE_KEY_INVALID"
    monkeypatch.delenv("SHEBAO_EXCHANGE_KEY")
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    settings.DEBUG = False
    settings.ENVIRONMENT = "production"
    with pytest.raises(ExchangeError) as exc:
        seal_exchange_file(b"z", kind="vendor_order", reference="r", partner="p")
    assert exc.value.code == "EXCHANGE_KEY_MISSING"
