"""The arithmetic of the monthly bulletin (通报), from exact counts to ordered lists.

Input is a snapshot of figures — the region, its subordinate regions and the cooperating
banks, each with cumulative counts at the month's end, the previous month's cumulative count
and the annual and month targets — so that a published bulletin can be rendered again from
what it was computed from. Rules (issue 5, seed 004):

* met the annual target early: cumulative ≥ annual target, most complete first;
* largest monthly increases: the top four by cumulative − previous month's cumulative;
* missed the month's target: cumulative < the month's cumulative target, least complete first;
* ordering ties (equal exact values) are broken by region code.

Orderings use exact ratios; rounding happens only when numbers are written (numbers.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Final

from pypinyin import lazy_pinyin

from shebao.reports.domain.numbers import percent, ratio

__all__ = [
    "SNAPSHOT_VERSION",
    "TOP_INCREASES",
    "BankFigures",
    "BankLine",
    "BulletinFigures",
    "BulletinReport",
    "PaymentFigures",
    "RegionFigures",
    "RegionLine",
    "UsageFigures",
    "bank_sort_key",
    "compute_bulletin",
    "previous_month",
]

SNAPSHOT_VERSION: Final[int] = 1
TOP_INCREASES: Final[int] = 4

# Documents list the large state banks in their customary order (工农中建交邮), then the rest.
_BANK_RANKS: Final[tuple[tuple[str, ...], ...]] = (
    ("工商银行", "工行"),
    ("农业银行", "农行"),
    ("中国银行", "中行"),
    ("建设银行", "建行"),
    ("交通银行", "交行"),
    ("邮储", "邮政储蓄"),
)


def bank_sort_key(name: str) -> tuple[int, list[str], str]:
    for rank, needles in enumerate(_BANK_RANKS):
        if any(needle in name for needle in needles):
            return rank, [], name
    return len(_BANK_RANKS), lazy_pinyin(name), name


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


@dataclass(frozen=True, slots=True)
class RegionFigures:
    """One region's counts for the month; None where nothing was reported or set."""

    code: str
    name: str
    submitted: int | None = None  # 上报开户数据, cumulative at the month's end
    previous: int | None = None  # the same at the previous month's end
    annual_target: int | None = None
    month_target: int | None = None  # cumulative target at the month's end
    produced: int | None = None  # 制卡, cumulative
    # Where `submitted` and `produced` come from (上报 / 实时 / 上报（截至11月）…, ADR 0007).
    submitted_source: str = ""
    produced_source: str = ""


@dataclass(frozen=True, slots=True)
class BankFigures:
    name: str
    received: int | None = None  # 接收开户数据, cumulative
    opened: int | None = None  # 完成开户, cumulative


@dataclass(frozen=True, slots=True)
class PaymentFigures:
    """Benefits and subsidies the banks confirmed paid into cards in the month (by the
    period's first day), for one programme and one subordinate region: exact fen."""

    programme: str
    region: str  # the subordinate region's name
    count: int
    paid_fen: int


@dataclass(frozen=True, slots=True)
class UsageFigures:
    """Card use (用卡) in the month for one field of use: successful uses, those with the
    e-card, and distinct holders who used the card (issue #11 §5)."""

    field: str  # the field's name (医疗, 交通 …)
    uses: int
    ecard_uses: int
    users: int


@dataclass(frozen=True, slots=True)
class BulletinFigures:
    """Everything a bulletin is computed from; stored as JSON with each published bulletin."""

    year: int
    month: int
    region: RegionFigures  # the region itself, its own figures or the sum of its subordinates'
    region_level: int
    subordinate_level: int
    subordinates: tuple[RegionFigures, ...]
    banks: tuple[BankFigures, ...]
    # 待遇及补贴发放进卡 (issue #12): absent from the snapshot when there is none, so the
    # snapshots (and digests) of bulletins without payments stay as they were.
    payments: tuple[PaymentFigures, ...] = ()
    # 用卡 (issue #11 §5): likewise absent from the snapshot when there is no card use.
    usage: tuple[UsageFigures, ...] = ()

    def to_snapshot(self) -> dict[str, Any]:
        payments = {"payments": [asdict(p) for p in self.payments]} if self.payments else {}
        usage = {"usage": [asdict(u) for u in self.usage]} if self.usage else {}
        return {
            **payments,
            **usage,
            "version": SNAPSHOT_VERSION,
            "year": self.year,
            "month": self.month,
            "region": asdict(self.region),
            "region_level": self.region_level,
            "subordinate_level": self.subordinate_level,
            "subordinates": [asdict(r) for r in self.subordinates],
            "banks": [asdict(b) for b in self.banks],
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> BulletinFigures:
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported bulletin snapshot version: {data.get('version')!r}")
        return cls(
            year=int(data["year"]),
            month=int(data["month"]),
            region=RegionFigures(**data["region"]),
            region_level=int(data["region_level"]),
            subordinate_level=int(data["subordinate_level"]),
            subordinates=tuple(RegionFigures(**r) for r in data["subordinates"]),
            banks=tuple(BankFigures(**b) for b in data["banks"]),
            payments=tuple(PaymentFigures(**p) for p in data.get("payments", ())),
            usage=tuple(UsageFigures(**u) for u in data.get("usage", ())),
        )


@dataclass(frozen=True, slots=True)
class RegionLine:
    figures: RegionFigures
    increase: int | None  # over the previous month's cumulative; None without both figures
    annual_share: Decimal | None  # exact cumulative / annual target
    month_share: Decimal | None

    @property
    def code(self) -> str:
        return self.figures.code

    @property
    def cumulative(self) -> int:
        return self.figures.submitted or 0

    def annual_percent(self, places: int) -> Decimal | None:
        return percent(self.cumulative, self.figures.annual_target, places)

    def month_percent(self, places: int) -> Decimal | None:
        return percent(self.cumulative, self.figures.month_target, places)

    @property
    def met_annual(self) -> bool:
        target = self.figures.annual_target
        return target is not None and target > 0 and self.cumulative >= target

    @property
    def missed_month(self) -> bool:
        target = self.figures.month_target
        return target is not None and target > 0 and self.cumulative < target


@dataclass(frozen=True, slots=True)
class BankLine:
    figures: BankFigures

    @property
    def name(self) -> str:
        return self.figures.name

    @property
    def received(self) -> int:
        return self.figures.received or 0

    @property
    def opened(self) -> int:
        return self.figures.opened or 0

    @property
    def not_opened(self) -> int:
        return max(self.received - self.opened, 0)

    def rate(self, places: int) -> Decimal | None:
        return percent(self.opened, self.figures.received, places)


@dataclass(frozen=True, slots=True)
class BulletinReport:
    figures: BulletinFigures
    total: RegionLine
    lines: tuple[RegionLine, ...]  # subordinates by region code (the attachment table's order)
    met_annual: tuple[RegionLine, ...]
    top_increases: tuple[RegionLine, ...]
    missed_month: tuple[RegionLine, ...]
    banks: tuple[BankLine, ...]


def _line(figures: RegionFigures) -> RegionLine:
    cumulative = figures.submitted or 0
    increase = (
        None
        if figures.submitted is None or figures.previous is None
        else figures.submitted - figures.previous
    )
    return RegionLine(
        figures=figures,
        increase=increase,
        annual_share=ratio(cumulative, figures.annual_target),
        month_share=ratio(cumulative, figures.month_target),
    )


def compute_bulletin(figures: BulletinFigures) -> BulletinReport:
    lines = tuple(sorted((_line(r) for r in figures.subordinates), key=lambda ln: ln.code))
    met = sorted(
        (ln for ln in lines if ln.met_annual),
        key=lambda ln: (-(ln.annual_share or Decimal(0)), ln.code),
    )
    grown = sorted(
        (ln for ln in lines if ln.increase is not None and ln.increase > 0),
        key=lambda ln: (-(ln.increase or 0), ln.code),
    )
    missed = sorted(
        (ln for ln in lines if ln.missed_month),
        key=lambda ln: (ln.month_share or Decimal(0), ln.code),
    )
    banks = sorted(figures.banks, key=lambda b: bank_sort_key(b.name))
    return BulletinReport(
        figures=figures,
        total=_line(figures.region),
        lines=lines,
        met_annual=tuple(met),
        top_increases=tuple(grown[:TOP_INCREASES]),
        missed_month=tuple(missed),
        banks=tuple(BankLine(b) for b in banks),
    )
