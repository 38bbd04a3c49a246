"""The files a clerk really sends: encodings, XLSX with title rows, blank rows, odd cells; and
the files the check cannot use, refused in Chinese with nothing written."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from shebao.errors import ShebaoError
from shebao.payments.domain.filecheck import check_payment_files
from shebao.payments.domain.programme import load_programme
from tests.unit.payments.world import BATCH_HEADER, World, id_number, write_csv

pytestmark = pytest.mark.unit

PENSION = load_programme("城乡居民基本养老保险待遇")


def run(tmp_path: Path, **files: Path) -> list[dict[str, str]]:
    out = tmp_path / "out"
    check_payment_files(
        programme=PENSION,
        period=PENSION.parse_period("2026-03"),
        out_dir=out,
        as_of=date(2026, 3, 15),
        **files,
    )
    with (out / "payments.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def two_people() -> tuple[World, str, str]:
    world = World()
    return world, world.person(1), world.person(2, "李四")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_every_file_in_every_accepted_encoding(tmp_path: Path, encoding: str) -> None:
    world, a, b = two_people()
    world.pay(a)
    world.pay(b, "李四", "1,000")
    files = world.files(tmp_path)
    for path in files.values():
        path.write_text(path.read_text(encoding="utf-8"), encoding=encoding)
    rows = run(tmp_path, **files)
    assert [(r["name"], r["amount_fen"], r["reasons"]) for r in rows] == [
        ("张三", "123450", ""),
        ("李四", "100000", ""),
    ]


def test_a_clerks_batch_title_rows_blank_rows_trailing_spaces_odd_numbers(tmp_path: Path) -> None:
    world, a, b = two_people()
    files = world.files(tmp_path)
    fifteen = b[:6] + b[8:17]
    full_width = a.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    files["batch"] = write_csv(
        tmp_path / "clerk.csv",
        ("身份证号", "姓名 ", "发放金额（元）"),
        [
            [full_width + "  ", "张三 ", " 1,234.50 "],
            ["", "", ""],
            [fifteen, "李四", "２００"],
        ],
        title_rows=["2026年3月城乡居民养老金发放名册", "制表单位：某区社保中心"],
        encoding="gb18030",
    )
    rows = run(tmp_path, **files)
    # The header is on line 3; the blank row keeps its number: rows are the clerk's rows.
    assert [(r["row"], r["id_number"], r["amount_fen"], r["reasons"]) for r in rows] == [
        ("1", a, "123450", ""),
        ("3", b, "20000", ""),
    ]


def test_xlsx_batch_with_title_rows_and_numbers_typed_as_numbers(tmp_path: Path) -> None:
    world, a, b = two_people()
    files = world.files(tmp_path)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["某区2026年3月待遇发放表"])
    sheet.append([])
    sheet.append(list(BATCH_HEADER))
    sheet.append([a, "张三", 1234.5])
    sheet.append([b, "李四", 3000])
    book.save(tmp_path / "batch.xlsx")
    rows = run(tmp_path, **(files | {"batch": tmp_path / "batch.xlsx"}))
    assert [(r["row"], r["amount_fen"], r["reasons"]) for r in rows] == [
        ("1", "123450", ""),
        ("2", "300000", ""),
    ]


def test_population_with_other_accepted_headers_and_a_title_row(tmp_path: Path) -> None:
    world, a, b = two_people()
    world.pay(a)
    world.pay(b, "李四")
    files = world.files(tmp_path)
    files["population"] = write_csv(
        tmp_path / "人口.csv",
        ("身份证号码", "人员姓名", "户籍地行政区划代码", "人口状态", "死亡日期"),
        [[a, "张三", "440113", "正常", ""], [b, "李四", "440113", "死亡", "2026-01-01"]],
        title_rows=["公安人口库导出"],
        encoding="gb18030",
    )
    assert [r["reasons"] for r in run(tmp_path, **files)] == ["", "DECEASED"]


def test_optional_files_may_be_left_out(tmp_path: Path) -> None:
    world, a, _ = two_people()
    world.pay(a)
    files = world.files(tmp_path, optional=False)
    assert [r["reasons"] for r in run(tmp_path, **files)] == [""]


@pytest.mark.parametrize(
    ("which", "header", "expected"),
    [
        ("batch", ("社会保障号码", "姓名"), ["发放批次文件", "金额"]),
        ("cards", ("社会保障号码", "卡号", "卡状态"), ["持卡文件", "开户状态"]),
        ("paid", ("社会保障号码", "项目", "金额"), ["已发放文件", "发放期别"]),
        ("population", ("公民身份号码", "姓名", "户籍地区划代码"), ["population.csv", "人员状态"]),
        ("prison", ("公民身份号码", "姓名", "服刑截止日期"), ["prison.csv", "服刑起始日期"]),
    ],
)
def test_a_missing_column_names_the_file_and_column_and_writes_nothing(
    tmp_path: Path, which: str, header: tuple[str, ...], expected: list[str]
) -> None:
    world, a, _ = two_people()
    world.pay(a)
    files = world.files(tmp_path)
    write_csv(files[which], header, [["x"] * len(header)])
    with pytest.raises(ShebaoError) as raised:
        run(tmp_path, **files)
    for word in expected:
        assert word in raised.value.message
    assert not (tmp_path / "out").exists()


def test_missing_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    world, a, _ = two_people()
    world.pay(a)
    files = world.files(tmp_path)
    with pytest.raises(ShebaoError) as raised:
        run(tmp_path, **(files | {"cards": tmp_path / "nope.csv"}))
    assert "nope.csv" in raised.value.message
    broken = tmp_path / "batch.xlsx"
    broken.write_bytes(b"not a workbook")
    with pytest.raises(ShebaoError) as raised:
        run(tmp_path, **(files | {"batch": broken}))
    assert "batch.xlsx" in raised.value.message
    bad = tmp_path / "bad.csv"
    bad.write_bytes("社会保障号码,姓名,金额\n".encode() + b"\xff\xfe\x00\x81\n")
    with pytest.raises(ShebaoError):
        run(tmp_path, **(files | {"batch": bad}))
    assert not (tmp_path / "out").exists()


def test_an_earlier_output_is_replaced_whole(tmp_path: Path) -> None:
    world, a, b = two_people()
    world.pay(a)
    world.pay(b, "李四")
    files = world.files(tmp_path)
    assert len(run(tmp_path, **files)) == 2
    world.batch.pop()
    files = world.files(tmp_path)
    assert len(run(tmp_path, **files)) == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["payments.csv", "summary.json"]


def test_a_batch_with_a_header_and_no_rows(tmp_path: Path) -> None:
    world, _, _ = two_people()
    files = world.files(tmp_path)
    assert run(tmp_path, **files) == []
    summary = (tmp_path / "out" / "summary.json").read_text(encoding="utf-8")
    assert '"rows": 0' in summary
    assert '"payable_fen": 0' in summary


def test_numbers_not_in_normalised_form_in_the_large_files_still_match(tmp_path: Path) -> None:
    """The population, cards, deaths and earlier payments are cut down to the batch's people
    before anything is normalised: a number written there in another form (full-width behind
    a zero-width space, 15 digits, a lower-case x between blanks) is still that person."""
    world = World()
    a, b = world.person(1), world.person(2, "李四")
    seq = next(s for s in range(3, 400) if id_number(s).endswith("X"))
    c = world.person(seq, "王五")
    for number, name in ((a, "张三"), (b, "李四"), (c, "王五")):
        world.pay(number, name)
    forms = {
        a: "\u200b" + a.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"}) + " ",
        b: b[:6] + b[8:17],
        c: " " + c[:17] + "x ",
    }
    for row in (*world.population, *world.cards):
        row[0] = forms[row[0]]
    world.deaths.append([forms[a], "张三", "2026-02-01"])
    world.paid.append([forms[b], PENSION.name, "2026-03", "1234.50"])
    rows = run(tmp_path, **world.files(tmp_path))
    assert [(r["id_number"], r["reasons"]) for r in rows] == [
        (a, "DECEASED"),
        (b, "ALREADY_PAID"),
        (c, ""),
    ]
