"""The time-driven card rules as subcommands of `shebao cards` (the worker also runs them
every night, see `cards.jobs`):

    shebao cards recall-overdue [--as-of YYYY-MM-DD] [--dry-run]          回收逾期未领取卡片
    shebao cards lapse-temporary-losses [--as-of YYYY-MM-DD] [--dry-run]  临时挂失到期自动解除
    shebao cards cancel-deceased [--as-of YYYY-MM-DD] [--dry-run]         注销死亡人员的卡片

`cards.py` registers them with `add_custody_subcommands` and hands over with
`handle_custody`; the work is in `cards.jobs` (the same functions the schedules run).
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand

SUBCOMMANDS = ("recall-overdue", "lapse-temporary-losses", "cancel-deceased")

_DESCRIPTIONS = {
    "recall-overdue": (
        "回收逾期未领取的卡片",
        "到达发放点（村居委、单位）后超过配置天数仍未领取的卡片改回“已制卡”，"
        "签收表标记为逾期回收，并向上级单位发出回收交接单（由上级确认接收）。",
    ),
    "lapse-temporary-losses": (
        "临时挂失到期自动解除",
        "临时挂失超过配置天数且未转为正式挂失的卡片恢复为“正常”。",
    ),
    "cancel-deceased": (
        "注销已登记死亡人员的卡片",
        "人口库已登记死亡（死亡日期不晚于基准日）、卡片尚未注销的，自动注销"
        "（补漏批量导入的死亡登记）。",
    ),
}


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD 格式：{value}") from exc


def add_custody_subcommands(subcommands: Any, parser: Any) -> None:
    common = {
        "called_from_command_line": getattr(parser, "called_from_command_line", None),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }
    for name in SUBCOMMANDS:
        help_text, description = _DESCRIPTIONS[name]
        sub = subcommands.add_parser(
            name,
            help=help_text,
            description=description
            + "\n每天凌晨由后台任务自动执行；此命令用于补跑或按指定日期试算。",
            **common,
        )
        sub.add_argument(
            "--as-of",
            type=_day,
            metavar="YYYY-MM-DD",
            help="按此日期执行（计算逾期、到期、死亡日期），默认今天",
        )
        sub.add_argument("--dry-run", action="store_true", help="只统计，不改变卡片状态")


def handle_custody(command: BaseCommand, options: dict[str, Any]) -> bool:
    """Run a custody subcommand; False if `options` names another one."""
    from shebao.cards.jobs import (
        sweep_cancel_deceased,
        sweep_lapse_temporary_losses,
        sweep_recall_overdue,
    )

    name = options.get("subcommand")
    as_of: date | None = options.get("as_of")
    dry_run = bool(options.get("dry_run"))
    on = f"（基准日 {as_of.isoformat()}）" if as_of else ""
    if name == "recall-overdue":
        result = sweep_recall_overdue(as_of=as_of, dry_run=dry_run)
        verb = "应回收" if dry_run else "已回收"
        command.stdout.write(f"{verb}逾期未领取卡片 {result.count:,} 张{on}")
        for org, n in result.per_organisation.items():
            command.stdout.write(f"  {org}：{n:,} 张")
        for number, n in result.handovers:
            command.stdout.write(f"  回收交接单 {number}：{n:,} 张，待上级确认接收")
        return True
    if name == "lapse-temporary-losses":
        result = sweep_lapse_temporary_losses(as_of=as_of, dry_run=dry_run)
        verb = "应自动解除" if dry_run else "自动解除"
        command.stdout.write(f"临时挂失到期{verb} {result.count:,} 张{on}")
        return True
    if name == "cancel-deceased":
        result = sweep_cancel_deceased(as_of=as_of, dry_run=dry_run)
        verb = "应注销" if dry_run else "已注销"
        command.stdout.write(f"{verb}死亡人员的卡片 {result.count:,} 张{on}")
        return True
    return False
