"""The counter's business (issue #10, items 6, 12 and 13): 补领 and 换领 through the counter
page with their 工本费 on the page, the receipt and the history; the village counter refusing
a person of another district and a mistyped name and requiring an explicit photo choice; a
bank's short name accepted where unambiguous; corrected rows re-uploaded joining their batch
with the photos it already holds; instant issuance at a bank branch by page, API and CLI."""

from __future__ import annotations

import base64
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from shebao.accounts.choices import OrganisationKind
from shebao.accounts.services import api_token_create
from shebao.cards.domain.lifecycle import CardStatus, FeeKind, RenewalReason
from shebao.cards.models import (
    Application,
    ApplicationBatch,
    Card,
    CardHistory,
    CardIssuingPolicy,
    CardReissue,
    CooperatingBank,
)
from shebao.cards.services.applications import (
    CounterInput,
    application_batch_upload,
    application_counter_create,
)
from shebao.cards.services.card_life import card_reissue
from shebao.cards.services.instant import application_instant_issue
from shebao.errors import ValidationFailed
from shebao.geo.models import Region
from tests.factories import PASSWORD, make_card, make_org, make_person
from tests.integration.cards.custody_world import Chain, build_chain
from tests.integration.cards.issuing_world import (
    CITY,
    World,
    build_world,
    collective_csv,
    good_photo,
    photo_zip,
    row_for,
)

pytestmark = pytest.mark.django_db


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


# ---------------------------------------------------------------- 补领 / 换领 with fees (item 6)


@pytest.fixture
def chain() -> Chain:
    chain = build_chain()
    CardIssuingPolicy.objects.create(replacement_fee=Decimal("20.00"), renewal_fee=Decimal("15.00"))
    return chain


def _counter_open(client: Client, card: Card) -> str:
    client.post(reverse("cards:counter"), {"lookup": "1", "card_number": card.card_number})
    return client.get(reverse("cards:counter")).content.decode()


def test_renewal_at_the_counter_page_shows_fee_and_prints_a_receipt(chain: Chain) -> None:
    card = make_card(chain.people[0], custodian=None, status="active", bank=chain.bank)
    client = _client(chain.centre_clerk)
    html = _counter_open(client, card)
    # the fee list, before acting: damage by the holder charged, quality and expiry free
    assert "补领（挂失后）" in html and "20.00 元" in html
    assert "人为损坏（工本费 15.00 元）" in html
    assert "卡片质量问题或自然老化（免收工本费）" in html
    response = client.post(reverse("cards:counter"), {"action": "renew", "reason": "damaged"})
    assert response.status_code == 302  # was a 500: `reason in RenewalReason` on Python 3.11
    reissue = CardReissue.objects.get(old_card=card)
    assert (reissue.kind, reissue.reason, reissue.fee) == ("renewal", "damaged", Decimal("15.00"))
    html = client.get(reverse("cards:counter")).content.decode()
    assert "工本费 15.00 元，人为损坏" in html  # the history
    receipt_url = reverse("cards:reissue_receipt", args=[reissue.pk])
    assert receipt_url in html
    receipt = client.get(receipt_url).content.decode()
    assert "换领（人为损坏）" in receipt and "15.00 元" in receipt
    assert reissue.new_card is not None and reissue.new_card.card_number in receipt
    assert chain.people[0].id_number not in receipt  # masked
    # printed again elsewhere, the receipt still names the organisation that did it
    again = _client(chain.district_clerk).get(receipt_url).content.decode()
    assert f'data-testid="reissue-org">{chain.centre.name}<' in again


def test_quality_renewal_is_free_and_loss_replacement_charged(chain: Chain) -> None:
    aged = make_card(chain.people[0], custodian=None, status="active", bank=chain.bank)
    client = _client(chain.centre_clerk)
    _counter_open(client, aged)
    assert (
        client.post(reverse("cards:counter"), {"action": "renew", "reason": "quality"}).status_code
        == 302
    )
    assert CardReissue.objects.get(old_card=aged).fee == Decimal("0")
    entry = CardHistory.objects.get(card=aged, event="renew")
    assert entry.note == "免收工本费，卡片质量问题或自然老化"

    lost = make_card(chain.people[1], custodian=None, status="lost", bank=chain.bank)
    _counter_open(client, lost)
    assert client.post(reverse("cards:counter"), {"action": "replace"}).status_code == 302
    assert CardReissue.objects.get(old_card=lost).fee == Decimal("20.00")
    # an unknown reason is refused with a message, not a server error
    other = make_card(chain.people[2], custodian=None, status="active", bank=chain.bank)
    _counter_open(client, other)
    response = client.post(reverse("cards:counter"), {"action": "renew", "reason": "nonsense"})
    assert response.status_code == 400 and "换领须选择原因" in response.content.decode()


def test_free_renewal_reasons_are_configured_by_the_card_centre(chain: Chain) -> None:
    CardIssuingPolicy.objects.create(
        replacement_fee=Decimal("20.00"),
        renewal_fee=Decimal("15.00"),
        free_renewal_reasons="expired",
    )
    card = make_card(chain.people[0], custodian=None, status="active", bank=chain.bank)
    reissue = card_reissue(
        actor=chain.centre_clerk,
        card_id=card.pk,
        kind=FeeKind.RENEWAL,
        reason=RenewalReason.QUALITY,
    )
    assert reissue.fee == Decimal("15.00")


def test_renewal_reason_parse_never_raises() -> None:
    assert RenewalReason.parse("damaged") is RenewalReason.DAMAGED
    assert RenewalReason.parse("") is None and RenewalReason.parse("x") is None


# ---------------------------------------------------------------- the village counter (item 12)


def _data(world: World, person, **kw) -> CounterInput:  # type: ignore[no-untyped-def]
    base = {
        "id_number": person.id_number,
        "name": person.name,
        "bank_id": world.bank.pk,
        "phone": "13912345678",
        "use_police_photo": True,
        "signed_form": b"%PDF-1.4 signed",
    }
    base.update(kw)
    return CounterInput(**base)


def test_counter_refuses_a_person_of_another_district() -> None:
    world = build_world(1)
    stranger = make_person("420702100201", name="周杰")  # 梁子湖区
    with pytest.raises(ValidationFailed) as exc:
        application_counter_create(actor=world.village_clerk, data=_data(world, stranger))
    assert exc.value.code == "APPLICANT_OUT_OF_AREA"
    assert "梁子湖区" not in exc.value.message and "鄂城区" in exc.value.message
    assert not Application.objects.exists()


def test_counter_refuses_a_name_that_differs_from_the_registry() -> None:
    world = build_world(1)
    person = world.people[0]  # 李建国
    with pytest.raises(ValidationFailed) as exc:
        application_counter_create(
            actor=world.village_clerk, data=_data(world, person, name="李建图")
        )
    assert exc.value.code == "NAME_MISMATCH" and "李建图" in exc.value.message
    assert not Application.objects.exists()
    # full-width spaces around the right name are not a mismatch
    app = application_counter_create(
        actor=world.village_clerk, data=_data(world, person, name="　李建国 ")
    )
    assert app.status == "eligible"


def test_counter_requires_a_photo_or_the_explicit_police_photo() -> None:
    world = build_world(1)
    with pytest.raises(ValidationFailed) as exc:
        application_counter_create(
            actor=world.village_clerk,
            data=_data(world, world.people[0], use_police_photo=False),
        )
    assert exc.value.code == "PHOTO_CHOICE_REQUIRED"


def test_counter_page_has_no_default_photo_and_warns_on_a_mistyped_name() -> None:
    world = build_world(1)
    person = world.people[0]
    client = _client(world.village_clerk)
    html = client.get(reverse("cards:issuing_counter")).content.decode()
    assert "使用公安部门的身份证照片" in html and "checked" not in html
    post = {
        "id_number": person.id_number,
        "name": person.name,
        "bank": str(world.bank.pk),
        "phone": "13912345678",
        "signed_form": SimpleUploadedFile("form.pdf", b"%PDF-1.4 x"),
    }
    response = client.post(reverse("cards:issuing_counter"), post)
    assert response.status_code == 200 and "请选择照片" in response.content.decode()
    post["signed_form"] = SimpleUploadedFile("form.pdf", b"%PDF-1.4 x")
    response = client.post(
        reverse("cards:issuing_counter"), {**post, "photo_choice": "police", "name": "李建图"}
    )
    assert "与人口库登记的姓名" in response.content.decode()
    assert not Application.objects.exists()


def test_bank_short_name_accepted_only_where_unambiguous() -> None:
    world = build_world(2)
    rcb = make_org(OrganisationKind.BANK, CITY, name="鄂州农商银行")
    CooperatingBank.objects.create(region=Region.objects.get(code=CITY), bank=rcb)
    p = world.people
    rows = [row_for(p[0], bank="农商银行"), row_for(p[1], bank="鄂州农商银行")]
    result = application_batch_upload(
        actor=world.school_clerk, file=SimpleUploadedFile("a.csv", collective_csv(rows))
    )
    apps = list(Application.objects.filter(batch=result.batch).order_by("row"))
    assert [a.status for a in apps] == ["eligible", "eligible"]
    assert [a.bank_id for a in apps] == [rcb.pk, rcb.pk]
    # a second 农商银行 cooperating here makes the short name ambiguous
    other = make_org(OrganisationKind.BANK, CITY, name="黄石农商银行")
    CooperatingBank.objects.create(region=Region.objects.get(code=CITY), bank=other)
    again = application_batch_upload(
        actor=world.school_clerk,
        file=SimpleUploadedFile("b.csv", collective_csv([row_for(p[0], bank="农商银行")])),
    )
    app = Application.objects.get(batch=again.batch)
    assert "BANK_NOT_COOPERATING" in app.reasons


def test_corrected_rows_join_their_batch_and_keep_their_photos() -> None:
    world = build_world(3)
    p = world.people
    photos = {f"{x.id_number}.jpg": good_photo(i + 1) for i, x in enumerate(p)}
    first = application_batch_upload(
        actor=world.school_clerk,
        file=SimpleUploadedFile(
            "a.csv",
            collective_csv([row_for(p[0]), row_for(p[1], phone="1"), row_for(p[2], phone="2")]),
        ),
        photo_zip=SimpleUploadedFile("p.zip", photo_zip(photos)),
    ).batch
    assert (first.eligible_count, first.ineligible_count) == (1, 2)
    # the unit corrects the phones and uploads only the corrected rows, without photos
    again = application_batch_upload(
        actor=world.school_clerk,
        file=SimpleUploadedFile(
            "fixed.csv",
            collective_csv([row_for(p[1], phone="13912345678"), row_for(p[2], phone="2")]),
        ),
    )
    assert again.batch.pk == first.pk and ApplicationBatch.objects.count() == 1
    first.refresh_from_db()
    assert (first.row_count, first.eligible_count, first.ineligible_count) == (3, 2, 1)
    fixed = Application.objects.get(batch=first, id_number=p[1].id_number, status="eligible")
    assert fixed.photo_source == "zip" and fixed.resubmission_of is not None
    assert fixed.resubmission_of.status == "resubmitted"
    still = Application.objects.get(batch=first, id_number=p[2].id_number, status="ineligible")
    assert still.reasons == "INVALID_PHONE"  # no NO_PHOTO: the photo was kept
    # and through the batch page
    client = _client(world.school_clerk)
    response = client.post(
        reverse("cards:issuing_batch_correct", args=[first.pk]),
        {"file": SimpleUploadedFile("f.csv", collective_csv([row_for(p[2])]))},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.eligible_count, first.ineligible_count) == (3, 0)
    # a row that is not waiting for correction is refused with its row number
    response = client.post(
        reverse("cards:issuing_batch_correct", args=[first.pk]),
        {"file": SimpleUploadedFile("f.csv", collective_csv([row_for(p[0])]))},
        follow=True,
    )
    assert "不是本批次待更正的记录" in response.content.decode()


# ---------------------------------------------------------------- instant issuance (item 13)


def test_instant_issuance_page_at_the_bank_branch() -> None:
    world = build_world(2)
    person = world.people[0]
    client = _client(world.branch_clerk)
    assert "即时制卡" in client.get(reverse("cards:instant")).content.decode()
    response = client.post(
        reverse("cards:instant"),
        {
            "id_number": person.id_number,
            "name": person.name,
            "phone": "13912345678",
            "photo_choice": "upload",
            "photo": SimpleUploadedFile("me.jpg", good_photo(3), content_type="image/jpeg"),
            "account_number": "6228480055550001",
        },
    )
    assert response.status_code == 302
    card = Card.objects.get(person=person)
    assert card.status == CardStatus.ISSUED.value
    receipt = client.get(response["Location"]).content.decode()
    assert card.card_number in receipt and "已即时发卡" in receipt
    assert "6228480055550001" not in receipt  # account masked
    # a mistyped name is refused, nothing recorded
    response = client.post(
        reverse("cards:instant"),
        {
            "id_number": world.people[1].id_number,
            "name": "王秀荚",
            "phone": "13912345678",
            "photo_choice": "police",
            "account_number": "6228480055550002",
        },
    )
    assert response.status_code == 400 and "与人口库登记的姓名" in response.content.decode()
    assert not Card.objects.filter(person=world.people[1]).exists()
    # only a bank may use the page
    assert _client(world.village_clerk).get(reverse("cards:instant")).status_code == 403


def test_instant_issuance_api() -> None:
    world = build_world(2)
    _, raw = api_token_create(actor=world.branch_clerk, owner=world.branch_clerk, name="t")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    person = world.people[0]
    payload = {
        "id_number": person.id_number,
        "name": person.name,
        "phone": "13912345678",
        "account_number": "6228480055550009",
        "photo_base64": base64.b64encode(good_photo(4)).decode(),
    }
    response = Client().post(
        "/api/v1/cards/instant-issuance", payload, content_type="application/json", **headers
    )
    assert response.status_code == 200, response.content
    body = response.json()
    card = Card.objects.get(person=person)
    assert body["issued"] is True and body["card_number"] == card.card_number
    # again: already holds a card — recorded, not issued
    response = Client().post(
        "/api/v1/cards/instant-issuance",
        {**payload, "account_number": "6228480055550010"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200 and response.json()["reasons"] == ["HAS_CARD"]
    # neither photo nor police photo: refused in the one error shape
    response = Client().post(
        "/api/v1/cards/instant-issuance",
        {**payload, "photo_base64": "", "id_number": world.people[1].id_number},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "PHOTO_CHOICE_REQUIRED"


def test_instant_issuance_command() -> None:
    world = build_world(2)
    person = world.people[0]
    out = StringIO()
    call_command(
        "cards",
        "instant-issue",
        "--user",
        world.branch_clerk.username,
        "--id-number",
        person.id_number,
        "--name",
        person.name,
        "--phone",
        "13912345678",
        "--account",
        "6228480055550011",
        "--police-photo",
        stdout=out,
    )
    card = Card.objects.get(person=person)
    assert card.card_number in out.getvalue()
    with pytest.raises(CommandError, match="即时制卡"):
        call_command(
            "cards",
            "instant-issue",
            "--user",
            world.village_clerk.username,
            "--id-number",
            world.people[1].id_number,
            "--name",
            world.people[1].name,
            "--phone",
            "13912345678",
            "--account",
            "6228480055550012",
            "--police-photo",
        )


def test_free_renewal_reasons_must_be_known_codes() -> None:
    from django.core.exceptions import ValidationError

    policy = CardIssuingPolicy(
        replacement_fee=Decimal("20"), renewal_fee=Decimal("20"), free_renewal_reasons="expired,x"
    )
    with pytest.raises(ValidationError, match="未知的换领原因代码"):
        policy.full_clean()


def test_the_downloaded_ineligible_xlsx_corrected_and_uploaded_joins_its_batch(
    tmp_path: Path,
) -> None:
    from openpyxl import load_workbook

    from shebao.cards.services.applications import ineligible_xlsx

    world = build_world(2)
    p = world.people
    photos = {f"{x.id_number}.jpg": good_photo(i + 1) for i, x in enumerate(p)}
    first = application_batch_upload(
        actor=world.school_clerk,
        file=SimpleUploadedFile("a.csv", collective_csv([row_for(p[0]), row_for(p[1], phone="1")])),
        photo_zip=SimpleUploadedFile("p.zip", photo_zip(photos)),
    ).batch
    bad = list(Application.objects.filter(batch=first, status="ineligible"))
    path = tmp_path / "不符合制卡条件.xlsx"
    path.write_bytes(ineligible_xlsx(bad))
    book = load_workbook(path)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=header.index("联系电话") + 1, value="13912345678")
    book.save(path)
    again = application_batch_upload(actor=world.school_clerk, file=path)
    assert again.batch.pk == first.pk and again.eligible == 1
    fixed = Application.objects.get(batch=first, resubmission_of=bad[0])
    assert (fixed.status, fixed.photo_source) == ("eligible", "zip")


def test_counter_correction_may_keep_the_uploaded_photo() -> None:
    world = build_world(1)
    person = world.people[0]
    client = _client(world.village_clerk)

    def post(**extra: object) -> None:
        client.post(
            reverse("cards:issuing_counter"),
            {
                "id_number": person.id_number,
                "name": person.name,
                "bank": str(world.bank.pk),
                "signed_form": SimpleUploadedFile("form.pdf", b"%PDF-1.4 x"),
                **extra,
            },
        )

    post(
        phone="123",
        photo_choice="upload",
        photo=SimpleUploadedFile("me.jpg", good_photo(2), content_type="image/jpeg"),
    )
    wrong = Application.objects.get()
    assert wrong.reasons == "INVALID_PHONE" and wrong.photo_source == "upload"
    page = client.get(reverse("cards:issuing_counter") + f"?correct={wrong.pk}").content.decode()
    assert "沿用原申领上传的照片" in page
    post(phone="13912345678", photo_choice="keep", correcting=str(wrong.pk))
    fixed = Application.objects.get(resubmission_of=wrong)
    assert (fixed.status, fixed.photo_source) == ("eligible", "upload")


def test_instant_issuance_serves_the_region_the_branch_can_serve_afterwards() -> None:
    """A branch activates and replaces only the cards of its region's customers (ADR 0003),
    so it issues instantly only to applicants living or registered there."""
    world = build_world(1)
    stranger = make_person("420702100201", name="周杰")  # 梁子湖区; the branch is 鄂城区
    with pytest.raises(ValidationFailed) as exc:
        application_instant_issue(
            actor=world.branch_clerk,
            data=CounterInput(
                stranger.id_number, stranger.name, None, "13912345678", photo=good_photo(1)
            ),
            account_number="6228480055550099",
        )
    assert exc.value.code == "APPLICANT_OUT_OF_AREA" and "网点" in exc.value.message
    assert not Card.objects.exists()
    # the bank itself (city-wide) may
    app = application_instant_issue(
        actor=world.bank_clerk,
        data=CounterInput(
            stranger.id_number, stranger.name, None, "13912345678", photo=good_photo(1)
        ),
        account_number="6228480055550098",
    )
    assert app.status == "issued"
