"""The payments API (/api/v1/payments) is scoped exactly as the pages: a paying office sees
only its own programmes' batches, a bank only the files addressed to it, everyone else 404
without learning that a batch or file exists; the maker cannot approve; the bank downloads
its sealed file and uploads results; the reconciliation is exact to the fen; every endpoint
is in the OpenAPI schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import User
from shebao.cards.services.exchange import KIND_PAYMENT_ORDER, open_exchange_file
from shebao.payments.domain.bankfile import Outcome, ResultLine
from shebao.payments.models import BankPaymentFile, BankPaymentLine, PaymentBatch
from shebao.payments.services.bank import bank_results_file, payment_files_export
from shebao.payments.services.batches import payment_batch_import, payment_batch_submit
from tests.factories import make_org, make_user
from tests.integration.payments.batches_world import BatchWorld, build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

API = "/api/v1/payments"


@pytest.fixture
def world(tmp_path: Path) -> BatchWorld:
    return build_world(tmp_path)


def _client(user: User) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


def _submitted(world: BatchWorld) -> PaymentBatch:
    path = world.write("发放.csv", [world.row(0, "1,500.00"), world.row(1, "300.25")])
    batch = payment_batch_import(
        actor=world.payer, programme_id=world.programme().pk, period="2026-03", path=path
    )
    return payment_batch_submit(actor=world.payer, batch_id=batch.pk)


def test_batches_are_scoped_and_the_maker_cannot_approve(world: BatchWorld) -> None:
    batch = _submitted(world)
    payer, checker = _client(world.payer), _client(world.checker)
    listed = payer.get(f"{API}/batches").json()
    assert [b["code"] for b in listed] == [batch.code]
    assert listed[0]["payable_fen"] == 180025 and listed[0]["status"] == "submitted"
    rows = payer.get(f"{API}/batches/{batch.code}/rows").json()
    assert [r["row"] for r in rows] == [1, 2]
    assert world.people[0].id_number not in json.dumps(rows, ensure_ascii=False)

    other = _client(world.other_office_clerk)
    assert other.get(f"{API}/batches").json() == []
    for path in ("", "/rows", "/reconciliation"):
        response = other.get(f"{API}/batches/{batch.code}{path}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "PAYMENT_BATCH_NOT_FOUND"
    assert (
        other.post(
            f"{API}/batches/{batch.code}/approve", {}, content_type="application/json"
        ).status_code
        == 404
    )
    bank = _client(make_user(Role.BANK_OPERATOR, world.bank))
    assert bank.get(f"{API}/batches").status_code == 403

    refused = payer.post(f"{API}/batches/{batch.code}/approve", {}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "PAYMENT_MAKER_CANNOT_APPROVE"
    approved = checker.post(
        f"{API}/batches/{batch.code}/approve", {"note": "同意"}, content_type="application/json"
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    # The auditor reads, never approves.
    auditor = _client(world.auditor)
    assert [b["code"] for b in auditor.get(f"{API}/batches").json()] == [batch.code]


def test_bank_downloads_only_its_files_uploads_results_and_reconciliation_is_exact(
    world: BatchWorld,
) -> None:
    batch = _submitted(world)
    _client(world.checker).post(
        f"{API}/batches/{batch.code}/approve", {}, content_type="application/json"
    )
    payment_files_export(actor=world.checker, batch_id=batch.pk)
    record = BankPaymentFile.objects.get(batch=batch)
    bank = _client(make_user(Role.BANK_OPERATOR, world.bank))
    assert [f["code"] for f in bank.get(f"{API}/bank-files").json()] == [record.code]
    download = bank.get(f"{API}/bank-files/{record.code}/file")
    assert download.status_code == 200
    assert open_exchange_file(download.content, kind=KIND_PAYMENT_ORDER).reference == record.code

    stranger = _client(make_user(Role.BANK_OPERATOR, make_org(OrganisationKind.BANK, "420700")))
    assert stranger.get(f"{API}/bank-files").json() == []
    assert stranger.get(f"{API}/bank-files/{record.code}/file").status_code == 404
    assert _client(world.payer).get(f"{API}/bank-files/{record.code}/file").status_code == 403

    lines = list(BankPaymentLine.objects.filter(file=record).select_related("row"))
    sealed = bank_results_file(
        record,
        [
            ResultLine(
                row=i + 1,
                reference=line.reference,
                id_number=line.row.frozen_id_number,
                account_number=line.row.frozen_account_number,
                amount_fen=line.amount_fen,
                outcome=Outcome.SUCCEEDED,
                reason=None,
                reason_text="",
            )
            for i, line in enumerate(lines)
        ],
    )
    uploaded = bank.post(f"{API}/bank-files/results", {"file": SimpleUploadedFile("r.sm4", sealed)})
    assert uploaded.status_code == 200, uploaded.content
    assert uploaded.json()["paid"] == 2 and not uploaded.json()["already_imported"]
    again = bank.post(f"{API}/bank-files/results", {"file": SimpleUploadedFile("r.sm4", sealed)})
    assert again.json()["already_imported"]

    recon = _client(world.payer).get(f"{API}/batches/{batch.code}/reconciliation").json()
    assert recon["differences"] == []
    (totals,) = recon["totals"]
    assert (totals["sent_count"], totals["sent_fen"]) == (2, 180025)
    assert (totals["paid_count"], totals["paid_fen"], totals["failed_fen"]) == (2, 180025, 0)


def test_the_payments_endpoints_are_in_the_openapi_schema(world: BatchWorld) -> None:
    schema = _client(world.payer).get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    for path in (
        "/batches",
        "/batches/{code}",
        "/batches/{code}/rows",
        "/batches/{code}/approve",
        "/batches/{code}/reconciliation",
        "/bank-files",
        "/bank-files/{code}/file",
        "/bank-files/results",
    ):
        assert f"{API}{path}" in paths
