"""Contributions from the card account (代扣): a person's authorisation for a scheme, the
monthly deduction file per bank (its bank only), its results imported atomically and
idempotently, and never two deductions of one scheme and month."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.db import IntegrityError, transaction

from shebao.cards.services.exchange import KIND_DEDUCTION_ORDER, open_exchange_file
from shebao.errors import NotFound, ShebaoError, ValidationFailed
from shebao.payments.domain.bankfile import Outcome, ResultLine
from shebao.payments.models import DeductionLine, WithholdingAuthorisation
from shebao.payments.services.withholding import (
    deduction_file_download,
    deduction_file_export,
    deduction_results_file,
    deduction_results_import,
    withholding_authorise,
    withholding_revoke,
)
from shebao.registry.models import Scheme
from tests.integration.payments.bank_world import build_bank_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_monthly_deductions_to_the_bank_and_back() -> None:
    world = build_bank_world(people=4)
    Scheme.objects.get_or_create(
        code="170", defaults={"name": "城乡居民基本养老保险", "group": "pension"}
    )
    clerk = world.maker
    signed = [
        withholding_authorise(
            actor=clerk,
            person_id=p.pk,
            scheme_code="170",
            bank_id=world.bank_a.pk,
            account_number=f"62284800{n + 1:08d}",
            valid_from=date(2026, 1, 1),
        )
        for n, p in enumerate(world.persons[:3])
    ]
    # A second authorisation for the same scheme replaces the first, never doubles it.
    withholding_authorise(
        actor=clerk,
        person_id=world.persons[0].pk,
        scheme_code="170",
        bank_id=world.bank_a.pk,
        account_number="6228480099990001",
        valid_from=date(2026, 6, 1),
    )
    signed[0].refresh_from_db()
    assert signed[0].revoked_at is not None
    assert WithholdingAuthorisation.objects.filter(revoked_at__isnull=True).count() == 3
    withholding_revoke(actor=clerk, authorisation_id=signed[2].pk)

    record = deduction_file_export(
        actor=clerk,
        bank_id=world.bank_a.pk,
        scheme_code="170",
        period="2026-11",
        amount_fen=20_000,
        amounts={world.persons[1].pk: 30_050},
    )
    assert (record.record_count, record.total_fen) == (2, 50_050)
    with pytest.raises(ValidationFailed):  # once per bank, scheme and month
        deduction_file_export(
            actor=clerk,
            bank_id=world.bank_a.pk,
            scheme_code="170",
            period="2026-11",
            amount_fen=20_000,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        line = DeductionLine.objects.first()
        assert line is not None
        DeductionLine.objects.create(
            file=record,
            authorisation=line.authorisation,
            person=line.person,
            period="2026-11",
            reference="DK-TWICE",
            account_number="6228480099990001",
            amount_fen=1,
        )
    with pytest.raises(NotFound):
        deduction_file_download(actor=world.bank_b_user, file_id=record.pk)
    record, data = deduction_file_download(actor=world.bank_a_user, file_id=record.pk)
    rows = list(
        csv.DictReader(
            io.StringIO(open_exchange_file(data, kind=KIND_DEDUCTION_ORDER).content.decode())
        )
    )
    assert sorted((r["银行账号"], r["金额（元）"]) for r in rows) == [
        ("6228480000000002", "300.50"),
        ("6228480099990001", "200.00"),
    ]
    lines = {line.person_id: line for line in DeductionLine.objects.select_related("person")}
    first, second = lines[world.persons[0].pk], lines[world.persons[1].pk]
    bad = deduction_results_file(
        record,
        [
            ResultLine(
                1,
                first.reference,
                first.person.id_number,
                first.account_number,
                20_000,
                Outcome.FAILED,
                None,
                "",
            )
        ],
    )
    with pytest.raises(ShebaoError) as refused:
        deduction_results_import(actor=world.bank_a_user, data=bad)
    assert "第 1 行“失败原因”列" in refused.value.message
    good = deduction_results_file(
        record,
        [
            ResultLine(
                1,
                first.reference,
                first.person.id_number,
                first.account_number,
                20_000,
                Outcome.SUCCEEDED,
                None,
                "",
            ),
            ResultLine(
                2,
                second.reference,
                second.person.id_number,
                second.account_number,
                30_050,
                Outcome.FAILED,
                None,
                "余额不足",
            ),
        ],
    )
    outcome = deduction_results_import(actor=world.bank_a_user, data=good)
    assert (outcome.deducted, outcome.failed) == (1, 1)
    assert deduction_results_import(actor=world.bank_a_user, data=good).already_imported
    record.refresh_from_db()
    assert (record.status, record.deducted_fen, record.failed_fen) == ("answered", 20_000, 30_050)
    second.refresh_from_db()
    assert (second.status, second.failure_reason) == ("failed", "insufficient_funds")
