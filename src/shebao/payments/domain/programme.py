"""Payment programmes (待遇及补贴发放项目) and payment periods (发放期别).

A programme says who pays (the paying office), what kind of payment it is, whether serving a
prison sentence stops it, the limit per person and period, and the form of its periods
(monthly, quarterly, one-off). The shipped programmes are in `PROGRAMMES` by name; a paying
office can describe its own in a TOML file and name the file (`--programme /path/x.toml`):

    name = "城乡居民基本养老保险待遇"
    stops_in_prison = true
    max_amount = 3000.00          # yuan, per person and period (optional)
    paying_office = "某区社会保险事业管理局"   # optional
    kind = "pension"               # optional, a PaymentKind value
    period_form = "month"          # optional: month, quarter, one_off

A period is written `YYYY-MM` (a quarterly programme's period is the quarter's first month,
or `YYYY-Qn`); its first day is the day the DECEASED and IMPRISONED rules look at.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from shebao.errors import ShebaoError
from shebao.payments.domain.amounts import ABSOLUTE_MAX_FEN, check_amount, format_yuan

__all__ = [
    "PROGRAMMES",
    "PaymentKind",
    "PaymentProgramme",
    "Period",
    "PeriodForm",
    "ProgrammeError",
    "load_programme",
    "parse_period",
    "programme_from_mapping",
]


class ProgrammeError(ShebaoError):
    def __init__(self, message: str, code: str = "PROGRAMME_INVALID") -> None:
        super().__init__(code=code, message=message, status=422)


class PaymentKind(StrEnum):
    PENSION = "pension"  # 养老保险待遇
    UNEMPLOYMENT = "unemployment"  # 失业保险金
    WORK_INJURY = "work_injury"  # 工伤保险待遇
    EMPLOYMENT_SUBSIDY = "employment_subsidy"  # 就业补贴
    FINANCE_SUBSIDY = "finance_subsidy"  # 惠民惠农财政补贴

    @property
    def label(self) -> str:
        return {
            "pension": "养老保险待遇",
            "unemployment": "失业保险待遇",
            "work_injury": "工伤保险待遇",
            "employment_subsidy": "就业补贴",
            "finance_subsidy": "惠民惠农补贴",
        }[self]


class PeriodForm(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    ONE_OFF = "one_off"

    @property
    def label(self) -> str:
        return {"month": "按月", "quarter": "按季", "one_off": "一次性"}[self]


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A payment period: its year and first month (a quarter's first month for quarters)."""

    year: int
    month: int

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


_MONTH_RE: Final[re.Pattern[str]] = re.compile(r"(\d{4})-?(\d{1,2})")
_QUARTER_RE: Final[re.Pattern[str]] = re.compile(r"(\d{4})-?Q([1-4])", re.IGNORECASE)


def parse_period(text: str, form: PeriodForm = PeriodForm.MONTH) -> Period:
    """`YYYY-MM` (also `YYYYMM`, full-width digits, blanks around); for quarterly programmes
    the quarter's first month or `YYYY-Qn`. Raises ProgrammeError (code PERIOD_INVALID)."""
    folded = unicodedata.normalize("NFKC", text or "").strip()
    if form is PeriodForm.QUARTER and (quarter := _QUARTER_RE.fullmatch(folded)):
        return Period(int(quarter.group(1)), (int(quarter.group(2)) - 1) * 3 + 1)
    match = _MONTH_RE.fullmatch(folded)
    if match is None:
        raise ProgrammeError(
            f"发放期别“{text}”格式不正确，应为 YYYY-MM（如 2026-03）", code="PERIOD_INVALID"
        )
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or not 1900 <= year <= 2999:
        raise ProgrammeError(f"发放期别“{text}”不是有效的年月", code="PERIOD_INVALID")
    if form is PeriodForm.QUARTER and month % 3 != 1:
        raise ProgrammeError(
            f"按季发放的项目，发放期别应为季度首月（01、04、07、10月）或 YYYY-Qn，收到“{text}”",
            code="PERIOD_INVALID",
        )
    return Period(year, month)


@dataclass(frozen=True, slots=True)
class PaymentProgramme:
    name: str
    paying_office: str = ""
    kind: PaymentKind = PaymentKind.PENSION
    stops_in_prison: bool = False
    max_amount_fen: int | None = None  # per person and period; None: only ABSOLUTE_MAX_FEN
    period_form: PeriodForm = PeriodForm.MONTH

    def parse_period(self, text: str) -> Period:
        return parse_period(text, self.period_form)

    @property
    def limit_text(self) -> str:
        return "无" if self.max_amount_fen is None else f"{format_yuan(self.max_amount_fen)} 元"


_RSJ: Final[str] = "社会保险经办机构"
_JOBS: Final[str] = "就业服务机构"
_FINANCE: Final[str] = "财政部门"

# Seed 003 §(四): the benefits paid into the card. Limits are only a guard against typing
# errors (a misplaced decimal point), not the entitlement, which the paying office computes.
_SHIPPED: Final[tuple[PaymentProgramme, ...]] = (
    PaymentProgramme("企业职工基本养老保险待遇", _RSJ, PaymentKind.PENSION, True, 5_000_000),
    PaymentProgramme("机关事业单位基本养老保险待遇", _RSJ, PaymentKind.PENSION, True, 5_000_000),
    PaymentProgramme("城乡居民基本养老保险待遇", _RSJ, PaymentKind.PENSION, True, 1_000_000),
    PaymentProgramme("失业保险金", _RSJ, PaymentKind.UNEMPLOYMENT, True, 1_000_000),
    PaymentProgramme("工伤保险待遇", _RSJ, PaymentKind.WORK_INJURY, False, 5_000_000),
    PaymentProgramme("公益性岗位补贴", _JOBS, PaymentKind.EMPLOYMENT_SUBSIDY, True, 500_000),
    PaymentProgramme(
        "职业培训补贴", _JOBS, PaymentKind.EMPLOYMENT_SUBSIDY, False, 500_000, PeriodForm.ONE_OFF
    ),
    PaymentProgramme(
        "职业技能鉴定补贴",
        _JOBS,
        PaymentKind.EMPLOYMENT_SUBSIDY,
        False,
        200_000,
        PeriodForm.ONE_OFF,
    ),
    PaymentProgramme(
        "一次性求职创业补贴",
        _JOBS,
        PaymentKind.EMPLOYMENT_SUBSIDY,
        False,
        300_000,
        PeriodForm.ONE_OFF,
    ),
    PaymentProgramme(
        "灵活就业人员社会保险补贴",
        _JOBS,
        PaymentKind.EMPLOYMENT_SUBSIDY,
        False,
        500_000,
        PeriodForm.QUARTER,
    ),
    PaymentProgramme("惠民惠农补贴", _FINANCE, PaymentKind.FINANCE_SUBSIDY, False, 1_000_000),
)
PROGRAMMES: Final[Mapping[str, PaymentProgramme]] = {p.name: p for p in _SHIPPED}


def _max_amount_fen(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ProgrammeError("发放项目配置中 max_amount 应为以元为单位的金额，如 3000.00")
    # A TOML float such as 3000.1 is a binary double: its shortest repr is what was typed.
    text = repr(value) if isinstance(value, float) else str(value)
    checked = check_amount(text, max_fen=ABSOLUTE_MAX_FEN)
    if checked.problem is not None:
        raise ProgrammeError(
            "发放项目配置中 max_amount（每人每期上限，元）无效：" + checked.problem.message(text)
        )
    return checked.fen


def _choice(data: Mapping[str, Any], key: str, enum: type[StrEnum], default: StrEnum) -> Any:
    value = data.get(key, default.value)
    try:
        return enum(value)
    except ValueError:
        allowed = "、".join(e.value for e in enum)
        raise ProgrammeError(f"发放项目配置中 {key} 的值“{value}”无效，可选：{allowed}") from None


_KNOWN_KEYS: Final[frozenset[str]] = frozenset(
    {"name", "stops_in_prison", "max_amount", "paying_office", "kind", "period_form"}
)


def programme_from_mapping(data: Mapping[str, Any]) -> PaymentProgramme:
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise ProgrammeError(
            f"发放项目配置中有未知的设置：{'、'.join(unknown)}"
            f"（可用：{'、'.join(sorted(_KNOWN_KEYS))}）"
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ProgrammeError("发放项目配置缺少项目名称 name")
    stops = data.get("stops_in_prison", False)
    if not isinstance(stops, bool):
        raise ProgrammeError("发放项目配置中 stops_in_prison 应为 true 或 false")
    office = data.get("paying_office", "")
    if not isinstance(office, str):
        raise ProgrammeError("发放项目配置中 paying_office 应为文字")
    return PaymentProgramme(
        name=name.strip(),
        paying_office=office.strip(),
        kind=_choice(data, "kind", PaymentKind, PaymentKind.PENSION),
        stops_in_prison=stops,
        max_amount_fen=_max_amount_fen(data.get("max_amount")),
        period_form=_choice(data, "period_form", PeriodForm, PeriodForm.MONTH),
    )


def load_programme(name_or_path: str) -> PaymentProgramme:
    """A shipped programme by name, or a `.toml` file describing one."""
    if name_or_path in PROGRAMMES:
        return PROGRAMMES[name_or_path]
    path = Path(name_or_path)
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ProgrammeError(f"发放项目配置文件不存在：{path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ProgrammeError(
                f"发放项目配置文件（{path.name}）无法读取：应为 UTF-8 编码的 TOML 文件"
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ProgrammeError(f"发放项目配置文件（{path.name}）不是有效的 TOML：{exc}") from exc
        return programme_from_mapping(data)
    known = "、".join(PROGRAMMES)
    raise ProgrammeError(
        f"未知的发放项目：{name_or_path}（已配置：{known}；或给出 .toml 配置文件）"
    )
