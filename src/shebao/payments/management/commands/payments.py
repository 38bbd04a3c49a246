"""`shebao payments <子命令>`: payment work from the command line.

Each subcommand lives in a module of `shebao.payments.management` with a NAME, a function
adding its parser and one handling it; adding a subcommand is one line in SUBCOMMANDS.

    shebao payments check --population FILE --cards FILE --batch FILE
        --programme NAME_OR_TOML --period YYYY-MM [--deaths FILE] [--prison FILE]
        [--paid FILE] [--as-of YYYY-MM-DD] --out DIR
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from django.core.management.base import BaseCommand, CommandParser

from shebao.payments.management import check_command

# (name, add the subparser, handle it)
SUBCOMMANDS: Final[
    tuple[
        tuple[str, Callable[[Any, Any], None], Callable[[BaseCommand, dict[str, Any]], None]], ...
    ]
] = ((check_command.NAME, check_command.add_check_subcommand, check_command.handle_check),)


class Command(BaseCommand):
    help = "待遇及补贴发放。子命令：check 按文件检查发放批次"
    # `check` works on files only; subcommands that need the database check it themselves.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(
            dest="subcommand", metavar="子命令", required=True, title="子命令"
        )
        for _, add, _ in SUBCOMMANDS:
            add(subcommands, parser)

    def handle(self, *args: Any, **options: Any) -> None:
        handlers = {name: handle for name, _, handle in SUBCOMMANDS}
        handlers[options["subcommand"]](self, options)
