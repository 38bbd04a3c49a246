"""Partner terminals verify persons through the API with real OAuth2 tokens: only their
granted fields, only their own data, every call audited, rate-limited per partner."""

from __future__ import annotations

import pytest
from django.test import Client

from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import AuditEvent
from shebao.partners.models import VerifiedPerson
from shebao.partners.services.identity import caller_cache_clear
from shebao.partners.services.registry import (
    partner_set_rate_limit,
    partner_suspend,
    terminal_rotate_secret,
)
from tests.integration.partners.world import access_token, build_partner_world, call

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_verify_by_card_number_returns_only_the_granted_fields_and_is_audited() -> None:
    world = build_partner_world()
    client = Client()
    token = access_token(client, world.hospital_terminal)
    response = call(
        client,
        token,
        "POST",
        "/verify",
        {"method": "card_number", "card_number": world.card.card_number, "name": "王小明"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["verified"] is True
    assert body["message"] == "核验一致"
    assert body["fields"] == {"masked_name": "王*明", "gender": "男", "card_status": "正常"}
    assert "full_name" not in body["fields"] and "birth_date" not in body["fields"]
    assert len(body["person_ref"]) == 32
    event = AuditEvent.objects.get(action=AuditAction.IDENTITY_VERIFY)
    assert event.person_id == world.holder.pk
    assert event.purpose == Purpose.IDENTITY_VERIFICATION
    assert event.organisation_id == world.hospital.organisation_id
    assert event.detail["terminal"] == "HOSP-001"
    assert event.detail["verified"] is True
    assert VerifiedPerson.objects.filter(partner=world.hospital, person=world.holder).exists()


def test_a_wrong_name_is_not_verified_and_reveals_nothing() -> None:
    world = build_partner_world()
    client = Client()
    token = access_token(client, world.hospital_terminal)
    body = call(
        client,
        token,
        "POST",
        "/verify",
        {"method": "id_number", "id_number": world.holder.id_number, "name": "王大明"},
    ).json()
    assert body == {
        "verified": False,
        "reason": "MISMATCH",
        "message": "信息不一致或查无此人",
        "person_ref": None,
        "fields": {},
    }
    assert not VerifiedPerson.objects.exists()
    assert AuditEvent.objects.get(action=AuditAction.IDENTITY_VERIFY).detail["verified"] is False


def test_the_same_person_has_a_different_reference_for_each_partner() -> None:
    world = build_partner_world()
    client = Client()
    ask = {"method": "id_number", "id_number": world.holder.id_number, "name": "王小明"}
    hospital = call(client, access_token(client, world.hospital_terminal), "POST", "/verify", ask)
    bus = call(client, access_token(client, world.bus_terminal), "POST", "/verify", ask)
    assert hospital.json()["person_ref"] != bus.json()["person_ref"]
    assert bus.json()["fields"] == {"masked_name": "王*明"}


def test_a_bad_card_number_is_refused_in_chinese() -> None:
    world = build_partner_world()
    client = Client()
    token = access_token(client, world.hospital_terminal)
    response = call(
        client,
        token,
        "POST",
        "/verify",
        {"method": "card_number", "card_number": "X", "name": "王"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_CARD_NUMBER"


def test_no_token_or_a_made_up_token_is_refused() -> None:
    build_partner_world()
    client = Client()
    assert (
        client.post("/api/v1/partners/verify", {}, content_type="application/json").status_code
        == 401
    )
    assert call(client, "not-a-token", "GET", "/me").status_code == 401


def test_a_partner_sees_only_its_own_terminals_and_calls() -> None:
    world = build_partner_world()
    client = Client()
    hospital_token = access_token(client, world.hospital_terminal)
    bus_token = access_token(client, world.bus_terminal)
    call(
        client,
        bus_token,
        "POST",
        "/verify",
        {"method": "id_number", "id_number": world.holder.id_number, "name": "王小明"},
    )
    assert [t["code"] for t in call(client, hospital_token, "GET", "/terminals").json()] == [
        "HOSP-001"
    ]
    assert call(client, hospital_token, "GET", "/terminals/HOSP-001").status_code == 200
    other = call(client, hospital_token, "GET", "/terminals/BUS-001")
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "TERMINAL_NOT_FOUND"
    assert call(client, hospital_token, "GET", "/calls").json() == []
    bus_calls = call(client, bus_token, "GET", "/calls").json()
    assert [(c["terminal"], c["verified"]) for c in bus_calls] == [("BUS-001", True)]


def test_calls_beyond_the_partners_rate_limit_are_refused_with_429() -> None:
    world = build_partner_world()
    partner_set_rate_limit(actor=world.centre_user, partner_id=world.hospital.pk, per_minute=2)
    caller_cache_clear()
    client = Client()
    token = access_token(client, world.hospital_terminal)
    ask = {"method": "id_number", "id_number": world.holder.id_number, "name": "王小明"}
    statuses = [call(client, token, "POST", "/verify", ask).status_code for _ in range(3)]
    assert statuses[:2] == [200, 200]
    assert statuses[2] == 429
    refused = call(client, token, "POST", "/verify", ask).json()["error"]
    assert refused["code"] == "RATE_LIMITED"
    assert "每分钟最多调用 2 次" in refused["message"]
    # The other partner has its own count.
    bus_token = access_token(client, world.bus_terminal)
    assert call(client, bus_token, "POST", "/verify", ask).status_code == 200


def test_a_suspended_partner_and_a_rotated_secret_stop_working() -> None:
    world = build_partner_world()
    client = Client()
    token = access_token(client, world.hospital_terminal)
    assert call(client, token, "GET", "/me").status_code == 200
    partner_suspend(actor=world.centre_user, partner_id=world.hospital.pk, reason="合同到期")
    caller_cache_clear()
    ask = {"method": "id_number", "id_number": world.holder.id_number, "name": "王小明"}
    refused = call(client, token, "POST", "/verify", ask)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "PARTNER_NOT_APPROVED"

    bus_token = access_token(client, world.bus_terminal)
    terminal_rotate_secret(actor=world.centre_user, terminal_id=world.bus_terminal.terminal.pk)
    caller_cache_clear()
    assert call(client, bus_token, "GET", "/me").status_code == 401
    stale = client.post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": world.bus_terminal.client_id,
            "client_secret": world.bus_terminal.client_secret,
        },
    )
    assert stale.status_code == 401


def test_the_public_directory_api_needs_no_sign_in() -> None:
    from datetime import date

    from shebao.geo.models import Region
    from shebao.partners.services.registry import directory_service_create

    world = build_partner_world()
    directory_service_create(
        actor=world.centre_user,
        partner_id=world.hospital.pk,
        name="持卡就医结算",
        field="medical",
        card_functions=["physical", "ecard", "finance"],
        regions=[Region.objects.get(code="420700")],
        since=date(2025, 3, 1),
    )
    client = Client()
    entries = client.get("/api/v1/partners/directory?field=medical&region=420704").json()
    assert [(e["name"], e["partner"]) for e in entries] == [("持卡就医结算", "鄂州市中心医院")]
    assert entries[0]["card_function_labels"] == ["实体卡", "电子卡", "金融"]
    assert client.get("/api/v1/partners/directory?field=transport").json() == []
    page = client.get("/partners/directory/?field=medical")
    assert page.status_code == 200
    assert "持卡就医结算" in page.content.decode()
