"""A small world for the bank side of payments: a paying office with a maker and a checker,
two cooperating banks (one with a branch), persons with card-linked accounts, a pension
programme and an approved (frozen) batch built straight in the database, so these tests do
not depend on how a batch is imported and checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.payments.models import PaymentBatch, PaymentBatchHistory, PaymentProgramme, PaymentRow
from shebao.registry.models import BankAccount, Person
from tests.factories import make_org, make_person, make_regions, make_user

_NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰")
PERIOD = "2026-11"
PERIOD_START = date(2026, 11, 1)


@dataclass
class BankWorld:
    office: Organisation
    maker: User
    checker: User
    bank_a: Organisation
    branch_a1: Organisation
    bank_b: Organisation
    bank_a_user: User
    branch_a1_user: User
    bank_b_user: User
    programme: PaymentProgramme
    persons: list[Person] = field(default_factory=list)
    # person pk -> (bank, branch or None, account number)
    accounts: dict[int, tuple[Organisation, Organisation | None, str]] = field(default_factory=dict)


def build_bank_world(people: int = 6) -> BankWorld:
    make_regions()
    office = make_org(OrganisationKind.PAYING_OFFICE, "420700", name="鄂州市社会保险事业局")
    bank_a = make_org(OrganisationKind.BANK, "420700", name="农业银行鄂州分行")
    branch_a1 = make_org(
        OrganisationKind.BANK_BRANCH, "420704", parent=bank_a, name="农业银行鄂城支行"
    )
    bank_b = make_org(OrganisationKind.BANK, "420700", name="邮储银行鄂州分行")
    programme = PaymentProgramme.objects.create(
        code="P110",
        name="城乡居民基本养老保险待遇",
        paying_office=office,
        kind="pension",
        stops_in_prison=True,
        max_amount_fen=500_000,
        period_form="month",
    )
    world = BankWorld(
        office=office,
        maker=make_user(Role.PAYING_OFFICE_CLERK, office),
        checker=make_user(Role.PAYING_OFFICE_CLERK, office),
        bank_a=bank_a,
        branch_a1=branch_a1,
        bank_b=bank_b,
        bank_a_user=make_user(Role.BANK_OPERATOR, bank_a),
        branch_a1_user=make_user(Role.BANK_OPERATOR, branch_a1),
        bank_b_user=make_user(Role.BANK_OPERATOR, bank_b),
        programme=programme,
    )
    # Persons alternate: bank A head (undivided), bank A's branch, bank B.
    for n in range(people):
        person = make_person("420704001", name=_NAMES[n % len(_NAMES)])
        bank, branch = [(bank_a, None), (bank_a, branch_a1), (bank_b, None)][n % 3]
        number = f"62284800{n + 1:08d}"
        BankAccount.objects.create(
            person=person,
            bank=bank,
            branch=branch,
            account_number=number,
            opened_on=date(2020, 1, 1),
        )
        world.persons.append(person)
        world.accounts[person.pk] = (bank, branch, number)
    return world


def approved_batch(
    world: BankWorld,
    amounts: list[int],
    *,
    persons: list[Person] | None = None,
    period: str = PERIOD,
    period_start: date = PERIOD_START,
    code: str = "PB0001",
) -> PaymentBatch:
    """A batch as approval leaves it: payable rows with their frozen snapshot."""
    persons = persons if persons is not None else world.persons[: len(amounts)]
    batch = PaymentBatch.objects.create(
        code=code,
        programme=world.programme,
        period=period,
        period_start=period_start,
        status="approved",
        source="import",
        source_digest=code,
        row_count=len(amounts),
        payable_count=len(amounts),
        payable_fen=sum(amounts),
        prepared_by=world.maker,
        approved_by=world.checker,
        approved_at=timezone.now(),
    )
    PaymentBatchHistory.objects.create(
        batch=batch,
        event="approve",
        from_status="submitted",
        to_status="approved",
        actor=world.checker,
    )
    for n, (person, amount) in enumerate(zip(persons, amounts, strict=True), start=1):
        bank, branch, number = world.accounts[person.pk]
        PaymentRow.objects.create(
            batch=batch,
            row_number=n,
            person=person,
            id_number=person.id_number,
            name=person.name,
            amount_text=str(amount),
            amount_fen=amount,
            payable=True,
            frozen_name=person.name,
            frozen_id_number=person.id_number,
            frozen_bank=bank,
            frozen_branch=branch,
            frozen_account_number=number,
            frozen_card_number="",
        )
    return batch
