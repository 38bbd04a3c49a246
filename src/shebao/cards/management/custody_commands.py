"""The custody and card-life sweeps of `shebao cards`:

    shebao cards recall-overdue [--dry-run]      回收逾期未发放卡片
    shebao cards lapse-temporary-losses          临时挂失到期自动解除
    shebao cards cancel-deceased                 人口库登记死亡的持卡人自动注销

`cards.py` registers them with `add_custody_subcommands` and hands over with
`handle_custody`; the work is in `cards.services`.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand

SUBCOMMANDS = ("recall-overdue", "lapse-temporary-losses", "cancel-deceased")


def add_custody_subcommands(subcommands: Any, parser: Any) -> None:
    common = {
        "called_from_command_line": getattr(parser, "called_from_command_line", None),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }
    recall = subcommands.add_parser(
        "recall-overdue",
        help="回收逾期未领取的卡片",
        description="到达发放点（村居委、单位）后超过配置天数仍未领取的卡片改回“已制卡”，"
        "签收表标记为逾期回收，并向上级单位发出回收交接单（由上级确认接收）。",
        **common,
    )
    recall.add_argument("--dry-run", action="store_true", help="只统计，不回收")
    subcommands.add_parser(
        "lapse-temporary-losses",
        help="临时挂失到期自动解除",
        description="临时挂失超过配置天数且未转为正式挂失的卡片恢复为“正常”。",
        **common,
    )
    subcommands.add_parser(
        "cancel-deceased",
        help="注销已登记死亡人员的卡片",
        description="人口库已登记死亡、卡片尚未注销的，自动注销（补漏批量导入的死亡登记）。",
        **common,
    )


def handle_custody(command: BaseCommand, options: dict[str, Any]) -> bool:
    """Run a custody subcommand; False if `options` names another one."""
    from shebao.cards.services.card_life import (
        cards_cancel_for_deceased,
        cards_lapse_temporary_losses,
    )
    from shebao.cards.services.custody import cards_recall_overdue

    name = options.get("subcommand")
    if name == "recall-overdue":
        result = cards_recall_overdue(actor=None, dry_run=options["dry_run"])
        verb = "应回收" if result.dry_run else "已回收"
        command.stdout.write(f"{verb}逾期未领取卡片 {result.total:,} 张")
        for org, n in sorted(result.per_organisation.items()):
            command.stdout.write(f"  {org}：{n:,} 张")
        for h in result.handovers:
            command.stdout.write(f"  回收交接单 {h.number}：{h.listed_count:,} 张，待上级确认接收")
        return True
    if name == "lapse-temporary-losses":
        n = cards_lapse_temporary_losses()
        command.stdout.write(f"临时挂失到期自动解除 {n:,} 张")
        return True
    if name == "cancel-deceased":
        n = cards_cancel_for_deceased()
        command.stdout.write(f"已注销死亡人员的卡片 {n:,} 张")
        return True
    return False
