"""The bulletin as a document: the sentences of seed 004 and the two attachment tables.

`bulletin_document` turns a computed report into paragraphs and typed tables; the renderers
(plain text here, XLSX/DOCX/PDF in `reports.documents`) only lay them out. Counts stay exact
in the tables (an XLSX cell holds the count); text layouts write them in 万.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from shebao.reports.domain.bulletin import BulletinReport, RegionLine, previous_month
from shebao.reports.domain.numbers import percent, wan_text
from shebao.reports.domain.regions import area_word, short_name, subordinates_word

__all__ = [
    "BulletinDocument",
    "Cell",
    "Column",
    "Table",
    "bulletin_document",
    "date_words",
    "format_cell",
    "prose_lines",
    "render_text",
]

TITLE = "社会保障卡建设工作进展情况通报"

Cell = str | int | Decimal | None
Kind = Literal["text", "count", "percent"]


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: Kind = "text"
    unit: str = ""  # 人 or 张 for counts

    def header_in_wan(self) -> str:
        return f"{self.header}（万{self.unit}）" if self.kind == "count" else self.header

    def header_exact(self) -> str:
        return f"{self.header}（{self.unit}）" if self.kind == "count" else self.header


@dataclass(frozen=True, slots=True)
class Table:
    label: str  # 附表一
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]  # the last row is the total

    @property
    def heading(self) -> str:
        return f"{self.label}  {self.title}"


@dataclass(frozen=True, slots=True)
class BulletinDocument:
    title: str
    subtitle: str
    intro: str
    headings: tuple[str, ...]  # 一、…
    paragraphs: tuple[tuple[str, ...], ...]  # per heading
    tables: tuple[Table, ...]
    # 落款: the issuing body and the date, right-aligned after the text.
    signature: tuple[str, ...] = ()


def format_cell(value: Cell, column: Column, *, count_places: int = 2) -> str:
    """A cell as the text layouts write it: counts in 万, percentages with their sign."""
    if value is None:
        return "—"
    if column.kind == "count" and isinstance(value, int):
        return wan_text(value, count_places)
    if column.kind == "percent" and isinstance(value, Decimal):
        return f"{value}%"
    return str(value)


def _amount(count: int | None, unit: str) -> str:
    """A count as running text writes it, never contradicting what the sentence says about
    it: whole 万 from 10,000 up (`480万人`, rounded half up, so never 0), exactly below
    (`3,500人`: a small increase is not written `0万人`)."""
    count = count or 0
    if count >= 10_000:
        return f"{wan_text(count)}万{unit}"
    return f"{count:,}{unit}"


def _people(count: int | None) -> str:
    return _amount(count, "人")


def _short_of(line: RegionLine) -> str:
    """How far a region that missed its month target got: a whole percent, or one decimal
    where the whole would read 100% (99.8% is written 99.8%, never 100%); `percent` never
    rounds an incomplete share up to 100."""
    whole = line.month_percent(0)
    if whole is not None and whole >= 99:
        return _pct0(line.month_percent(1))
    return _pct0(whole)


def _pct0(value: Decimal | None) -> str:
    return "—" if value is None else f"{value}%"


def _summary(report: BulletinReport, month_words: str, area: str) -> str:
    total = report.total
    figures = total.figures
    parts = [f"{month_words}，{area}累计上报开户数据{_people(figures.submitted)}"]
    annual = total.annual_percent(1)
    if annual is not None:
        parts.append(f"完成年数据采集目标任务的{annual}%")
    month = total.month_percent(1)
    if month is not None:
        parts.append(f"完成月数据采集目标任务的{month}%")
    sentences = ["，".join(parts)]
    if figures.produced is not None:
        sentences.append(f"累计完成制卡{_amount(figures.produced, '张')}")
    # The reference to the table closes the last sentence, as in the seed.
    return "。".join(sentences) + "（详见附表一）。"


def _met_annual(report: BulletinReport, month: int, noun: str) -> str | None:
    if not any(ln.figures.annual_target for ln in report.lines):
        return None
    # In December the target is met on time, not early.
    early = "" if month == 12 else "提前"
    if not report.met_annual:
        return f"至{month}月底，尚无{early}完成全年数据采集目标任务的{noun}。"
    items = "、".join(
        f"{short_name(ln.figures.name)}（完成全年目标的{_pct0(ln.annual_percent(0))}，"
        f"已提交数据{_people(ln.figures.submitted)}）"
        for ln in report.met_annual
    )
    count = len(report.met_annual)
    return f"至{month}月底，已{early}完成全年数据采集目标任务的{noun}有{count}个：{items}。"


def _increases(report: BulletinReport, year: int, month: int, noun: str) -> str | None:
    if not report.top_increases:
        return None
    prev_year, prev = previous_month(year, month)
    since = f"较{prev}月份" if prev_year == year else f"较上年{prev}月份"
    items = "、".join(
        f"{short_name(ln.figures.name)}{since}增加数据{_people(ln.increase)}"
        for ln in report.top_increases
    )
    return f"月度新增数据量较多的{noun}有：{items}。"


def _missed_month(report: BulletinReport, month: int, noun: str) -> str | None:
    if not any(ln.figures.month_target for ln in report.lines):
        return None
    if not report.missed_month:
        return f"至{month}月底，各{noun}均已完成月数据采集目标任务。"
    items = "，".join(
        f"{short_name(ln.figures.name)}只完成了{_short_of(ln)}" for ln in report.missed_month
    )
    count = len(report.missed_month)
    return f"至{month}月底，没有完成月数据采集目标任务的{noun}有{count}个：{items}。"


def _banks(report: BulletinReport, month_words: str) -> str:
    if not report.banks:
        return f"{month_words}，暂无合作银行开户数据。"
    clauses = []
    for bank in report.banks:
        clause = (
            f"{bank.name}累计接受开户数据{_people(bank.received)}，完成开户{_people(bank.opened)}"
        )
        rate = bank.rate(1)
        if rate is not None:
            clause += f"，完成率为{rate}%"
        clauses.append(clause)
    return f"{month_words}，" + "；".join(clauses) + "（详见附表二）。"


def _region_row(number: str, name: str, line: RegionLine) -> tuple[Cell, ...]:
    f = line.figures
    return (
        number,
        name,
        f.annual_target,
        f.month_target,
        f.submitted,
        line.increase,
        line.annual_percent(1),
        line.month_percent(1),
        f.produced,
    )


def _region_table(report: BulletinReport, when: str, noun: str) -> Table:
    columns = (
        Column("序号"),
        Column(noun),
        Column("全年数据采集目标", "count", "人"),
        Column("月数据采集目标", "count", "人"),
        Column("累计上报开户数据", "count", "人"),
        Column("较上月新增", "count", "人"),
        Column("完成全年目标", "percent"),
        Column("完成月目标", "percent"),
        Column("累计制卡", "count", "张"),
    )
    rows = [
        _region_row(str(i), short_name(ln.figures.name), ln)
        for i, ln in enumerate(report.lines, start=1)
    ]
    rows.append(_region_row("", "合计", report.total))
    return Table("附表一", f"{when}社会保障卡数据采集和开户进展情况统计表", columns, tuple(rows))


def _bank_table(report: BulletinReport, when: str) -> Table:
    columns = (
        Column("序号"),
        Column("合作银行"),
        Column("累计接收开户数据", "count", "人"),
        Column("累计完成开户", "count", "人"),
        Column("未完成开户", "count", "人"),
        Column("完成率", "percent"),
    )
    rows: list[tuple[Cell, ...]] = [
        (str(i), b.name, b.figures.received, b.figures.opened, b.not_opened, b.rate(1))
        for i, b in enumerate(report.banks, start=1)
    ]
    received = sum(b.received for b in report.banks)
    opened = sum(b.opened for b in report.banks)
    rows.append(
        ("", "合计", received, opened, max(received - opened, 0), percent(opened, received, 1))
    )
    return Table("附表二", f"{when}各合作银行社会保障卡建设情况统计表", columns, tuple(rows))


def _yuan(fen: int) -> str:
    """Integer fen as yuan with thousands separators, exact (`1,234.50`)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def _payments(report: BulletinReport, when: str, area: str) -> str:
    payments = report.figures.payments
    count = sum(p.count for p in payments)
    fen = sum(p.paid_fen for p in payments)
    by_programme: dict[str, int] = {}
    for p in payments:
        by_programme[p.programme] = by_programme.get(p.programme, 0) + p.paid_fen
    items = "、".join(f"{name}{_yuan(v)}元" for name, v in sorted(by_programme.items()))
    return (
        f"{when}，{area}通过社会保障卡银行账户发放各项待遇及补贴{count:,}笔、"
        f"{_yuan(fen)}元，其中{items}（详见附表三）。"
    )


def _payment_table(report: BulletinReport, when: str) -> Table:
    columns = (
        Column("序号"),
        Column("发放项目"),
        Column("地区"),
        Column("发放笔数（笔）"),
        Column("发放金额（元）"),
    )
    payments = sorted(report.figures.payments, key=lambda p: (p.programme, p.region))
    rows: list[tuple[Cell, ...]] = [
        (str(i), p.programme, p.region, f"{p.count:,}", _yuan(p.paid_fen))
        for i, p in enumerate(payments, start=1)
    ]
    rows.append(
        (
            "",
            "合计",
            "",
            f"{sum(p.count for p in payments):,}",
            _yuan(sum(p.paid_fen for p in payments)),
        )
    )
    return Table("附表三", f"{when}待遇及补贴发放进卡情况统计表", columns, tuple(rows))


def _usage(report: BulletinReport, when: str, area: str, table_label: str) -> str:
    usage = report.figures.usage
    uses = sum(u.uses for u in usage)
    ecard = sum(u.ecard_uses for u in usage)
    items = "、".join(f"{u.field}{u.uses:,}次" for u in usage)
    return (
        f"{when}，{area}持卡人在各服务网点用卡{uses:,}次，其中使用电子社保卡{ecard:,}次；"
        f"按应用领域：{items}（详见{table_label}）。"
    )


def _usage_table(report: BulletinReport, when: str, label: str) -> Table:
    columns = (
        Column("序号"),
        Column("应用领域"),
        Column("用卡次数（次）"),
        Column("其中电子社保卡（次）"),
        Column("用卡人数（人）"),
    )
    usage = report.figures.usage
    rows: list[tuple[Cell, ...]] = [
        (str(i), u.field, f"{u.uses:,}", f"{u.ecard_uses:,}", f"{u.users:,}")
        for i, u in enumerate(usage, start=1)
    ]
    # Holders who used the card in several fields are counted once in each: no total of users.
    rows.append(
        (
            "",
            "合计",
            f"{sum(u.uses for u in usage):,}",
            f"{sum(u.ecard_uses for u in usage):,}",
            "—",
        )
    )
    return Table(label, f"{when}社会保障卡用卡情况统计表", columns, tuple(rows))


_ORDINALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九")


def date_words(day: date) -> str:
    """`2026年12月7日`, as documents date themselves."""
    return f"{day.year}年{day.month}月{day.day}日"


def bulletin_document(
    report: BulletinReport,
    *,
    issuer: str = "",
    issued_on: date | None = None,
    version: int = 1,
) -> BulletinDocument:
    """The bulletin's text and tables; `issuer` and `issued_on` make the 落款 (the issuing
    body defaults to the region's human resources and social security bureau); a version
    after the first says it corrects the earlier one."""
    figures = report.figures
    year, month = figures.year, figures.month
    region_name = figures.region.name
    area = area_word(region_name)
    noun = subordinates_word(figures.subordinate_level)
    month_words = f"截止{month}月底"
    when = f"{year}年{month}月份"
    progress = [
        f"（一）{area}数据采集与制卡情况。" + _summary(report, month_words, area),
        *(
            p
            for p in (
                _met_annual(report, month, noun),
                _increases(report, year, month, noun),
                _missed_month(report, month, noun),
            )
            if p is not None
        ),
        "（二）合作银行开户情况。" + _banks(report, month_words),
    ]
    tables = [_region_table(report, when, noun), _bank_table(report, when)]
    if figures.payments:
        progress.append("（三）待遇及补贴发放进卡情况。" + _payments(report, when, area))
        tables.append(_payment_table(report, when))
    if figures.usage:
        label = f"附表{_ORDINALS[len(tables)]}"
        progress.append(
            f"（{'四' if figures.payments else '三'}）社会保障卡应用情况。"
            + _usage(report, when, area, label)
        )
        tables.append(_usage_table(report, when, label))
    signature: tuple[str, ...] = (issuer or f"{region_name}人力资源和社会保障局",)
    if issued_on is not None:
        signature += (date_words(issued_on),)
    edition = f"（第{version}版，更正前版）" if version > 1 else ""
    return BulletinDocument(
        title=TITLE,
        subtitle=f"{region_name}  {year}年{month}月{edition}",
        intro=f"现将{when}社会保障卡建设进展情况通报如下：",
        headings=("一、社会保障卡建设进展情况",),
        paragraphs=(tuple(progress),),
        tables=tuple(tables),
        signature=signature,
    )


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def _table_lines(table: Table) -> list[str]:
    headers = [c.header_in_wan() for c in table.columns]
    body = [
        [format_cell(v, c) for v, c in zip(row, table.columns, strict=True)] for row in table.rows
    ]
    widths = [max(_width(x) for x in col) for col in zip(headers, *body, strict=True)]
    numeric = [c.kind != "text" for c in table.columns]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            _pad(cell, w, right) for cell, w, right in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    out = [table.heading, rule, line(headers), rule]
    out.extend(line(cells) for cells in body[:-1])
    out.extend([rule, line(body[-1]), rule])
    return out


def prose_lines(document: BulletinDocument) -> list[str]:
    """The title and the sentences, one paragraph a line (indented as documents are)."""
    out = [document.title, document.subtitle, "", document.intro, ""]
    for heading, paragraphs in zip(document.headings, document.paragraphs, strict=True):
        out.append(heading)
        out.extend(f"　　{p}" for p in paragraphs)
        out.append("")
    if document.signature:
        out.extend(_pad(line, 60, right=True) for line in document.signature)
        out.append("")
    return out


def render_text(document: BulletinDocument) -> str:
    """The bulletin as UTF-8 plain text: title, prose, then the attachment tables."""
    out = prose_lines(document)
    for table in document.tables:
        out.extend(_table_lines(table))
        out.append("")
    return "\n".join(out)
