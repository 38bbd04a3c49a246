"""A partner terminal redeems a holder's e-card QR through the partner API (the e-card app's
once-only redeem), gets only its granted fields and a business token, and verifies the
person with that token; a replayed, an expired and a forged code are refused with their own
codes and Chinese messages. A window clerk opens a person by QR."""

from __future__ import annotations

import secrets
import time

import pytest
from django.test import Client

from shebao.accounts.choices import AuditAction, OrganisationKind, Purpose, Role
from shebao.accounts.models import AuditEvent
from shebao.ecard.domain.qr import QrClaims, QrResult, qr_encode
from shebao.ecard.domain.sm2 import sm2_generate_keypair
from shebao.ecard.services.ecards import ecard_issue_by_operator
from shebao.ecard.services.keys import keys_signing
from shebao.ecard.services.qr import qr_issue
from tests.factories import PASSWORD, make_org, make_user
from tests.integration.partners.world import access_token, build_partner_world, call

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_redeem_then_verify_with_the_business_token_and_a_replay_is_refused() -> None:
    world = build_partner_world()
    ecard = ecard_issue_by_operator(card_number=world.card.card_number, actor=world.centre_user)
    text = qr_issue(ecard).text
    client = Client()
    token = access_token(client, world.hospital_terminal)

    redeemed = call(client, token, "POST", "/qr/redeem", {"text": text})
    assert redeemed.status_code == 200, redeemed.content
    body = redeemed.json()
    assert body["ok"] is True
    assert body["fields"] == {"masked_name": "王*明", "gender": "男", "card_status": "正常"}
    event = AuditEvent.objects.get(action=AuditAction.QR_REDEEM)
    assert event.organisation_id == world.hospital.organisation_id
    assert event.person_id == world.holder.pk

    verified = call(
        client,
        token,
        "POST",
        "/verify",
        {"method": "business_token", "business_token": body["business_token"]},
    ).json()
    assert verified["verified"] is True
    assert verified["person_ref"] == body["person_ref"]

    replay = call(client, token, "POST", "/qr/redeem", {"text": text})
    assert replay.status_code >= 400
    assert replay.json()["error"]["code"] == "REPLAYED"

    # Another partner's terminal cannot use this terminal's business token.
    bus = access_token(client, world.bus_terminal)
    stolen = call(
        client,
        bus,
        "POST",
        "/verify",
        {"method": "business_token", "business_token": body["business_token"]},
    )
    assert stolen.json()["error"]["code"] == "BUSINESS_TOKEN_WRONG_TERMINAL"


def test_an_expired_and_a_forged_code_are_refused_through_the_api() -> None:
    world = build_partner_world()
    ecard = ecard_issue_by_operator(card_number=world.card.card_number, actor=world.centre_user)
    client = Client()
    token = access_token(client, world.hospital_terminal)

    expired = qr_issue(ecard, now=time.time() - 61).text
    refused = call(client, token, "POST", "/qr/redeem", {"text": expired})
    assert refused.status_code >= 400
    error = refused.json()["error"]
    assert (error["code"], error["message"]) == ("EXPIRED", QrResult.EXPIRED.message)

    # A forger who knows the format and the platform's key id signs with a key of his own.
    forger_key, _public = sm2_generate_keypair()
    now = int(time.time())
    forged = qr_encode(
        QrClaims(
            token=secrets.token_bytes(16),
            issued_at=now,
            expires_at=now + 60,
            kid=keys_signing().kid,
        ),
        forger_key,
    )
    refused = call(client, token, "POST", "/qr/redeem", {"text": forged})
    error = refused.json()["error"]
    assert (error["code"], error["message"]) == ("FORGED", QrResult.FORGED.message)
    assert "疑似伪造" in error["message"]
    assert not AuditEvent.objects.filter(action=AuditAction.QR_REDEEM).exists()

    # The holder's fresh code still redeems.
    fresh = call(client, token, "POST", "/qr/redeem", {"text": qr_issue(ecard).text})
    assert fresh.status_code == 200 and fresh.json()["ok"] is True


def test_a_window_clerk_opens_a_person_by_the_holders_qr() -> None:
    world = build_partner_world()
    ecard = ecard_issue_by_operator(card_number=world.card.card_number, actor=world.centre_user)
    office = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420704", name="鄂城区卡办")
    clerk = make_user(Role.DISTRICT_CLERK, office)
    client = Client()
    assert client.login(username=clerk.username, password=PASSWORD)
    page = client.post("/partners/window/", {"qr_text": qr_issue(ecard).text})
    assert 'data-testid="window-person"' in page.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.VIEW_PERSON)
    assert (event.person_id, event.purpose) == (world.holder.pk, Purpose.SERVICE_WINDOW)
