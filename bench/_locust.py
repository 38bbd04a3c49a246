"""What the load benches share: the bench world's directory, the served app as a fresh
process (`shebao serve`, gunicorn), a client-credentials token, a bounded headless locust
run, its per-kind figures and errors, and the CPU the stack used.

The world of 1 M card holders, the bench partner and its terminal is built by
`bench_identity_load.py setup` into ``<SHEBAO_DATA_DIR>/bench_identity``; the other load
benches (`bench_ecard_load.py`, `bench_usage_upload.py`) run against it.

On a shared machine the wall-clock rate is also everyone else's load: `CpuMeter` says what
the stack costs per request (server processes, PostgreSQL backends, the load generator), the
figure to compare between runs; a quiet re-run gives the wall-clock one.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR_NAME = "bench_identity"


def bench_dir() -> Path:
    return Path(os.environ["SHEBAO_DATA_DIR"]) / BENCH_DIR_NAME


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    import django

    django.setup()


def require_postgres() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, seconds: float = 240) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"server did not answer at {url}")


@dataclass(frozen=True)
class Server:
    host: str
    pid: int


@contextmanager
def served(workers: int, log_name: str) -> Iterator[Server]:
    """`shebao serve` with `workers` gunicorn workers on a free loopback port, as a fresh
    process group (never a fork of this process); stopped on leaving."""
    port = free_port()
    bench_dir().mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "shebao", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    with open(bench_dir() / log_name, "w") as log:
        server = subprocess.Popen(  # noqa: S603
            command,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        host = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{host}/partners/directory/")
            yield Server(host=host, pid=server.pid)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def terminal_token(host: str) -> str:
    """One access token for the bench terminal (client credentials), as a terminal holds one
    for an hour: the token endpoint checks the secret against its PBKDF2 hash (slow on
    purpose) and is not what the benches measure. Also written to token.txt for locust."""
    credential = json.loads((bench_dir() / "terminal.json").read_text())
    body = urllib.parse.urlencode({"grant_type": "client_credentials", **credential})
    with urllib.request.urlopen(f"{host}/o/token/", data=body.encode(), timeout=120) as r:  # noqa: S310
        token = str(json.loads(r.read())["access_token"])
    (bench_dir() / "token.txt").write_text(token)
    return token


@dataclass(frozen=True)
class LocustResult:
    rows: dict[str, dict[str, str]]  # the stats CSV by request name
    errors: list[tuple[str, str, int]]  # (request name, error, occurrences)
    returncode: int
    stderr: str


def run_locust(
    locustfile: str, host: str, *, users: int, seconds: int, prefix: str, processes: int = 1
) -> LocustResult:
    """A bounded headless locust run (users all started at once) from a fresh process."""
    command = [sys.executable, "-m", "locust", "-f", locustfile, "--headless", "--only-summary"]
    command += ["-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", host]
    command += ["--csv", str(bench_dir() / prefix), "--stop-timeout", "5"]
    if processes > 1:
        command += ["--processes", str(processes)]
    env = dict(os.environ)
    done = subprocess.run(command, env=env, check=False, capture_output=True, text=True)  # noqa: S603
    rows: dict[str, dict[str, str]] = {}
    errors: list[tuple[str, str, int]] = []
    stats = bench_dir() / f"{prefix}_stats.csv"
    if stats.exists():
        with open(stats, encoding="utf-8") as f:
            rows = {r["Name"]: r for r in csv.DictReader(f)}
    failures = bench_dir() / f"{prefix}_failures.csv"
    if failures.exists():
        with open(failures, encoding="utf-8") as f:
            errors = [(r["Name"], r["Error"], int(r["Occurrences"])) for r in csv.DictReader(f)]
    return LocustResult(rows, errors, done.returncode, done.stderr[-2000:])


def print_figures(result: LocustResult, names: list[str]) -> None:
    """rps and p50/p95/p99 per request kind, then the errors by kind (none: says so)."""
    if not result.rows:
        print(f"locust wrote no figures (exit {result.returncode}): {result.stderr}")
        return
    for name in names:
        row = result.rows.get(name)
        if row is None:
            print(f"{name}: no requests")
            continue
        print(
            f"{name}: requests={row['Request Count']} failures={row['Failure Count']} "
            f"rps={float(row['Requests/s']):.0f} p50={row['50%']} ms p95={row['95%']} ms "
            f"p99={row['99%']} ms max={float(row['Max Response Time']):.0f} ms"
        )
    if result.errors:
        for name, error, count in sorted(result.errors, key=lambda e: -e[2])[:10]:
            print(f"  error {name}: {count} × {error[:160]}")
    else:
        print("  errors: none")


# ---------------------------------------------------------------- CPU used during a run


def cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far; gone ones count 0."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def database_backends() -> list[int]:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return []  # SQLite: the database is the server processes themselves
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(r[0]) for r in rows]


class CpuMeter:
    """CPU used during a run by the server's processes, the database's backends and this
    process's children (the load generator), per request."""

    def __init__(self, server_pgid: int) -> None:
        import resource

        self._resource = resource
        self.server_pids = group_pids(server_pgid)
        self.db_pids = database_backends()
        self.start = (
            cpu_of(self.server_pids),
            cpu_of(self.db_pids),
            self._children(),
            time.perf_counter(),
            os.getloadavg()[0],
        )

    def _children(self) -> float:
        usage = self._resource.getrusage(self._resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def used(self) -> tuple[float, float]:
        """CPU seconds of the server and of PostgreSQL since the start."""
        # Backends opened during the run (a worker's second connection) count too.
        self.db_pids = sorted(set(self.db_pids) | set(database_backends()))
        return (
            cpu_of(self.server_pids) - self.start[0],
            cpu_of(self.db_pids) - self.start[1],
        )

    def report(self, requests: int, unit: str = "request") -> str:
        server, database = self.used()
        generator = self._children() - self.start[2]
        wall = time.perf_counter() - self.start[3]
        n = max(requests, 1)
        total = server + database + generator
        return (
            f"CPU per {unit}: server {server / n * 1000:.2f} ms, PostgreSQL "
            f"{database / n * 1000:.2f} ms, load generator {generator / n * 1000:.2f} ms "
            f"(total {total / n * 1000:.2f} ms; {total / wall:.2f} of 2 cores used; at this "
            f"cost 2 cores of its own would do about {2 * n / max(total, 1e-9):,.0f}/s); "
            f"load average {self.start[4]:.2f} at start, {os.getloadavg()[0]:.2f} at end"
        )
