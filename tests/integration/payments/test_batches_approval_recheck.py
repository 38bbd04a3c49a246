"""Approval checks a batch again only when something the check reads changed since the
check (issue #12 §1, maker–checker): nothing changed, no second check; any change of the
registry, the cards, the accounts, the earlier payments or the programme's rules after the
check, and the approval checks again and refuses a batch whose verdicts differ."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from shebao.cards.models import Card
from shebao.payments.domain.batch_lifecycle import BatchStatus
from shebao.payments.models import PaymentBatch, PaymentProgramme, PaymentRow
from shebao.payments.services import batches as batch_services
from shebao.payments.services.batches import (
    BatchStale,
    payment_batch_approve,
    payment_batch_import,
    payment_batch_submit,
)
from shebao.registry.models import BankAccount, Person
from tests.integration.payments.batches_world import BatchWorld, build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def world(tmp_path: Path) -> BatchWorld:
    return build_world(tmp_path)


@pytest.fixture
def full_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The batches checked in full by the approval (the check itself is not counted)."""
    seen: list[int] = []
    real = batch_services.batch_verdicts

    def counting(batch: PaymentBatch, *, as_of: date):  # type: ignore[no-untyped-def]
        seen.append(batch.pk)
        return real(batch, as_of=as_of)

    monkeypatch.setattr(batch_services, "batch_verdicts", counting)
    return seen


def _submitted(world: BatchWorld, people: list[int], name: str = "发放.csv") -> PaymentBatch:
    path = world.write(name, [world.row(i) for i in people])
    batch = payment_batch_import(
        actor=world.payer, programme_id=world.programme().pk, period="2026-03", path=path
    )
    return payment_batch_submit(actor=world.payer, batch_id=batch.pk)


def test_nothing_changed_since_the_check_approves_without_a_second_check(
    world: BatchWorld, full_checks: list[int]
) -> None:
    batch = _submitted(world, [0, 1])
    full_checks.clear()  # the import's own check
    batch = payment_batch_approve(actor=world.checker, batch_id=batch.pk)
    assert full_checks == []
    assert batch.status == BatchStatus.APPROVED and batch.payable_count == 2
    frozen = PaymentRow.objects.filter(batch=batch).exclude(frozen_account_number="").count()
    assert frozen == 2


def _person_died(world: BatchWorld) -> None:
    Person.objects.filter(pk=world.people[1].pk).update(
        life_status="deceased", status_date=date(2026, 1, 5)
    )


def _card_cancelled(world: BatchWorld) -> None:
    Card.objects.filter(pk=world.cards[1].pk).update(status="cancelled")


def _account_closed(world: BatchWorld) -> None:
    BankAccount.objects.filter(person=world.people[1]).delete()


def _limit_lowered(world: BatchWorld) -> None:
    PaymentProgramme.objects.filter(pk=world.programme().pk).update(max_amount_fen=100_00)


def _paid_by_another_batch(world: BatchWorld) -> None:
    other = _submitted(world, [1], name="补发.csv")
    payment_batch_approve(actor=world.checker, batch_id=other.pk)


@pytest.mark.parametrize(
    "change",
    [_person_died, _card_cancelled, _account_closed, _limit_lowered, _paid_by_another_batch],
    ids=["death", "card", "account", "programme-limit", "paid-elsewhere"],
)
def test_a_change_after_the_check_forces_a_second_check_and_refuses(
    world: BatchWorld, full_checks: list[int], change: Callable[[BatchWorld], None]
) -> None:
    batch = _submitted(world, [0, 1])
    change(world)  # written straight to the tables: no service marks the batch
    full_checks.clear()
    with pytest.raises(BatchStale):
        payment_batch_approve(actor=world.checker, batch_id=batch.pk)
    assert full_checks == [batch.pk]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUBMITTED


def test_a_change_that_alters_no_verdict_is_checked_again_and_approved(
    world: BatchWorld, full_checks: list[int]
) -> None:
    batch = _submitted(world, [0, 1])
    Person.objects.filter(pk=world.people[0].pk).update(phone="13800000000")  # not read
    BankAccount.objects.filter(person=world.people[0]).update(account_number="6228489999999999")
    full_checks.clear()
    batch = payment_batch_approve(actor=world.checker, batch_id=batch.pk)
    assert full_checks == [batch.pk]
    assert batch.status == BatchStatus.APPROVED
    first = PaymentRow.objects.get(batch=batch, row_number=1)
    assert first.frozen_account_number == "6228489999999999"
