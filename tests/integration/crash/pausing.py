"""Entry point of the processes the crash tests kill: a real `shebao worker`, or a process
running one service call (what a server process does for a request), with a pause at a
chosen point so that SIGKILL lands there.

    python -m tests.integration.crash.pausing worker [worker options]
    python -m tests.integration.crash.pausing service <operation>

`CRASH_POINT` picks the point: `progress:N` (after the job's N-th progress report; N=1 is
the first), `audit:N` (after the N-th audit row this process writes: every operation
writes its audit row inside its own transaction, so the pause holds the transaction open
with all its rows written but not committed), `commit:N` (just before the N-th commit of
an outermost transaction), or empty for no pause (the kill then falls
wherever the caller's timer says). At the point the process prints `CRASH-POINT <point>`
and sleeps `CRASH_PAUSE` seconds (default 60), long enough to be killed.

This is a fresh interpreter (`python -m`), started by `subprocess` as ADR 0008 requires;
nothing here forks.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

MARKER = "CRASH-POINT"


def _pause(point: str) -> None:
    print(f"{MARKER} {point}", flush=True)
    time.sleep(float(os.environ.get("CRASH_PAUSE", "60")))


def install_pause() -> None:
    """Wire the pause chosen by CRASH_POINT into the (already set up) Django process."""
    point = os.environ.get("CRASH_POINT", "")
    if not point:
        return
    where, _, count_text = point.partition(":")
    target = int(count_text or "1")
    seen = 0

    def tick() -> None:
        nonlocal seen
        seen += 1
        if seen == target:
            _pause(point)

    if where == "progress":
        from shebao.jobs.kinds import JobContext

        original = JobContext.progress

        def progress(self: JobContext, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            tick()

        JobContext.progress = progress  # type: ignore[method-assign]
    elif where == "audit":
        from django.db.models.signals import post_save

        from shebao.accounts.models import AuditEvent

        def audited(sender: Any, created: bool = False, **kwargs: Any) -> None:
            if created:
                tick()

        post_save.connect(audited, sender=AuditEvent, weak=False)
    elif where == "commit":
        from django.db.backends.base.base import BaseDatabaseWrapper

        commit = BaseDatabaseWrapper.commit

        def paused_commit(self: BaseDatabaseWrapper) -> None:
            tick()
            commit(self)

        BaseDatabaseWrapper.commit = paused_commit  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown CRASH_POINT {point!r}")


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    import django

    django.setup()
    install_pause()
    if argv[0] == "worker":
        from django.core.management import call_command

        print("WORKER-STARTED", flush=True)
        call_command("worker", *argv[1:])
    elif argv[0] == "service":
        from tests.integration.crash.operations import OPERATIONS

        print("SERVICE-STARTED", flush=True)
        OPERATIONS[argv[1]].service_in_process()
        print("SERVICE-DONE", flush=True)
    else:
        raise SystemExit(f"unknown command {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
