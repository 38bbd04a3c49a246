"""Shared body of `shebao targets import FILE` and `shebao figures import FILE`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.accounts.models import User
from shebao.reports.services import ImportOutcome, ImportRejected


class ImportCommand(BaseCommand):
    what: str = ""
    columns: tuple[str, ...] = ()

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["import"], help="import：导入文件")
        parser.add_argument(
            "file",
            type=Path,
            help=f"CSV（UTF-8/GB18030）或 XLSX 文件，表头：{'、'.join(self.columns)}",
        )

    def importer(self) -> Callable[..., ImportOutcome]:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        actor: User | None = None  # the command line acts as the system; audited as 命令行
        try:
            outcome = self.importer()(path=path, actor=actor)
        except ImportRejected as rejected:
            for error in rejected.errors:
                self.stderr.write(error.text())
            raise CommandError(f"{rejected.message}（{rejected.code}）") from rejected
        self.stdout.write(
            f"{self.what}导入完成：{path.name} 共 {outcome.batch.rows} 行，"
            f"新增 {outcome.created}，更新 {outcome.updated}，未变 {outcome.unchanged}"
            f"（导入批次 {outcome.batch.pk}）"
        )
