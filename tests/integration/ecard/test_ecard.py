"""The e-card in the database: issuance with the real-name checks and the SMS code, the QR
code redeemed once (replayed, expired, forged, revoked codes refused with their own codes),
the business token bound to its terminal, and the e-card following its physical card (loss,
unlock, replacement, cancellation, death)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.utils import timezone

from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import AuditEvent
from shebao.cards.domain.lifecycle import CardStatus, FeeKind
from shebao.cards.models import Card, CardIssuingPolicy
from shebao.cards.services.card_life import (
    card_cancel,
    card_reissue,
    card_report_loss,
    card_report_temporary_loss,
    card_unlock,
)
from shebao.ecard.domain.qr import QrResult
from shebao.ecard.models import ECard, QrCode
from shebao.ecard.services.common import QrRefused
from shebao.ecard.services.ecards import (
    ecard_issue_by_operator,
    ecard_issue_confirm,
    ecard_issue_start,
)
from shebao.ecard.services.keys import keys_rotate
from shebao.ecard.services.qr import (
    BusinessTokenInvalid,
    business_token_check,
    qr_issue,
    qr_redeem,
    qr_verify,
)
from shebao.errors import ShebaoError, ValidationFailed
from shebao.registry.choices import LifeStatus
from shebao.registry.services import person_record_status
from shebao.sms.services import Throttled
from tests.integration.ecard.world import World, build_world, last_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path


@pytest.fixture
def world() -> World:
    return build_world()


def _issue(world: World, i: int = 0) -> ECard:
    person, card = world.people[i], world.cards[i]
    sent = ecard_issue_start(
        id_number=person.id_number, name=person.name, card_number=card.card_number, client="t"
    )
    return ecard_issue_confirm(
        person_id=sent.person_id,
        card_id=sent.card_id,
        code_id=sent.code_id,
        code=last_code(person.phone),
        client="t",
    )


def _refused(text: str, **kw: object) -> str:
    with pytest.raises(QrRefused) as exc:
        qr_redeem(text, terminal_code="T-1", fields=["name"], **kw)  # type: ignore[arg-type]
    assert exc.value.message  # a Chinese sentence for the clerk
    return exc.value.code


def test_issue_with_the_sms_code_binds_the_ecard_to_the_card(world: World) -> None:
    ecard = _issue(world)
    assert ecard.card_id == world.cards[0].pk and ecard.person_id == world.people[0].pk
    assert ecard.status == "active"
    assert AuditEvent.objects.filter(
        action=AuditAction.ISSUE_ECARD, person_id=world.people[0].pk
    ).exists()


def test_issue_refuses_a_wrong_name_or_another_persons_card_with_one_message(
    world: World,
) -> None:
    person = world.people[0]
    for name, card in [("别人", world.cards[0]), (person.name, world.cards[1])]:
        with pytest.raises(ValidationFailed) as exc:
            ecard_issue_start(
                id_number=person.id_number, name=name, card_number=card.card_number, client="t"
            )
        assert exc.value.code == "ECARD_IDENTITY"
    assert not ECard.objects.exists()


def test_failed_identity_checks_are_limited_per_id_number(world: World) -> None:
    person = world.people[0]
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            ecard_issue_start(
                id_number=person.id_number, name="错", card_number="X", client=f"c{_}"
            )
    with pytest.raises(Throttled):
        ecard_issue_start(
            id_number=person.id_number,
            name=person.name,
            card_number=world.cards[0].card_number,
            client="other",
        )


def test_a_wrong_code_is_refused_and_tries_are_limited(world: World) -> None:
    person, card = world.people[0], world.cards[0]
    sent = ecard_issue_start(
        id_number=person.id_number, name=person.name, card_number=card.card_number
    )
    codes = []
    for _ in range(5):
        with pytest.raises(ValidationFailed) as exc:
            ecard_issue_confirm(
                person_id=sent.person_id, card_id=sent.card_id, code_id=sent.code_id, code="x"
            )
        codes.append(exc.value.code)
    assert codes[0] == "OTP_WRONG" and codes[-1] == "OTP_EXHAUSTED"
    with pytest.raises(ValidationFailed):  # even the right code, once exhausted
        ecard_issue_confirm(
            person_id=sent.person_id,
            card_id=sent.card_id,
            code_id=sent.code_id,
            code=last_code(person.phone),
        )
    assert not ECard.objects.exists()


def test_an_expired_code_is_refused(world: World) -> None:
    from shebao.sms.models import OneTimeCode

    person, card = world.people[0], world.cards[0]
    sent = ecard_issue_start(
        id_number=person.id_number, name=person.name, card_number=card.card_number
    )
    OneTimeCode.objects.filter(pk=sent.code_id).update(expires_at=timezone.now())
    with pytest.raises(ValidationFailed) as exc:
        ecard_issue_confirm(
            person_id=sent.person_id,
            card_id=sent.card_id,
            code_id=sent.code_id,
            code=last_code(person.phone),
        )
    assert exc.value.code == "OTP_EXPIRED"


def test_a_card_not_in_use_gets_no_ecard(world: World) -> None:
    card_report_temporary_loss(actor=world.clerk, card_id=world.cards[0].pk)
    person = world.people[0]
    with pytest.raises(ValidationFailed) as exc:
        ecard_issue_start(
            id_number=person.id_number, name=person.name, card_number=world.cards[0].card_number
        )
    assert exc.value.code == "ECARD_CARD_NOT_USABLE"


def test_a_code_redeems_once_with_only_the_fields_asked_and_a_terminal_bound_token(
    world: World,
) -> None:
    ecard = _issue(world)
    issued = qr_issue(ecard)
    assert qr_verify(issued.text).ok
    redeemed = qr_redeem(issued.text, terminal_code="HOSP-01", fields=["name", "card_number"])
    assert redeemed.holder == {
        "name": world.people[0].name,
        "card_number": world.cards[0].card_number,
    }
    event = AuditEvent.objects.get(action=AuditAction.QR_REDEEM)
    assert event.person_id == world.people[0].pk and event.purpose == Purpose.CARD_USE
    assert event.detail["terminal"] == "HOSP-01"
    visit = business_token_check(redeemed.business_token, terminal_code="HOSP-01")
    assert visit.person_id == world.people[0].pk and visit.fields == ["name", "card_number"]
    with pytest.raises(BusinessTokenInvalid) as exc:
        business_token_check(redeemed.business_token, terminal_code="OTHER")
    assert exc.value.code == "BUSINESS_TOKEN_WRONG_TERMINAL"
    assert _refused(issued.text) == QrResult.REPLAYED
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, detail__code="REPLAYED").exists()


def test_expired_forged_and_garbage_codes_are_refused_with_their_codes(world: World) -> None:
    ecard = _issue(world)
    old = qr_issue(ecard, now=time.time() - 61)
    assert _refused(old.text) == QrResult.EXPIRED
    fresh = qr_issue(ecard)
    body = fresh.text[5:]
    # Change one character of the Base45 inside the signature's bytes.
    i = len(body) - 10
    tampered = "SBK1:" + body[:i] + ("0" if body[i] != "0" else "1") + body[i + 1 :]
    assert _refused(tampered) in {QrResult.FORGED, QrResult.MALFORMED}
    assert _refused("SBK1:hello") == QrResult.MALFORMED
    assert _refused("https://example.com") == QrResult.MALFORMED
    # The genuine code still works after the failed attempts.
    assert qr_redeem(fresh.text, terminal_code="T-1", fields=[]).ecard_id == ecard.pk


def test_unknown_fields_are_refused(world: World) -> None:
    ecard = _issue(world)
    with pytest.raises(ValidationFailed) as exc:
        qr_redeem(qr_issue(ecard).text, terminal_code="T", fields=["salary"])
    assert exc.value.code == "REDEEM_FIELD_UNKNOWN"


def test_codes_signed_before_a_rotation_verify_and_two_rotations_later_are_unknown(
    world: World,
) -> None:
    ecard = _issue(world)
    before = qr_issue(ecard)
    keys_rotate()
    assert qr_verify(before.text).ok  # the previous key is still published
    keys_rotate()
    assert qr_verify(before.text).result is QrResult.UNKNOWN_KEY
    assert qr_redeem(qr_issue(ecard).text, terminal_code="T", fields=[]).ecard_id == ecard.pk


def test_loss_suspends_the_ecard_and_revokes_its_codes_unlock_restores_it(
    world: World,
) -> None:
    ecard = _issue(world)
    live = qr_issue(ecard)
    card_report_loss(actor=world.clerk, card_id=world.cards[0].pk)
    ecard.refresh_from_db()
    assert ecard.status == "suspended"
    assert QrCode.objects.get(ecard=ecard).revoked_at is not None
    assert _refused(live.text) == QrResult.REVOKED
    with pytest.raises(QrRefused) as exc:
        qr_issue(ecard)
    assert exc.value.code == "REVOKED"
    card_unlock(actor=world.clerk, card_id=world.cards[0].pk)
    ecard.refresh_from_db()
    assert ecard.status == "active"
    assert qr_redeem(qr_issue(ecard).text, terminal_code="T", fields=[]).ecard_id == ecard.pk


def test_temporary_loss_also_suspends(world: World) -> None:
    ecard = _issue(world)
    card_report_temporary_loss(actor=None, card_id=world.cards[0].pk, channel="online")
    ecard.refresh_from_db()
    assert ecard.status == "suspended"


def test_replacement_binds_the_ecard_to_the_new_card(world: World) -> None:
    ecard = _issue(world)
    old_code = qr_issue(ecard)
    card_report_loss(actor=world.clerk, card_id=world.cards[0].pk)
    CardIssuingPolicy.objects.create(replacement_fee=Decimal("20.00"), renewal_fee=Decimal("0"))
    reissue = card_reissue(actor=world.clerk, card_id=world.cards[0].pk, kind=FeeKind.REPLACEMENT)
    ecard.refresh_from_db()
    assert reissue.new_card is not None
    assert ecard.card_id == reissue.new_card.pk and ecard.status == "active"
    assert _refused(old_code.text) == QrResult.REVOKED
    redeemed = qr_redeem(qr_issue(ecard).text, terminal_code="T", fields=["card_number"])
    assert redeemed.holder["card_number"] == reissue.new_card.card_number


def test_cancellation_ends_the_ecard(world: World) -> None:
    ecard = _issue(world)
    card_cancel(actor=world.clerk, card_id=world.cards[0].pk, reason="本人申请")
    ecard.refresh_from_db()
    assert ecard.status == "ended"
    with pytest.raises(ShebaoError):
        qr_issue(ecard)


def test_a_death_in_the_registry_ends_the_ecard_through_the_bulk_path(world: World) -> None:
    ecard = _issue(world)
    other = _issue(world, 1)
    person_record_status(
        actor=None,
        person_id=world.people[0].pk,
        status=LifeStatus.DECEASED,
        on=timezone.localdate(),
        reason="公安死亡注销",
    )
    ecard.refresh_from_db()
    other.refresh_from_db()
    assert Card.objects.get(pk=world.cards[0].pk).status == CardStatus.CANCELLED
    assert ecard.status == "ended" and other.status == "active"


def test_the_operator_issues_without_sms_and_is_audited(world: World) -> None:
    ecard = ecard_issue_by_operator(card_number=world.cards[2].card_number, actor=world.clerk)
    assert ecard.person_id == world.people[2].pk
    assert ecard_issue_by_operator(card_number=world.cards[2].card_number, actor=None).pk == (
        ecard.pk
    )
    event = AuditEvent.objects.get(action=AuditAction.ISSUE_ECARD)
    assert event.user_id == world.clerk.pk and event.detail["channel"] == "operator"
