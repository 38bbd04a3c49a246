"""`shebao totp-code USERNAME`: the current one-time code of a demo account (demo only).

Card-centre, bank, auditor and administrator accounts sign in with a password and a code;
the demo's accounts use published keys (`<data dir>/demo_totp.json`) so that anyone can try
them without a phone. Refused in production, and for any account without a demo key."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.accounts.demo_totp import demo_totp_code
from shebao.errors import ShebaoError


class Command(BaseCommand):
    help = "演示环境：显示演示账号当前的动态口令（生产环境不可用）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="演示账号的用户名，如 centre、bank、auditor、admin")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            code = demo_totp_code(options["username"])
        except ShebaoError as exc:
            raise CommandError(exc.message) from exc
        left = 30 - int(time.time()) % 30
        self.stdout.write(code)
        self.stderr.write(f"（{left} 秒后更换；每个口令只能使用一次）")
