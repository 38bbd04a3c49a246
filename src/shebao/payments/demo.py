"""Demo data for benefit and subsidy payments into the card (待遇及补贴发放进卡): the paying
offices of the demo city, the two clerks of the benefit office — `payer` prepares batches,
`checker` approves them (maker–checker) — a head-office clerk of the demo bank (`bankhq`:
all the bank's payment files and its deduction files, which its branches do not see), the
programmes of the seed, and a batch in each
state of its life, all made through the real services (import, check, drop, submit,
approve, export, the bank's download and results, correction of a failure, a death recorded
after payment): the city's pension (城乡居民基本养老保险待遇) for

- 2026-03: 已对账 — paid, two payments failed (account frozen) and wait in the failure queue,
  one payee's death is recorded afterwards, dated before the period: a recovery case (追回);
- 2026-04: 已生成银行文件 — the bank has its file, no results yet;
- 2026-05: 已审批 — approved and frozen, waiting for its bank files;
- 2026-06: 已校验 with problems — an invalid ID number, a duplicate, an amount not a number:
  the clerk has reasons to read, rows to correct or drop.

The payees are persons with an activated card whose account is at the demo bank's branch
(the `bank` account), so that the bank's journey downloads and answers every file; where
the demo has too few activated cards there, the branch issues some on the spot (即时制卡)
and activates them.

Run after the card steps of `shebao.demo.services.demo_build` (payments go into the card
accounts those steps open). Idempotent: a second run finds what the first made."""

from __future__ import annotations

import contextlib
import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.accounts.services import user_create
from shebao.cards.demo_issuing import _photo
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Card
from shebao.cards.services.applications import CounterInput
from shebao.cards.services.card_life import card_activate
from shebao.cards.services.instant import application_instant_issue
from shebao.errors import NotFound, ShebaoError
from shebao.payments.domain.bankfile import FailureReason, Outcome, ResultLine
from shebao.payments.models import (
    BankPaymentFile,
    BankPaymentLine,
    PaymentBatch,
    PaymentFailure,
    PaymentProgramme,
)
from shebao.payments.services.bank import (
    bank_results_file,
    payment_file_download,
    payment_files_export,
    payment_results_import,
)
from shebao.payments.services.batches import (
    payment_batch_approve,
    payment_batch_import,
    payment_batch_submit,
)
from shebao.payments.services.failures import payment_failure_correct
from shebao.payments.services.programmes import payment_programmes_ensure
from shebao.registry.choices import LifeStatus
from shebao.registry.models import BankAccount, Person
from shebao.registry.services import DeathRecord, persons_record_deaths

__all__ = ["DEMO_ACCOUNTS", "DemoClerk", "PaymentsDemoSummary", "demo_seed"]

_PASSWORD: Final[str] = "Shebao@2026demo"  # noqa: S105 - the published demo credential


@dataclass(frozen=True)
class _Office:
    code: str  # {city} is the city's code
    name: str  # {city} is the city's name
    parent: str  # code of the parent organisation, {city} as above


# The paying offices of seed 003 §(四): the benefit office of the human resources and social
# security bureau pays pensions, unemployment and work-injury benefits and the employment
# subsidies; the finance bureau pays the 惠民惠农 subsidies.
_OFFICES: Final[tuple[_Office, ...]] = (
    _Office("DYFF{city}", "{name}人力资源和社会保障局待遇发放科", "RS{city}"),
    _Office("CZ{city}", "{name}财政局", ""),
)

# username, role, office code, display name
DEMO_ACCOUNTS: Final[tuple[tuple[str, Role, str, str], ...]] = (
    ("payer", Role.PAYING_OFFICE_CLERK, "DYFF{city}", "演示待遇发放经办（制单）"),
    ("checker", Role.PAYING_OFFICE_CLERK, "DYFF{city}", "演示待遇发放经办（复核）"),
)


@dataclass(frozen=True)
class DemoClerk:
    username: str
    role: str
    role_label: str
    organisation: str


@dataclass(frozen=True)
class PaymentsDemoSummary:
    offices_created: int
    accounts_created: int
    accounts: tuple[DemoClerk, ...] = ()
    batches_created: int = 0


def _offices_ensure(city_code: str) -> int:
    city_org = Organisation.objects.filter(code=f"RS{city_code}").select_related("region").first()
    if city_org is None:
        raise NotFound(f"演示城市 {city_code} 的人社局不存在", code="DEMO_BUREAU_MISSING")
    city_name = city_org.name.removesuffix("人力资源和社会保障局")
    created = 0
    for office in _OFFICES:
        code = office.code.format(city=city_code)
        parent = (
            Organisation.objects.get(code=office.parent.format(city=city_code))
            if office.parent
            else None
        )
        _, made = Organisation.objects.get_or_create(
            code=code,
            defaults={
                "name": office.name.format(name=city_name),
                "kind": OrganisationKind.PAYING_OFFICE,
                "region": city_org.region,
                "parent": parent,
            },
        )
        created += int(made)
    return created


def _accounts_ensure(city_code: str) -> tuple[int, tuple[DemoClerk, ...]]:
    created = 0
    clerks: list[DemoClerk] = []
    for username, role, office_code, full_name in DEMO_ACCOUNTS:
        office = Organisation.objects.get(code=office_code.format(city=city_code))
        if not User.objects.filter(username=username).exists():
            user_create(
                actor=None,
                username=username,
                password=_PASSWORD,
                organisation=office,
                roles=[role],
                full_name=full_name,
            )
            created += 1
        clerks.append(DemoClerk(username, str(role), role.label, office.name))
    head = _bank_head_ensure()
    if head is not None:
        created += int(head[0])
        clerks.append(head[1])
    return created, tuple(clerks)


# The demo's `bank` clerk works at a branch and sees only its customers' payment files; the
# monthly deduction files (代扣) go to the head bank, so the bank's side of 代扣 needs a
# head-office clerk of the same bank.
BANK_HEAD_USERNAME: Final[str] = "bankhq"


def _bank_head_ensure() -> tuple[bool, DemoClerk] | None:
    branch_clerk = User.objects.select_related("organisation").filter(username="bank").first()
    branch = branch_clerk.organisation if branch_clerk is not None else None
    bank = branch.bank_root if branch is not None else None
    if bank is None:
        return None
    made = False
    if not User.objects.filter(username=BANK_HEAD_USERNAME).exists():
        user_create(
            actor=None,
            username=BANK_HEAD_USERNAME,
            password=_PASSWORD,
            organisation=bank,
            roles=[Role.BANK_OPERATOR],
            full_name="演示银行总行经办（代发、代扣）",
        )
        made = True
    role = Role.BANK_OPERATOR
    return made, DemoClerk(BANK_HEAD_USERNAME, str(role), role.label, bank.name)


_PROGRAMME: Final[str] = "PENSION_170"
_PAYEES: Final[int] = 12
_BANK_USER: Final[str] = "bank"


def _payees(bank_user: User) -> list[Person]:
    """Living persons with an activated card at the demo bank whose account is at the bank
    user's branch; cards issued but not yet activated are activated at the bank (the real
    service) until there are enough."""
    branch = bank_user.organisation
    if branch is None or branch.bank_root is None:
        return []
    bank = branch.bank_root
    account_here = BankAccount.objects.filter(
        person_id=OuterRef("person_id"), bank=bank, branch=branch
    )
    cards = (
        Card.objects.filter(bank=bank, person__life_status=LifeStatus.ALIVE)
        .filter(Exists(account_here))
        .order_by("person__id_number")
    )
    active = list(cards.filter(status=CardStatus.ACTIVE).values_list("person_id", flat=True))
    if len(active) < _PAYEES:
        for card in cards.filter(status=CardStatus.ISSUED)[: 2 * _PAYEES]:
            try:
                card_activate(actor=bank_user, card_id=card.pk)
            except ShebaoError:
                continue
            active.append(card.person_id)
            if len(active) >= _PAYEES:
                break
    if len(active) < _PAYEES:
        active += _instant_cards(bank_user, _PAYEES - len(active))
    people = Person.objects.in_bulk(list(dict.fromkeys(active))[:_PAYEES])
    return sorted(people.values(), key=lambda p: p.id_number)


def _instant_cards(bank_user: User, wanted: int) -> list[int]:
    """Cards issued on the spot at the demo bank's branch (即时制卡, the real service) and
    activated there, for household-registered adults of its district without a card."""
    branch = bank_user.organisation
    assert branch is not None and branch.bank_root is not None  # noqa: S101 - checked above
    candidates = (
        Person.objects.filter(
            life_status=LifeStatus.ALIVE,
            cards__isnull=True,
            hukou_type="hukou",
            birth_date__year__gte=1970,
            birth_date__year__lte=2004,
            hukou_region__code__startswith=branch.region.prefix,
        )
        .exclude(phone="")
        .order_by("id_number")[: 3 * wanted]
    )
    issued: list[int] = []
    for person in candidates:
        try:
            application_instant_issue(
                actor=bank_user,
                data=CounterInput(
                    id_number=person.id_number,
                    name=person.name,
                    bank_id=branch.bank_root.pk,
                    phone=person.phone,
                    photo=_photo(person.pk),
                ),
                # 622848 is the Agricultural Bank's card BIN; 1 keeps clear of the demo's.
                account_number=f"6228481{person.pk:012d}",
            )
            card = Card.objects.filter(person=person).order_by("-pk").first()
            if card is None:
                continue
            card_activate(actor=bank_user, card_id=card.pk)
        except ShebaoError:
            continue
        issued.append(person.pk)
        if len(issued) >= wanted:
            break
    return issued


def _write(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["鄂州市城乡居民基本养老保险待遇发放名单"])
        writer.writerow(["社会保障号码", "姓名", "金额"])
        writer.writerows(rows)
    return path


def _answer(bank_user: User, batch: PaymentBatch, failing: int) -> list[BankPaymentFile]:
    """The bank downloads the batch's files and answers them: the first `failing` lines fail
    (account frozen), the rest are paid."""
    files = list(BankPaymentFile.objects.filter(batch=batch).order_by("pk"))
    for record in files:
        payment_file_download(actor=bank_user, file_id=record.pk)
        lines = BankPaymentLine.objects.filter(file=record).select_related("row").order_by("pk")
        results = [
            ResultLine(
                row=i + 1,
                reference=line.reference,
                id_number=line.row.frozen_id_number,
                account_number=line.row.frozen_account_number,
                amount_fen=line.amount_fen,
                outcome=Outcome.FAILED if i < failing else Outcome.SUCCEEDED,
                reason=FailureReason.ACCOUNT_FROZEN if i < failing else None,
                reason_text="账户冻结（司法冻结）" if i < failing else "",
            )
            for i, line in enumerate(lines)
        ]
        payment_results_import(actor=bank_user, data=bank_results_file(record, results))
    return files


def _batches_ensure(city_code: str) -> int:
    office = Organisation.objects.get(code=f"DYFF{city_code}")
    programme = PaymentProgramme.objects.filter(code=_PROGRAMME, paying_office=office).first()
    if programme is None or PaymentBatch.objects.filter(programme=programme).exists():
        return 0
    payer = User.objects.get(username="payer")
    checker = User.objects.get(username="checker")
    bank_user = User.objects.select_related("organisation").filter(username=_BANK_USER).first()
    if bank_user is None:
        return 0
    people = _payees(bank_user)
    if len(people) < 6:
        return 0  # a demo too small to have activated cards at the demo bank
    folder = Path(settings.DATA_DIR) / "demo" / "payments"
    amounts = ("1,856.40", "2,103.00", "1,650.25", "1,980.00")

    def rows(chosen: list[Person], amount: str) -> list[tuple[str, str, str]]:
        return [(p.id_number, p.name, amount) for p in chosen]

    def prepared(period: str, chosen: list[tuple[str, str, str]]) -> PaymentBatch:
        path = _write(folder / f"城乡居民养老金-{period}.csv", chosen)
        return payment_batch_import(
            actor=payer, programme_id=programme.pk, period=period, path=path
        )

    def approved(batch: PaymentBatch) -> PaymentBatch:
        payment_batch_submit(actor=payer, batch_id=batch.pk)
        return payment_batch_approve(actor=checker, batch_id=batch.pk, note="复核无误")

    # 2026-03: paid, reconciled, two failures in the queue (one corrected), then a recovery.
    march = approved(prepared("2026-03", rows(people, amounts[0])))
    payment_files_export(actor=payer, batch_id=march.pk)
    _answer(bank_user, march, failing=2)
    first_failure = PaymentFailure.objects.filter(line__row__batch=march).order_by("pk").first()
    if first_failure is not None:
        with contextlib.suppress(ShebaoError):
            payment_failure_correct(
                actor=payer, failure_id=first_failure.pk, note="账户已解冻，原账户重新发放"
            )
    # 2026-04: the bank has its file, no answer yet.
    april = approved(prepared("2026-04", rows(people[:-1], amounts[1])))
    payment_files_export(actor=payer, batch_id=april.pk)
    # 2026-05: approved, frozen, waiting for its files.
    approved(prepared("2026-05", rows(people[:-1], amounts[2])))
    # 2026-06: checked, with problems to read and correct or drop.
    june_rows = rows(people[:6], amounts[3])
    june_rows.append((people[0].id_number, people[0].name, "1,980.00"))  # duplicate
    june_rows.append(("42070419800101001X", "查无此人", "1,980.00"))  # invalid check digit
    june_rows.append((people[6].id_number, people[6].name, "一千元"))  # not a number
    prepared("2026-06", june_rows)
    # A death recorded after payment, dated before the period: the recovery list.
    deceased = people[-1]
    persons_record_deaths(
        actor=None,
        records=[
            DeathRecord(
                id_number=deceased.id_number,
                name=deceased.name,
                died_on=date(2026, 2, 20),
                row=1,
            )
        ],
        source="demo-payments",
        source_label="演示：民政死亡名单",
    )
    return 4


def demo_seed(*, city_code: str = "420700") -> PaymentsDemoSummary:
    """The paying offices, their clerks, the programmes and a batch per state (see the
    module docstring)."""
    with transaction.atomic():
        offices = _offices_ensure(city_code)
        accounts, clerks = _accounts_ensure(city_code)
        office = Organisation.objects.get(code=f"DYFF{city_code}")
        finance = Organisation.objects.get(code=f"CZ{city_code}")
        payment_programmes_ensure(
            offices={"社会保险经办机构": office, "就业服务机构": office, "财政部门": finance},
            default=office,
        )
    # One transaction: a demo step that fails leaves no half-made batches behind, and the
    # next build tries again (files written before a failure are never recorded as sent).
    with transaction.atomic():
        batches = _batches_ensure(city_code)
    return PaymentsDemoSummary(
        offices_created=offices,
        accounts_created=accounts,
        accounts=clerks,
        batches_created=batches,
    )
