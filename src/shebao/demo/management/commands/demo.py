"""`shebao demo`: migrate, build the demo city with people and accounts, then serve it."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from shebao.accounts.demo_totp import demo_totp_path
from shebao.demo.services import DemoSummary, demo_build
from shebao.errors import ShebaoError
from shebao.sms.backends import outbox_path
from shebao.supervisor import site_run


def _per_town(value: str) -> tuple[int, int]:
    low, _, high = value.partition("-")
    return int(low), int(high or low)


class Command(BaseCommand):
    help = "构建演示环境（行政区划、村居、人员、单位、参保、机构与演示账号）并启动网站"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=20_000, help="演示人口数（默认 20000）")
        parser.add_argument("--seed", type=int, default=42, help="随机种子（默认 42）")
        parser.add_argument(
            "--city", default="420700", help="演示城市区划代码（默认 420700 鄂州市）"
        )
        parser.add_argument(
            "--villages-per-town",
            type=_per_town,
            default=(3, 8),
            help="每个乡镇（街道）的村（居）数量范围，如 3-8",
        )
        parser.add_argument("--no-serve", action="store_true", help="只构建，不启动网站")
        parser.add_argument("--host", default="127.0.0.1", help="网站监听地址")
        parser.add_argument("--port", type=int, default=8000, help="网站端口")

    def handle(self, *args: Any, **options: Any) -> None:
        # Rich writes to the command's own stream (the terminal, or a test's buffer).
        console = Console(file=getattr(self.stdout, "_out", None))
        with console.status("数据库迁移…") as status:
            call_command("migrate", interactive=False, verbosity=0)
            console.log("数据库迁移完成")

            def step(message: str) -> None:
                status.update(f"{message}…")
                console.log(message)

            try:
                summary = demo_build(
                    people=options["people"],
                    seed=options["seed"],
                    city_code=options["city"],
                    per_town=options["villages_per_town"],
                    on_step=step,
                )
            except ShebaoError as exc:
                raise CommandError(exc.message) from exc
        self._report(console, summary)
        if options["no_serve"]:
            return
        # This process has started Polars and DuckDB thread pools: never fork it into a
        # server. The site and the worker start as fresh processes (`shebao.supervisor`).
        self.stdout.flush()
        code = site_run(
            host=options["host"], port=options["port"], say=lambda text: console.print(text)
        )
        if code:
            raise CommandError(f"网站进程异常退出（代码 {code}）")

    def _report(self, console: Console, s: DemoSummary) -> None:
        load = s.load
        console.print(
            f"[bold]{s.city_name}（{s.city_code}）演示环境就绪[/bold]，用时 {s.seconds:.1f} 秒\n"
            f"行政区划 {s.regions.total:,} 条（新增 {s.regions.created:,}）；"
            f"村（居）委会新增 {s.villages.created:,} 个，共 {s.villages.total:,} 个\n"
            f"人员新增 {load.persons:,}（已有 {load.persons_skipped:,}），"
            f"户新增 {load.households:,}，单位新增 {load.employers:,}，"
            f"参保记录新增 {load.enrollments:,}；全市人员 {s.persons_in_city:,} 人\n"
            f"机构新增 {s.organisations_created:,}，共 {s.organisations_total:,}；"
            f"演示账号新增 {s.accounts_created}；银行账户新增 {s.bank_accounts_created:,}"
        )
        table = Table(title="演示账号（所有账号密码相同）")
        table.add_column("用户名", style="bold cyan")
        table.add_column("角色")
        table.add_column("所属机构")
        table.add_column("密码", style="green")
        for account in s.accounts:
            table.add_row(
                account.username, account.role_label, account.organisation, account.password
            )
        console.print(table)
        console.print(
            "[bold]动态口令[/bold]：卡中心、银行、审计员和管理员账号登录时还要输入 6 位动态口令。"
            "演示账号的口令：uv run shebao totp-code 用户名（如 uv run shebao totp-code centre），"
            f"密钥（公开，仅供演示）见 {demo_totp_path()}"
        )
        files = dict(s.department_files)
        applications = files.pop("applications", None)
        if files:
            base = files["population"].parent.parent
            sources = " ".join(f"{kind}={path}" for kind, path in files.items())
            console.print(
                "[bold]试一试全民参保登记比对[/bold]（各部门数据文件已写出）：\n"
                f"  uv run shebao compare-files --out {base / 'compare'} {sources}\n"
                "  （加 --engine spark 用 Apache Spark 运行同一比对，需 Java 17）"
            )
            if applications is not None:
                console.print(
                    "[bold]试一试制卡条件审核[/bold]（一个单位的集体申领文件）：\n"
                    f"  uv run shebao cards check-applications --population "
                    f"{files['population']} --applications {applications} "
                    f"--banks 农业银行,邮储银行 --out {base / 'eligibility'}"
                )
        console.print(
            "[bold]后台任务[/bold]（导入、比对、定时刷新统计、月度通报）由同时启动的工作进程运行；"
            "只启动网站时（shebao serve）另开终端运行 uv run shebao worker\n"
            "[bold]页面[/bold]：参保登记 /registration/runs/ · 申领 /cards/issuing/batches/ · "
            "交接 /cards/custody/ · 群众自助 /cards/self-service/ · 进度看板 /reports/dashboard/\n"
            f"[bold]短信[/bold]：群众自助的验证码不真发短信，写入 {outbox_path()}"
        )
