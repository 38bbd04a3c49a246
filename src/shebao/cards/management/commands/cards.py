"""`shebao cards <子命令>`: card issuance work on files.

    shebao cards check-applications --population FILE --applications FILE [--photos ZIP]
        [--cards FILE] [--banks 农业银行,邮储银行,…] [--programme NAME] [--as-of YYYY-MM-DD]
        --out DIR

The command only parses arguments and reports; the work is `shebao.cards.domain.filecheck`.
"""

from __future__ import annotations

import argparse
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.cards.domain.eligibility import Reason
from shebao.cards.domain.filecheck import CheckSummary, check_application_files
from shebao.cards.domain.programmes import PROGRAMMES, load_programme
from shebao.cards.management.custody_commands import add_custody_subcommands, handle_custody
from shebao.cards.management.instant_command import NAME as INSTANT_SUBCOMMAND
from shebao.cards.management.instant_command import add_instant_subcommand, handle_instant
from shebao.errors import ShebaoError

_CHINA = timezone(timedelta(hours=8))

CHECK_HELP = """检查集体申领文件是否符合制卡条件，写出 DIR/eligibility.csv（供其他系统使用）和
DIR/eligibility.xlsx（反馈申领单位，含原始各列和不符合制卡条件原因，可更正后重新提交）。
原因代码（按此顺序列出，以 ; 分隔）：""" + "、".join(f"{r.value}（{r.label}）" for r in Reason)


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD 格式：{value}") from exc


def _banks(value: str) -> list[str]:
    return [b.strip() for b in re.split(r"[,，、;；]", value) if b.strip()]


def _workers(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("进程数至少为1")
    return n


class Command(BaseCommand):
    help = (
        "社会保障卡发行。子命令：check-applications 申领数据制卡条件检查；recall-overdue、"
        "lapse-temporary-losses、cancel-deceased 每日规则（--as-of 按指定日期执行）"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(
            dest="subcommand", metavar="子命令", required=True, title="子命令"
        )
        check = subcommands.add_parser(
            "check-applications",
            help="检查申领文件是否符合制卡条件",
            description=CHECK_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            called_from_command_line=getattr(parser, "called_from_command_line", None),
        )
        check.add_argument(
            "--population",
            required=True,
            type=Path,
            metavar="FILE",
            help="人口库文件（CSV 或 XLSX）：公民身份号码、姓名、户籍地区划代码、人员状态，"
            "可有户籍类型、死亡日期等列",
        )
        check.add_argument(
            "--applications",
            required=True,
            type=Path,
            metavar="FILE",
            help="集体申领文件（CSV 或 XLSX）：银行、姓名、性别、身份证号(18位)、联系电话、"
            "工作证号(学籍号)",
        )
        check.add_argument(
            "--photos",
            type=Path,
            metavar="ZIP",
            help="照片压缩包，照片以身份证号或工作证号(学籍号)命名（如 <身份证号>.jpg）。"
            "不提供时不检查照片（不报 NO_PHOTO、PHOTO_QUALITY）；提供时缺照片报 NO_PHOTO",
        )
        check.add_argument(
            "--cards",
            type=Path,
            metavar="FILE",
            help="已持卡文件：社会保障号码、卡号、卡状态（正常/挂失/注销）；"
            "持有正常或挂失状态的卡报 HAS_CARD",
        )
        check.add_argument(
            "--banks",
            type=_banks,
            metavar="银行,银行,…",
            help="本地区合作银行（逗号分隔）；不提供时不检查银行（发卡项目配置了合作银行时按其检查）",
        )
        check.add_argument(
            "--programme",
            metavar="NAME",
            help="发卡项目：已配置的名称（"
            + "、".join(sorted(PROGRAMMES))
            + "）或 .toml 配置文件；按其发卡范围检查（OUT_OF_SCOPE）并使用其照片规格。"
            "默认为系统运行的发卡项目（SHEBAO_CARD_PROGRAMME），与网上、窗口、集体申领的审核规则相同",
        )
        check.add_argument(
            "--as-of",
            type=_as_of,
            metavar="YYYY-MM-DD",
            help="检查基准日（计算年龄、校验出生日期），默认今天",
        )
        check.add_argument("--out", required=True, type=Path, metavar="DIR", help="输出目录")
        check.add_argument(
            "--workers",
            type=_workers,
            metavar="N",
            help="检查照片的进程数，默认为可用 CPU 数",
        )
        add_custody_subcommands(subcommands, parser)
        add_instant_subcommand(subcommands, parser)

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = int(options.get("verbosity", 1))
        if options["subcommand"] == "check-applications":
            self._check_applications(options)
        elif options["subcommand"] == INSTANT_SUBCOMMAND:
            handle_instant(self, options)
        else:
            handle_custody(self, options)

    def _check_applications(self, options: dict[str, Any]) -> None:
        as_of = options["as_of"] or datetime.now(_CHINA).date()
        try:
            programme = load_programme(options["programme"] or settings.SHEBAO_CARD_PROGRAMME)
            summary = check_application_files(
                population=options["population"],
                applications=options["applications"],
                out_dir=options["out"],
                as_of=as_of,
                photos=options["photos"],
                cards=options["cards"],
                banks=options["banks"],
                programme=programme,
                workers=options["workers"],
            )
        except ShebaoError as exc:
            raise CommandError(exc.message) from exc
        self._report(summary, programme.title)

    def _report(self, s: CheckSummary, programme: str) -> None:
        lines = [
            f"发卡项目：{programme}",
            f"共 {s.rows:,} 行：符合制卡条件 {s.eligible:,} 行，不符合 {s.ineligible:,} 行"
            + (f"（检查照片 {s.photos_checked:,} 张）" if s.photos_checked else ""),
        ]
        for reason, count in s.counts.items():
            if count:
                lines.append(f"  {reason.value:<22} {reason.label}：{count:,}")
        for rule in s.skipped_rules:
            lines.append(f"注意：输入文件不含所需信息，未执行发卡范围规则“{rule}”")
        lines.extend(f"已写出 {path}" for path in s.outputs)
        if self.verbosity >= 2:
            lines.append("用时（秒）：" + "，".join(f"{k} {v:.1f}" for k, v in s.seconds.items()))
        self.stdout.write("\n".join(lines))
