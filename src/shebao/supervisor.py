"""Run the site and the background worker as fresh processes, and keep them running.

`shebao demo` builds the demo city with Polars and DuckDB, whose thread pools do not survive a
fork: gunicorn workers forked from that process deadlocked or crashed (issue #10). So the
building process never serves; it starts `shebao serve` and `shebao worker` as new
interpreters (`subprocess`, i.e. fork + exec at once) and supervises them: a worker that dies
is started again, a server that dies ends the whole, Ctrl+C or SIGTERM stops both.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

__all__ = ["SiteProcesses", "site_run"]

# A worker that keeps dying is not restarted for ever: after this many restarts within
# `_RESTART_WINDOW` seconds the supervisor gives up on it and says so.
_MAX_RESTARTS = 5
_RESTART_WINDOW = 60.0


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "shebao", *args]


@dataclass
class SiteProcesses:
    host: str
    port: int
    workers: int | None = None
    say: Callable[[str], None] = print
    server: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start_server(self) -> None:
        args = ["serve", "--host", self.host, "--port", str(self.port)]
        if self.workers:
            args += ["--workers", str(self.workers)]
        self.server = subprocess.Popen(_command(*args))  # noqa: S603 - our own interpreter

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(_command("worker"))  # noqa: S603 - our own interpreter

    def stop(self) -> None:
        for process in (self.server, self.worker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in (self.server, self.worker):
            if process is None:
                continue
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def supervise_once(self) -> int | None:
        """One look at the children: restart a dead worker; return the server's exit code
        if it has ended (the whole stops then), else None."""
        if self.server is None:
            raise RuntimeError("the server was not started")
        code = self.server.poll()
        if code is not None:
            return code
        if self.worker is not None and self.worker.poll() is not None:
            now = time.monotonic()
            self.restarts = [t for t in self.restarts if now - t < _RESTART_WINDOW]
            if len(self.restarts) >= _MAX_RESTARTS:
                self.say(
                    f"后台工作进程 {_RESTART_WINDOW:.0f} 秒内退出 {_MAX_RESTARTS} 次，"
                    "不再重启；请查看上面的错误后重新运行"
                )
                self.worker = None
            else:
                self.say(f"后台工作进程已退出（代码 {self.worker.returncode}），正在重启")
                self.restarts.append(now)
                self.start_worker()
        return None


def site_run(
    *, host: str, port: int, workers: int | None = None, say: Callable[[str], None] = print
) -> int:
    """Start the server and the worker, supervise them until the server ends or a stop
    signal arrives; returns the exit code for the command."""
    site = SiteProcesses(host=host, port=port, workers=workers, say=say)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        site.start_worker()
        site.start_server()
        say(f"后台工作进程已启动（进程号 {site.worker.pid if site.worker else '-'}）")
        code: int | None = None
        while not stopping:
            code = site.supervise_once()
            if code is not None:
                say(f"网站进程已退出（代码 {code}）")
                break
            time.sleep(0.5)
    finally:
        site.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopping:
        say("已停止网站和后台工作进程")
        return 0
    return code or 0
