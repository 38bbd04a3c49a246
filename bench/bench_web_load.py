"""Load bench of the staff web pages (issue #14 §4): person search, a person page, the
findings list, the dashboard and the self-service check under N simulated users (locust on
loopback, each waiting 1-3 s between actions) against `shebao serve` (gunicorn) on
PostgreSQL. p50/p95/p99, throughput, errors, and CPU per request. Bounded runs.

    # 1. build the world once (the demo: regions, villages, N persons, employers,
    #    enrolments, accounts) and pick a sample of persons the bench clerk may see
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench SHEBAO_DATA_DIR=/tmp/bench \\
        uv run python bench/bench_web_load.py setup --people 1000000
    # 2. serve with W workers and load it with U locust users for S seconds
    DATABASE_URL=... SHEBAO_DATA_DIR=/tmp/bench \\
        uv run python bench/bench_web_load.py run --users 200 --seconds 60 --workers 3

The clerk is the demo's district clerk (`district`, a region scope, password only). The run
signs one session in per simulated user beforehand (the login's deliberately slow password
hash is not what this bench measures), then each user, after 1-3 s of think time, does one of:
search by ID number (form post, then the result page: two requests, both audited as the
real page is), open a person page (audited with the stated purpose), the findings list,
the dashboard, or the citizens' self-service check page.

Prints figures only; never personal data (the sample file stays in the data dir).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from _locust import cpu_of, database_backends, free_port, group_pids, wait_for

BENCH_DIR_NAME = "bench_web"
CLERK = "district"
PAGES = {
    "search: post": "/persons/",
    "search: results": "/persons/?page=1",
    "person page": "/persons/<pk>/",
    "findings list": "/registration/findings/",
    "dashboard": "/reports/dashboard/",
    "self-service check": "/cards/self-service/",
}


def _bench_dir() -> Path:
    return Path(os.environ["SHEBAO_DATA_DIR"]) / BENCH_DIR_NAME


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    import django

    django.setup()


# ---------------------------------------------------------------- setup (inside Django)


def setup(people: int, sample_size: int, seed: int) -> None:
    _django()
    from django.db import connection

    from shebao.accounts.models import User
    from shebao.registry.models import Person
    from shebao.registry.selectors import person_scoped

    tables = connection.introspection.table_names()
    have = Person.objects.count() if "registry_person" in tables else 0
    if have < people or not User.objects.filter(username=CLERK).exists():
        started = time.perf_counter()
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "shebao", "demo", "--people", str(people), "--no-serve"],
            check=True,
        )
        print(f"demo world built in {time.perf_counter() - started:,.0f} s")
    clerk = User.objects.get(username=CLERK)
    # A random sample of the persons the clerk may see.
    pairs = list(person_scoped(clerk).order_by("pk").values_list("pk", "id_number"))
    total = len(pairs)
    chosen = random.Random(seed).sample(pairs, min(sample_size, total))
    sample = [[int(pk), str(idn)] for pk, idn in chosen]
    bench_dir = _bench_dir()
    bench_dir.mkdir(parents=True, exist_ok=True)
    (bench_dir / "sample.json").write_text(json.dumps(sample))
    print(
        f"ready: {Person.objects.count():,} persons, {total:,} in the clerk's scope, "
        f"sample of {len(sample):,} in {bench_dir}"
    )


# ---------------------------------------------------------------- run (server + locust)


def _sessions(users: int) -> list[str]:
    """One signed-in session per simulated user (the session row a login would write)."""
    _django()
    from django.conf import settings
    from django.test import Client

    from shebao.accounts.models import User

    clerk = User.objects.get(username=CLERK)
    keys = []
    for _ in range(users):
        client = Client()
        client.force_login(clerk)
        keys.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return keys


def run(users: int, seconds: int, workers: int, locust_processes: int) -> None:
    bench_dir = _bench_dir()
    (bench_dir / "sessions.json").write_text(json.dumps(_sessions(users)))
    port = free_port()
    log = open(bench_dir / "serve.log", "w")  # noqa: SIM115
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "shebao", "serve", "--port", str(port), "--workers", str(workers)],
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    host = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{host}/login/")
        for _ in range(workers * 4):  # every worker loads its templates and URLconf once
            urllib.request.urlopen(f"{host}/login/", timeout=60).close()  # noqa: S310
        prefix = bench_dir / f"locust_{users}"
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            __file__,
            "--headless",
            "--only-summary",
            "-u",
            str(users),
            "-r",
            str(max(1, users // 5)),
            "-t",
            f"{seconds}s",
            "--host",
            host,
            "--csv",
            str(prefix),
            "--stop-timeout",
            "5",
        ]
        if locust_processes > 1:
            command += ["--processes", str(locust_processes)]
        server_pids = group_pids(server.pid)
        db_pids = database_backends()
        start = (cpu_of(server_pids), cpu_of(db_pids), time.perf_counter())
        load_start = os.getloadavg()[0]
        done = subprocess.run(command, env=dict(os.environ), check=False, capture_output=True)  # noqa: S603
        server_cpu = cpu_of(server_pids) - start[0]
        db_cpu = cpu_of(sorted(set(db_pids) | set(database_backends()))) - start[1]
        wall = time.perf_counter() - start[2]
        stats = Path(f"{prefix}_stats.csv")
        if not stats.exists():
            raise SystemExit(done.stderr.decode(errors="replace")[-3000:])
        with stats.open(encoding="utf-8") as f:
            rows = {r["Name"]: r for r in csv.DictReader(f)}
        print(
            f"{users} users (1-3 s think time), {seconds} s, gunicorn workers={workers}, "
            f"locust processes={locust_processes}; load average {load_start:.2f} at start, "
            f"{os.getloadavg()[0]:.2f} at end"
        )
        for name in [*PAGES, "Aggregated"]:
            row = rows.get(name)
            if row is None:
                continue
            print(
                f"  {name:20s} n={int(row['Request Count']):6d} "
                f"errors={int(row['Failure Count']):4d} rps={float(row['Requests/s']):6.1f} "
                f"p50={row['50%']:>5s} p95={row['95%']:>5s} p99={row['99%']:>5s} ms"
            )
        n = max(1, int(rows["Aggregated"]["Request Count"]))
        print(
            f"  CPU per request (all pages): server {server_cpu / n * 1000:.2f} ms, "
            f"PostgreSQL {db_cpu / n * 1000:.2f} ms; {(server_cpu + db_cpu) / wall:.2f} "
            f"of the cores used by server + database"
        )
        failures = Path(f"{prefix}_failures.csv")
        if failures.exists():
            with failures.open(encoding="utf-8") as f:
                for row in list(csv.DictReader(f))[:5]:
                    print(f"  failure: {row['Name']}: {row['Error'][:200]} x{row['Occurrences']}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


# ---------------------------------------------------------------- the locust user

try:
    from locust import HttpUser, between, task

    _CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

    class Clerk(HttpUser):
        """A district clerk at the counter: looks people up and checks the lists."""

        wait_time = between(1, 3)
        sample: list[list[int | str]] = []
        sessions: list[str] = []

        def on_start(self) -> None:
            bench_dir = _bench_dir()
            if not Clerk.sample:
                Clerk.sample = json.loads((bench_dir / "sample.json").read_text())
                Clerk.sessions = json.loads((bench_dir / "sessions.json").read_text())
            self.client.cookies.set("sessionid", Clerk.sessions.pop())
            page = self.client.get("/persons/", name="warm-up").text
            match = _CSRF.search(page)
            self.csrf = match.group(1) if match else ""
            # A clerk states the purpose once (with the first search); the person pages
            # that follow are audited with it, as in the real session.
            self.client.post(
                "/persons/",
                data={
                    "q": str(random.choice(Clerk.sample)[1]),
                    "purpose": "card_service",
                    "purpose_note": "",
                    "csrfmiddlewaretoken": self.csrf,
                },
                headers={"Referer": self.host + "/persons/"},
                name="warm-up",
                allow_redirects=False,
            )

        def _get(self, url: str, name: str) -> None:
            with self.client.get(url, name=name, catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(f"HTTP {response.status_code}")

        @task(4)
        def search(self) -> None:
            _, id_number = random.choice(Clerk.sample)
            with self.client.post(
                "/persons/",
                data={
                    "q": id_number,
                    "purpose": "card_service",
                    "purpose_note": "",
                    "csrfmiddlewaretoken": self.csrf,
                },
                headers={"Referer": self.host + "/persons/"},
                name="search: post",
                allow_redirects=False,
                catch_response=True,
            ) as response:
                if response.status_code != 302:
                    response.failure(f"HTTP {response.status_code}")
                    return
            with self.client.get(
                "/persons/?page=1", name="search: results", catch_response=True
            ) as response:
                if response.status_code != 200 or "共" not in response.text:
                    response.failure(f"HTTP {response.status_code} or no result count")

        @task(2)
        def person_page(self) -> None:
            pk, _ = random.choice(Clerk.sample)
            self._get(f"/persons/{pk}/", "person page")

        @task(1)
        def findings(self) -> None:
            self._get("/registration/findings/", "findings list")

        @task(1)
        def dashboard(self) -> None:
            self._get("/reports/dashboard/", "dashboard")

        @task(1)
        def self_service(self) -> None:
            self._get("/cards/self-service/", "self-service check")

except ImportError:  # pragma: no cover - locust is a dev dependency
    pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--people", type=int, default=1_000_000)
    s.add_argument("--sample", type=int, default=5_000)
    s.add_argument("--seed", type=int, default=14)
    r = sub.add_parser("run")
    r.add_argument("--users", type=int, default=200)
    r.add_argument("--seconds", type=int, default=60)
    r.add_argument("--workers", type=int, default=3)
    r.add_argument("--locust-processes", type=int, default=1)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database")
    if args.command == "setup":
        setup(args.people, args.sample, args.seed)
    else:
        run(args.users, args.seconds, args.workers, args.locust_processes)


if __name__ == "__main__":
    main()
