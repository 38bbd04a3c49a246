"""The `check` subcommand of `shebao payments`: the payment check on files (issue #12 §4).

    shebao payments check --population FILE --cards FILE --batch FILE
        --programme NAME_OR_TOML --period YYYY-MM [--deaths FILE] [--prison FILE]
        [--paid FILE] [--as-of YYYY-MM-DD] --out DIR

The work is `shebao.payments.domain.filecheck`; this module parses arguments and reports.
"""

from __future__ import annotations

import argparse
import os
from datetime import date
from pathlib import Path
from typing import Any, Final

from django.core.management.base import BaseCommand, CommandError

from shebao.errors import ShebaoError
from shebao.identity._issues import today_in_china
from shebao.payments.domain.amounts import format_yuan
from shebao.payments.domain.filecheck import FileCheckSummary, check_payment_files
from shebao.payments.domain.programme import PROGRAMMES, load_programme
from shebao.payments.domain.reasons import Reason

__all__ = ["NAME", "add_check_subcommand", "handle_check"]

NAME: Final[str] = "check"

_DESCRIPTION: Final[str] = (
    "逐行检查发放批次文件，写出 DIR/payments.csv（UTF-8，表头 "
    "row,id_number,name,amount_fen,payable,reasons）和 DIR/summary.json（rows、payable_rows、"
    "payable_fen 及各原因行数）。输入文件无法使用时给出中文说明、退出码 1，且不写出任何文件。\n"
    "原因代码（按此顺序列出，以 ; 分隔）：\n"
    + "\n".join(f"  {r.value}  {r.label}：{r.explanation}" for r in Reason)
)


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD 格式：{value}") from None


def add_check_subcommand(subcommands: Any, parser: Any) -> None:
    check = subcommands.add_parser(
        NAME,
        help="按文件检查发放批次（供其他系统使用）",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        called_from_command_line=getattr(parser, "called_from_command_line", None),
    )
    check.add_argument(
        "--population",
        required=True,
        type=Path,
        metavar="FILE",
        help="公安人口库文件（比对的 population 类型：公民身份号码、姓名、户籍地区划代码、"
        "人员状态，可有死亡日期）",
    )
    check.add_argument(
        "--cards",
        required=True,
        type=Path,
        metavar="FILE",
        help="持卡文件：社会保障号码、卡号、卡状态（正常/挂失/注销）、开户状态"
        "（已开户/未开户/开户失败）、银行、银行账号",
    )
    check.add_argument(
        "--batch",
        required=True,
        type=Path,
        metavar="FILE",
        help="发放批次文件：社会保障号码（或身份证号）、姓名、金额（元，如 1234.5 或 1,234.50）",
    )
    check.add_argument(
        "--programme",
        required=True,
        metavar="NAME_OR_TOML",
        help="发放项目：已配置的名称（"
        + "、".join(PROGRAMMES)
        + '）或 .toml 文件（name = "…"、stops_in_prison = true|false、max_amount = 3000.00）',
    )
    check.add_argument("--period", required=True, metavar="YYYY-MM", help="发放期别")
    check.add_argument(
        "--deaths", type=Path, metavar="FILE", help="死亡人员文件（比对的 death 类型）"
    )
    check.add_argument(
        "--prison", type=Path, metavar="FILE", help="服刑人员文件（比对的 prison 类型）"
    )
    check.add_argument(
        "--paid",
        type=Path,
        metavar="FILE",
        help="已发放文件：社会保障号码、项目、发放期别（YYYY-MM）、金额",
    )
    check.add_argument(
        "--as-of",
        dest="as_of",
        type=_as_of,
        metavar="YYYY-MM-DD",
        help="检查基准日（校验身份证号码的出生日期），默认今天",
    )
    check.add_argument("--out", required=True, type=Path, metavar="DIR", help="输出目录")


def handle_check(command: BaseCommand, options: dict[str, Any]) -> None:
    as_of = options["as_of"] or today_in_china()
    try:
        programme = load_programme(options["programme"])
        period = programme.parse_period(options["period"])
        summary = check_payment_files(
            population=options["population"],
            cards=options["cards"],
            batch=options["batch"],
            programme=programme,
            period=period,
            out_dir=options["out"],
            as_of=as_of,
            deaths=options["deaths"],
            prison=options["prison"],
            paid=options["paid"],
            # DuckDB's default is 80 % of the machine; SHEBAO_DUCKDB_MEMORY_LIMIT caps it.
            memory_limit=os.environ.get("SHEBAO_DUCKDB_MEMORY_LIMIT"),
        )
    except ShebaoError as exc:
        raise CommandError(exc.message) from exc
    _report(command, summary, int(options.get("verbosity", 1)))


def _report(command: BaseCommand, summary: FileCheckSummary, verbosity: int) -> None:
    result = summary.result
    unpayable = result.rows - result.payable_rows
    lines = [
        f"发放项目：{result.programme.name}，发放期别 {result.period}",
        f"共 {result.rows:,} 行：可发放 {result.payable_rows:,} 行，"
        f"合计 {format_yuan(result.payable_fen)} 元；不可发放 {unpayable:,} 行",
    ]
    for reason, count in result.counts().items():
        if count:
            lines.append(f"  {reason.value:<20} {reason.label}：{count:,}")
    lines.extend(f"已写出 {path}" for path in summary.outputs)
    if verbosity >= 2:
        lines.append("用时（秒）：" + "，".join(f"{k} {v:.1f}" for k, v in summary.seconds.items()))
    command.stdout.write("\n".join(lines))
