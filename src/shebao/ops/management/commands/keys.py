"""Data keys of the personal data at rest (ADR 0017).

shebao keys status          JSON: current kid, values per kid, per sealed column and files
shebao keys rotate          new current key; queues the re-encryption job (the worker runs it)
shebao keys reencrypt       re-encrypts now, in this process (resumable: run it again)
shebao keys retire KID      forgets an old key once nothing is sealed under it
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.errors import ShebaoError
from shebao.ops.keys import keys_reencrypt, keys_retire, keys_rotate, keys_status


class Command(BaseCommand):
    help = (
        "个人信息加密密钥：status 查看；rotate 更换当前密钥并排队重新加密；"
        "reencrypt 立即重新加密；retire 停用旧密钥"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", metavar="子命令", required=True)
        called = getattr(parser, "called_from_command_line", None)
        sub.add_parser(
            "status", help="各密钥加密的数据项数（JSON）", called_from_command_line=called
        )
        sub.add_parser(
            "rotate", help="生成新的当前密钥并排队重新加密任务", called_from_command_line=called
        )
        sub.add_parser(
            "reencrypt",
            help="在本进程中用当前密钥重新加密全部数据",
            called_from_command_line=called,
        )
        retire = sub.add_parser(
            "retire", help="停用不再使用的旧密钥", called_from_command_line=called
        )
        retire.add_argument("kid", metavar="KID", help="密钥标识（8 位十六进制）")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            match options["subcommand"]:
                case "status":
                    self.stdout.write(json.dumps(keys_status(), ensure_ascii=False, indent=2))
                case "rotate":
                    kid, job = keys_rotate()
                    self.stdout.write(f"新的当前密钥 {kid}；重新加密任务 #{job.pk} 已排队")
                case "reencrypt":
                    result = keys_reencrypt(
                        progress=lambda done, total, message: self.stderr.write(
                            f"{done}/{total} {message}"
                        )
                    )
                    self.stdout.write(json.dumps(result, ensure_ascii=False))
                case "retire":
                    keys_retire(options["kid"].strip().lower())
                    self.stdout.write(f"已停用密钥 {options['kid']}")
        except ShebaoError as exc:
            raise CommandError(f"{exc.message}（{exc.code}）") from exc
