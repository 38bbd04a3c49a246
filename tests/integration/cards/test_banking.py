"""Account opening through the database: the working-day deadline on the official calendar,
the encrypted files both ways, results into the registry, failures cleaned up and re-sent,
the per-bank figures, a bank seeing only its own requests, and instant issuance."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from shebao.cards.models import (
    AccountItemStatus,
    AccountOpeningItem,
    AccountOpeningRequest,
    Application,
    Card,
)
from shebao.cards.selectors.issuing import account_failures_visible, account_requests_visible
from shebao.cards.services.applications import CounterInput
from shebao.cards.services.banking import (
    account_failures_resubmit,
    account_opening_stats,
    account_request_export,
    account_results_import,
    add_workdays,
    bank_results_file,
    completion_rate,
    is_workday,
)
from shebao.cards.services.exchange import open_exchange_file
from shebao.cards.services.instant import application_instant_issue
from shebao.cards.services.production import production_batch_form
from shebao.errors import NotFound, ShebaoError
from shebao.geo.models import Region
from shebao.registry.models import BankAccount
from tests.integration.cards.issuing_world import TOWN, World, build_world, good_photo

pytestmark = pytest.mark.django_db


def test_fifteen_working_days_across_national_day_and_adjusted_workdays() -> None:
    # 2025: 28 September (Sunday) and 11 October (Saturday) are adjusted working days,
    # 1-8 October the National Day and Mid-Autumn holiday.
    assert is_workday(date(2025, 9, 28)) and is_workday(date(2025, 10, 11))
    assert not is_workday(date(2025, 10, 6))
    assert add_workdays(date(2025, 9, 26), 15) == date(2025, 10, 23)
    assert add_workdays(date(2025, 9, 26), 1) == date(2025, 9, 28)
    assert add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)
    # a year the package does not know: Monday to Friday, no crash
    assert add_workdays(date(2031, 3, 7), 15) == date(2031, 3, 28)


def test_completion_rate_of_the_seed() -> None:
    assert completion_rate(5_980_000, 5_110_000) == Decimal("85.5")
    assert completion_rate(2_860_000, 2_340_000) == Decimal("81.8")
    assert completion_rate(8_170_000, 6_970_000) == Decimal("85.3")
    assert completion_rate(0, 0) is None


def _requests(world: World, n: int = 4) -> AccountOpeningRequest:
    ids = [
        Application.objects.create(
            channel="counter",
            person=p,
            id_number=p.id_number,
            name=p.name,
            phone="13912345678",
            region_id=p.hukou_region_id,
            status="eligible",
            bank=world.bank,
            row=i + 1,
        ).pk
        for i, p in enumerate(world.people[:n])
    ]
    production_batch_form(
        actor=world.centre_clerk,
        application_ids=ids,
        kind="individual",
        organisation=world.town,
        region=Region.objects.get(code=TOWN),
    )
    return AccountOpeningRequest.objects.get()


def _ids_in(sealed: bytes) -> list[str]:
    content = open_exchange_file(sealed).content.decode()
    return [r["社会保障号码"] for r in csv.DictReader(io.StringIO(content))]


def test_bank_receives_opens_and_fails_accounts_and_failures_are_resubmitted() -> None:
    world = build_world(4, police_photos=False)
    request = _requests(world)
    assert (request.bank, request.branch, request.status) == (world.bank, world.branch, "prepared")
    # another bank sees nothing and cannot download
    assert not account_requests_visible(world.other_bank_clerk).exists()
    with pytest.raises(NotFound):
        account_request_export(actor=world.other_bank_clerk, request_id=request.pk)

    request, sealed = account_request_export(
        actor=world.branch_clerk, request_id=request.pk, today=date(2025, 9, 26)
    )
    assert (request.status, request.sent_on, request.due_on) == (
        "sent",
        date(2025, 9, 26),
        date(2025, 10, 23),
    )
    ids = _ids_in(sealed)
    assert sorted(ids) == sorted(p.id_number for p in world.people)

    stats = account_opening_stats(actor=world.centre_clerk, today=date(2025, 10, 24))
    assert [(s.received, s.opened, s.pending, s.overdue) for s in stats] == [(4, 0, 4, 4)]
    stats = account_opening_stats(actor=world.centre_clerk, today=date(2025, 10, 21))
    assert [(s.overdue, s.due_within_3_workdays) for s in stats] == [(0, 4)]

    results = [(ids[0], True, "6228480012345678", ""), (ids[1], True, "6228480012345679", "")]
    results += [(ids[2], False, "", "身份证件已过期"), (ids[3], False, "", "姓名与公安不符")]
    bad = bank_results_file(request, [*results[:3], (ids[3], True, "abc", "")])
    with pytest.raises(ShebaoError) as exc:
        account_results_import(actor=world.branch_clerk, data=bad)
    assert exc.value.code == "RESULT_ROWS_INVALID" and exc.value.details[0]["field"] == "银行账号"
    assert not BankAccount.objects.exists()

    outcome = account_results_import(
        actor=world.branch_clerk, data=bank_results_file(request, results), today=date(2025, 10, 10)
    )
    assert (outcome.opened, outcome.failed) == (2, 2)
    account = BankAccount.objects.get(account_number="6228480012345678")
    assert account.person.id_number == ids[0] and account.branch == world.branch
    request.refresh_from_db()
    assert (request.status, request.opened_count, request.failed_count) == ("completed", 2, 2)
    again = account_results_import(
        actor=world.branch_clerk, data=bank_results_file(request, results)
    )
    assert again.already_imported and BankAccount.objects.count() == 2
    with pytest.raises(NotFound):
        account_results_import(
            actor=world.other_bank_clerk, data=bank_results_file(request, results)
        )

    stats = account_opening_stats(actor=world.bank_clerk, today=date(2025, 10, 24))
    assert [(s.bank, s.branch, s.received, s.opened, s.failed, s.rate) for s in stats] == [
        ("农业银行鄂州分行", "农业银行鄂城支行", 4, 2, 2, Decimal("50.0"))
    ]
    queue = account_failures_visible(world.centre_clerk)
    assert {i.failure_reason for i in queue} == {"身份证件已过期", "姓名与公安不符"}

    resent = account_failures_resubmit(actor=world.centre_clerk, item_ids=[i.pk for i in queue])
    assert resent.record_count == 2 and resent.status == "prepared"
    assert not account_failures_visible(world.centre_clerk).exists()
    assert AccountOpeningItem.objects.filter(status=AccountItemStatus.RESUBMITTED).count() == 2
    resent, sealed = account_request_export(actor=world.bank_clerk, request_id=resent.pk)
    account_results_import(
        actor=world.bank_clerk,
        data=bank_results_file(
            resent, [(i, True, f"62284800999{k:05d}", "") for k, i in enumerate(_ids_in(sealed))]
        ),
    )
    stats = account_opening_stats(actor=world.centre_clerk)
    # a re-submitted record is counted once: 4 received, 4 opened
    assert [(s.received, s.opened, s.rate) for s in stats] == [(4, 4, Decimal("100.0"))]


def test_instant_issuance_at_a_bank_branch() -> None:
    world = build_world(2)
    person = world.people[0]
    app = application_instant_issue(
        actor=world.branch_clerk,
        data=CounterInput(
            person.id_number, person.name, None, "13912345678", use_police_photo=True
        ),
        account_number="6228480055550001",
    )
    assert (app.channel, app.status) == ("instant", "issued")
    card = Card.objects.get(person=person)
    assert (card.status, card.custodian, card.bank) == ("issued", None, world.bank)
    assert BankAccount.objects.get(person=person).branch == world.branch
    # the same person again: already holds a card
    again = application_instant_issue(
        actor=world.branch_clerk,
        data=CounterInput(
            person.id_number, person.name, None, "13912345678", use_police_photo=True
        ),
        account_number="6228480055550002",
    )
    assert again.status == "ineligible" and "HAS_CARD" in again.reasons
    assert Card.objects.filter(person=person).count() == 1
    with pytest.raises(ShebaoError):
        application_instant_issue(
            actor=world.village_clerk,
            data=CounterInput(
                person.id_number, person.name, None, "13912345678", photo=good_photo()
            ),
            account_number="6228480055550003",
        )
