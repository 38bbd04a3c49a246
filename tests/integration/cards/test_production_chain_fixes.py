"""The card production chain as it failed in use (issue #10, items 5, 8, 9, 10): a unit's batch
reaching the district card office and production although the unit is registered above the
district; activation only once the bank account is opened; a replacement batch listed and
exported; a failed card remade; the vendor's package carrying the photos themselves."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from shebao.accounts.choices import OrganisationKind, Role
from shebao.cards.domain.lifecycle import CardEvent, CardStatus, FeeKind
from shebao.cards.models import (
    AccountOpeningRequest,
    Application,
    Card,
    CardHistory,
    CardIssuingPolicy,
    ProductionBatch,
)
from shebao.cards.selectors.issuing import application_batches_visible, production_batches_visible
from shebao.cards.services.applications import (
    application_batch_forward,
    application_batch_upload,
)
from shebao.cards.services.banking import (
    AccountNotOpened,
    account_request_export,
    account_results_import,
    bank_results_file,
)
from shebao.cards.services.card_life import card_activate, card_apply_event, card_reissue
from shebao.cards.services.exchange import KIND_VENDOR_ORDER, open_exchange_file
from shebao.cards.services.production import (
    production_batch_export,
    production_batches_form,
    production_failed_remake,
    production_results_import,
    vendor_order_read,
    vendor_results_file,
)
from shebao.errors import ValidationFailed
from shebao.geo.codes import level_of, parent_code_of, prefix_of
from shebao.geo.models import Region
from shebao.registry.services import PersonInput, person_create
from tests.factories import id_number_for, make_card, make_org, make_user
from tests.integration.cards.issuing_world import (
    CITY,
    ECHENG,
    TOWN,
    VILLAGE,
    World,
    build_world,
    collective_csv,
    good_photo,
    photo_zip,
    row_for,
)

pytestmark = pytest.mark.django_db


def _city_employer_batch(world: World) -> tuple[int, dict[str, bytes]]:
    """A city-wide employer (registered at the city, as the demo's are) whose superior is the
    鄂城区 card office uploads a collective file with photos and sends it up."""
    employer = make_org(
        OrganisationKind.EMPLOYER,
        CITY,
        parent=world.district,
        name="鄂州市中南置业有限公司",
        credit_code="91420700MA0000001X",
    )
    clerk = make_user(Role.EMPLOYER_CLERK, employer)
    photos = {p.id_number: good_photo(i + 10) for i, p in enumerate(world.people)}
    batch = application_batch_upload(
        actor=clerk,
        file=SimpleUploadedFile("集体申领.csv", collective_csv([row_for(p) for p in world.people])),
        photo_zip=SimpleUploadedFile(
            "照片.zip", photo_zip({f"{k}.jpg": v for k, v in photos.items()})
        ),
    ).batch
    assert batch.eligible_count == len(world.people)
    application_batch_forward(actor=clerk, batch_id=batch.pk)
    return batch.pk, photos


def test_a_city_wide_units_batch_goes_through_the_district_to_production() -> None:
    world = build_world(3)
    batch_id, _ = _city_employer_batch(world)

    # The district card office sees the batch it now holds, opens it and forwards it.
    assert application_batches_visible(world.district_clerk).filter(pk=batch_id).exists()
    client = Client()
    client.force_login(world.district_clerk)
    page = client.get(f"/cards/issuing/batches/{batch_id}/")
    assert page.status_code == 200 and "上报" in page.content.decode()
    assert client.post(f"/cards/issuing/batches/{batch_id}/forward/").status_code == 302
    batch = application_batches_visible(world.centre_clerk).get(pk=batch_id)
    assert (batch.status, batch.holder_id) == ("at_card_centre", world.centre.pk)
    # Having passed it on, the office still finds it in its list.
    assert application_batches_visible(world.district_clerk).filter(pk=batch_id).exists()

    (production,) = production_batches_form(actor=world.centre_clerk)
    assert production.card_count == 3
    assert production.organisation is not None and production.organisation.name.startswith("鄂州")
    batch.refresh_from_db()
    assert batch.status == "in_production"


def test_a_city_wide_units_accounts_go_to_the_branch_where_the_staff_live() -> None:
    from shebao.cards.selectors.issuing import account_requests_visible

    world = build_world(2)
    batch_id, _ = _city_employer_batch(world)
    application_batch_forward(actor=world.district_clerk, batch_id=batch_id)
    production_batches_form(actor=world.centre_clerk)
    request = AccountOpeningRequest.objects.get()
    # The staff live in 鄂城区: its branch opens the accounts and sees the request.
    assert (request.branch_id, request.region_id) == (world.branch.pk, ECHENG)
    assert account_requests_visible(world.branch_clerk).filter(pk=request.pk).exists()
    request, sealed = account_request_export(actor=world.branch_clerk, request_id=request.pk)
    assert request.status == "sent"
    assert open_exchange_file(sealed, kind="bank_request").reference == request.code


def _produce(world: World, failed: set[str] = frozenset()) -> ProductionBatch:  # type: ignore[assignment]
    (batch,) = production_batches_form(actor=world.centre_clerk)
    batch, sealed = production_batch_export(
        actor=world.centre_clerk, batch_id=batch.pk, vendor=world.vendor
    )
    rows = vendor_order_read(open_exchange_file(sealed, kind=KIND_VENDOR_ORDER).content).rows
    production_results_import(
        actor=world.vendor_clerk,
        data=vendor_results_file(
            batch,
            [
                (
                    r["社保卡号"],
                    r["社会保障号码"],
                    r["社会保障号码"] not in failed,
                    "芯片初始化失败" if r["社会保障号码"] in failed else "",
                )
                for r in rows
            ],
        ),
    )
    batch.refresh_from_db()
    return batch


def test_the_vendor_package_carries_each_cards_photo_as_jpeg_bytes() -> None:
    world = build_world(3)
    batch_id, photos = _city_employer_batch(world)
    application_batch_forward(actor=world.district_clerk, batch_id=batch_id)
    (batch,) = production_batches_form(actor=world.centre_clerk)
    batch, sealed = production_batch_export(
        actor=world.centre_clerk, batch_id=batch.pk, vendor=world.vendor
    )
    for data in photos.values():
        assert data[100:200] not in sealed  # the photos travel encrypted
    opened = open_exchange_file(sealed, kind=KIND_VENDOR_ORDER)
    order = vendor_order_read(opened.content)
    assert len(order.rows) == 3
    for row in order.rows:
        number = row["社保卡号"]
        assert row["照片"] == f"照片/{number}.jpg"  # a name in the package, not a server path
        jpeg = order.photos[number]
        assert jpeg == photos[row["社会保障号码"]]
        assert jpeg[:3] == b"\xff\xd8\xff"
        assert Image.open(io.BytesIO(jpeg)).format == "JPEG"
    # Exporting again gives the same content (same SM3 digest), sealed afresh.
    again = production_batch_export(actor=world.centre_clerk, batch_id=batch.pk)[1]
    assert again != sealed
    assert open_exchange_file(again).digest == opened.digest == batch.export_digest


def _open_accounts(world: World, outcomes: dict[str, bool | None]) -> None:
    """The bank answers: True opened, False failed, None not answered yet."""
    for n, request in enumerate(AccountOpeningRequest.objects.order_by("pk")):
        request, _ = account_request_export(actor=world.bank_clerk, request_id=request.pk)
        rows = [
            (
                p.id_number,
                bool(outcomes[p.id_number]),
                f"62284800{n}{k:08d}" if outcomes[p.id_number] else "",
                "" if outcomes[p.id_number] else "证件已过期",
            )
            for k, p in enumerate(world.people)
            if outcomes[p.id_number] is not None
        ]
        account_results_import(actor=world.bank_clerk, data=bank_results_file(request, rows))


def _issued(world: World, person_id: int) -> Card:
    card = Card.objects.get(person_id=person_id)
    for event in (CardEvent.ARRIVE_FOR_PICKUP, CardEvent.ISSUE):
        card, _ = card_apply_event(card_id=card.pk, event=event, actor=world.centre_clerk)
    return card


def test_a_card_is_activated_only_once_its_bank_account_is_opened() -> None:
    world = build_world(3)
    batch_id, _ = _city_employer_batch(world)
    application_batch_forward(actor=world.district_clerk, batch_id=batch_id)
    _produce(world)
    opened, failed, waiting = world.people
    _open_accounts(
        world, {opened.id_number: True, failed.id_number: False, waiting.id_number: None}
    )

    card = _issued(world, failed.pk)
    with pytest.raises(AccountNotOpened) as refused:
        card_activate(actor=world.bank_clerk, card_id=card.pk)
    assert refused.value.code == "ACCOUNT_NOT_OPENED"
    assert "开户失败" in refused.value.message and "证件已过期" in refused.value.message
    assert card.card_number in refused.value.message
    card.refresh_from_db()
    assert card.status == CardStatus.ISSUED

    card = _issued(world, waiting.pk)
    with pytest.raises(AccountNotOpened) as refused:
        card_activate(actor=world.bank_clerk, card_id=card.pk)
    assert "尚未开立" in refused.value.message

    card = _issued(world, opened.pk)
    assert card_activate(actor=world.bank_clerk, card_id=card.pk).status == CardStatus.ACTIVE


def test_the_counter_page_shows_the_chinese_refusal_for_an_unopened_account() -> None:
    world = build_world(1)
    batch_id, _ = _city_employer_batch(world)
    application_batch_forward(actor=world.district_clerk, batch_id=batch_id)
    _produce(world)
    _open_accounts(world, {world.people[0].id_number: False})
    card = _issued(world, world.people[0].pk)
    client = Client()
    client.force_login(world.bank_clerk)
    client.post("/cards/counter/", {"lookup": "1", "card_number": card.card_number})
    page = client.post("/cards/counter/", {"action": "activate"}).content.decode()
    assert "开户失败" in page and "不能激活" in page
    card.refresh_from_db()
    assert card.status == CardStatus.ISSUED


def test_a_failed_card_is_remade_in_a_new_batch_with_its_history_kept() -> None:
    world = build_world(3)
    batch_id, photos = _city_employer_batch(world)
    application_batch_forward(actor=world.district_clerk, batch_id=batch_id)
    failed_person = world.people[1]
    first = _produce(world, failed={failed_person.id_number})
    assert (first.made_count, first.failed_count) == (2, 1)
    card = Card.objects.get(person=failed_person)
    assert card.status == CardStatus.PRODUCTION_FAILED

    # The production page lists it; remaking forms a batch the page lists and can export.
    client = Client()
    client.force_login(world.centre_clerk)
    page = client.get("/cards/issuing/production/").content.decode()
    assert 'data-testid="failed-cards"' in page and card.card_number in page
    assert client.post("/cards/issuing/production/remake/", {"card": card.pk}).status_code == 302
    remake = ProductionBatch.objects.exclude(pk=first.pk).get()
    assert remake.is_remake and remake.card_count == 1
    page = client.get("/cards/issuing/production/").content.decode()
    assert (
        remake.code in page
        and "重新制卡" in page
        and card.card_number
        not in page.split("制卡批次</h2>")[0].split('data-testid="failed-cards"')[-1]
    )
    card.refresh_from_db()
    app = Application.objects.get(card=card)
    assert (card.status, app.production_batch_id, app.status) == (
        CardStatus.PENDING_PRODUCTION,
        remake.pk,
        "in_production",
    )
    # Only the remade card goes to the vendor, with its photo; this time it is made.
    response = client.post(
        f"/cards/issuing/production/{remake.pk}/export/", {"vendor": world.vendor.pk}
    )
    order = vendor_order_read(open_exchange_file(response.content).content)
    assert [r["社保卡号"] for r in order.rows] == [card.card_number]
    assert order.photos[card.card_number] == photos[failed_person.id_number]
    production_results_import(
        actor=world.vendor_clerk,
        data=vendor_results_file(remake, [(card.card_number, failed_person.id_number, True, "")]),
    )
    card.refresh_from_db()
    remake.refresh_from_db()
    assert card.status == CardStatus.MADE and remake.status == "completed"
    history = list(
        CardHistory.objects.filter(card=card).order_by("at", "pk").values_list("event", "note")
    )
    assert [e for e, _ in history] == ["production_failed", "resubmit", "production_succeeded"]
    assert history[0][1] == "芯片初始化失败" and first.code in history[1][1]
    first.refresh_from_db()
    assert (first.made_count, first.failed_count) == (2, 1)  # what the vendor did, kept
    # The account request is the original one: no second account for the remade card.
    assert AccountOpeningRequest.objects.count() == 1

    with pytest.raises(ValidationFailed) as refused:
        production_failed_remake(actor=world.centre_clerk, card_ids=[card.pk])
    assert refused.value.code == "NOT_PRODUCTION_FAILED"


def test_a_replacement_for_a_holder_registered_elsewhere_is_listed_and_exported() -> None:
    world = build_world(1)
    for code, name in (("420100", "武汉市"), ("420102", "江岸区")):
        parent = parent_code_of(code)
        Region.objects.create(
            code=code,
            name=name,
            level=level_of(code),
            prefix=prefix_of(code),
            parent_id=parent if Region.objects.filter(code=parent).exists() else None,
            full_name=name,
        )
    migrant = person_create(
        actor=None,
        data=PersonInput(
            id_number=id_number_for("420102", date(1990, 1, 2), 7),
            name="周平",
            hukou_region_code="420102",
            residence_region_code=VILLAGE,
        ),
    )
    CardIssuingPolicy.objects.create(replacement_fee=Decimal("20.00"), renewal_fee=Decimal("15.00"))
    lost = make_card(migrant, custodian=None, status="lost", bank=world.bank)
    Card.objects.filter(pk=lost.pk).update(issuing_region_id=CITY)
    reissue = card_reissue(actor=world.centre_clerk, card_id=lost.pk, kind=FeeKind.REPLACEMENT)
    assert reissue.new_card is not None

    (batch,) = production_batches_form(actor=world.centre_clerk)
    assert batch.is_reissue and batch.region_id.startswith(ECHENG)
    assert batch.region_id == TOWN  # the town the holder lives in, inside the city
    assert production_batches_visible(world.centre_clerk).filter(pk=batch.pk).exists()
    client = Client()
    client.force_login(world.centre_clerk)
    assert batch.code in client.get("/cards/issuing/production/").content.decode()
    response = client.post(
        f"/cards/issuing/production/{batch.pk}/export/", {"vendor": world.vendor.pk}
    )
    assert response.status_code == 200
    order = vendor_order_read(open_exchange_file(response.content).content)
    assert [r["社保卡号"] for r in order.rows] == [reissue.new_card.card_number]
