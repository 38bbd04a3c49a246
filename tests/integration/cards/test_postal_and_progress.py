"""Postal delivery of online applications (邮寄到家) and the application progress that follows
the card: the card centre mails the card instead of handing it down the chain, the mailing is
recorded (tracking number, date, address masked in lists), the holder confirms receipt on the
self-service page or a clerk records it, and the card is issued; a returned letter brings the
card back. Application lists (batch page, self-service lookup) show the card's progress."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from shebao.cards.domain.lifecycle import CardStatus, CardTransitionError
from shebao.cards.models import (
    Application,
    Card,
    CardHistory,
    PostalDispatch,
    PostalDispatchStatus,
)
from shebao.cards.selectors.custody import custody_invariant_violations
from shebao.cards.selectors.issuing import application_rows
from shebao.cards.services.applications import (
    CounterInput,
    application_batch_forward,
    application_counter_create,
    application_online_submit,
    counter_batch_submit,
)
from shebao.cards.services.card_life import card_activate
from shebao.cards.services.custody import (
    PickupInput,
    card_pickup,
    handover_confirm,
    handover_create,
)
from shebao.cards.services.postal import (
    postal_cards_ready,
    postal_delivery_confirm,
    postal_dispatch_record,
    postal_dispatch_return,
)
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from tests.integration.cards.issuing_world import (
    World,
    build_world,
    open_all_accounts,
    produce_all,
)
from tests.integration.cards.self_service_steps import verify

pytestmark = pytest.mark.django_db

URL = "/cards/self-service/"
ADDRESS = "湖北省鄂州市鄂城区凤凰街道凤凰村3组12号"


def _online_card(world: World, i: int = 0) -> Card:
    person = world.people[i]
    application_online_submit(
        id_number=person.id_number,
        name=person.name,
        phone=person.phone,
        bank_id=world.bank.pk,
        postal_address=ADDRESS,
    )
    produce_all(world)
    card = Card.objects.get(person=person)
    assert (card.status, card.custodian_id) == (CardStatus.MADE, world.centre.pk)
    return card


def _self_service(client: Client, world: World, i: int = 0) -> str:
    if client.session.get("cards_self_service", {}).get("verified"):
        return client.get(URL).content.decode()
    return verify(client, world.people[i])


def test_a_postal_card_is_mailed_and_the_holder_confirms_receipt() -> None:
    world = build_world(2)
    card = _online_card(world)
    assert list(postal_cards_ready(world.centre_clerk)) == [card]

    # Not sent down the village chain.
    with pytest.raises(ValidationFailed) as refused:
        handover_create(
            actor=world.centre_clerk,
            to_organisation_id=world.district.pk,
            card_numbers=card.card_number,
        )
    assert "邮寄到家" in str(refused.value.details)
    # Only the card centre mails, with a sensible tracking number.
    with pytest.raises(PermissionDenied):
        postal_dispatch_record(
            actor=world.town_clerk, card_number=card.card_number, tracking_number="EM123456789CN"
        )
    with pytest.raises(ValidationFailed):
        postal_dispatch_record(
            actor=world.centre_clerk, card_number=card.card_number, tracking_number="12"
        )

    dispatch = postal_dispatch_record(
        actor=world.centre_clerk,
        card_number=card.card_number,
        tracking_number="em 1234 5678 9cn",
        mailed_on=date(2025, 3, 10),
    )
    assert (dispatch.tracking_number, dispatch.mailed_on, dispatch.address) == (
        "EM123456789CN",
        date(2025, 3, 10),
        ADDRESS,
    )
    card.refresh_from_db()
    # In the post: the card centre still answers for it, the card is no longer offered.
    assert (card.status, card.custodian_id) == (CardStatus.MAILED, world.centre.pk)
    assert not postal_cards_ready(world.centre_clerk).exists()
    assert not custody_invariant_violations().exists()
    with pytest.raises(CardTransitionError):  # cannot be mailed twice
        postal_dispatch_record(
            actor=world.centre_clerk, card_number=card.card_number, tracking_number="EM99999999CN"
        )

    # The card centre's page lists the mailing with the address masked.
    staff = Client()
    staff.force_login(world.centre_clerk)
    page = staff.get("/cards/postal/").content.decode()
    assert "EM123456789CN" in page and ADDRESS not in page and "湖北省鄂州市" in page
    assert world.people[0].name not in page

    # The holder follows it and confirms receipt on the self-service page.
    client = Client()
    body = _self_service(client, world)
    assert "已邮寄，待签收" in body and "EM123456789CN" in body and "确认已收到卡片" in body
    page = client.post(URL, {"action": "confirm_delivery", "card": str(card.pk)})
    assert page.status_code == 200 and "已确认收到社会保障卡" in page.content.decode()
    card.refresh_from_db()
    assert (card.status, card.custodian_id) == (CardStatus.ISSUED, None)
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.confirmed_by) == (PostalDispatchStatus.DELIVERED, "holder")
    assert dispatch.delivered_on is not None
    assert "已邮寄签收" in _self_service(client, world)
    assert not custody_invariant_violations().exists()

    assert open_all_accounts(world) == 1  # activation needs the bank account
    card_activate(actor=world.branch_clerk, card_id=card.pk)
    assert list(
        CardHistory.objects.filter(card=card).order_by("at", "pk").values_list("event", flat=True)
    ) == ["production_succeeded", "mail", "confirm_delivery", "activate"]
    app = Application.objects.get(card=card)
    assert application_rows(Application.objects.filter(pk=app.pk))[0].status == "已激活"


def test_a_clerk_records_receipt_and_a_returned_letter_is_mailed_again() -> None:
    world = build_world(2)
    card = _online_card(world)
    postal_dispatch_record(
        actor=world.centre_clerk, card_number=card.card_number, tracking_number="EM10000001CN"
    )
    # A stranger on the self-service page cannot confirm someone else's card.
    client = Client()
    _self_service(client, world, 1)
    page = client.post(URL, {"action": "confirm_delivery", "card": str(card.pk)})
    assert page.status_code == 400
    card.refresh_from_db()
    assert card.status == CardStatus.MAILED

    returned = postal_dispatch_return(
        actor=world.centre_clerk, card_id=card.pk, reason="address_unknown"
    )
    assert returned.status == PostalDispatchStatus.RETURNED and returned.returned_on is not None
    card.refresh_from_db()
    assert (card.status, card.custodian_id) == (CardStatus.MADE, world.centre.pk)
    with pytest.raises(NotFound):
        postal_delivery_confirm(actor=world.centre_clerk, card_id=card.pk)

    postal_dispatch_record(
        actor=world.centre_clerk, card_number=card.card_number, tracking_number="EM10000002CN"
    )
    staff = Client()
    staff.force_login(world.centre_clerk)
    page = staff.post("/cards/postal/", {"action": "delivered", "card": str(card.pk)})
    assert page.status_code == 302
    card.refresh_from_db()
    assert (card.status, card.custodian_id) == (CardStatus.ISSUED, None)
    assert list(
        PostalDispatch.objects.filter(card=card).order_by("pk").values_list("status", flat=True)
    ) == ["returned", "delivered"]
    assert PostalDispatch.objects.get(status="delivered").confirmed_by == "clerk"
    assert not custody_invariant_violations().exists()


def test_a_counter_application_shows_its_cards_progress() -> None:
    world = build_world(2)
    person = world.people[0]
    application_counter_create(
        actor=world.village_clerk,
        data=CounterInput(
            person.id_number,
            person.name,
            world.bank.pk,
            "13912345678",
            use_police_photo=True,
            signed_form=b"%PDF-1.4 signed",
        ),
    )
    batch = counter_batch_submit(actor=world.village_clerk)
    for clerk in (world.town_clerk, world.district_clerk):
        batch = application_batch_forward(actor=clerk, batch_id=batch.pk)
    produce_all(world)
    card = Card.objects.get(person=person)
    apps = Application.objects.filter(person=person).select_related("card")
    client = Client()

    def shown() -> tuple[str, str]:
        row = application_rows(apps.all())[0]
        staff = Client()
        staff.force_login(world.village_clerk)
        page = staff.get(f"/cards/issuing/batches/{batch.pk}/").content.decode()
        assert row.status in page
        body = _self_service(client, world)
        assert row.status in body
        return row.status, body

    assert shown()[0] == "已制卡"
    chain = (
        (world.centre_clerk, world.district_clerk, world.district),
        (world.district_clerk, world.town_clerk, world.town),
        (world.town_clerk, world.village_clerk, world.village),
    )
    for n, (sender, receiver, to) in enumerate(chain):
        handover = handover_create(
            actor=sender, to_organisation_id=to.pk, card_numbers=card.card_number
        )
        handover_confirm(actor=receiver, handover_id=handover.pk, arrived=card.card_number)
        if n == 0:
            assert shown()[0] == "已制卡，正在送往发放点"
    assert shown()[0] == "已到发放点，待领取"
    card_pickup(
        actor=world.village_clerk, data=PickupInput(card.card_number, person.id_number, signed=True)
    )
    assert shown()[0] == "已发放"
    open_all_accounts(world)
    card_activate(actor=world.branch_clerk, card_id=card.pk)
    status, body = shown()
    assert status == "已激活" and person.id_number not in body
