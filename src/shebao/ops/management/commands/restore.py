"""`shebao restore FILE.tar`: restore into an empty database; see `shebao.ops.backup`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.errors import ShebaoError
from shebao.ops.backup import backup_restore, backup_verify


class Command(BaseCommand):
    help = "从备份恢复到新建的空数据库和数据目录（先校验全部 SM3 值）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="shebao backup 生成的 .tar 文件")
        parser.add_argument(
            "--verify-only", action="store_true", help="只校验备份文件是否完整，不恢复"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["verify_only"]:
                manifest = backup_verify(options["archive"])
                self.stdout.write(
                    f"备份完整：{len(manifest['members'])} 个成员的 SM3 校验值均相符；"
                    f"{len(manifest['tables'])} 张表共 {sum(manifest['tables'].values()):,} 行"
                )
                return
            summary = backup_restore(
                options["archive"], on_step=lambda message: self.stderr.write(f"· {message}")
            )
        except ShebaoError as exc:
            raise CommandError(f"{exc.message}（{exc.code}）") from exc
        if summary.mismatched_tables:
            raise CommandError(
                "恢复后以下表的行数与备份不符：" + "、".join(summary.mismatched_tables)
            )
        self.stdout.write(
            f"恢复完成：{summary.tables} 张表共 {summary.rows:,} 行，与备份一致；"
            f"文件 {summary.files} 个"
        )
