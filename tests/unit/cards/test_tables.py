"""Reading the units' and departments' spreadsheets."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from shebao.cards.domain.filecheck import APPLICATION_COLUMNS, POPULATION_COLUMNS
from shebao.cards.domain.tables import TableError, header_key, read_table

pytestmark = pytest.mark.unit

HEADER = "银行,姓名,性别,身份证号(18位),联系电话,工作证号(学籍号)"
ROW1 = "农业银行,张三,男,44011319900101001X,13800138000,GZ001"
ROW2 = "邮储银行,李四,女,440113199001010028,13900139000,GZ002"


def read(path: Path) -> dict[str, list[str]]:
    table = read_table(path, APPLICATION_COLUMNS, what="申领文件")
    frame = table.canonical(APPLICATION_COLUMNS)
    return {column: frame[column].to_list() for column in frame.columns}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_every_accepted_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(f"{HEADER}\n{ROW1}\n{ROW2}\n", encoding=encoding)
    data = read(path)
    assert data["__row"] == [1, 2]
    assert data["id_number"] == ["44011319900101001X", "440113199001010028"]
    assert data["name"] == ["张三", "李四"]
    assert data["work_number"] == ["GZ001", "GZ002"]


def test_an_undecodable_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(HEADER.encode("utf-8") + b"\n\xff\xfe\xfa\xfb\x81\x30\n")
    with pytest.raises(TableError) as caught:
        read(path)
    assert caught.value.code == "UNREADABLE_FILE"
    assert "UTF-8 或 GB18030" in caught.value.message


def test_title_rows_blank_rows_and_padding(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "某某中学社保卡集体申领名单,,,,,\n\n"
        f"{HEADER}\n {ROW1.replace('张三', ' 张三 ')} \n,,,,,\n\n{ROW2}\n",
        encoding="utf-8",
    )
    data = read(path)
    # Row numbers count every line under the header; empty ones are dropped.
    assert data["__row"] == [1, 4]
    assert data["name"] == ["张三", "李四"]
    assert data["bank"] == ["农业银行", "邮储银行"]


@pytest.mark.parametrize(
    "id_header",
    [
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "社会保障号码",
        "身份證號（18位）",
        "身份证号(18位)*",
    ],
)
def test_header_aliases_traditional_and_full_width_forms(tmp_path: Path, id_header: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        f"銀行,姓名,{id_header},聯系電話\n{ROW1.split(',')[0]},王五,44011319900101001X,13800138000\n"
    )
    data = read(path)
    assert data["id_number"] == ["44011319900101001X"]
    assert data["phone"] == ["13800138000"]
    assert data["work_number"] == [""]  # an optional column may be missing


def test_header_key_folds_forms() -> None:
    assert header_key(" 身份證號（18位）* ") == header_key("身份证号(18位)")


def test_missing_required_columns_are_named_with_their_aliases(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("银行,姓名,联系电话\n农业银行,张三,13800138000\n")
    with pytest.raises(TableError) as caught:
        read(path)
    assert caught.value.code == "MISSING_COLUMNS"
    message = caught.value.message
    assert "申领文件（a.csv）第 1 行的表头缺少必需的列：身份证号(18位)" in message
    assert "社会保障号码" in message


def test_a_file_without_any_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(TableError, match="找不到表头") as caught:
        read(path)
    assert caught.value.code == "HEADER_NOT_FOUND"


def test_missing_unknown_format_and_garbage_files(tmp_path: Path) -> None:
    with pytest.raises(TableError) as caught:
        read(tmp_path / "nope.csv")
    assert caught.value.code == "FILE_NOT_FOUND"
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    with pytest.raises(TableError) as caught:
        read(tmp_path / "a.pdf")
    assert caught.value.code == "UNSUPPORTED_FORMAT"
    (tmp_path / "a.xlsx").write_bytes(b"not a zip")
    with pytest.raises(TableError) as caught:
        read(tmp_path / "a.xlsx")
    assert caught.value.code == "UNREADABLE_FILE"


def test_xlsx_with_title_rows_numbers_and_dates(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["番禺区某局社保卡申领表"])
    sheet.append([])
    sheet.append(HEADER.split(","))
    sheet.append(["农业银行", "张三", "男", "44011319900101001X", 13800138000, 2013001])
    sheet.append([None] * 6)
    sheet.append(["邮储银行", "李四", "女", "440113199001010028", "139 0013 9000", "GZ002"])
    path = tmp_path / "a.xlsx"
    book.save(path)
    data = read(path)
    assert data["__row"] == [1, 3]
    assert data["phone"] == ["13800138000", "139 0013 9000"]  # numbers lose no digits, no ".0"
    assert data["work_number"] == ["2013001", "GZ002"]


def test_xlsx_header_may_be_on_a_later_sheet(tmp_path: Path) -> None:
    book = Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "填表说明"
    notes.append(["请按以下格式填写"])
    population = book.create_sheet("人口")
    population.append(["公民身份号码", "姓名", "户籍地区划代码", "人员状态", "死亡日期"])
    population.append(["44011319900101001X", "张三", 440113, "死亡", date(2024, 3, 1)])
    path = tmp_path / "p.xlsx"
    book.save(path)
    table = read_table(path, POPULATION_COLUMNS, what="人口库文件")
    frame = table.canonical(POPULATION_COLUMNS)
    assert frame.row(0, named=True) == {
        "__row": 1,
        "id_number": "44011319900101001X",
        "name": "张三",
        "region_code": "440113",
        "status": "死亡",
        "hukou_type": "",
        "death_date": "2024-03-01",
        "insured": "",
        "enterprise_employee": "",
    }


def test_duplicate_header_names_are_kept_apart(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(f"{HEADER},备注,备注\n{ROW1},a,b\n")
    table = read_table(path, APPLICATION_COLUMNS, what="申领文件")
    assert table.original_columns[-2:] == ("备注", "备注_2")
    assert table.frame["备注_2"].to_list() == ["b"]
