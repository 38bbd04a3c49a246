"""The crash environment: a database and a data directory of its own, shared by this test
process (setup, checks, re-submission through the services) and the processes it kills.

The database is a copy of the migrated, empty test database (PostgreSQL: `CREATE DATABASE …
TEMPLATE`; SQLite: the online backup API into a file, since the test database lives in
memory), so nothing is migrated again. While an environment is open the test process's
default connection points at it; it points back at the test database afterwards.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection

from tests.integration.crash.pausing import MARKER

ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT = 300.0  # a fresh interpreter imports every app; the machine may be busy
JOB_TIMEOUT = 300.0


def _pg_admin(settings_dict: dict[str, Any]) -> Any:
    import psycopg

    return psycopg.connect(
        dbname="postgres",
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None,
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        autocommit=True,
    )


def _url(settings_dict: dict[str, Any], name: str) -> str:
    user = settings_dict["USER"]
    if settings_dict["PASSWORD"]:
        user += f":{settings_dict['PASSWORD']}"
    host = settings_dict["HOST"] or "127.0.0.1"
    port = settings_dict["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{name}"


@dataclass
class CrashEnv:
    directory: Path
    database_url: str
    vendor: str
    db_name: str
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def environ(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CRASH_", "PYTEST_", "DJANGO_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="shebao.settings",
            DATABASE_URL=self.database_url,
            SHEBAO_DATA_DIR=str(self.data_dir),
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def spawn(self, *args: str, **extra: str) -> Proc:
        """A fresh interpreter (fork + exec at once: nothing of this process survives)."""
        log = (self.directory / f"proc-{len(self.processes)}.log").open("w")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "tests.integration.crash.pausing", *args],
            cwd=ROOT,
            env=self.environ(**extra),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self.processes.append(process)
        return Proc(process, log)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Proc:
    """A child whose stdout is read by a thread, so the test can wait for a line."""

    def __init__(self, process: subprocess.Popen[str], log: IO[str]) -> None:
        self.process = process
        self.log = log
        self.lines: list[str] = []
        self.ended = False
        self._seen = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._seen:
                self.lines.append(line.rstrip("\n"))
                self._seen.notify_all()
        with self._seen:
            self.ended = True
            self._seen.notify_all()

    def wait_for(self, prefix: str, timeout: float = START_TIMEOUT) -> str | None:
        """The first output line starting with `prefix`; None if the process ended first."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        return line
                if self.ended:
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {prefix!r} within {timeout:.0f} s: {self.lines}")
                self._seen.wait(timeout=min(left, 1.0))

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stderr_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")


@contextmanager
def crash_env(directory: Path, label: str) -> Iterator[CrashEnv]:
    """Open an environment (see the module docstring); the test process's default
    connection uses it until the block ends."""
    settings_dict = connection.settings_dict
    original = settings_dict["NAME"]
    vendor = connection.vendor
    directory.mkdir(parents=True, exist_ok=True)
    held: Any = None
    if vendor == "postgresql":
        name = f"{original}_crash_{label}"[:63]
        connection.close()
        with _pg_admin(settings_dict) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            # A template must have no other session. An idle connection left open by an
            # earlier test's thread (persistent connections, CONN_MAX_AGE) made the copy fail
            # in the full suite ("source database is being accessed by other users"); this
            # process's own connection is closed above, so any other one is such a leftover.
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (original,),
            )
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{original}"')
        url = _url(settings_dict, name)
    else:
        name = str(directory / "crash.sqlite3")
        connection.ensure_connection()
        held = connection.connection  # the in-memory test database lives while it is open
        target = sqlite3.connect(name)
        held.backup(target)
        target.close()
        connection.connection = None
        url = f"sqlite:///{name}"
    settings_dict["NAME"] = name
    env = CrashEnv(directory=directory, database_url=url, vendor=vendor, db_name=name)
    saved = (settings.DATA_DIR, settings.MEDIA_ROOT)
    settings.DATA_DIR = env.data_dir
    settings.MEDIA_ROOT = env.data_dir / "media"
    try:
        yield env
    finally:
        env.stop_all()
        settings.DATA_DIR, settings.MEDIA_ROOT = saved
        connection.close()
        settings_dict["NAME"] = original
        if vendor == "postgresql":
            with _pg_admin(settings_dict) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            connection.connection = held


def wait_job(job_id: int, statuses: set[str], timeout: float = JOB_TIMEOUT) -> str:
    from shebao.jobs.models import Job

    deadline = time.monotonic() + timeout
    while True:
        status = Job.objects.filter(pk=job_id).values_list("status", flat=True).first()
        if status in statuses:
            return str(status)
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {status} after {timeout:.0f} s")
        time.sleep(0.3)


@dataclass
class KillOutcome:
    operation: str
    point: str
    delay: float
    hit: bool  # the process was at the point (or running) when killed
    problems_after_kill: list[str]
    problems_final: list[str]
    seconds: float
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.hit and not self.problems_after_kill and not self.problems_final


def kill_once(
    env: CrashEnv, op_name: str, rng: random.Random, point: str | None = None
) -> KillOutcome:
    """Set the operation up, start it, SIGKILL its process at a point (chosen by `rng` among
    the operation's points unless given) after a random delay, check what a user would see,
    resume as a user would and check the outcome against an uninterrupted run."""
    from shebao.jobs.choices import JobStatus
    from shebao.jobs.models import Job
    from tests.integration.crash.operations import OPERATIONS

    op = OPERATIONS[op_name]
    began = time.monotonic()
    point = point or rng.choice(op.points)
    delay = round(rng.uniform(0.0, 0.5), 3)
    state = op.setup(env.directory)
    # "time:S": no pause; the kill falls S seconds (times a random share) after the work
    # started, wherever that is.
    timed = point.startswith("time:")
    pause = {} if timed else {"CRASH_POINT": point, "CRASH_PAUSE": "120"}
    job_id = None
    if op.runs_on == "worker":
        job_id = op.start(state)
        assert job_id is not None
        victim = env.spawn("worker", "--no-schedules", "--interval", "0.2", **pause)
    else:
        import json

        victim = env.spawn("service", op_name, CRASH_STATE=json.dumps(state), **pause)
    if timed:
        delay = round(rng.uniform(0.0, float(point[5:])), 3)
        if job_id is not None:
            wait_job(job_id, {JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED})
        else:
            victim.wait_for("SERVICE-STARTED")
        reached: str | None = "timed"
    else:
        reached = victim.wait_for(MARKER)
    time.sleep(delay)
    hit = reached is not None and victim.process.poll() is None
    if job_id is not None and hit:
        # The job is running (by the database's account) when its worker dies.
        hit = Job.objects.get(pk=job_id).status == JobStatus.RUNNING
    victim.kill9()
    if "SERVICE-DONE" in victim.lines:  # a timed kill that came after the work had ended
        hit = False
    notes: dict[str, Any] = {}
    if not hit:  # the kill fell before or after the work: nothing to check
        notes["victim_stderr"] = victim.stderr_text()[-2000:]
        return KillOutcome(op_name, point, delay, False, [], [], time.monotonic() - began, notes)
    resumer = None
    if job_id is not None:
        resumer = env.spawn("worker", "--no-schedules", "--interval", "0.2")
        resumer.wait_for("WORKER-STARTED")
        wait_job(job_id, {JobStatus.FAILED, JobStatus.SUCCEEDED})
    after = op.after_kill(state)
    new_job = op.resume(state)
    if new_job is not None:
        status = wait_job(new_job, {JobStatus.FAILED, JobStatus.SUCCEEDED})
        if status != JobStatus.SUCCEEDED:
            after.append(f"resumed job failed: {Job.objects.get(pk=new_job).error}")
    final = op.final(state)
    if resumer is not None:
        resumer.process.send_signal(signal.SIGTERM)
        resumer.process.wait(timeout=60)
    notes.update({k: v for k, v in state.items() if k in ("unrecorded_files",)})
    return KillOutcome(
        operation=op_name,
        point=point,
        delay=delay,
        hit=hit,
        problems_after_kill=after,
        problems_final=final,
        seconds=round(time.monotonic() - began, 1),
        notes=notes,
    )
