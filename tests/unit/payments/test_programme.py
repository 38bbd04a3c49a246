"""Payment programmes: shipped by name or described in a TOML file; periods."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shebao.payments.domain.programme import (
    PROGRAMMES,
    PeriodForm,
    ProgrammeError,
    load_programme,
    parse_period,
)

pytestmark = pytest.mark.unit


def test_a_shipped_programme_by_name() -> None:
    programme = load_programme("失业保险金")
    assert programme is PROGRAMMES["失业保险金"]
    assert programme.stops_in_prison


def test_a_programme_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'name = "高龄津贴"\nstops_in_prison = false\nmax_amount = 3000.10\n', encoding="utf-8"
    )
    programme = load_programme(str(path))
    assert programme.name == "高龄津贴"
    assert not programme.stops_in_prison
    assert programme.max_amount_fen == 300010
    assert programme.period_form is PeriodForm.MONTH


def test_max_amount_may_be_an_integer_or_absent(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('name = "x"\nstops_in_prison = true\nmax_amount = 3000\n', encoding="utf-8")
    assert load_programme(str(path)).max_amount_fen == 300000
    path.write_text('name = "x"\n', encoding="utf-8")
    assert load_programme(str(path)).max_amount_fen is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stops_in_prison = true\n", "缺少项目名称 name"),
        ('name = "x"\nstops_in_prison = "yes"\n', "stops_in_prison 应为 true 或 false"),
        ('name = "x"\nmax_amount = -1\n', "max_amount"),
        ('name = "x"\nmax_amount = 1.001\n', "精确到分以下"),
        ('name = "x"\nmax_amount = "abc"\n', "不是有效的数字"),
        ('name = "x"\nlimit = 1\n', "未知的设置：limit"),
        ('name = "x"\nperiod_form = "week"\n', "period_form"),
        ('name = "x\n', "不是有效的 TOML"),
    ],
)
def test_bad_toml_is_refused_in_chinese(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProgrammeError) as raised:
        load_programme(str(path))
    assert message in raised.value.message


def test_unknown_name_and_missing_file() -> None:
    with pytest.raises(ProgrammeError, match="未知的发放项目"):
        load_programme("没有这个项目")
    with pytest.raises(ProgrammeError) as raised:
        load_programme("/nonexistent/p.toml")
    assert "不存在" in raised.value.message


@pytest.mark.parametrize("text", ["2026-03", "202603", "2026-3", " ２０２６－０３ "])
def test_periods(text: str) -> None:
    period = parse_period(text)
    assert str(period) == "2026-03"
    assert period.first_day == date(2026, 3, 1)


def test_quarter_periods() -> None:
    assert parse_period("2026-Q2", PeriodForm.QUARTER).first_day == date(2026, 4, 1)
    assert parse_period("2026-04", PeriodForm.QUARTER).first_day == date(2026, 4, 1)
    with pytest.raises(ProgrammeError, match="季度首月"):
        parse_period("2026-05", PeriodForm.QUARTER)


@pytest.mark.parametrize("text", ["2026-13", "2026/03", "26-03", "", "2026-00"])
def test_bad_periods(text: str) -> None:
    with pytest.raises(ProgrammeError) as raised:
        parse_period(text)
    assert raised.value.code == "PERIOD_INVALID"
