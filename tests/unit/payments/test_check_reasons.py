"""Every reason of the payment check, through the file contract (payments.csv, summary.json)."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from shebao.payments.domain.filecheck import check_payment_files
from shebao.payments.domain.programme import PaymentProgramme, load_programme
from tests.unit.payments.world import World, id_number

pytestmark = pytest.mark.unit

PENSION = load_programme("城乡居民基本养老保险待遇")  # stops in prison, limit 10,000 yuan
INJURY = load_programme("工伤保险待遇")  # does not stop in prison


def run(
    world: World,
    tmp_path: Path,
    *,
    programme: PaymentProgramme = PENSION,
    period: str = "2026-03",
) -> tuple[list[dict[str, str]], dict[str, object]]:
    out = tmp_path / "out"
    check_payment_files(
        programme=programme,
        period=programme.parse_period(period),
        out_dir=out,
        as_of=date(2026, 3, 15),
        **world.files(tmp_path),
    )
    with (out / "payments.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return rows, summary


def reasons(rows: list[dict[str, str]]) -> list[str]:
    return [r["reasons"] for r in rows]


def test_a_payable_row_and_the_exact_contract(tmp_path: Path) -> None:
    world = World()
    a = world.person(1)
    b = world.person(2, "李四")
    world.pay(a, amount="1,234.50")
    world.pay(b, "李四", amount="0.01")
    rows, summary = run(world, tmp_path)
    header = (tmp_path / "out" / "payments.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "row,id_number,name,amount_fen,payable,reasons"
    assert [list(r.values()) for r in rows] == [
        ["1", a, "张三", "123450", "1", ""],
        ["2", b, "李四", "1", "1", ""],
    ]
    assert summary["rows"] == 2
    assert summary["payable_rows"] == 2
    assert summary["payable_fen"] == 123451
    assert summary["reasons"] == dict.fromkeys(
        [
            "INVALID_ID",
            "NOT_IN_POPULATION",
            "NAME_MISMATCH",
            "DECEASED",
            "IMPRISONED",
            "NO_CARD_ACCOUNT",
            "DUPLICATE_IN_BATCH",
            "ALREADY_PAID",
            "AMOUNT_INVALID",
        ],
        0,
    )


def test_invalid_id_but_not_the_usual_typing_habits(tmp_path: Path) -> None:
    world = World()
    a = world.person(1)
    fifteen_digit = world.person(2, "李四")  # 18 digits in the population...
    fifteen = fifteen_digit[:6] + fifteen_digit[8:17]  # ...15 in the batch
    x_person = next(n for n in (id_number(s) for s in range(3, 400)) if n.endswith("X"))
    world.population.append([x_person, "王五", "440113", "正常", ""])
    world.cards.append([x_person, "K1", "正常", "已开户", "农业银行", "1"])
    full_width = a.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    world.pay(a[:-1] + ("0" if a[-1] != "0" else "1"))  # wrong check digit
    world.pay(" ".join([a[:6], a[6:14], a[14:]]))  # spaces inside
    world.pay(fifteen, "李四")
    world.pay(x_person.lower(), "王五")
    world.pay(full_width)
    rows, summary = run(world, tmp_path)
    # The full-width number is the spaced one's person again: valid, and a duplicate.
    # A wrong check digit is a number nobody has: every rule it fails is listed.
    assert reasons(rows) == [
        "INVALID_ID;NOT_IN_POPULATION;NO_CARD_ACCOUNT",
        "",
        "",
        "",
        "DUPLICATE_IN_BATCH",
    ]
    assert rows[2]["id_number"] == fifteen_digit  # written normalised
    assert rows[3]["id_number"] == x_person
    assert summary["reasons"]["INVALID_ID"] == 1  # type: ignore[index]


def test_not_in_population_and_name_mismatch(tmp_path: Path) -> None:
    world = World()
    a = world.person(1, "张三丰")
    b = world.person(2, "麥麥提·艾力")
    c = world.person(3, "李四")
    stranger = id_number(77)
    world.cards.append([stranger, "K", "正常", "已开户", "农业银行", "1"])
    world.pay(a, "张三")
    world.pay(b, " 麦麦提 . 艾力 ")  # traditional form, spaces, a full stop for the dot
    world.pay(c, "李 四")
    world.pay(stranger, "赵六")
    rows, _ = run(world, tmp_path)
    assert reasons(rows) == ["NAME_MISMATCH", "", "", "NOT_IN_POPULATION"]


def test_deceased_before_the_first_day_of_the_period_only(tmp_path: Path) -> None:
    world = World()
    before = world.person(1, status="死亡", death_date="2026-02-28")
    on_first_day = world.person(2, "李四", status="死亡", death_date="2026-03-01")
    unknown_day = world.person(3, "王五", status="死亡")
    by_death_file = world.person(4, "赵六")
    late_death_file = world.person(5, "钱七")
    world.deaths.append([by_death_file, "赵六", "2026/1/5"])
    world.deaths.append([late_death_file, "钱七", "20260320"])
    for number, name in [
        (before, "张三"),
        (on_first_day, "李四"),
        (unknown_day, "王五"),
        (by_death_file, "赵六"),
        (late_death_file, "钱七"),
    ]:
        world.pay(number, name)
    rows, summary = run(world, tmp_path)
    assert reasons(rows) == ["DECEASED", "", "DECEASED", "DECEASED", ""]
    assert summary["reasons"]["DECEASED"] == 3  # type: ignore[index]


def test_imprisoned_only_when_the_programme_stops_and_serving_on_the_first_day(
    tmp_path: Path,
) -> None:
    world = World()
    serving = world.person(1)
    released = world.person(2, "李四")
    last_day = world.person(3, "王五")
    not_yet = world.person(4, "赵六")
    world.prison.extend(
        [
            [serving, "张三", "2024-01-01", ""],
            [released, "李四", "2020-01-01", "2026-02-28"],
            [last_day, "王五", "2020-01-01", "2026-03-01"],
            [not_yet, "赵六", "2026-03-02", "2027-01-01"],
        ]
    )
    world.pay(serving)
    world.pay(released, "李四")
    world.pay(last_day, "王五")
    world.pay(not_yet, "赵六")
    rows, _ = run(world, tmp_path)
    assert reasons(rows) == ["IMPRISONED", "", "IMPRISONED", ""]
    injury_rows, _ = run(world, tmp_path, programme=INJURY)
    assert reasons(injury_rows) == ["", "", "", ""]


def test_no_card_account(tmp_path: Path) -> None:
    world = World()
    ok_normal = world.person(1)
    ok_lost = world.person(2, "李四", card=("挂失", "已开户"))
    cancelled = world.person(3, "王五", card=("注销", "已开户"))
    not_opened = world.person(4, "赵六", card=("正常", "未开户"))
    failed = world.person(5, "钱七", card=("正常", "开户失败"))
    no_card = world.person(6, "孙八", card=None)
    # A cancelled old card beside a usable new one: the new one counts.
    replaced = world.person(7, "周九", card=("注销", "已开户"))
    world.cards.append([replaced, "K2", "正常", "已开户", "邮储银行", "2"])
    for number, name in [
        (ok_normal, "张三"),
        (ok_lost, "李四"),
        (cancelled, "王五"),
        (not_opened, "赵六"),
        (failed, "钱七"),
        (no_card, "孙八"),
        (replaced, "周九"),
    ]:
        world.pay(number, name)
    rows, _ = run(world, tmp_path)
    assert reasons(rows) == ["", "", *["NO_CARD_ACCOUNT"] * 4, ""]


def test_duplicate_in_batch_on_the_later_rows_only(tmp_path: Path) -> None:
    world = World()
    a = world.person(1)
    world.pay(a)
    world.pay(a[:6] + a[8:17])  # the same person, by the 15-digit number
    world.pay(a.lower())
    rows, summary = run(world, tmp_path)
    assert reasons(rows) == ["", "DUPLICATE_IN_BATCH", "DUPLICATE_IN_BATCH"]
    assert summary["payable_rows"] == 1


def test_already_paid_same_person_programme_and_period(tmp_path: Path) -> None:
    world = World()
    paid = world.person(1)
    other_period = world.person(2, "李四")
    other_programme = world.person(3, "王五")
    written_differently = world.person(4, "赵六")
    world.paid.extend(
        [
            [paid, PENSION.name, "2026-03", "1234.50"],
            [other_period, PENSION.name, "2026-02", "1234.50"],
            [other_programme, INJURY.name, "2026-03", "1234.50"],
            [written_differently, PENSION.name, "202603", "1234.50"],
        ]
    )
    for number, name in [
        (paid, "张三"),
        (other_period, "李四"),
        (other_programme, "王五"),
        (written_differently, "赵六"),
    ]:
        world.pay(number, name)
    rows, _ = run(world, tmp_path)
    assert reasons(rows) == ["ALREADY_PAID", "", "", "ALREADY_PAID"]


@pytest.mark.parametrize(
    ("amount", "fen"),
    [
        ("", None),
        ("abc", None),
        ("0", None),
        ("-5", None),
        ("1.234", None),
        ("10000.01", None),  # above the programme's limit of 10,000 yuan
        ("10,000.00", "1000000"),
        ("１２３４．５", "123450"),
        ("¥ 1,234.5", "123450"),
    ],
)
def test_amount_invalid(tmp_path: Path, amount: str, fen: str | None) -> None:
    world = World()
    world.pay(world.person(1), amount=amount)
    rows, summary = run(world, tmp_path)
    if fen is None:
        assert reasons(rows) == ["AMOUNT_INVALID"]
        assert rows[0]["amount_fen"] == ""
        assert summary["payable_fen"] == 0
    else:
        assert reasons(rows) == [""]
        assert rows[0]["amount_fen"] == fen


def test_several_reasons_listed_in_the_fixed_order(tmp_path: Path) -> None:
    world = World()
    a = world.person(1, "张三", status="死亡", death_date="2020-01-01", card=("注销", "已开户"))
    world.prison.append([a, "张三", "2019-01-01", ""])
    world.paid.append([a, PENSION.name, "2026-03", "1"])
    world.pay(a)
    world.pay(a, "李四", amount="x")
    rows, summary = run(world, tmp_path)
    assert reasons(rows) == [
        "DECEASED;IMPRISONED;NO_CARD_ACCOUNT;ALREADY_PAID",
        "NAME_MISMATCH;DECEASED;IMPRISONED;NO_CARD_ACCOUNT;DUPLICATE_IN_BATCH;ALREADY_PAID;"
        "AMOUNT_INVALID",
    ]
    assert summary["payable_rows"] == 0
    assert summary["reasons"]["DECEASED"] == 2  # type: ignore[index]


def test_unknown_death_day_counts_as_dead_and_an_odd_status_does_not(tmp_path: Path) -> None:
    world = World()
    undated = world.person(1)
    odd_status = world.person(2, "李四", status="待核实")
    full_width_status = world.person(3, "王五", status="死亡 ")
    world.deaths.append([undated, "张三", "不详"])
    world.pay(undated)
    world.pay(odd_status, "李四")
    world.pay(full_width_status, "王五")
    rows, _ = run(world, tmp_path)
    assert reasons(rows) == ["DECEASED", "", "DECEASED"]
