"""`shebao bulletin --month 2014-07 --region 430000 --format text|xlsx|docx|pdf --out PATH`."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from shebao.errors import ShebaoError
from shebao.reports.choices import BulletinFormat
from shebao.reports.models import Bulletin
from shebao.reports.services import bulletin_publish, bulletin_render_stored

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class Command(BaseCommand):
    help = "生成进度通报（正文与附表），并保存通报及其所依据的数据"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="统计月份，如 2014-07")
        parser.add_argument("--region", help="区划代码，如 430000")
        parser.add_argument(
            "--format",
            choices=BulletinFormat.values,
            default=BulletinFormat.TEXT,
            help="text（纯文本）、xlsx（附表）、docx（Word）或 pdf",
        )
        parser.add_argument("--out", type=Path, help="输出文件；text 格式可省略（输出到屏幕）")
        parser.add_argument(
            "--reissue",
            type=int,
            metavar="ID",
            help="按已保存通报的数据快照重新输出（不读取当前数据）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = BulletinFormat(options["format"])
        out: Path | None = options["out"]
        stored: Bulletin | None = None
        if options["reissue"] is not None:
            stored = Bulletin.objects.select_related("region").filter(pk=options["reissue"]).first()
            if stored is None:
                raise CommandError(f"通报 {options['reissue']} 不存在")
            year, month, region = stored.year, stored.month, stored.region_id
        else:
            match = _MONTH.match(options["month"] or "")
            if match is None:
                raise CommandError("--month 应为“年-月”格式，如 2014-07")
            if not options["region"]:
                raise CommandError("请用 --region 指定区划代码，如 430000")
            year, month, region = int(match.group(1)), int(match.group(2)), options["region"]
        if out is None and fmt != BulletinFormat.TEXT:
            raise CommandError(f"{fmt.label}须用 --out 指定输出文件")

        if stored is not None:
            # A reissue writes the kept bulletin again (its snapshot, version and 落款): it
            # publishes nothing new and supersedes nothing.
            with tempfile.TemporaryDirectory(prefix="shebao-bulletin-") as work:
                target = out if out is not None else Path(work) / "bulletin.txt"
                bulletin_render_stored(bulletin=stored, out=target, actor=None, fmt=fmt)
                if out is None:
                    self.stdout.write(target.read_text(encoding="utf-8"), ending="")
            message = f"已重新输出通报 {stored.pk}（第{stored.version}版，{fmt.label}）"
            if out is not None:
                self.stdout.write(f"{message} → {out}")
            else:
                self.stderr.write(message)
            return

        with tempfile.TemporaryDirectory(prefix="shebao-bulletin-") as work:
            target = out if out is not None else Path(work) / "bulletin.txt"
            try:
                outcome = bulletin_publish(
                    year=year,
                    month=month,
                    region_code=region,
                    fmt=fmt,
                    out=target,
                    actor=None,
                )
            except ShebaoError as error:
                raise CommandError(f"{error.message}（{error.code}）") from error
            if out is None:
                self.stdout.write(target.read_text(encoding="utf-8"), ending="")

        bulletin = outcome.bulletin
        report = sys.stderr if out is None else None  # keep stdout clean for the text itself
        message = f"已生成通报 {bulletin.pk}：{region} {year}年{month}月（{fmt.label}）"
        if out is not None:
            message += f" → {out}"
        if outcome.figures_changed and outcome.previous is not None:
            at = timezone.localtime(outcome.previous.generated_at)
            message += (
                f"\n注意：数据与 {at:%Y-%m-%d %H:%M} 生成的通报 {outcome.previous.pk} 不同"
                "（已有更正）；已生成的通报及其数据保持不变。"
            )
        if report is None:
            self.stdout.write(message)
        else:
            self.stderr.write(message)
