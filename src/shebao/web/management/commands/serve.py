"""`shebao serve [--host] [--port] [--workers]`: run the site under gunicorn.

Static files are served by WhiteNoise through the finders, so no collectstatic is needed.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from gunicorn.app.base import BaseApplication

LOG_OPTIONS: dict[str, str] = {
    "accesslog": "-",
    "errorlog": "-",
    # ID and mobile numbers in paths are masked (shebao.web.access_log).
    "logger_class": "shebao.web.access_log.RedactingLogger",
    # Path only: query strings may carry ID numbers or names.
    "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss',
}


class ShebaoApplication(BaseApplication):
    """gunicorn with options from the command line instead of a config file."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from shebao.wsgi import application

        return application


class Command(BaseCommand):
    help = "启动网站服务（gunicorn），例如 shebao serve --port 8000"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1）")
        parser.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
        parser.add_argument(
            "--workers",
            type=int,
            default=min(4, (os.cpu_count() or 1) + 1),
            help="工作进程数（默认 CPU 数 + 1，最多 4）",
        )
        parser.add_argument("--timeout", type=int, default=120, help="请求超时秒数（默认 120）")
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="同时启动后台工作进程（导入、比对、定时任务），并在其退出时自动重启",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        if options["with_worker"]:
            from shebao.supervisor import site_run

            code = site_run(host=host, port=port, workers=options["workers"])
            if code:
                raise SystemExit(code)
            return
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.stdout.write(f"网站地址：http://{bind}/  （按 Ctrl+C 停止）")
        ShebaoApplication(
            {
                "bind": bind,
                "workers": options["workers"],
                "timeout": options["timeout"],
                **LOG_OPTIONS,
                "proc_name": "shebao",
            }
        ).run()
