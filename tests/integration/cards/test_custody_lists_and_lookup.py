"""Custody pages list the cards, not only counts; the recipient list offers the next hop of
the chain first, only units in scope, with equal names told apart; the printable handover
list (交接单); pickup and the counter find a card by the holder's ID number; the signature
image on the printed 领卡签收表; recall and subsidy totals per town and village, the subsidy
spreadsheet with cards delivered by post (issue #10, items 11, 14, 15)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from shebao.accounts.choices import AuditAction, OrganisationKind
from shebao.accounts.models import AuditEvent, User
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import (
    Application,
    ApplicationChannel,
    ApplicationStatus,
    Card,
    CardHistory,
    CardIssuingPolicy,
    PostalDispatch,
)
from shebao.cards.selectors.custody import recipient_options, subsidy_by_village
from shebao.cards.services.custody import PickupInput, card_pickup
from shebao.errors import NotFound
from shebao.identity.masking import mask_id_number, mask_name
from tests.factories import make_card, make_org
from tests.integration.cards.custody_world import (
    FANKOU,
    Chain,
    build_chain,
    deliver_to_village,
    pass_down,
)

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def chain() -> Chain:
    return build_chain()


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_custody_home_lists_the_cards_held_with_masked_holders(chain: Chain) -> None:
    cards = chain.cards_at_centre(2)
    body = _client(chain.centre_clerk).get(reverse("cards:custody_home")).content.decode()
    for card in cards:
        assert card.card_number in body
        assert mask_name(card.person.name) in body and card.person.id_number not in body


def test_recipients_offer_the_next_hop_first_in_scope_with_distinct_names(chain: Chain) -> None:
    # A unit of another district attached to this office, and two villages of equal name.
    make_org(OrganisationKind.EMPLOYER, "420702", parent=chain.district, name="梁子湖区某公司")
    twin = make_org(
        OrganisationKind.VILLAGE_COMMITTEE, FANKOU, parent=chain.town, name="凤凰村村委会"
    )
    cards = chain.cards_at_centre(2)
    pass_down(chain.centre_clerk, chain.district_clerk, chain.district, cards)
    pass_down(chain.district_clerk, chain.town_clerk, chain.town, cards)
    options = recipient_options(organisation=chain.town)
    assert options[0].organisation == chain.village and options[0].cards == 2
    labels = [o.label for o in options]
    assert labels[0].startswith("凤凰村村委会（") and "待下发 2 张" in labels[0]
    assert len(set(labels)) == len(labels) and any(twin.code in label for label in labels)
    district_options = recipient_options(organisation=chain.district)
    assert "梁子湖区某公司" not in [o.organisation.name for o in district_options]
    page = _client(chain.town_clerk).get(reverse("cards:custody_home")).content.decode()
    assert f'<option value="{chain.village.pk}" selected>' in page


def test_a_city_wide_unit_is_offered_for_the_cards_of_its_staff(chain: Chain) -> None:
    """Units anchored to the city (as the demo's are) and attached to the district office
    are not in its region, but the cards of their collective applications go to them."""
    unit = make_org(OrganisationKind.EMPLOYER, "420700", parent=chain.district, name="某集团公司")
    cards = chain.cards_at_centre(2)
    pass_down(chain.centre_clerk, chain.district_clerk, chain.district, cards)
    Application.objects.create(
        channel=ApplicationChannel.COLLECTIVE,
        person=cards[0].person,
        id_number=cards[0].person.id_number,
        name=cards[0].person.name,
        region=unit.region,
        submitter=unit,
        status=ApplicationStatus.MADE,
        card=cards[0],
    )
    options = recipient_options(organisation=chain.district)
    assert [(o.organisation, o.cards) for o in options[:2]] == [(chain.town, 1), (unit, 1)]
    assert options[1].label == "某集团公司（待下发 1 张）"


def test_without_cards_to_send_no_recipient_is_preselected(chain: Chain) -> None:
    page = _client(chain.town_clerk).get(reverse("cards:custody_home")).content.decode()
    assert '<option value="">请选择接收单位</option>' in page
    assert " selected>" not in page.split('id="id_to"')[1].split("</select>")[0]


def test_printable_handover_list(chain: Chain) -> None:
    cards = chain.cards_at_centre(2)
    pass_down(chain.centre_clerk, chain.district_clerk, chain.district, cards)
    handover = Card.objects.get(pk=cards[0].pk).handover_items.get().handover
    body = (
        _client(chain.district_clerk)
        .get(reverse("cards:handover_print", args=[handover.pk]))
        .content.decode()
    )
    assert "社会保障卡交接单" in body and handover.number in body
    assert "移交人签字" in body and "接收人签字" in body
    assert cards[0].card_number in body and mask_id_number(cards[0].person.id_number) in body
    assert cards[0].person.id_number not in body
    assert AuditEvent.objects.filter(
        action=AuditAction.EXPORT, target_type="handover", target_id=str(handover.pk)
    ).exists()
    assert (
        _client(chain.other_village_clerk)
        .get(reverse("cards:handover_print", args=[handover.pk]))
        .status_code
        == 403
    )


def test_pickup_finds_the_card_by_the_holders_id_number(chain: Chain) -> None:
    cards = chain.cards_at_centre(2)
    deliver_to_village(chain, cards)
    client = _client(chain.village_clerk)
    found = client.get(reverse("cards:pickup"), {"holder": cards[1].person.id_number})
    body = found.content.decode()
    assert cards[1].card_number in body and cards[0].card_number not in body
    done = client.post(
        reverse("cards:pickup"),
        {"card_number": "", "holder_id_number": cards[1].person.id_number, "signed": "1"},
        follow=True,
    )
    assert "已发放给持卡人本人" in done.content.decode()
    assert Card.objects.get(pk=cards[1].pk).status == CardStatus.ISSUED
    with pytest.raises(NotFound) as nothing:
        card_pickup(
            actor=chain.village_clerk,
            data=PickupInput(card_number="", holder_id_number=cards[1].person.id_number,
                             signed=True),
        )  # fmt: skip
    assert nothing.value.code == "PICKUP_NO_CARD_FOR_HOLDER"


def test_counter_finds_the_card_by_the_holders_id_number(chain: Chain) -> None:
    card = make_card(chain.people[0], custodian=None, status="issued", bank=chain.bank)
    client = _client(chain.centre_clerk)
    client.post(
        reverse("cards:counter"),
        {"lookup": "1", "card_number": "", "holder_id_number": card.person.id_number.lower()},
    )
    page = client.get(reverse("cards:counter")).content.decode()
    assert card.card_number in page
    other = _client(chain.other_bank_clerk)
    refused = other.post(
        reverse("cards:counter"),
        {"lookup": "1", "holder_id_number": card.person.id_number},
        follow=True,
    )
    assert "未找到该身份证号码持卡人的社保卡" in refused.content.decode()


def test_the_signature_image_is_served_on_the_printed_receipt(chain: Chain) -> None:
    cards = chain.cards_at_centre(1)
    deliver_to_village(chain, cards)
    line = card_pickup(
        actor=chain.village_clerk,
        data=PickupInput(card_number=cards[0].card_number,
                         holder_id_number=cards[0].person.id_number),
        signature=SimpleUploadedFile("sig.png", PNG, content_type="image/png"),
    )  # fmt: skip
    client = _client(chain.village_clerk)
    sheet = client.get(reverse("cards:receipt_print", args=[line.receipt_id])).content.decode()
    url = reverse("cards:receipt_signature", args=[line.receipt_id, line.pk])
    assert f'src="{url}"' in sheet
    image = client.get(url)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == PNG  # type: ignore[attr-defined]
    assert _client(chain.other_village_clerk).get(url).status_code == 404
    assert _client(chain.bank_clerk).get(url).status_code == 404


def test_recall_page_totals_per_town_and_village(chain: Chain) -> None:
    CardIssuingPolicy.objects.create(recall_after_days=10)
    cards = chain.cards_at_centre(3)
    deliver_to_village(chain, cards)
    CardHistory.objects.filter(card__in=cards[:2], event="arrive_for_pickup").update(
        at=timezone.now() - timedelta(days=11)
    )
    body = _client(chain.district_clerk).get(reverse("cards:recall")).content.decode()
    totals = body.split('data-testid="overdue-totals"')[1].split("</table>")[0]
    assert "凤凰街道" in totals and "凤凰村村委会" in totals
    assert totals.count("<td>2</td>") == 2  # the town's subtotal and the village's row
    assert "回收并交回卡管理中心" in body


def test_subsidy_counts_postal_deliveries_per_village_and_exports(chain: Chain) -> None:
    CardIssuingPolicy.objects.create(subsidy_per_card=Decimal("2.00"))
    cards = chain.cards_at_centre(2)
    deliver_to_village(chain, cards[:1])
    card_pickup(
        actor=chain.village_clerk,
        data=PickupInput(card_number=cards[0].card_number,
                         holder_id_number=cards[0].person.id_number, signed=True),
    )  # fmt: skip
    # A card delivered by post to a holder of 凤凰村 (no application: the hukou region).
    posted = Card.objects.get(pk=cards[1].pk)
    Card.objects.filter(pk=posted.pk).update(status=CardStatus.ISSUED.value, custodian=None)
    PostalDispatch.objects.create(
        card=posted, card_centre=chain.centre, tracking_number="EM20000001CN",
        mailed_on=timezone.localdate(), address="凤凰村1组", status="delivered",
        delivered_on=timezone.localdate(),
    )  # fmt: skip
    rows, _ = subsidy_by_village(actor=chain.district_clerk)
    assert [(r.level, r.code, r.counts, r.amount) for r in rows] == [
        ("town", "420704001", {"picked_up": 1, "posted": 1, "total": 2}, Decimal("4.00")),
        (
            "village",
            "420704001201",
            {"picked_up": 1, "posted": 1, "total": 2},
            Decimal("4.00"),
        ),
    ]
    client = _client(chain.district_clerk)
    page = client.get(reverse("cards:subsidy")).content.decode()
    assert reverse("cards:subsidy_export") in page and "凤凰村村委会" in page
    export = client.get(reverse("cards:subsidy_export"))
    assert export.status_code == 200 and "attachment" in export["Content-Disposition"]
    sheet = load_workbook(BytesIO(export.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:2] == ["镇（街）", "村（社区）/发放点"]
    assert values[1][:6] == ["凤凰街道", "小计", "420704001", 1, 1, 2]
    assert values[2][1:6] == ["凤凰村村委会", "420704001201", 1, 1, 2]
    assert values[-1][0] == "合计" and values[-1][5] == 2 and values[-1][6] == "4.00"
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, target_type="card_subsidy").exists()
