"""`shebao demo` runs the site and the worker as fresh processes and keeps the worker alive."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.journeys.conftest import Demo


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == pid:
                found[int(entry.name)] = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                )
        except (OSError, ValueError, IndexError):
            continue
    return found


def _worker_pid(demo: Demo) -> int | None:
    assert demo.process is not None
    workers = [p for p, cmd in _children(demo.process.pid).items() if cmd.endswith(" worker")]
    return workers[0] if workers else None


def test_the_site_and_the_worker_are_fresh_processes(demo: Demo) -> None:
    assert demo.process is not None
    commands = list(_children(demo.process.pid).values())
    # Started with exec (a new interpreter), not forked from the builder with its pools.
    assert any(cmd.endswith(" worker") and " -m shebao" in cmd for cmd in commands), commands
    assert any(" -m shebao serve " in f"{cmd} " for cmd in commands), commands


def test_a_killed_worker_is_restarted_and_seen_alive(demo: Demo) -> None:
    first = _worker_pid(demo)
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    second = None
    while time.monotonic() < deadline:
        second = _worker_pid(demo)
        if second is not None and second != first:
            break
        time.sleep(0.5)
    assert second is not None and second != first, "the worker was not restarted"
    assert "后台工作进程已退出" in demo.log_text()
    # The new worker shows itself (its presence row), so pages know a worker is alive.
    probe = (
        "from shebao.jobs.models import WorkerPresence; "
        f"print(WorkerPresence.objects.filter(name__endswith=':{second}').count())"
    )
    deadline = time.monotonic() + 30
    seen = "0"
    while time.monotonic() < deadline and seen == "0":
        seen = demo.run("shell", "-c", probe).stdout.strip().splitlines()[-1]
        time.sleep(1)
    assert seen == "1"
