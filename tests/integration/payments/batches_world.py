"""A small world for payment batches: a paying office with two clerks, a bank, persons with
activated cards and opened accounts, and the helpers to write an office's file."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.cards.models import Card
from shebao.intake.services import import_batch_submit
from shebao.jobs.services import job_run_next
from shebao.payments.models import PaymentProgramme
from shebao.payments.services.programmes import payment_programmes_ensure
from shebao.registry.models import BankAccount, Person
from tests.factories import make_card, make_org, make_person, make_regions, make_user

VILLAGE = "420704001201"
BATCH_HEADER = ("社会保障号码", "姓名", "金额")


@dataclass
class BatchWorld:
    directory: Path
    office: Organisation
    finance: Organisation
    payer: User
    checker: User
    other_office_clerk: User
    auditor: User
    bank: Organisation
    branch: Organisation
    people: list[Person] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)

    def programme(self, code: str = "PENSION_170") -> PaymentProgramme:
        return PaymentProgramme.objects.get(code=code)

    def write(
        self,
        name: str,
        rows: Sequence[Sequence[str]],
        *,
        header: Sequence[str] = BATCH_HEADER,
        title_rows: Sequence[str] = (),
        encoding: str = "utf-8",
    ) -> Path:
        path = self.directory / name
        with path.open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle)
            for title in title_rows:
                writer.writerow([title])
            writer.writerow(header)
            writer.writerows(rows)
        return path

    def row(self, index: int, amount: str = "1500.00") -> list[str]:
        person = self.people[index]
        return [person.id_number, person.name, amount]

    def import_department(self, name: str, header: Sequence[str], rows: list[list[str]]) -> None:
        """Import a department file (prison, benefit …) and make it the current data."""
        path = self.write(name, rows, header=header)
        import_batch_submit(actor=self.centre_user, path=path)
        job_run_next()

    centre_user: User | None = None


NAMES = ["王建国", "李秀英", "张伟", "刘芳", "陈静", "杨洋", "赵磊", "黄敏"]


def build_world(directory: Path, people: int = 6) -> BatchWorld:
    make_regions()
    bureau = make_org(OrganisationKind.BUREAU, "420700", name="鄂州市人力资源和社会保障局")
    office = make_org(
        OrganisationKind.PAYING_OFFICE, "420700", parent=bureau, name="鄂州市人社局待遇发放科"
    )
    other = make_org(OrganisationKind.PAYING_OFFICE, "420700", name="鄂州市退役军人事务局")
    finance = make_org(OrganisationKind.PAYING_OFFICE, "420700", name="鄂州市财政局")
    centre = make_org(OrganisationKind.CARD_CENTRE, "420700", name="鄂州市社保卡管理中心")
    bank = make_org(OrganisationKind.BANK, "420700", name="农业银行鄂州分行")
    branch = make_org(OrganisationKind.BANK_BRANCH, "420704", parent=bank, name="农行凤凰支行")
    payment_programmes_ensure(
        offices={"社会保险经办机构": office, "就业服务机构": office, "财政部门": finance}
    )
    world = BatchWorld(
        directory=directory,
        office=office,
        finance=finance,
        payer=make_user(Role.PAYING_OFFICE_CLERK, office, username="payer"),
        checker=make_user(Role.PAYING_OFFICE_CLERK, office, username="checker"),
        other_office_clerk=make_user(Role.PAYING_OFFICE_CLERK, other, username="veterans"),
        auditor=make_user(Role.AUDITOR, bureau, username="auditor"),
        bank=bank,
        branch=branch,
    )
    world.centre_user = make_user(Role.CARD_CENTRE_OPERATOR, centre, username="centre")
    for i in range(people):
        person = make_person(VILLAGE, name=NAMES[i % len(NAMES)], birth=date(1955, 3, 1 + i))
        card = make_card(person, custodian=None, status="active", bank=bank)
        BankAccount.objects.create(
            person=person,
            bank=bank,
            branch=branch,
            account_number=f"6228480{person.pk:012d}",
            opened_on=date(2024, 1, 1),
        )
        world.people.append(person)
        world.cards.append(card)
    return world
