"""Issue #4 "Done when": a collective application (unit file + photo ZIP) and an individual
counter application (village clerk) driven through every step with the real services, to an
activated card with a bank account — eligibility, forwarding up the chain, production batch,
the SM4 vendor file and its results, the bank's account-opening file and results, handovers
down the custody chain dispatched and confirmed, pickup with identity check and signature,
receipts sealed and sent back up to the card centre, activation at the bank branch.

At each important step the test asserts the card's status, its custodian, its history, the
audit rows and the bank account. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Sequence
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent, Organisation, User
from shebao.cards.domain.custody import (
    HandoverKind,
    HandoverStatus,
    ReceiptLineOutcome,
    ReceiptStatus,
)
from shebao.cards.models import (
    AccountItemStatus,
    AccountOpeningItem,
    AccountOpeningRequest,
    AccountRequestStatus,
    Application,
    ApplicationBatch,
    ApplicationBatchStatus,
    ApplicationStatus,
    Card,
    CardHistory,
    ProductionBatch,
    ProductionBatchStatus,
    Receipt,
    ReceiptLine,
)
from shebao.cards.selectors.custody import custody_invariant_violations
from shebao.cards.services.applications import (
    CounterInput,
    application_batch_forward,
    application_batch_upload,
    application_counter_create,
    counter_batch_submit,
)
from shebao.cards.services.banking import (
    account_request_export,
    account_results_import,
    bank_results_file,
)
from shebao.cards.services.card_life import card_activate
from shebao.cards.services.custody import (
    PickupInput,
    card_pickup,
    handover_confirm,
    handover_create,
    receipt_seal,
)
from shebao.cards.services.exchange import KIND_BANK_REQUEST, KIND_VENDOR_ORDER, open_exchange_file
from shebao.cards.services.production import (
    production_batch_export,
    production_batches_form,
    production_results_import,
    vendor_order_read,
    vendor_results_file,
)
from shebao.registry.models import BankAccount, Person
from tests.integration.cards.issuing_world import (
    World,
    build_world,
    collective_csv,
    good_photo,
    photo_zip,
    row_for,
)

pytestmark = pytest.mark.django_db

TODAY = date(2025, 3, 3)  # a Monday; the 15th working day after it is 2025-03-24


def _cards(people: Sequence[Person]) -> list[Card]:
    return list(
        Card.objects.filter(person__in=list(people)).select_related("custodian").order_by("pk")
    )


def _events(card: Card) -> list[str]:
    return list(
        CardHistory.objects.filter(card=card).order_by("at", "pk").values_list("event", flat=True)
    )


def _numbers(cards: Sequence[Card]) -> str:
    return "\n".join(c.card_number for c in cards)


def _audits(action: AuditAction, target_type: str, target_id: object = None) -> int:
    qs = AuditEvent.objects.filter(action=action, target_type=target_type)
    if target_id is not None:
        qs = qs.filter(target_id=str(target_id))
    return qs.count()


def _assert_at(cards: Sequence[Card], status: str, custodian: Organisation | None) -> None:
    for card in cards:
        card.refresh_from_db()
        assert (card.status, card.custodian_id) == (
            status,
            custodian.pk if custodian is not None else None,
        ), card.card_number
    assert not custody_invariant_violations().exists()


def _hand_down(
    sender: User, receiver: User, cards: Sequence[Card], *, to_point: bool = False
) -> None:
    """One handover down the chain, dispatched by the sender and confirmed by the receiver
    counting every card; custody moves only on confirmation."""
    assert receiver.organisation is not None and sender.organisation is not None
    handover = handover_create(
        actor=sender, to_organisation_id=receiver.organisation.pk, card_numbers=_numbers(cards)
    )
    assert (handover.status, handover.listed_count) == (HandoverStatus.DISPATCHED, len(cards))
    _assert_at(cards, "made", sender.organisation)  # still the sender's while in transit
    assert _audits(AuditAction.CREATE, "handover", handover.pk) == 1
    outcome = handover_confirm(actor=receiver, handover_id=handover.pk, arrived=_numbers(cards))
    handover.refresh_from_db()
    assert (handover.status, handover.received_count, handover.missing_count) == (
        HandoverStatus.CONFIRMED,
        len(cards),
        0,
    )
    assert _audits(AuditAction.UPDATE, "handover", handover.pk) == 2  # dispatch, confirm
    if to_point:
        assert outcome.arrived_for_pickup == len(cards) and outcome.receipt is not None
        _assert_at(cards, "awaiting_pickup", receiver.organisation)
        for card in cards:
            assert _events(card)[-1] == "arrive_for_pickup"
    else:
        assert outcome.receipt is None
        _assert_at(cards, "made", receiver.organisation)


def _pass_receipts_up(chain: Sequence[User], receipt: Receipt, centre: Organisation) -> None:
    """The sealed signing sheet travels back up, one confirmed handover per level."""
    for sender, receiver in itertools.pairwise(chain):
        assert receiver.organisation is not None
        handover = handover_create(
            actor=sender,
            to_organisation_id=receiver.organisation.pk,
            receipt_ids=[receipt.pk],
            kind=HandoverKind.RECEIPTS,
        )
        handover_confirm(actor=receiver, handover_id=handover.pk, receipt_numbers=[receipt.number])
        receipt.refresh_from_db()
        assert receipt.holder_id == receiver.organisation.pk
    assert (receipt.holder, receipt.status) == (centre, ReceiptStatus.SUBMITTED)


def _vendor_round(world: World, batch: ProductionBatch) -> None:
    batch, sealed = production_batch_export(
        actor=world.centre_clerk, batch_id=batch.pk, vendor=world.vendor
    )
    assert batch.status == ProductionBatchStatus.SENT and batch.export_digest
    assert _audits(AuditAction.EXPORT, "production_batch", batch.pk) == 1
    ids = list(
        Application.objects.filter(production_batch=batch).values_list(
            "person__id_number", flat=True
        )
    )
    assert all(i.encode() not in sealed for i in ids)  # SM4-encrypted
    opened = open_exchange_file(sealed, kind=KIND_VENDOR_ORDER)
    assert opened.digest == batch.export_digest  # SM3 over the plain content
    rows = vendor_order_read(opened.content).rows
    assert sorted(r["社会保障号码"] for r in rows) == sorted(ids)
    results = [(r["社保卡号"], r["社会保障号码"], True, "") for r in rows]
    outcome = production_results_import(
        actor=world.vendor_clerk, data=vendor_results_file(batch, results)
    )
    assert (outcome.made, outcome.failed) == (len(rows), 0)
    batch.refresh_from_db()
    assert (batch.status, batch.made_count) == (ProductionBatchStatus.COMPLETED, len(rows))
    assert _audits(AuditAction.IMPORT, "production_batch", batch.pk) == 1


def _bank_round(world: World, request: AccountOpeningRequest, first_account: int) -> None:
    request, sealed = account_request_export(
        actor=world.branch_clerk, request_id=request.pk, today=TODAY
    )
    assert request.status == AccountRequestStatus.SENT
    assert (request.sent_on, request.due_on) == (TODAY, date(2025, 3, 24))
    opened = open_exchange_file(sealed, kind=KIND_BANK_REQUEST)
    rows = list(csv.DictReader(io.StringIO(opened.content.decode())))
    assert all(r["社保卡号"] for r in rows)  # the bank learns the card each account is for
    results = [
        (r["社会保障号码"], True, f"6228480{first_account + k:011d}", "")
        for k, r in enumerate(rows)
    ]
    outcome = account_results_import(
        actor=world.branch_clerk, data=bank_results_file(request, results), today=TODAY
    )
    assert (outcome.opened, outcome.failed) == (len(rows), 0)
    request.refresh_from_db()
    assert (request.status, request.opened_count) == (AccountRequestStatus.COMPLETED, len(rows))
    assert _audits(AuditAction.IMPORT, "account_opening_request", request.pk) == 1


def _pick_up(clerk: User, cards: Sequence[Card]) -> Receipt:
    line = None
    for card in cards:
        card.refresh_from_db()
        holder = Person.objects.get(pk=card.person_id)
        line = card_pickup(
            actor=clerk,
            data=PickupInput(
                card_number=card.card_number, holder_id_number=holder.id_number, signed=True
            ),
        )
        assert (line.outcome, line.identity_checked, line.signed) == (
            ReceiptLineOutcome.PICKED_UP,
            True,
            True,
        )
        assert line.issued_by == clerk
    _assert_at(cards, "issued", None)  # with the holder: no organisation holds it
    assert line is not None
    receipt = line.receipt
    assert receipt.organisation == clerk.organisation
    sealed = receipt_seal(actor=clerk, receipt_id=receipt.pk)
    assert sealed.status == ReceiptStatus.SEALED
    return sealed


EXPECTED_HISTORY = ["production_succeeded", "arrive_for_pickup", "issue", "activate"]


def test_collective_and_counter_applications_through_every_step_to_an_activated_card() -> None:
    world = build_world(4)
    unit_people, village_people = world.people[:2], world.people[2:]

    # ---- 1. collective application: the unit's file and photo ZIP, checked row by row
    photos = {f"{p.id_number}.jpg": good_photo(i + 1) for i, p in enumerate(unit_people)}
    upload = application_batch_upload(
        actor=world.school_clerk,
        file=SimpleUploadedFile("申领.csv", collective_csv([row_for(p) for p in unit_people])),
        photo_zip=SimpleUploadedFile("照片.zip", photo_zip(photos)),
    )
    assert (upload.rows, upload.eligible, upload.ineligible) == (2, 2, 0)
    unit_batch = upload.batch
    assert _audits(AuditAction.IMPORT, "application_batch", unit_batch.pk) == 1
    # unit → department → district card office → card centre
    for clerk, holder, status in (
        (world.school_clerk, world.department, ApplicationBatchStatus.AT_INTERMEDIATE),
        (world.department_clerk, world.district, ApplicationBatchStatus.AT_DISTRICT),
        (world.district_clerk, world.centre, ApplicationBatchStatus.AT_CARD_CENTRE),
    ):
        unit_batch = application_batch_forward(actor=clerk, batch_id=unit_batch.pk)
        assert (unit_batch.holder, unit_batch.status) == (holder, status)
    assert _audits(AuditAction.UPDATE, "application_batch", unit_batch.pk) == 3
    assert unit_batch.eligible_count == 2  # re-checked on arrival, still eligible

    # ---- 2. individual application at the village counter, police photo, signed form
    for person in village_people:
        app = application_counter_create(
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
        assert (app.status, app.photo_source) == (ApplicationStatus.ELIGIBLE, "police")
        assert AuditEvent.objects.filter(
            action=AuditAction.CREATE, target_type="card_application", person_id=person.pk
        ).exists()
    village_batch = counter_batch_submit(actor=world.village_clerk)
    assert village_batch.holder == world.town
    for clerk in (world.town_clerk, world.district_clerk):
        village_batch = application_batch_forward(actor=clerk, batch_id=village_batch.pk)
    assert village_batch.status == ApplicationBatchStatus.AT_CARD_CENTRE

    # ---- 3. production batches: one for the unit, one for the town
    formed = production_batches_form(actor=world.centre_clerk, today=TODAY)
    by_kind = {b.kind: b for b in formed}
    assert set(by_kind) == {"collective", "individual"}
    assert by_kind["collective"].organisation == world.school
    assert by_kind["individual"].organisation == world.town
    unit_cards, village_cards = _cards(unit_people), _cards(village_people)
    assert len(unit_cards) == len(village_cards) == 2
    every = [*unit_cards, *village_cards]
    # production leaves the cards with the card centre where the custody chain starts
    _assert_at(every, "pending_production", world.centre)
    for card in every:
        assert card.bank == world.bank and card.issuing_region_id == "420700"
        assert (card.issued_on, card.expires_on) == (TODAY, date(2035, 3, 3))
    assert set(Application.objects.values_list("status", flat=True)) == {"in_production"}
    for batch_id in (unit_batch.pk, village_batch.pk):
        assert ApplicationBatch.objects.get(pk=batch_id).status == "in_production"
    assert _audits(AuditAction.CREATE, "production_batch") == 2

    # ---- 4. the vendor: SM4-encrypted order out, production results back
    for batch in formed:
        _vendor_round(world, batch)
    _assert_at(every, "made", world.centre)
    assert set(Application.objects.values_list("status", flat=True)) == {"made"}
    for card in every:
        assert _events(card) == ["production_succeeded"]

    # ---- 5. the bank: account-opening requests out, results back (accounts opened)
    requests = list(AccountOpeningRequest.objects.order_by("pk"))
    assert {(r.bank, r.branch, r.record_count) for r in requests} == {(world.bank, world.branch, 2)}
    assert len(requests) == 2
    for n, request in enumerate(requests):
        _bank_round(world, request, first_account=n * 100)
    for card in every:
        item = AccountOpeningItem.objects.get(card=card)
        assert item.status == AccountItemStatus.OPENED and item.account is not None
        account = BankAccount.objects.get(person_id=card.person_id, bank=world.bank)
        assert (account.pk, account.branch, account.opened_on) == (
            item.account_id,
            world.branch,
            TODAY,
        )

    # ---- 6. custody: card centre → district card office → department / town → unit / village
    _hand_down(world.centre_clerk, world.district_clerk, every)
    _hand_down(world.district_clerk, world.department_clerk, unit_cards)
    _hand_down(world.district_clerk, world.town_clerk, village_cards)
    _hand_down(world.department_clerk, world.school_clerk, unit_cards, to_point=True)
    _hand_down(world.town_clerk, world.village_clerk, village_cards, to_point=True)

    # ---- 7. pickup with identity check and signature; the receipt sealed
    unit_receipt = _pick_up(world.school_clerk, unit_cards)
    village_receipt = _pick_up(world.village_clerk, village_cards)
    assert ReceiptLine.objects.filter(outcome=ReceiptLineOutcome.PICKED_UP).count() == 4
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.UPDATE, target_type="card", detail__event="issue"
        ).count()
        == 4
    )

    # ---- 8. receipts back up the chain to the card centre
    _pass_receipts_up(
        [world.school_clerk, world.department_clerk, world.district_clerk, world.centre_clerk],
        unit_receipt,
        world.centre,
    )
    _pass_receipts_up(
        [world.village_clerk, world.town_clerk, world.district_clerk, world.centre_clerk],
        village_receipt,
        world.centre,
    )

    # ---- 9. activation at the bank branch
    for card in every:
        activated = card_activate(actor=world.branch_clerk, card_id=card.pk)
        assert activated.status == "active"
        # The status changes, and each hop of the chain received (centre → district →
        # department or town → school or village).
        events = _events(card)
        assert [e for e in events if e != "handover_received"] == EXPECTED_HISTORY
        assert events.count("handover_received") == 3
        last = CardHistory.objects.filter(card=card).order_by("-at", "-pk").first()
        assert last is not None
        assert (last.actor, last.organisation, last.channel) == (
            world.branch_clerk,
            world.branch,
            "bank",
        )
        assert AuditEvent.objects.filter(
            action=AuditAction.UPDATE,
            target_type="card",
            target_id=str(card.pk),
            person_id=card.person_id,
            detail__event="activate",
        ).exists()
    _assert_at(every, "active", None)
    assert BankAccount.objects.filter(bank=world.bank).count() == 4
