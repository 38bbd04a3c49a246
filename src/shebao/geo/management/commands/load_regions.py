"""`shebao load_regions [--no-towns]`: load the national division table into Region."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shebao.geo.choices import RegionLevel
from shebao.geo.services import regions_load


class Command(BaseCommand):
    help = "加载全国行政区划（省、地、县三级及乡镇街道），可重复执行"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-towns",
            action="store_true",
            help="只加载省、地、县三级，不加载乡镇（街道）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        result = regions_load(towns=not options["no_towns"])
        elapsed = time.perf_counter() - started
        levels = "，".join(
            f"{RegionLevel(level).label} {count:,}"
            for level, count in sorted(result.by_level.items())
        )
        self.stdout.write(
            f"行政区划数据：民政部 {result.source}（截至 {result.data_as_of}）\n"
            f"共 {result.total:,} 条（{levels}）\n"
            f"新增 {result.created:,} 条，更新 {result.updated:,} 条，"
            f"未变 {result.unchanged:,} 条，用时 {elapsed:.1f} 秒"
        )
        self.stdout.write(self.style.SUCCESS("行政区划加载完成"))
