"""补领 / 换领 cards reach the vendor: the card centre's production step forms a batch of the
new cards (one per town), exports it to the vendor like any other batch, applies the vendor's
results, and the replacement then travels the custody chain to pickup and activation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shebao.cards.domain.lifecycle import CardStatus, FeeKind, RenewalReason
from shebao.cards.models import (
    Card,
    CardHistory,
    CardIssuingPolicy,
    CardReissue,
    ProductionBatch,
    ProductionBatchStatus,
)
from shebao.cards.selectors.custody import custody_invariant_violations
from shebao.cards.services.card_life import card_reissue
from shebao.cards.services.exchange import KIND_VENDOR_ORDER, open_exchange_file
from shebao.cards.services.production import (
    production_batch_export,
    production_batches_form,
    production_results_import,
    vendor_order_read,
    vendor_results_file,
)
from tests.factories import make_card
from tests.integration.cards.issuing_world import (
    TOWN,
    World,
    build_world,
    deliver_to_village_and_activate,
)

pytestmark = pytest.mark.django_db


def _reissued(world: World) -> tuple[Card, Card]:
    """A lost card replaced and an active card renewed at the card centre's counter."""
    CardIssuingPolicy.objects.create(replacement_fee=Decimal("20.00"), renewal_fee=Decimal("15.00"))
    lost = make_card(world.people[0], custodian=None, status="lost", bank=world.bank)
    damaged = make_card(world.people[1], custodian=None, status="active", bank=world.bank)
    replacement = card_reissue(actor=world.centre_clerk, card_id=lost.pk, kind=FeeKind.REPLACEMENT)
    renewal = card_reissue(
        actor=world.centre_clerk, card_id=damaged.pk, kind=FeeKind.RENEWAL,
        reason=RenewalReason.DAMAGED,
    )  # fmt: skip
    assert replacement.new_card is not None and renewal.new_card is not None
    return replacement.new_card, renewal.new_card


def _vendor_file_rows(world: World, batch: ProductionBatch) -> list[dict[str, str]]:
    batch, sealed = production_batch_export(
        actor=world.centre_clerk, batch_id=batch.pk, vendor=world.vendor
    )
    assert batch.status == ProductionBatchStatus.SENT
    opened = open_exchange_file(sealed, kind=KIND_VENDOR_ORDER)
    assert opened.digest == batch.export_digest
    return vendor_order_read(opened.content).rows


def test_a_replacement_goes_through_production_to_pickup_and_activation() -> None:
    world = build_world()
    new, renewed = _reissued(world)

    formed = production_batches_form(actor=world.centre_clerk)
    assert len(formed) == 1  # both holders live in 凤凰街道: one batch for the town
    batch = formed[0]
    assert batch.is_reissue and batch.code.startswith("BH")
    assert (batch.region_id, batch.organisation, batch.card_count) == (TOWN, world.town, 2)
    assert set(CardReissue.objects.values_list("production_batch_id", flat=True)) == {batch.pk}
    # Forming again takes nothing twice.
    assert production_batches_form(actor=world.centre_clerk) == []

    rows = _vendor_file_rows(world, batch)
    assert sorted(r["社保卡号"] for r in rows) == sorted([new.card_number, renewed.card_number])
    by_number = {r["社保卡号"]: r for r in rows}
    assert by_number[new.card_number]["社会保障号码"] == world.people[0].id_number
    assert by_number[new.card_number]["卡识别码"] == new.card_id_code
    assert by_number[new.card_number]["服务银行"] == world.bank.name

    outcome = production_results_import(
        actor=world.vendor_clerk,
        data=vendor_results_file(
            batch,
            [
                (new.card_number, world.people[0].id_number, True, ""),
                (renewed.card_number, world.people[1].id_number, False, "芯片写入失败"),
            ],
        ),
    )
    assert (outcome.made, outcome.failed) == (1, 1)
    batch.refresh_from_db()
    assert (batch.status, batch.made_count, batch.failed_count) == (
        ProductionBatchStatus.COMPLETED,
        1,
        1,
    )
    renewed.refresh_from_db()
    assert renewed.status == CardStatus.PRODUCTION_FAILED
    assert CardHistory.objects.filter(card=renewed, note="芯片写入失败").exists()

    deliver_to_village_and_activate(world, [new.card_number])
    new.refresh_from_db()
    assert (new.status, new.custodian_id) == (CardStatus.ACTIVE, None)
    events = list(
        CardHistory.objects.filter(card=new).order_by("at", "pk").values_list("event", flat=True)
    )
    # The status changes, between them each hop of the chain received.
    assert [e for e in events if e != "handover_received"] == [
        "production_succeeded", "arrive_for_pickup", "issue", "activate",
    ]  # fmt: skip
    assert events.count("handover_received") == 3
    assert not custody_invariant_violations().exists()


def test_reissue_batches_are_formed_per_town_and_only_by_the_card_centre() -> None:
    from shebao.errors import PermissionDenied
    from tests.factories import make_person

    world = build_world()
    CardIssuingPolicy.objects.create(replacement_fee=Decimal("20.00"), renewal_fee=Decimal("15.00"))
    elsewhere = make_person("420702100201", name="孙丽", phone="13900000001")
    here = make_card(world.people[0], custodian=None, status="lost", bank=world.bank)
    there = make_card(elsewhere, custodian=None, status="lost", bank=world.bank)
    # Issued by the same city series as the others (make_card would use 梁子湖区's own).
    Card.objects.filter(pk=there.pk).update(issuing_region_id=here.issuing_region_id)
    for card in (here, there):
        card_reissue(actor=world.centre_clerk, card_id=card.pk, kind=FeeKind.REPLACEMENT)
    with pytest.raises(PermissionDenied):
        production_batches_form(actor=world.town_clerk)
    formed = production_batches_form(actor=world.centre_clerk)
    assert sorted(b.region_id for b in formed) == ["420702100", TOWN]
    assert all(b.is_reissue and b.card_count == 1 for b in formed)


def test_the_production_page_offers_the_reissues_and_forms_their_batch() -> None:
    from django.test import Client

    world = build_world()
    _reissued(world)
    client = Client()
    client.force_login(world.centre_clerk)
    page = client.get("/cards/issuing/production/").content.decode()
    assert 'data-testid="reissues-waiting">2<' in page
    assert client.post("/cards/issuing/production/form/").status_code == 302
    page = client.get("/cards/issuing/production/").content.decode()
    assert 'data-testid="reissues-waiting">0<' in page and "补换卡" in page
    assert ProductionBatch.objects.get().is_reissue
