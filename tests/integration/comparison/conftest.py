"""A planted test population: department files in every supported format, with each category
of finding planted once or more and each trap that must not become a finding.

The expected findings are declared case by case as the files are written (`expect`), never
computed by an engine. Row numbers are the 1-based data rows the builder wrote.

Files (formats and encodings are part of the test):
    population.csv    UTF-8 with BOM, standard headers
    enrollment.xlsx   two title rows and a blank row above the header, aliased headers,
                      numeric scheme and status codes, Excel dates, a 15-digit ID as a number
    enrollment2.csv   a second district's enrollments, full-width digits in an ID number
    benefit.csv       GB18030, header 社会保障号码, a lower-case x in an ID number
    death.csv         dates as 2025/3/1 and 2025年3月1日
    prison.parquet    date columns typed as dates
    student.csv       header with an asterisk (公民身份号码*)
    employer.csv      employers (no ID numbers)

PROBABLE_MATCH: rows whose ID number was mistyped (a digit, two digits swapped, a 15-digit
number that lost its century), some also with a homophone or the traditional form of the name,
each expected to be matched to its person (`matches`); and traps that must match nobody: a
different person with a similar name and a nearby number, strangers absent from the
population base, an empty number.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shebao.identity.id_number import id_number_check_char, is_valid_id_number

AS_OF = dt.date(2026, 6, 30)


def make_id(county: str, birth: str, seq: int) -> str:
    body = f"{county}{birth}{seq:03d}"
    return body + id_number_check_char(body)


def to_15(id18: str) -> str:
    return id18[:6] + id18[8:17]


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@dataclass
class Planted:
    directory: Path
    expected: set[tuple[str, str, int | None, str]] = field(default_factory=set)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # id -> population name
    rejected: set[tuple[str, int, str, str]] = field(default_factory=set)
    tags: dict[str, str] = field(default_factory=dict)  # ID numbers of particular cases
    # (file, row) -> the population ID number a PROBABLE_MATCH must name
    matches: dict[tuple[str, int], str] = field(default_factory=dict)

    def add(self, file: str, **cells: Any) -> int:
        """Append a data row; returns its 1-based data-row number."""
        self.rows.setdefault(file, []).append(cells)
        return len(self.rows[file])

    def expect(self, category: str, id_number: str, file: str = "", row: int | None = None) -> None:
        self.expected.add((category, file, row, id_number))

    def expected_of(self, category: str) -> set[tuple[str, int | None, str]]:
        return {(f, r, i) for c, f, r, i in self.expected if c == category}

    def path(self, file: str) -> Path:
        return self.directory / file

    @property
    def inputs(self) -> list[str]:
        """KIND=PATH arguments, as a user would pass them (two recognised from headers)."""
        return [
            f"population={self.path('population.csv')}",
            f"enrollment={self.path('enrollment.xlsx')}",
            str(self.path("enrollment2.csv")),
            f"benefit={self.path('benefit.csv')}",
            f"death={self.path('death.csv')}",
            str(self.path("prison.parquet")),
            f"student={self.path('student.csv')}",
            f"employer={self.path('employer.csv')}",
        ]


POP_HEADERS = ["公民身份号码", "姓名", "性别", "出生日期", "民族", "户籍地区划代码", "户号",
               "与户主关系", "户籍类型", "人员状态", "死亡日期"]  # fmt: skip
ENR_HEADERS = ["身份证号码", "姓名", "险种代码", "参保状态", "参保地区划代码", "参保日期"]
ENR2_HEADERS = ["公民身份号码", "姓名", "险种代码", "参保状态", "参保地区划代码",
                "单位统一社会信用代码"]  # fmt: skip
BEN_HEADERS = ["社会保障号码", "姓名", "险种代码", "待遇状态", "最近发放年月"]


def build(directory: Path) -> Planted:
    p = Planted(directory)
    village_a, village_b = "420702100201", "420704001201"

    def person(
        name: str,
        birth: str,
        seq: int,
        *,
        county: str = "420702",
        status: str = "正常",
        village: str | None = None,
        id_number: str | None = None,
    ) -> str:
        pid = id_number or make_id(county, birth, seq)
        row = p.add(
            "population.csv",
            公民身份号码=pid,
            姓名=name,
            性别="男" if int(pid[16]) % 2 else "女",
            出生日期=f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
            民族="汉族",
            户籍地区划代码=village or (village_a if county == "420702" else village_b),
            户号="0001",
            与户主关系="户主",
            户籍类型="户籍",
            人员状态=status,
            死亡日期="2025-01-01" if status == "死亡" else "",
        )
        p.names[pid] = name
        del row
        return pid

    def enroll(
        pid: str,
        scheme: Any,
        status: Any = 1,
        region: Any = 420702,
        *,
        file: str = "enrollment.xlsx",
        raw_id: Any = None,
        name: str | None = None,
    ) -> int:
        cells = {
            "id": pid if raw_id is None else raw_id,
            "name": p.names.get(pid, "某某") if name is None else name,
            "scheme": scheme,
            "status": status,
            "region": region,
        }
        return p.add(file, **cells)

    def benefit(
        pid: str, scheme: str, status: str = "正常发放", *, raw_id: str | None = None,
        name: str | None = None,
    ) -> int:  # fmt: skip
        return p.add(
            "benefit.csv",
            社会保障号码=pid if raw_id is None else raw_id,
            姓名=p.names.get(pid, "某某") if name is None else name,
            险种代码=scheme,
            待遇状态=status,
            最近发放年月="202606",
        )

    def insured(pid: str, *, pension: bool = True, medical: bool = True) -> None:
        if pension:
            enroll(pid, 110)
        if medical:
            enroll(pid, 310)

    # --- people with nothing to find ------------------------------------------------------
    p1 = person("张伟", "19800517", 11)
    insured(p1)  # 110 and 310 in one file: different schemes, not a duplicate record

    # 15-digit number in the XLSX, stored as a number: it is p2 after normalisation.
    p2 = person("李娜", "19650302", 22)
    enroll(p2, 170, "参保缴费", raw_id=int(to_15(p2)))
    enroll(p2, 390, "参保缴费", raw_id=to_15(p2))

    # An X check character, written in lower case in one file and in full width in another.
    p3 = next(
        make_id("420702", "19751111", s) for s in range(1, 999)
        if make_id("420702", "19751111", s).endswith("X")
    )  # fmt: skip
    person("王芳", "19751111", 0, id_number=p3)
    enroll(p3, 110, raw_id=p3.lower())
    enroll(p3, 390, "暂停缴费", file="enrollment2.csv", raw_id=full_width(p3.lower()))

    # Full-width digits.
    p4 = person("陈明", "19900101", 33)
    enroll(p4, 110, file="enrollment2.csv", raw_id=full_width(p4), status="参保缴费")
    enroll(p4, 310, file="enrollment2.csv", raw_id=" " + p4 + "\u3000", status="参保缴费")

    # Traditional characters, spaces, a bullet for the middle dot.
    p5 = person("刘德华", "19611027", 44)
    enroll(p5, 110, name="劉德華")
    enroll(p5, 310, name=" 刘 德华 ")
    p6 = person("买买提·艾力", "19880808", 55)
    enroll(p6, 170, name="买买提•艾力")
    enroll(p6, 390, name="买买提．艾力", file="enrollment2.csv", status="参保缴费")

    # Retired with a pension being paid and no pension enrollment; medical suspended.
    p21 = person("赵秀英", "19500101", 66)
    benefit(p21, "110")
    enroll(p21, 390, 2)
    # Pension suspended counts as insured; 终止缴费 is 终止参保.
    p22 = person("孙强", "19700707", 77)
    enroll(p22, 110, 2)
    enroll(p22, 170, "终止缴费")
    enroll(p22, 310)
    # Moved out: not in the population that must be insured.
    person("周杰", "19850505", 88, status="迁出")
    # A child under 16 with resident medical insurance; one day short of 16.
    p17 = person("吴小明", "20160101", 99)
    enroll(p17, 390)
    p19 = person("郑一", "20100701", 101)
    enroll(p19, 390)
    # A 19-year-old student with medical insurance only.
    p20 = person("冯学", "20070315", 103)
    enroll(p20, 390)
    p.add("student.csv", 公民身份号码=p20, 姓名="冯学", 学籍号="G1", 学校名称="鄂州高中")
    # The same scheme and region in two files: neither a duplicate record nor 重复参保.
    p14 = person("何平", "19790909", 105)
    enroll(p14, 110)
    enroll(p14, 110, "参保缴费", file="enrollment2.csv")
    enroll(p14, 310)
    # Pension active plus a terminated other pension scheme: not 重复参保.
    p13 = person("许静", "19830303", 107)
    enroll(p13, 110)
    enroll(p13, 170, 3, 420704)
    enroll(p13, 310)
    # Dead in the death source, nothing active: nothing to find, and not uninsured.
    p28 = person("高山", "19400404", 109)
    enroll(p28, 110, 3)
    benefit(p28, "110", "终止发放")
    p.add("death.csv", 公民身份号码=p28, 姓名="高山", 死亡日期="2025/3/1")
    # Prison terms not covering the as-of date, and a non-pension benefit in prison.
    p30 = person("林木", "19600606", 111)
    benefit(p30, "110")
    enroll(p30, 310)
    p.add("prison.parquet", id=p30, name="林木", start=dt.date(2020, 1, 1), end=dt.date(2026, 1, 1))
    p31 = person("罗成", "19620202", 113)
    benefit(p31, "120")
    enroll(p31, 310)
    p.add("prison.parquet", id=p31, name="罗成", start=dt.date(2026, 7, 1), end=None)
    p33 = person("梁工", "19720202", 115)
    insured(p33)
    benefit(p33, "410")
    p.add("prison.parquet", id=p33, name="梁工", start=dt.date(2024, 1, 1), end=None)

    # --- INVALID_ID -----------------------------------------------------------------------
    bad_check = p1[:17] + ("0" if p1[17] != "0" else "1")
    bad_check_row = enroll(p1, 410, raw_id=bad_check)
    p.expect("INVALID_ID", bad_check, "enrollment.xlsx", bad_check_row)
    bad_birth = "420702198013450012"  # month 13, not a person of the population base
    cells = dict.fromkeys(POP_HEADERS, "")
    cells.update(公民身份号码=bad_birth, 姓名="错号", 户籍地区划代码=village_a, 人员状态="正常")
    p.add("population.csv", **cells)
    p.expect("INVALID_ID", bad_birth, "population.csv", len(p.rows["population.csv"]))
    row = p.add("student.csv", 公民身份号码="", 姓名="无号", 学籍号="G2", 学校名称="鄂州高中")
    p.expect("INVALID_ID", "", "student.csv", row)

    # --- NOT_IN_POPULATION (and a person outside the population: no uninsured finding) ------
    x1 = make_id("420704", "19480808", 117)
    row = benefit(x1, "110", name="外来人")
    p.expect("NOT_IN_POPULATION", x1, "benefit.csv", row)

    # --- NAME_MISMATCH --------------------------------------------------------------------
    p8 = person("张三", "19820202", 119)
    enroll(p8, 110)
    row = enroll(p8, 310, name="张三丰")
    p.expect("NAME_MISMATCH", p8, "enrollment.xlsx", row)

    # --- DUPLICATE_RECORD -----------------------------------------------------------------
    p9 = person("钱多", "19770707", 121)
    first = enroll(p9, 110)
    enroll(p9, 110, 3)  # same scheme again in the same file
    enroll(p9, 310)
    p.expect("DUPLICATE_RECORD", p9, "enrollment.xlsx", first)
    p10 = person("孔明", "19810101", 123)
    insured(p10)
    second = p.add("population.csv", **dict(p.rows["population.csv"][-1]))
    p.expect("DUPLICATE_RECORD", p10, "population.csv", second - 1)

    # --- DUPLICATE_ENROLLMENT -------------------------------------------------------------
    p11 = person("马跃", "19760606", 125)
    enroll(p11, 110, 1, 420702)
    enroll(p11, 170, 1, 420704)
    enroll(p11, 310)
    p.expect("DUPLICATE_ENROLLMENT", p11)
    p12 = person("牛犇", "19870808", 127)
    enroll(p12, 110)
    enroll(p12, 390, 1, 420702)
    enroll(p12, 390, "参保缴费", 420704, file="enrollment2.csv")
    p.expect("DUPLICATE_ENROLLMENT", p12)

    # --- PENSION_UNINSURED ----------------------------------------------------------------
    p15 = person("杨洋", "19920202", 129)
    enroll(p15, 390)
    p.expect("PENSION_UNINSURED", p15)
    p16 = person("黄河", "19660606", 131, county="420704")
    enroll(p16, 110, 3, 420704)  # terminated
    enroll(p16, 310, 1, 420704)
    p.expect("PENSION_UNINSURED", p16)
    p18 = person("郑二", "20100630", 133)  # 16 exactly on the as-of date
    enroll(p18, 390)
    p.expect("PENSION_UNINSURED", p18)

    # --- MEDICAL_UNINSURED ----------------------------------------------------------------
    p24 = person("胡图", "19730303", 135)
    enroll(p24, 110)
    p.expect("MEDICAL_UNINSURED", p24)
    p25 = person("胡小", "20210101", 137)  # a child: medical only
    p.expect("MEDICAL_UNINSURED", p25)

    # --- DECEASED_ACTIVE ------------------------------------------------------------------
    p26 = person("古人", "19300303", 139, status="死亡")
    enroll(p26, 110)
    p.expect("DECEASED_ACTIVE", p26)
    p.tags["dead_by_population_only"] = p26
    p27 = person("故人", "19350505", 141)  # 正常 in the population, dead by civil affairs
    benefit(p27, "110")
    enroll(p27, 390)
    p.add("death.csv", 公民身份号码=p27, 姓名="故人", 死亡日期="2026年1月5日")
    p.expect("DECEASED_ACTIVE", p27)
    x2 = make_id("420704", "19450101", 143)  # not in the population base at all
    row = enroll(x2, 390, name="外人")
    p.expect("NOT_IN_POPULATION", x2, "enrollment.xlsx", row)
    row = p.add("death.csv", 公民身份号码=x2, 姓名="外人", 死亡日期="20260101")
    p.expect("NOT_IN_POPULATION", x2, "death.csv", row)
    p.expect("DECEASED_ACTIVE", x2)

    # --- IMPRISONED_BENEFIT ---------------------------------------------------------------
    p29 = person("囚一", "19580808", 145)
    benefit(p29, "110")
    enroll(p29, 390)
    p.add("prison.parquet", id=p29, name="囚一", start=dt.date(2025, 1, 1), end=None)
    p.expect("IMPRISONED_BENEFIT", p29)
    p32 = person("囚二", "19590909", 147)  # the sentence ends on the as-of date
    benefit(p32, "170")
    enroll(p32, 390)
    p.add("prison.parquet", id=p32, name="囚二", start=dt.date(2024, 1, 1), end=AS_OF)
    p.expect("IMPRISONED_BENEFIT", p32)

    # --- rejected rows: they import nothing, so they find nothing ---------------------------
    x3 = make_id("420704", "19500505", 149)
    row = enroll(x3, 999, name="拒一")
    p.rejected.add(("enrollment.xlsx", row, "险种代码", "UNKNOWN_SCHEME"))
    row = enroll(x3, 110, "参保中", name="拒一")
    p.rejected.add(("enrollment.xlsx", row, "参保状态", "UNKNOWN_STATUS"))
    row = p.add("death.csv", 公民身份号码=x3, 姓名="拒一", 死亡日期="去年")
    p.rejected.add(("death.csv", row, "死亡日期", "BAD_DATE"))
    row = p.add("death.csv", 公民身份号码=x3, 姓名="拒一", 死亡日期="")
    p.rejected.add(("death.csv", row, "死亡日期", "MISSING_VALUE"))

    # --- PROBABLE_MATCH -------------------------------------------------------------------
    def flagged(raw: str) -> str:
        """The category a row with this ID number gets: the number is nobody's."""
        return "NOT_IN_POPULATION" if is_valid_id_number(raw, AS_OF) else "INVALID_ID"

    def probable(file: str, row: int, raw: str, normalised: str, person_id: str) -> None:
        p.expect(flagged(raw), normalised if flagged(raw) == "NOT_IN_POPULATION" else raw,
                 file, row)  # fmt: skip
        p.expect("PROBABLE_MATCH", raw if flagged(raw) == "INVALID_ID" else normalised,
                 file, row)  # fmt: skip
        p.matches[(file, row)] = person_id

    # The check character mistyped (the INVALID_ID above).
    p.expect("PROBABLE_MATCH", bad_check, "enrollment.xlsx", bad_check_row)
    p.matches[("enrollment.xlsx", bad_check_row)] = p1
    # A digit of the birth date mistyped, in a second enrollment of an insured person.
    m1 = person("周涛", "19770315", 151)
    insured(m1)
    typo = m1[:11] + ("4" if m1[11] != "4" else "5") + m1[12:]
    row = enroll(m1, 120, raw_id=typo)
    probable("enrollment.xlsx", row, typo, typo, m1)
    # Two adjacent digits of the sequence swapped.
    m2 = person("杨帆", "19880220", 153)
    insured(m2)
    swapped = m2[:14] + m2[15] + m2[14] + m2[16:]
    assert swapped != m2
    row = enroll(m2, 390, "参保缴费", 420702, file="enrollment2.csv", raw_id=swapped)
    probable("enrollment2.csv", row, swapped, swapped, m2)
    # A homophone (王晶 for 王静) and a mistyped sequence digit, in the GB18030 file.
    m3 = person("王静", "19690412", 155)
    insured(m3)
    typo = m3[:15] + ("7" if m3[15] != "7" else "8") + m3[16:]
    row = benefit(m3, "120", raw_id=typo, name="王晶")
    probable("benefit.csv", row, typo, typo, m3)
    # The traditional form of the name and a mistyped address digit, in the death source: a
    # probable match does not make the person dead (no DECEASED_ACTIVE, still insured).
    m4 = person("刘涛", "19720826", 157)
    insured(m4)
    typo = m4[:4] + ("3" if m4[4] != "3" else "2") + m4[5:]
    row = p.add("death.csv", 公民身份号码=typo, 姓名="劉濤", 死亡日期="2026/1/2")
    probable("death.csv", row, typo, typo, m4)
    # A 15-digit number of someone born in 2003: upgraded, it reads 1903 (a valid number of
    # nobody); the student is not taken for m5 (m5 stays pension-eligible and insured).
    m5 = person("陈晨", "20030405", 159)
    insured(m5)
    old = to_15(m5)
    row = p.add("student.csv", 公民身份号码=old, 姓名="陈晨", 学籍号="G3", 学校名称="鄂州高中")
    upgraded = old[:6] + "19" + old[6:]
    upgraded += id_number_check_char(upgraded)
    probable("student.csv", row, old, upgraded, m5)
    # Two digits of the birth day and sequence mistyped (the day 19 typed 11, a sequence
    # digit changed), the name a homophone (吴钢 for 吴刚).
    m6 = person("吴刚", "19840619", 163)
    insured(m6)
    two = m6[:13] + "1" + m6[14] + ("8" if m6[15] != "8" else "9") + m6[16:]
    row = enroll(m6, 170, raw_id=two, name="吴钢")
    probable("enrollment.xlsx", row, two, two, m6)
    # One digit changed and the check character recomputed: a valid number of nobody.
    m7 = person("郭敏", "19710922", 165)
    insured(m7)
    body = m7[:9] + ("6" if m7[9] != "6" else "5") + m7[10:17]
    recheck = body + id_number_check_char(body)
    row = benefit(m7, "120", raw_id=recheck)
    probable("benefit.csv", row, recheck, recheck, m7)
    # The population record holds the wrong number, the department's row the right one:
    # linked to the population record, whose number the clerk must correct. Once the check
    # fails (the population row is INVALID_ID), once it passes (a person used by no
    # department: uninsured, as far as the base can tell).
    right = make_id("420702", "19780202", 167)
    wrong = right[:10] + ("5" if right[10] != "5" else "6") + right[11:]
    assert not is_valid_id_number(wrong, AS_OF)
    person("罗平", "19780202", 0, id_number=wrong)
    p.expect("INVALID_ID", wrong, "population.csv", len(p.rows["population.csv"]))
    row = enroll(right, 110, name="罗平")
    probable("enrollment.xlsx", row, right, right, wrong)
    p.tags["population_invalid"] = wrong
    right = make_id("420702", "19690303", 169)
    body = right[:15] + ("2" if right[15] != "2" else "3") + right[16]
    unused = body + id_number_check_char(body)
    person("黄梅", "19690303", 0, id_number=unused)
    p.expect("PENSION_UNINSURED", unused)
    p.expect("MEDICAL_UNINSURED", unused)
    row = enroll(right, 390, "参保缴费", 420702, file="enrollment2.csv", name="黄梅")
    probable("enrollment2.csv", row, right, right, unused)
    p.tags["population_unused"] = unused
    # Look-alikes: 张伟, born the same day, of another county (the sequence equal: the
    # numbers one digit apart) enrolled there, and of another province.
    other = make_id("420704", "19800517", 11)
    row = enroll(other, 310, 1, 420704, name="张伟")
    p.expect("NOT_IN_POPULATION", other, "enrollment.xlsx", row)
    far = make_id("110101", "19800517", 11)
    row = benefit(far, "110", name="张伟")
    p.expect("NOT_IN_POPULATION", far, "benefit.csv", row)
    # Traps. A different person (not in the population base) born the same day in the same
    # county as 张伟, one sequence digit apart, with a similar-sounding longer name.
    trap = make_id("420702", "19800517", 13)
    row = enroll(trap, 310, name="张伟明")
    p.expect("NOT_IN_POPULATION", trap, "enrollment.xlsx", row)
    # The same name as 李娜 but a number far from hers.
    stranger = make_id("420704", "19911111", 161)
    row = benefit(stranger, "110", name="李娜")
    p.expect("NOT_IN_POPULATION", stranger, "benefit.csv", row)

    # Every other living person of the population base aged 16+ is insured above; the
    # medical-only children and the student are covered by their 390 rows.
    _write(p)
    return p


def _write(p: Planted) -> None:
    def write_csv(file: str, headers: list[str], rows: list[list[Any]], **kw: Any) -> None:
        encoding = kw.get("encoding", "utf-8")
        with p.path(file).open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(headers)
            writer.writerows(rows)

    population = [[r.get(h, "") for h in POP_HEADERS] for r in p.rows["population.csv"]]
    write_csv("population.csv", POP_HEADERS, population, encoding="utf-8-sig")

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["鄂州市参保数据（梁子湖区）"])
    sheet.append(["制表单位：区社保局", None, "制表日期：2026-06-30"])
    sheet.append([])
    sheet.append(ENR_HEADERS)
    for r in p.rows["enrollment.xlsx"]:
        sheet.append(
            [r["id"], r["name"], r["scheme"], r["status"], r["region"], dt.date(2010, 1, 2)]
        )
    book.save(p.path("enrollment.xlsx"))

    write_csv(
        "enrollment2.csv",
        ENR2_HEADERS,
        [[r["id"], r["name"], r["scheme"], r["status"], r["region"], ""]
         for r in p.rows["enrollment2.csv"]],
    )  # fmt: skip
    write_csv(
        "benefit.csv",
        BEN_HEADERS,
        [[r[h] for h in BEN_HEADERS] for r in p.rows["benefit.csv"]],
        encoding="gb18030",
    )
    write_csv(
        "death.csv",
        ["公民身份号码", "姓名", "死亡日期"],
        [[r["公民身份号码"], r["姓名"], r["死亡日期"]] for r in p.rows["death.csv"]],
    )
    prison = p.rows["prison.parquet"]
    pq.write_table(
        pa.table(
            {
                "公民身份号码": [r["id"] for r in prison],
                "姓名": [r["name"] for r in prison],
                "服刑起始日期": pa.array([r["start"] for r in prison], pa.date32()),
                "服刑截止日期": pa.array([r["end"] for r in prison], pa.date32()),
            }
        ),
        p.path("prison.parquet"),
    )
    write_csv(
        "student.csv",
        ["公民身份号码*", "姓名*", "学籍号", "学校名称"],
        [[r["公民身份号码"], r["姓名"], r["学籍号"], r["学校名称"]] for r in p.rows["student.csv"]],
    )
    write_csv(
        "employer.csv",
        ["统一社会信用代码", "单位名称", "单位类型", "所在区划代码", "成立日期", "登记状态"],
        [["91420700MA4902111X", "鄂州市恒达建材有限公司", "企业", "420704", "2015-01-01", "存续"]],
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planted]:
    yield build(tmp_path_factory.mktemp("planted"))
