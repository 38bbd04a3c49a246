"""The recovery list (追回) through its page: money recovered in instalments (amount, date,
reference) until the payment is 已追回; a waiver (核销) asked by one clerk with its reason and
decided by another (the clerk who asked cannot approve it, refusing needs a reason); the
page's totals are exact to the fen; every step audited; the auditor reads, changes
nothing; another office gets 404."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import AuditEvent, User
from shebao.payments.domain.bankfile import Outcome, ResultLine
from shebao.payments.models import BankPaymentFile, BankPaymentLine, PaymentRecovery
from shebao.payments.services.bank import (
    bank_results_file,
    payment_file_download,
    payment_files_export,
    payment_results_import,
)
from shebao.registry.choices import LifeStatus
from tests.factories import make_org, make_user
from tests.integration.payments.bank_world import BankWorld, approved_batch, build_bank_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _two_recoveries() -> tuple[BankWorld, PaymentRecovery, PaymentRecovery]:
    """Bank B pays 1,000.01 and 2,000.00 yuan for 2026-11 to two people who died in October."""
    world = build_bank_world(people=6)
    persons = [world.persons[2], world.persons[5]]  # both at bank B
    batch = approved_batch(world, [100_001, 200_000], persons=persons)
    (record,) = payment_files_export(actor=world.maker, batch_id=batch.pk)
    payment_file_download(actor=world.bank_b_user, file_id=record.pk)
    record = BankPaymentFile.objects.select_related("bank").get(pk=record.pk)
    lines = list(BankPaymentLine.objects.filter(file=record).select_related("row").order_by("pk"))
    results = [
        ResultLine(
            n,
            line.reference,
            line.row.frozen_id_number,
            line.row.frozen_account_number,
            line.amount_fen,
            Outcome.SUCCEEDED,
            None,
            "",
        )
        for n, line in enumerate(lines, start=1)
    ]
    payment_results_import(actor=world.bank_b_user, data=bank_results_file(record, results))
    for person in persons:
        person.life_status = LifeStatus.DECEASED
        person.status_date = date(2026, 10, 15)
        person.save()
    first, second = PaymentRecovery.objects.order_by("amount_fen")
    return world, first, second


def test_money_recovered_in_instalments_with_exact_totals() -> None:
    world, first, _second = _two_recoveries()
    payer = _client(world.maker)
    page = reverse("payments:recoveries")
    html = payer.get(page).content.decode()
    assert 'data-testid="total-owed">3,000.01 元' in html
    assert 'data-testid="total-outstanding">3,000.01 元' in html
    # Bad input: precise errors, nothing recorded.
    for data, text in (
        ({"amount": "2000", "recovered_on": "2026-12-01", "reference": "R1"}, "超过尚未追回"),
        ({"amount": "0.001", "recovered_on": "2026-12-01", "reference": "R1"}, "分"),
        ({"amount": "100", "recovered_on": "2026-13-01", "reference": "R1"}, "YYYY-MM-DD"),
        ({"amount": "100", "recovered_on": "2026-12-01", "reference": " "}, "凭证号"),
        ({"amount": "100", "recovered_on": "2099-01-01", "reference": "R1"}, "晚于今天"),
    ):
        refused = payer.post(page, {"action": "recover", "recovery": first.pk, **data})
        assert refused.status_code == 400, data
        assert text in refused.content.decode(), (data, text)
    first.refresh_from_db()
    assert (first.status, first.recovered_fen) == ("open", 0)

    today = timezone.localdate().isoformat()
    part = {"action": "recover", "recovery": first.pk, "recovered_on": today}
    assert payer.post(page, {**part, "amount": "400.01", "reference": "HX-001"}).status_code == 302
    first.refresh_from_db()
    assert (first.status, first.recovered_fen, first.recovered_reference) == (
        "open",
        40_001,
        "HX-001",
    )
    assert payer.post(page, {**part, "amount": "600", "reference": "HX-002"}).status_code == 302
    first.refresh_from_db()
    assert (first.status, first.recovered_fen) == ("recovered", 100_001)
    html = payer.get(page).content.decode()
    assert 'data-testid="total-recovered">1,000.01 元' in html
    assert 'data-testid="total-outstanding">2,000.00 元' in html
    assert "已追回" in html and "HX-002" in html
    assert world.persons[2].name not in html  # masked
    # Recovered in full: nothing more to record.
    again = payer.post(page, {**part, "amount": "1", "reference": "HX-003"})
    assert again.status_code == 400
    events = AuditEvent.objects.filter(
        action=AuditAction.UPDATE, target_type="payment_recovery", target_id=str(first.pk)
    )
    assert [e.detail["amount_fen"] for e in events.order_by("pk")] == [40_001, 60_000]


def test_a_waiver_is_asked_by_one_clerk_and_decided_by_another() -> None:
    world, _first, second = _two_recoveries()
    maker, checker = _client(world.maker), _client(world.checker)
    page = reverse("payments:recoveries")
    today = timezone.localdate().isoformat()
    assert (
        maker.post(
            page,
            {
                "action": "recover",
                "recovery": second.pk,
                "amount": "500",
                "recovered_on": today,
                "reference": "HX-9",
            },
        ).status_code
        == 302
    )
    no_reason = maker.post(page, {"action": "waive_request", "recovery": second.pk, "reason": ""})
    assert no_reason.status_code == 400 and "须说明原因" in no_reason.content.decode()
    asked = maker.post(
        page, {"action": "waive_request", "recovery": second.pk, "reason": "遗产不足以清偿"}
    )
    assert asked.status_code == 302
    # The clerk who asked sees no approve button and is refused if he tries.
    html = maker.get(page).content.decode()
    assert f'data-testid="waive-decide-{second.pk}"' not in html and "核销待审批" in html
    own = maker.post(page, {"action": "waive_approve", "recovery": second.pk})
    assert own.status_code == 400 and "须由申请人以外的经办人审批" in own.content.decode()
    second.refresh_from_db()
    assert second.status == "open"
    # Another clerk refuses it once (a reason is needed), the maker asks again, it is approved.
    html = checker.get(page).content.decode()
    assert f'data-testid="waive-decide-{second.pk}"' in html
    assert checker.post(page, {"action": "waive_refuse", "recovery": second.pk}).status_code == 400
    assert (
        checker.post(
            page, {"action": "waive_refuse", "recovery": second.pk, "note": "请附继承人说明"}
        ).status_code
        == 302
    )
    second.refresh_from_db()
    assert (second.status, second.waive_requested_by_id) == ("open", None)
    maker.post(page, {"action": "waive_request", "recovery": second.pk, "reason": "继承人放弃继承"})
    approved = checker.post(
        page, {"action": "waive_approve", "recovery": second.pk, "note": "同意"}
    )
    assert approved.status_code == 302
    second.refresh_from_db()
    assert (second.status, second.waived_by_id, second.waive_requested_by_id) == (
        "waived",
        world.checker.pk,
        world.maker.pk,
    )
    html = checker.get(page).content.decode()
    assert 'data-testid="total-waived">1,500.00 元' in html  # 2,000.00 owed, 500.00 recovered
    assert 'data-testid="total-recovered">500.00 元' in html
    assert 'data-testid="total-outstanding">1,000.01 元' in html  # the other one
    assert AuditEvent.objects.filter(
        action=AuditAction.APPROVE,
        target_type="payment_recovery",
        target_id=str(second.pk),
        user=world.checker,
    ).exists()
    # The database refuses a waiver decided by the clerk who asked, whatever the code path.
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentRecovery.objects.filter(pk=second.pk).update(waived_by=world.maker)


def test_auditor_reads_the_list_and_other_offices_see_nothing() -> None:
    _world, first, _second = _two_recoveries()
    page = reverse("payments:recoveries")
    bureau = make_org(OrganisationKind.BUREAU, "420700", name="鄂州市人社局")
    auditor = _client(make_user(Role.AUDITOR, bureau))
    html = auditor.get(page).content.decode()
    assert 'data-testid="total-owed">3,000.01 元' in html
    assert 'data-testid="recover-' not in html
    data = {"action": "recover", "recovery": first.pk, "amount": "1", "reference": "X"}
    assert auditor.post(page, {**data, "recovered_on": "2026-12-01"}).status_code == 403
    other_office = make_org(OrganisationKind.PAYING_OFFICE, "420700", name="鄂州市民政局")
    other = _client(make_user(Role.PAYING_OFFICE_CLERK, other_office))
    html = other.get(page).content.decode()
    assert 'data-testid="total-owed">0.00 元' in html
    assert other.post(page, {**data, "recovered_on": "2026-12-01"}).status_code == 404
    first.refresh_from_db()
    assert first.recovered_fen == 0
