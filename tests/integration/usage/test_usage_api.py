"""The card-use API with real OAuth2 terminal tokens: a transit batch sent twice adds
nothing the second time; a single event; a bad batch is refused naming row and field; a
partner not granted the upload is refused."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from shebao.partners.services.registry import partner_set_scopes
from shebao.usage.models import UsageRecord
from tests.integration.partners.world import PartnerWorld, access_token, build_partner_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> PartnerWorld:
    w = build_partner_world()
    partner_set_scopes(
        actor=w.centre_user,
        partner_id=w.bus.pk,
        fields=["masked_name"],
        services=["verify", "upload_usage"],
    )
    return w


def _batch(card_number: str, sequences: range) -> str:
    return "\n".join(
        json.dumps(
            {
                "sequence": s,
                "occurred_at": f"2026-11-03T07:{s % 60:02d}:00+08:00",
                "service": "transit_ride",
                "card_form": "physical",
                "card_number": card_number,
                "result": "ok",
            }
        )
        for s in sequences
    )


def _post(client: Client, token: str, path: str, body: str, content_type: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/usage{path}",
        body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_transit_batch_uploaded_twice_adds_nothing_the_second_time(world: PartnerWorld) -> None:
    client = Client()
    token = access_token(client, world.bus_terminal)
    body = _batch(world.card.card_number, range(1, 51))
    first = _post(client, token, "/batch", body, "application/x-ndjson")
    assert first.status_code == 200, first.content
    assert (first.json()["added"], first.json()["already"]) == (50, 0)
    second = _post(client, token, "/batch", body, "application/x-ndjson").json()
    assert (second["received"], second["added"], second["already"]) == (50, 0, 50)
    assert "已存在 50 条" in second["message"]
    assert UsageRecord.objects.count() == 50
    assert set(UsageRecord.objects.values_list("person_id", flat=True)) == {world.holder.pk}


def test_a_csv_batch_and_a_single_event(world: PartnerWorld) -> None:
    client = Client()
    token = access_token(client, world.bus_terminal)
    csv_body = (
        "sequence,occurred_at,service,card_form,card_number,result,reason\n"
        f"900,2026-11-04T08:00:00,transit_ride,ecard,{world.card.card_number},ok,\n"
    )
    assert _post(client, token, "/batch", csv_body, "text/csv").json()["added"] == 1
    event = {
        "sequence": 901,
        "occurred_at": "2026-11-04T08:10:00+08:00",
        "service": "transit_ride",
        "card_form": "physical",
        "card_number": world.card.card_number,
        "result": "refused",
        "reason": "余额不足",
    }
    one = _post(client, token, "/records", json.dumps(event), "application/json")
    assert one.status_code == 200 and one.json()["added"] == 1
    again = _post(client, token, "/records", json.dumps(event), "application/json").json()
    assert (again["added"], again["already"]) == (0, 1)


def test_a_bad_row_refuses_the_whole_batch(world: PartnerWorld) -> None:
    client = Client()
    token = access_token(client, world.bus_terminal)
    lines = _batch(world.card.card_number, range(1, 4)).splitlines()
    lines[1] = lines[1].replace('"physical"', '"paper"')
    response = _post(client, token, "/batch", "\n".join(lines), "application/x-ndjson")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "USAGE_BAD_ROWS"
    assert error["details"][0]["message"] == (
        "第2行 卡形态：应为 physical（实体卡）或 ecard（电子卡）"
    )
    assert UsageRecord.objects.count() == 0


def test_a_partner_not_granted_the_upload_is_refused(world: PartnerWorld) -> None:
    client = Client()
    token = access_token(client, world.hospital_terminal)
    response = _post(
        client, token, "/batch", _batch(world.card.card_number, range(1, 3)), "text/plain"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "SERVICE_NOT_GRANTED"
    assert _post(client, "made-up", "/batch", "", "text/plain").status_code == 401
