"""Reading department files: encodings, title rows, header aliases, kinds, dates, codes, and
which rows are rejected (with row, column and reason) or the whole file refused."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shebao.identity.id_number import id_number_check_char
from shebao.intake.formats import (
    IntakeError,
    IntakeErrorCode,
    SourceKind,
    parse_source,
    recognise_kind,
)

pytestmark = pytest.mark.unit


def make_id(county: str = "420702", birth: str = "19900102", seq: int = 1) -> str:
    body = f"{county}{birth}{seq:03d}"
    return body + id_number_check_char(body)


P1, P2 = make_id(seq=1), make_id(seq=2)


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def records(path: Path, kind: SourceKind | None = None) -> list[dict[str, Any]]:
    return parse_source(path, kind).table.to_pylist()


# --- encodings ----------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    path = write_csv(
        tmp_path / "death.csv",
        [["公民身份号码", "姓名", "死亡日期"], [P1, "張偉", "2020-01-02"]],
        encoding,
    )
    parsed = parse_source(path)
    assert parsed.kind is SourceKind.DEATH
    assert parsed.encoding == ("gb18030" if encoding in {"gb18030", "gbk"} else "utf-8")
    assert parsed.table.to_pylist()[0]["name"] == "張偉"


def test_a_long_gb18030_file_is_read_to_the_end(tmp_path: Path) -> None:
    rows = [["公民身份号码", "姓名", "死亡日期"]] + [[P1, "A" * 40, "2020-01-02"]] * 20_000
    rows.append([P2, "㐀王", "2020-01-02"])  # 㐀 needs GB18030's four-byte form
    table = parse_source(write_csv(tmp_path / "death.csv", rows, "gb18030")).table
    assert table.num_rows == 20_001
    assert table.column("name")[-1].as_py() == "㐀王"


def test_a_file_mixing_utf8_and_gbk_is_refused(tmp_path: Path) -> None:
    rows = [["公民身份号码", "姓名", "死亡日期"]] + [[P1, "A" * 40, "2020-01-02"]] * 20_000
    path = write_csv(tmp_path / "death.csv", rows)  # more than the sniffed megabyte
    with path.open("ab") as handle:
        handle.write(f"{P2},王芳,2020-01-02\n".encode("gbk"))
    with pytest.raises(IntakeError) as caught:
        parse_source(path)
    assert caught.value.code == IntakeErrorCode.BAD_ENCODING
    assert "编码不一致" in caught.value.message
    assert "第20002行“姓名”列" in caught.value.message  # the header is line 1


def test_a_utf8_file_with_a_stray_byte_is_refused_as_an_encoding_problem(tmp_path: Path) -> None:
    """Not as missing columns (GB18030 decodes it as nonsense headers): the line and the
    column of the first bad byte, the name the owner gave the file, what to do."""
    path = tmp_path / "upload.csv"
    path.write_bytes(
        "公民身份号码,姓名,死亡日期\n".encode()
        + f"{P1},王芳,2020-01-02\n".encode()
        + P2.encode() + b",\xff\xfe\xd0,2020-01-02\n"
    )  # fmt: skip
    with pytest.raises(IntakeError) as caught:
        parse_source(path, SourceKind.DEATH, name="死亡名单.csv")
    error = caught.value
    assert error.code == IntakeErrorCode.BAD_ENCODING
    assert "死亡名单.csv" in error.message and "upload" not in error.message
    assert "第3行“姓名”列" in error.message
    assert "UTF-8 或 GB18030" in error.message
    assert "缺少" not in error.message


def test_bytes_of_no_chinese_encoding_are_refused_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes("公民身份号码,姓名,死亡日期\n".encode() + b"\x80\x80\x80,\x81\x30\xff\n")
    with pytest.raises(IntakeError) as caught:
        parse_source(path)
    assert caught.value.code == IntakeErrorCode.BAD_ENCODING
    assert "第2行" in caught.value.message


def test_a_file_that_is_not_xlsx_is_refused_in_chinese_by_its_own_name(tmp_path: Path) -> None:
    path = tmp_path / "0123abcd.xlsx"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(IntakeError) as caught:
        parse_source(path, name="参保名单.xlsx")
    message = caught.value.message
    assert caught.value.code == IntakeErrorCode.UNREADABLE_FILE
    assert "参保名单.xlsx" in message and "0123abcd" not in message
    assert "不是有效的 Excel 文件" in message
    assert not any("a" <= ch.lower() <= "z" for ch in message.replace("Excel", "")
                   .replace("xlsx", "").replace("CSV", "").replace("UTF", ""))  # fmt: skip


def test_an_unknown_kind_asks_for_the_kind_without_a_command_line_hint() -> None:
    with pytest.raises(IntakeError) as caught:
        recognise_kind(["公民身份号码", "姓名"], source="名单.csv")
    assert "类型=路径" not in caught.value.message
    assert "请指定数据类型" in caught.value.message


# --- headers, title rows, kinds -----------------------------------------------------------


ID_HEADERS = ["公民身份号码", "身份证号", "身份证号码", "社会保障号码", "*公民身份号码",
              "身份证号码（18位）", " 身份证号 "]  # fmt: skip


@pytest.mark.parametrize("header", ID_HEADERS)
def test_id_number_header_aliases(tmp_path: Path, header: str) -> None:
    path = write_csv(tmp_path / "d.csv", [[header, "姓名", "死亡日期"], [P1, "王", "2020-01-02"]])
    parsed = parse_source(path)
    assert parsed.columns["id_number"] == header.strip()
    assert parsed.table.column("id_number").to_pylist() == [P1]


def test_xlsx_with_five_title_rows_above_the_header(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for title in ["鄂州市服刑人员名单", "", "制表单位：司法局", "单位：人", "2026年6月"]:
        sheet.append([title])
    sheet.append(["公民身份号码", "姓名", "服刑起始日期", "服刑截止日期"])
    sheet.append([P1, "王", dt.date(2020, 1, 2), None])
    sheet.append([P2, "李", 43831, "2030/1/2"])  # an Excel serial number: 2020-01-01
    book.save(tmp_path / "prison.xlsx")
    parsed = parse_source(tmp_path / "prison.xlsx")
    assert (parsed.kind, parsed.header_line) == (SourceKind.PRISON, 6)
    assert [
        (r["row"], r["sentence_start"], r["sentence_end"]) for r in parsed.table.to_pylist()
    ] == [
        (1, dt.date(2020, 1, 2), None),
        (2, dt.date(2020, 1, 1), dt.date(2030, 1, 2)),
    ]


def test_parquet_with_typed_columns(tmp_path: Path) -> None:
    table = pa.table(
        {
            "身份证号码": [P1],
            "姓名": ["王"],
            "险种代码": pa.array([110.0]),  # codes that went through a dataframe as floats
            "参保状态": pa.array([1], pa.int64()),
            "参保地区划代码": pa.array([420702], pa.int64()),
            "参保日期": pa.array([dt.date(2010, 5, 6)], pa.date32()),
        }
    )
    pq.write_table(table, tmp_path / "e.parquet")
    (row,) = records(tmp_path / "e.parquet")
    assert (row["scheme_code"], row["enrollment_status"], row["insurance_region_code"]) == (
        "110", "active", "420702",
    )  # fmt: skip
    assert row["enrolled_on"] == dt.date(2010, 5, 6)


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        (["公民身份号码", "姓名", "户籍地区划代码", "人员状态", "死亡日期"], SourceKind.POPULATION),
        (["身份证号", "姓名", "险种代码", "参保状态", "参保地区划代码"], SourceKind.ENROLLMENT),
        (["社会保障号码", "姓名", "险种代码", "待遇状态"], SourceKind.BENEFIT),
        (["公民身份号码", "姓名", "死亡日期"], SourceKind.DEATH),
        (["公民身份号码", "姓名", "服刑起始日期"], SourceKind.PRISON),
        (["公民身份号码", "姓名", "学籍号"], SourceKind.STUDENT),
        (["统一社会信用代码", "单位名称"], SourceKind.EMPLOYER),
    ],
)
def test_kind_is_recognised_from_the_headers(headers: list[str], kind: SourceKind) -> None:
    assert recognise_kind(headers, source="x.csv") is kind


def test_a_file_of_id_numbers_and_names_only_is_not_recognised() -> None:
    with pytest.raises(IntakeError) as caught:
        recognise_kind(["公民身份号码", "姓名"], source="名单.csv")
    assert caught.value.code == IntakeErrorCode.UNKNOWN_KIND
    assert "名单.csv" in caught.value.message


def test_missing_required_column_refuses_the_whole_file(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "参保.csv", [["公民身份号码", "姓名", "险种代码"], [P1, "王", "110"]]
    )
    with pytest.raises(IntakeError) as caught:
        parse_source(path, SourceKind.ENROLLMENT)
    error = caught.value
    assert error.code == IntakeErrorCode.MISSING_COLUMN
    assert error.message == (
        "文件“参保.csv”（参保数据）缺少必需列：参保状态、参保地区划代码，整个文件未导入"
    )
    assert error.details[0]["missing"] == ["参保状态", "参保地区划代码"]


def test_two_columns_for_one_field_refuse_the_file(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "d.csv",
        [["身份证号码", "社会保障号码", "姓名", "死亡日期"], [P1, P1, "王", "2020-1-2"]],
    )
    with pytest.raises(IntakeError) as caught:
        parse_source(path)
    assert caught.value.code == IntakeErrorCode.DUPLICATE_COLUMN


def test_empty_and_unsupported_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "x.json").write_text("{}")
    codes = []
    for name in ["empty.csv", "x.json", "none.csv"]:
        with pytest.raises(IntakeError) as caught:
            parse_source(tmp_path / name)
        codes.append(caught.value.code)
    assert codes == [IntakeErrorCode.NO_HEADER, IntakeErrorCode.UNSUPPORTED_FORMAT,
                     IntakeErrorCode.FILE_NOT_FOUND]  # fmt: skip


# --- values, rejections -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["1990-01-02", "1990-1-2", "1990/1/2", "1990.1.2", "19900102", "1990年1月2日",
     "32875", "1990-01-02 00:00:00", "１９９０-01-02"],
)  # fmt: skip
def test_date_formats(tmp_path: Path, text: str) -> None:
    path = write_csv(tmp_path / "d.csv", [["公民身份号码", "姓名", "死亡日期"], [P1, "王", text]])
    assert records(path)[0]["death_date"] == dt.date(1990, 1, 2)


def test_codes_and_status_words(tmp_path: Path) -> None:
    rows = [["公民身份号码", "姓名", "险种代码", "参保状态", "参保地区划代码"]]
    statuses = ["参保缴费", "1", "暂停缴费", "2", "终止参保", "终止缴费", "3", " 3 "]
    rows += [[P1, "王", "城乡居民基本养老保险", s, "420702"] for s in statuses]
    path = write_csv(tmp_path / "e.csv", rows)
    table = parse_source(path).table
    assert table.column("enrollment_status").to_pylist() == [
        "active", "active", "suspended", "suspended",
        "terminated", "terminated", "terminated", "terminated",
    ]  # fmt: skip
    assert set(table.column("scheme_code").to_pylist()) == {"170"}


def test_unreadable_required_cells_reject_the_row_and_the_rest_imports(tmp_path: Path) -> None:
    rows = [
        ["公民身份号码", "姓名", "险种代码", "参保状态", "参保地区划代码", "参保日期"],
        [P1, "王", "110", "1", "420702", "不详"],  # optional date unreadable: kept, empty
        [P1, "王", "999", "1", "420702", ""],  # unknown scheme
        [P1, "王", "110", "参保中", "42070", ""],  # unknown status and a bad region code
        ["", "", "", "", "", ""],  # blank: skipped, keeps its number
        ["12345", "另一个名字", "310", "2", "420702", ""],  # invalid ID: not a rejection
        [P2, "王", "390", "", "420702", ""],  # empty status
    ]
    parsed = parse_source(write_csv(tmp_path / "e.csv", rows))
    assert [r["row"] for r in parsed.table.to_pylist()] == [1, 5]
    assert parsed.table.to_pylist()[0]["enrolled_on"] is None
    assert (parsed.rows_read, parsed.rows_accepted, parsed.rows_rejected) == (5, 2, 3)
    rejected = [(r["row"], r["column"], r["code"]) for r in parsed.rejected.to_pylist()]
    assert rejected == [
        (2, "险种代码", "UNKNOWN_SCHEME"),
        (3, "参保状态", "UNKNOWN_STATUS"),
        (3, "参保地区划代码", "BAD_REGION_CODE"),
        (6, "参保状态", "MISSING_VALUE"),
    ]
    reasons = [r["reason"] for r in parsed.rejected.to_pylist()]
    assert reasons[0].startswith("“险种代码”的值“999”无法识别")
    assert reasons[3] == "必填列“参保状态”为空"


def test_unparseable_date_in_a_required_column_rejects(tmp_path: Path) -> None:
    rows = [
        ["公民身份号码", "姓名", "死亡日期"],
        [P1, "王", "1990-02-30"],
        [P2, "李", "2020-01-02"],
    ]
    parsed = parse_source(write_csv(tmp_path / "d.csv", rows))
    assert parsed.table.column("row").to_pylist() == [2]
    (reject,) = parsed.rejected.to_pylist()
    assert (reject["source"], reject["row"], reject["code"]) == ("d.csv", 1, "BAD_DATE")
    assert "1990-02-30" in reject["reason"]


def test_id_numbers_are_kept_as_read_and_normalised(tmp_path: Path) -> None:
    p15 = P1[:6] + P1[8:17]
    lower = next(make_id(seq=s) for s in range(1, 999) if make_id(seq=s).endswith("X"))
    full = "".join(chr(ord(c) + 0xFEE0) for c in P2)
    rows = [["公民身份号码", "姓名", "死亡日期"]] + [
        [raw, "王", "2020-01-02"] for raw in (p15, lower.lower(), full, " " + P1)
    ]
    table = parse_source(write_csv(tmp_path / "d.csv", rows)).table
    assert table.column("id_number").to_pylist() == [P1, lower, P2, P1]
    # Surrounding white space is trimmed from every cell, so "as read" is without it.
    assert table.column("id_number_raw").to_pylist() == [p15, lower.lower(), full, P1]


def test_snapshot_is_parquet_with_source_and_row(tmp_path: Path) -> None:
    rows = [["公民身份号码", "姓名", "死亡日期"], [P1, "王", "2020-01-02"]]
    parsed = parse_source(write_csv(tmp_path / "死亡.csv", rows))
    target = parsed.write_snapshot(tmp_path / "snap" / "death.parquet")
    snapshot = pq.read_table(target)
    assert snapshot.column_names[:4] == ["source", "row", "id_number_raw", "id_number"]
    assert snapshot.to_pylist()[0]["source"] == "死亡.csv"


@pytest.mark.parametrize(
    ("text", "month"),
    [("202406", "202406"), ("2024-06", "202406"), ("2024/6", "202406"), ("2024年6月", "202406"),
     ("2024-06-15", "202406"), ("２０２４０６", "202406"), ("202413", None), ("下月", None)],
)  # fmt: skip
def test_benefit_months(tmp_path: Path, text: str, month: str | None) -> None:
    rows = [["公民身份号码", "姓名", "险种代码", "待遇状态", "最近发放年月"],
            [P1, "王", "110", "正常发放", text]]  # fmt: skip
    (row,) = records(write_csv(tmp_path / "b.csv", rows))
    assert row["last_paid_month"] == month  # optional: unreadable is empty, not rejected


def test_only_the_fields_asked_for_are_standardised_and_the_rows_are_the_same(
    tmp_path: Path,
) -> None:
    rows = [
        ["公民身份号码", "姓名", "险种代码", "参保状态", "参保地区划代码", "参保日期"],
        [P1, "王", "110", "1", "420702", "1990-01-02"],
        ["", "", "", "", "", "1990-01-02"],  # only an optional cell: read, and rejected
        ["", "", "", "", "", ""],  # blank: skipped
        [P2, "李", "999", "1", "420702", ""],  # unknown scheme
    ]
    path = write_csv(tmp_path / "e.csv", rows)
    whole = parse_source(path)
    fields = {SourceKind.ENROLLMENT: {"id_number", "name", "scheme_code"}}
    narrow = parse_source(path, fields=fields)
    assert "enrolled_on" in whole.table.column_names
    assert "enrolled_on" not in narrow.table.column_names
    # Required fields are standardised whether asked for or not: they decide rejections.
    assert {"enrollment_status", "insurance_region_code"} <= set(narrow.table.column_names)
    assert (narrow.rows_read, narrow.rows_accepted) == (whole.rows_read, whole.rows_accepted)
    assert narrow.rows_read == 3
    assert narrow.rejected.to_pylist() == whole.rejected.to_pylist()
    for name in narrow.table.column_names:
        assert narrow.table.column(name).to_pylist() == whole.table.column(name).to_pylist()
