"""A small world of files for the payment check: people, their cards, a batch."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from shebao.identity.id_number import id_number_check_char


def id_number(seq: int, birth: date = date(1960, 5, 17), region: str = "440113") -> str:
    body = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    return body + id_number_check_char(body)


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    encoding: str = "utf-8",
    title_rows: Sequence[str] = (),
) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        for title in title_rows:
            writer.writerow([title])
        writer.writerow(header)
        writer.writerows(rows)
    return path


POPULATION_HEADER = ("公民身份号码", "姓名", "户籍地区划代码", "人员状态", "死亡日期")
CARDS_HEADER = ("社会保障号码", "卡号", "卡状态", "开户状态", "银行", "银行账号")
BATCH_HEADER = ("社会保障号码", "姓名", "金额")
PAID_HEADER = ("社会保障号码", "项目", "发放期别", "金额")
DEATHS_HEADER = ("公民身份号码", "姓名", "死亡日期")
PRISON_HEADER = ("公民身份号码", "姓名", "服刑起始日期", "服刑截止日期")


@dataclass
class World:
    """Rows of each file; `files(tmp)` writes them. Defaults: one person in every file."""

    population: list[list[str]] = field(default_factory=list)
    cards: list[list[str]] = field(default_factory=list)
    batch: list[list[str]] = field(default_factory=list)
    paid: list[list[str]] = field(default_factory=list)
    deaths: list[list[str]] = field(default_factory=list)
    prison: list[list[str]] = field(default_factory=list)

    def person(
        self,
        seq: int,
        name: str = "张三",
        *,
        status: str = "正常",
        death_date: str = "",
        card: tuple[str, str] | None = ("正常", "已开户"),
    ) -> str:
        number = id_number(seq)
        self.population.append([number, name, "440113", status, death_date])
        if card is not None:
            self.cards.append(
                [number, f"K{seq:08d}", card[0], card[1], "农业银行", f"622848{seq:013d}"]
            )
        return number

    def pay(self, number: str, name: str = "张三", amount: str = "1234.50") -> None:
        self.batch.append([number, name, amount])

    def files(self, tmp: Path, *, optional: bool = True) -> dict[str, Path]:
        paths = {
            "population": write_csv(tmp / "population.csv", POPULATION_HEADER, self.population),
            "cards": write_csv(tmp / "cards.csv", CARDS_HEADER, self.cards),
            "batch": write_csv(tmp / "batch.csv", BATCH_HEADER, self.batch),
        }
        if optional:
            paths["paid"] = write_csv(tmp / "paid.csv", PAID_HEADER, self.paid)
            paths["deaths"] = write_csv(tmp / "deaths.csv", DEATHS_HEADER, self.deaths)
            paths["prison"] = write_csv(tmp / "prison.csv", PRISON_HEADER, self.prison)
        return paths
