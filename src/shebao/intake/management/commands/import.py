"""`shebao import KIND=PATH ... [--mode snapshot|increment] [--confirm-shrink] [--region CODE]
[--background]`: import department files.

Each file becomes an import batch (the same file twice: the existing batch, nothing changes).
A file is a full snapshot (全量, the default) or an increment (增量, applied on top of the
current data of its kind); a full snapshot with fewer than half the rows of the current data
is refused unless --confirm-shrink says it is complete.
The imports run now, through the job machinery, with progress on the terminal; with
--background they are only queued for `shebao worker`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.errors import ShebaoError
from shebao.geo.models import Region
from shebao.intake.choices import ImportMode, ImportStatus
from shebao.intake.formats import SourceKind
from shebao.intake.formats.errors import command_line_message
from shebao.intake.models import ImportBatch
from shebao.intake.services import CONFIRM_SHRINK_HINT, import_batch_submit
from shebao.jobs.services import job_run_next


def _argument(value: str) -> tuple[SourceKind | None, Path]:
    prefix, sep, rest = value.partition("=")
    if sep and not Path(value).exists():
        try:
            return SourceKind(prefix.strip().lower()), Path(rest)
        except ValueError:
            kinds = "、".join(k.value for k in SourceKind)
            raise CommandError(f"未知的数据类型“{prefix}”（{value}），可选：{kinds}") from None
    return None, Path(value)


class Command(BaseCommand):
    help = "导入部门数据文件（KIND=PATH 或 PATH，类型由表头识别），生成导入批次和标准化快照"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("inputs", nargs="+", metavar="KIND=PATH")
        parser.add_argument(
            "--mode",
            default=ImportMode.SNAPSHOT.value,
            help="snapshot（全量，默认：替换该类数据）或 increment（增量：叠加到该类当前数据上）",
        )
        parser.add_argument(
            "--confirm-shrink",
            action="store_true",
            help="确认全量文件完整（行数不到当前数据一半的全量文件不加此项会被拒绝）",
        )
        parser.add_argument("--region", default="", help="导入批次所属地区的区划代码")
        parser.add_argument(
            "--background", action="store_true", help="只排队，由 shebao worker 执行"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        region = None
        if options["region"]:
            region = Region.objects.filter(code=options["region"]).first()
            if region is None:
                raise CommandError(f"区划代码 {options['region']} 不存在")
        modes = {
            "snapshot": "snapshot",
            "全量": "snapshot",
            "increment": "increment",
            "增量": "increment",
        }
        mode = modes.get(str(options["mode"]).strip().lower())
        if mode is None:
            raise CommandError(
                f"--mode 应为 snapshot（全量）或 increment（增量），收到“{options['mode']}”"
            )
        inputs = [_argument(v) for v in options["inputs"]]
        failed = 0
        for kind, path in inputs:
            try:
                batch, created = import_batch_submit(
                    actor=None,
                    path=path,
                    kind=kind,
                    region=region,
                    mode=mode,
                    confirm_shrink=options["confirm_shrink"],
                )
            except ShebaoError as error:
                self.stderr.write(f"{path.name}：{command_line_message(error)}")
                failed += 1
                continue
            if not created:
                current = "，是当前数据" if batch.is_current else "，可在导入批次页面设为当前数据"
                self.stdout.write(
                    f"{path.name}：与导入批次#{batch.pk}是同一文件"
                    f"（{ImportStatus(batch.status).label}{current}），未重复导入"
                )
                continue
            if options["background"] or batch.job_id is None:
                self.stdout.write(f"{path.name}：已排队，导入批次#{batch.pk}")
                continue
            job = job_run_next(job_id=batch.job_id)
            batch = ImportBatch.objects.get(pk=batch.pk)
            if batch.status == ImportStatus.IMPORTED:
                self.stdout.write(
                    f"{path.name}（{batch.kind_label}，{batch.mode_label}）：导入批次#{batch.pk}，"
                    f"读取 {batch.rows_read:,} 行，"
                    f"接收 {batch.rows_accepted:,} 行，拒收 {batch.rows_rejected:,} 行，"
                    f"叠加后有效 {batch.rows_effective:,} 行"
                )
            else:
                failed += 1
                reason = (batch.error_message or (job.error if job else "")).replace(
                    CONFIRM_SHRINK_HINT, "请加 --confirm-shrink"
                )
                self.stderr.write(f"{path.name}：导入失败：{reason}")
        if failed:
            raise CommandError(f"{failed} 个文件未能导入")
