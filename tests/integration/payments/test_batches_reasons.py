"""Every reason of the check through the database path, and the same verdicts from
`shebao payments check` over files holding the same data (the file contract)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from shebao.cards.models import Card
from shebao.identity.id_number import id_number_check_char
from shebao.payments.domain.amounts import format_yuan
from shebao.payments.models import PaymentBatch, PaymentRow
from shebao.payments.services.batches import (
    payment_batch_approve,
    payment_batch_import,
    payment_batch_submit,
)
from shebao.registry.models import BankAccount, Person
from tests.integration.payments.batches_world import BatchWorld, build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PRISON_HEADER = ("公民身份号码", "姓名", "服刑起始日期", "服刑截止日期")
PROGRAMME = "城乡居民基本养老保险待遇"


def _fifteen(id18: str) -> str:
    return id18[:6] + id18[8:17]


def _wrong_check_digit(id18: str) -> str:
    body = id18[:17]
    right = id_number_check_char(body)
    return body + ("0" if right != "0" else "1")


def _other_id() -> str:
    body = "42070419700101123"
    return body + id_number_check_char(body)


@pytest.fixture
def world(tmp_path: Path) -> BatchWorld:
    w = build_world(tmp_path, people=10)
    p = w.people
    Person.objects.filter(pk=p[3].pk).update(life_status="deceased", status_date=date(2026, 2, 10))
    Person.objects.filter(pk=p[4].pk).update(life_status="deceased", status_date=date(2026, 3, 5))
    Card.objects.filter(pk=w.cards[6].pk).update(status="cancelled")
    w.import_department(
        "服刑人员.csv",
        PRISON_HEADER,
        [[p[5].id_number, p[5].name, "2025-06-01", "2027-05-31"]],
    )
    # An earlier batch of the same programme and period paid p[7].
    path = w.write("earlier.csv", [w.row(7)])
    earlier = payment_batch_import(
        actor=w.payer, programme_id=w.programme().pk, period="2026-03", path=path
    )
    payment_batch_submit(actor=w.payer, batch_id=earlier.pk)
    payment_batch_approve(actor=w.checker, batch_id=earlier.pk)
    return w


def _batch_rows(w: BatchWorld) -> list[list[str]]:
    p = w.people
    return [
        w.row(0),
        [p[1].id_number, "李秀芳", "100"],
        [p[2].id_number, "張 偉", "100"],
        w.row(3),
        w.row(4),
        w.row(5),
        w.row(6),
        w.row(7),
        [_wrong_check_digit(p[0].id_number), p[0].name, "100"],
        [_other_id(), "周九", "100"],
        [_fifteen(p[0].id_number), p[0].name, "100"],
        w.row(8, "10000.01"),
        w.row(9, "12.345"),
        [p[3].id_number, p[3].name, "abc"],
    ]


EXPECTED = {
    1: "",
    2: "NAME_MISMATCH",
    3: "",
    4: "DECEASED",
    5: "",
    6: "IMPRISONED",
    7: "NO_CARD_ACCOUNT",
    8: "ALREADY_PAID",
    9: "INVALID_ID;NOT_IN_POPULATION;NO_CARD_ACCOUNT",
    10: "NOT_IN_POPULATION;NO_CARD_ACCOUNT",
    11: "DUPLICATE_IN_BATCH",
    12: "AMOUNT_INVALID",
    13: "AMOUNT_INVALID",
    14: "DECEASED;DUPLICATE_IN_BATCH;AMOUNT_INVALID",
}


def _import_march(w: BatchWorld, code: str = "PENSION_170") -> PaymentBatch:
    path = w.write(f"march-{code}.csv", _batch_rows(w))
    return payment_batch_import(
        actor=w.payer, programme_id=w.programme(code).pk, period="2026-03", path=path
    )


def test_every_reason_through_the_database(world: BatchWorld) -> None:
    batch = _import_march(world)
    reasons = dict(PaymentRow.objects.filter(batch=batch).values_list("row_number", "reasons"))
    assert reasons == EXPECTED
    payable = PaymentRow.objects.filter(batch=batch, payable=True)
    assert sorted(payable.values_list("row_number", flat=True)) == [1, 3, 5]
    assert batch.payable_fen == 150000 + 10000 + 150000
    fifteen = PaymentRow.objects.get(batch=batch, row_number=11)
    assert fifteen.id_number == world.people[0].id_number  # normalised from 15 digits
    assert fifteen.person_id == world.people[0].pk


def test_imprisonment_only_stops_programmes_that_say_so(world: BatchWorld) -> None:
    batch = _import_march(world, "WORK_INJURY")
    row = PaymentRow.objects.get(batch=batch, row_number=6)
    assert row.payable and row.reasons == ""
    # The other programme's earlier payment is not this one's.
    assert PaymentRow.objects.get(batch=batch, row_number=8).reasons == ""


def _write(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _files_from_database(w: BatchWorld, out: Path) -> dict[str, Path]:
    """The registry, the cards and the earlier payments written as the contract's files."""
    status = {"alive": "正常", "deceased": "死亡", "moved_out": "迁出"}
    population = [
        [
            p.id_number,
            p.name,
            p.hukou_region_id,
            status[p.life_status],
            p.status_date.isoformat() if p.life_status == "deceased" and p.status_date else "",
        ]
        for p in Person.objects.order_by("pk")
    ]
    word = {"active": "正常", "temporary_loss": "挂失", "lost": "挂失", "cancelled": "注销"}
    cards = []
    for card in Card.objects.select_related("person", "bank").order_by("pk"):
        account = BankAccount.objects.filter(person=card.person, bank=card.bank).first()
        cards.append(
            [
                card.person.id_number,
                card.card_number,
                word.get(card.status, card.status),
                "已开户" if account else "未开户",
                card.bank.name if card.bank else "",
                account.account_number if account else "",
            ]
        )
    paid = [
        [r.id_number, PROGRAMME, r.batch.period, format_yuan(r.amount_fen or 0)]
        for r in PaymentRow.objects.filter(payable=True, batch__status="approved").select_related(
            "batch"
        )
    ]
    people = w.people
    return {
        "population": _write(
            out / "population.csv",
            ("公民身份号码", "姓名", "户籍地区划代码", "人员状态", "死亡日期"),
            population,
        ),
        "cards": _write(
            out / "cards.csv",
            ("社会保障号码", "卡号", "卡状态", "开户状态", "银行", "银行账号"),
            cards,
        ),
        "paid": _write(out / "paid.csv", ("社会保障号码", "项目", "发放期别", "金额"), paid),
        "prison": _write(
            out / "prison.csv",
            PRISON_HEADER,
            [[people[5].id_number, people[5].name, "2025-06-01", "2027-05-31"]],
        ),
        "batch": _write(out / "batch.csv", ("社会保障号码", "姓名", "金额"), _batch_rows(w)),
    }


def test_the_file_contract_and_the_database_agree(world: BatchWorld, tmp_path: Path) -> None:
    batch = _import_march(world)
    files_dir = tmp_path / "files"
    files_dir.mkdir()
    files = _files_from_database(world, files_dir)
    out = tmp_path / "out"
    call_command(
        "payments",
        "check",
        "--population",
        str(files["population"]),
        "--cards",
        str(files["cards"]),
        "--batch",
        str(files["batch"]),
        "--programme",
        PROGRAMME,
        "--period",
        "2026-03",
        "--prison",
        str(files["prison"]),
        "--paid",
        str(files["paid"]),
        "--out",
        str(out),
    )
    with (out / "payments.csv").open(encoding="utf-8") as handle:
        from_files = [
            (int(r["row"]), r["id_number"], r["amount_fen"], r["payable"], r["reasons"])
            for r in csv.DictReader(handle)
        ]
    from_database = [
        (
            r.row_number,
            r.id_number,
            "" if r.amount_fen is None else str(r.amount_fen),
            "1" if r.payable else "0",
            r.reasons,
        )
        for r in PaymentRow.objects.filter(batch=batch).order_by("row_number")
    ]
    assert from_database == from_files
