"""`shebao cards check-applications`: the file contract other systems depend on."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from tests.unit.cards.samples import id_number, photo

pytestmark = pytest.mark.integration

AS_OF = "2025-06-30"
OK = id_number(birth=date(1990, 5, 1), sequence=11)
OLD = id_number(birth=date(1960, 1, 1), sequence=21)
DEAD = id_number(birth=date(1980, 1, 1), sequence=31)
CARD_HOLDER = id_number(birth=date(1985, 1, 1), sequence=41)
STUDENT = id_number(birth=date(2010, 9, 1), sequence=51)
STRANGER = id_number(area="430102", birth=date(1985, 1, 1), sequence=61)
BAD = OK[:17] + ("0" if OK[17] != "0" else "1")

APPLICATION_HEADER = ["银行", "姓名", "性别", "身份证号(18位)", "联系电话", "工作证号(学籍号)"]
APPLICATIONS = [
    ["农业银行", "张伟", "男", OK, "13800138000", "GZ001"],
    ["邮储银行", "李芳", "女", OLD, "13900139000", "GZ002"],
    ["农业银行", "王强", "男", DEAD, "13700137000", "GZ003"],
    ["工商银行", "赵敏", "女", CARD_HOLDER, "1370013700", "GZ004"],
    ["中国农业银行", "刘洋", "男", STUDENT, "13600136000", "XJ2023001"],
    ["农业银行", "陈静", "女", STRANGER, "13500135000", "GZ006"],
    ["农业银行", "杨磊", "男", BAD, "13400134000", "GZ007"],
    ["农业银行", "张伟", "男", OK, "13800138000", "GZ001"],
]


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    population = tmp_path / "population.csv"
    with population.open("w", encoding="gb18030", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "公民身份号码",
                "姓名",
                "性别",
                "出生日期",
                "民族",
                "户籍地区划代码",
                "户号",
                "与户主关系",
                "户籍类型",
                "人员状态",
                "死亡日期",
            ]
        )
        for pid, name, status, death in (
            (OK, "张伟", "正常", ""),
            (OLD, "李芳", "正常", ""),
            (DEAD, "王强", "死亡", "2024-01-01"),
            (CARD_HOLDER, "赵敏", "正常", ""),
            (STUDENT, "刘洋", "正常", ""),
        ):
            out.writerow([pid, name, "", "", "汉族", "440113001", "", "", "户籍", status, death])
    applications = tmp_path / "applications.csv"
    with applications.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(APPLICATION_HEADER)
        out.writerows(APPLICATIONS)
    cards = tmp_path / "cards.csv"
    cards.write_text(
        f"社会保障号码,卡号,卡状态\n{CARD_HOLDER},B7K334774,挂失\n{OK},X00000019,注销\n",
        encoding="utf-8",
    )
    photos = tmp_path / "photos.zip"
    with zipfile.ZipFile(photos, "w") as archive:
        archive.writestr(f"{OK}.jpg", photo())
        archive.writestr(f"{OLD}.jpg", photo(seed=2))
        archive.writestr(f"{DEAD}.jpg", photo(seed=3))
        archive.writestr(f"{CARD_HOLDER}.jpg", photo(background=100))  # dark background
        archive.writestr("XJ2023001.jpg", photo(seed=4))  # named by student number
        archive.writestr(f"{BAD}.jpg", photo(seed=5))
    return {
        "population": population,
        "applications": applications,
        "cards": cards,
        "photos": photos,
    }


def check(inputs: dict[str, Path], out: Path, *extra: str) -> list[dict[str, str]]:
    call_command(
        "cards",
        "check-applications",
        "--population",
        str(inputs["population"]),
        "--applications",
        str(inputs["applications"]),
        "--as-of",
        AS_OF,
        "--out",
        str(out),
        *extra,
    )
    text = (out / "eligibility.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "row,id_number,name,eligible,reasons"
    return list(csv.DictReader(text.splitlines()))


def test_everything_checked(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    rows = check(
        inputs,
        out,
        "--photos",
        str(inputs["photos"]),
        "--cards",
        str(inputs["cards"]),
        "--banks",
        "农业银行，邮储银行",
        "--programme",
        "panyu",
    )
    assert [(r["row"], r["id_number"], r["name"], r["eligible"], r["reasons"]) for r in rows] == [
        ("1", OK, "张伟", "1", ""),
        ("2", OLD, "李芳", "0", "OUT_OF_SCOPE"),
        ("3", DEAD, "王强", "0", "DECEASED"),
        (
            "4",
            CARD_HOLDER,
            "赵敏",
            "0",
            "PHOTO_QUALITY;HAS_CARD;INVALID_PHONE;BANK_NOT_COOPERATING",
        ),
        ("5", STUDENT, "刘洋", "1", ""),
        ("6", STRANGER, "陈静", "0", "NOT_IN_POPULATION;NO_PHOTO"),
        ("7", BAD, "杨磊", "0", "INVALID_ID"),
        ("8", OK, "张伟", "0", "DUPLICATE_APPLICATION"),
    ]
    # An eligible row ends in a bare comma.
    assert (out / "eligibility.csv").read_text(encoding="utf-8").splitlines()[1] == (
        f"1,{OK},张伟,1,"
    )

    book = CalamineWorkbook.from_path(str(out / "eligibility.xlsx"))
    assert book.sheet_names == ["不符合制卡条件（更正后重新提交）", "全部检查结果"]
    to_fix = [[str(v) for v in r] for r in book.get_sheet_by_index(0).to_python()]
    header = ["行号", *APPLICATION_HEADER, "是否符合制卡条件", "不符合制卡条件原因", "原因代码"]
    assert to_fix[0] == header
    assert [r[0] for r in to_fix[1:]] == ["2.0", "3.0", "4.0", "6.0", "7.0", "8.0"]
    holder = to_fix[3]
    assert holder[1:7] == APPLICATIONS[3]  # the unit's own columns, as sent
    assert holder[7] == "否"
    photo_reason, *others = holder[8].split("；")
    assert photo_reason.startswith("照片不符合制卡要求：照片背景不够浅（亮度 ")
    assert others == [
        "已持有有效的社会保障卡：已有状态为正常或挂失的社会保障卡",
        "联系电话无效：手机号码格式不正确：应为11位数字",
        "所选银行不是合作银行：“工商银行”，合作银行为农业银行、邮储银行",
    ]
    everything = [[str(v) for v in r] for r in book.get_sheet_by_index(1).to_python()]
    assert len(everything) == 1 + len(APPLICATIONS)
    assert everything[1][7:9] == ["是", ""]


def test_without_options_the_programme_the_system_runs_applies(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """No --programme: the rules of SHEBAO_CARD_PROGRAMME (default: household-registered
    under 60), the same the applications get on the pages; no bank, card or photo check."""
    rows = check(inputs, tmp_path / "out")
    assert [r["reasons"] for r in rows] == [
        "",
        "OUT_OF_SCOPE",
        "DECEASED",
        "INVALID_PHONE",
        "",
        "NOT_IN_POPULATION",
        "INVALID_ID",
        "DUPLICATE_APPLICATION",
    ]


def test_the_feedback_file_can_be_corrected_and_sent_again(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    first = tmp_path / "first"
    check(inputs, first, "--cards", str(inputs["cards"]), "--banks", "农业银行,邮储银行")
    # The unit corrects the phone and the bank of 赵敏 in the first sheet and re-submits it.
    sheet_in = CalamineWorkbook.from_path(str(first / "eligibility.xlsx")).get_sheet_by_index(0)
    data = sheet_in.to_python()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for record in data:
        if record[4] == CARD_HOLDER:
            record[1], record[5] = "邮储银行", "13700137000"
        sheet.append(record)
    resubmitted = tmp_path / "again.xlsx"
    book.save(resubmitted)
    again = check(
        {**inputs, "applications": resubmitted},
        tmp_path / "second",
        "--cards",
        str(inputs["cards"]),
        "--banks",
        "农业银行,邮储银行",
    )
    assert [(r["id_number"], r["reasons"]) for r in again] == [
        (OLD, "OUT_OF_SCOPE"),
        (DEAD, "DECEASED"),
        (CARD_HOLDER, "HAS_CARD"),
        (STRANGER, "NOT_IN_POPULATION"),
        (BAD, "INVALID_ID"),
        (OK, ""),  # alone in this file, row 8 of the first is no longer a duplicate
    ]


def test_a_toml_programme(inputs: dict[str, Path], tmp_path: Path) -> None:
    config = tmp_path / "p.toml"
    config.write_text(
        'name = "strict"\n[[scope]]\nrule = "hukou_age_limit"\nmax_age = 30\n', encoding="utf-8"
    )
    rows = check(inputs, tmp_path / "out", "--programme", str(config))
    assert [r["reasons"] for r in rows][:2] == ["OUT_OF_SCOPE", "OUT_OF_SCOPE"]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("missing_column", "申领文件（applications.csv）第 1 行的表头缺少必需的列：身份证号(18位)"),
        ("no_population", "人口库文件不存在"),
        ("no_bank_column", "申领文件（applications.csv）没有“银行”列，无法检查是否为合作银行"),
        ("bad_zip", "照片压缩包（photos.zip）无法读取"),
        ("programme", "未知的发卡项目：nowhere"),
    ],
)
def test_unusable_input_is_refused_with_a_chinese_message(
    inputs: dict[str, Path], tmp_path: Path, change: str, says: str
) -> None:
    extra: list[str] = []
    if change == "missing_column":
        inputs["applications"].write_text("银行,姓名,联系电话\n农业银行,张伟,13800138000\n")
    elif change == "no_bank_column":
        inputs["applications"].write_text(f"姓名,身份证号,联系电话\n张伟,{OK},13800138000\n")
        extra = ["--banks", "农业银行"]
    elif change == "no_population":
        inputs["population"].unlink()
    elif change == "bad_zip":
        inputs["photos"].write_bytes(b"not a zip")
        extra = ["--photos", str(inputs["photos"])]
    else:
        extra = ["--programme", "nowhere"]
    with pytest.raises(CommandError, match=re.escape(says)):
        check(inputs, tmp_path / "out", *extra)
    assert not (tmp_path / "out" / "eligibility.csv").exists()


def test_the_console_command_exits_non_zero_on_bad_input(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    base = [
        sys.executable,
        "-m",
        "shebao",
        "cards",
        "check-applications",
        "--population",
        str(inputs["population"]),
        "--applications",
        str(inputs["applications"]),
        "--as-of",
        AS_OF,
        "--out",
        str(tmp_path / "out"),
    ]
    done = subprocess.run(base, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert "共 8 行：符合制卡条件 2 行，不符合 6 行" in done.stdout

    inputs["applications"].write_bytes(b"\xff\xfe\xfa\xfb\x81\x30")
    done = subprocess.run(base, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode != 0
    assert "申领文件（applications.csv）的文字编码无法识别" in done.stderr

    done = subprocess.run(  # noqa: S603
        [*base[:-4], "--as-of", "2025-13-01", *base[-2:]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "日期应为 YYYY-MM-DD 格式" in done.stderr
