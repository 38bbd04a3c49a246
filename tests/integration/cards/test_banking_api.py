"""The API for banks and the vendor: their own tokens, their own records only, encrypted
files both ways, one error shape."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from shebao.accounts.services import api_token_create
from shebao.cards.models import AccountOpeningRequest, Application, Card, ProductionBatch
from shebao.cards.services.banking import bank_results_file
from shebao.cards.services.exchange import open_exchange_file
from shebao.cards.services.production import (
    production_batch_export,
    production_batch_form,
    vendor_order_read,
    vendor_results_file,
)
from shebao.geo.models import Region
from shebao.registry.models import BankAccount
from tests.integration.cards.issuing_world import TOWN, World, build_world

pytestmark = pytest.mark.django_db


def _token(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _, raw = api_token_create(actor=user, owner=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _batch(world: World) -> ProductionBatch:
    ids = [
        Application.objects.create(
            channel="counter",
            person=p,
            id_number=p.id_number,
            name=p.name,
            region_id=p.hukou_region_id,
            status="eligible",
            bank=world.bank,
            row=i + 1,
        ).pk
        for i, p in enumerate(world.people)
    ]
    batch = production_batch_form(
        actor=world.centre_clerk,
        application_ids=ids,
        kind="individual",
        organisation=world.town,
        region=Region.objects.get(code=TOWN),
    )
    assert batch is not None
    return batch


def _ids(sealed: bytes, column: str) -> list[str]:
    return [
        r[column] for r in csv.DictReader(io.StringIO(open_exchange_file(sealed).content.decode()))
    ]


def test_bank_api_lists_downloads_and_uploads_only_its_own() -> None:
    world = build_world(3, police_photos=False)
    _batch(world)
    request = AccountOpeningRequest.objects.get()
    client = Client()
    bank = _token(world.branch_clerk)
    listed = client.get("/api/v1/cards/account-requests", **bank).json()
    assert [r["code"] for r in listed] == [request.code]
    assert (
        client.get("/api/v1/cards/account-requests", **_token(world.other_bank_clerk)).json() == []
    )
    missing = client.get(
        f"/api/v1/cards/account-requests/{request.code}/file", **_token(world.other_bank_clerk)
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    assert client.get("/api/v1/cards/account-requests").status_code == 401
    assert (
        client.get("/api/v1/cards/account-requests", **_token(world.vendor_clerk)).status_code
        == 403
    )

    sealed = client.get(f"/api/v1/cards/account-requests/{request.code}/file", **bank).content
    ids = _ids(sealed, "社会保障号码")
    request.refresh_from_db()
    assert request.status == "sent" and request.due_on is not None
    results = bank_results_file(
        request, [(i, True, f"62284800{k:08d}", "") for k, i in enumerate(ids)]
    )
    response = client.post(
        "/api/v1/cards/account-requests/results",
        {"file": SimpleUploadedFile("r.sm4", results)},
        **bank,
    )
    assert response.status_code == 200 and response.json()["done"] == 3
    assert BankAccount.objects.count() == 3
    tampered = results[:-1] + bytes([results[-1] ^ 1])
    response = client.post(
        "/api/v1/cards/account-requests/results",
        {"file": SimpleUploadedFile("r.sm4", tampered)},
        **bank,
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "EXCHANGE_TAMPERED"


def test_vendor_api_downloads_sent_batches_and_uploads_results() -> None:
    world = build_world(2, police_photos=False)
    batch = _batch(world)
    client = Client()
    vendor = _token(world.vendor_clerk)
    assert client.get("/api/v1/cards/production-batches", **vendor).json() == []
    production_batch_export(actor=world.centre_clerk, batch_id=batch.pk, vendor=world.vendor)
    assert [b["code"] for b in client.get("/api/v1/cards/production-batches", **vendor).json()] == [
        batch.code
    ]
    sealed = client.get(f"/api/v1/cards/production-batches/{batch.code}/file", **vendor).content
    order = vendor_order_read(open_exchange_file(sealed).content).rows
    numbers = [r["社保卡号"] for r in order]
    ids = [r["社会保障号码"] for r in order]
    results = vendor_results_file(
        batch, [(n, i, True, "") for n, i in zip(numbers, ids, strict=True)]
    )
    response = client.post(
        "/api/v1/cards/production-batches/results",
        {"file": SimpleUploadedFile("r.sm4", results)},
        **vendor,
    )
    assert response.status_code == 200 and response.json()["done"] == 2
    assert set(Card.objects.values_list("status", flat=True)) == {"made"}
    assert (
        client.get(
            f"/api/v1/cards/production-batches/{batch.code}/file", **_token(world.bank_clerk)
        ).status_code
        == 403
    )
