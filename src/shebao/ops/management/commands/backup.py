"""`shebao backup [--out FILE.tar] [--with-keys]`: see `shebao.ops.backup`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.errors import ShebaoError
from shebao.ops.backup import backup_create


class Command(BaseCommand):
    help = "备份数据库和存储的文件（一致性快照，SM3 校验）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out", type=Path, help="备份文件路径（.tar）；默认 <数据目录>/backups/shebao-时间.tar"
        )
        parser.add_argument(
            "--with-keys",
            action="store_true",
            help="同时备份数据目录中的密钥文件（仅限开发环境；生产环境密钥应单独保管）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = backup_create(
                options["out"],
                with_keys=options["with_keys"],
                on_step=lambda message: self.stderr.write(f"· {message}"),
            )
        except ShebaoError as exc:
            raise CommandError(f"{exc.message}（{exc.code}）") from exc
        self.stdout.write(
            f"备份完成：{summary.path}\n"
            f"数据库 {summary.engine}，{summary.tables} 张表共 {summary.rows:,} 行；"
            f"文件 {summary.files} 个；备份大小 {summary.bytes:,} 字节"
        )
