"""Kill -9 at random points, many times: the long form of `tests/integration/crash`.

For each operation (department file import, comparison run, bank payment-file export and
monthly bulletins on the worker; production batch and handover in a request's process) it
runs N rounds: a fresh copy of a migrated database and a fresh data directory, the real
process started, SIGKILL at a point chosen at random (a pause point inside the work or, with
--timed S, a random moment within S seconds of the start), then the checks of the crash tests
(the job and its owner failed with a Chinese message, nothing counted that the killed work
wrote; after re-submitting, the outcome equal to an uninterrupted run's). Prints the kills
tried and their outcomes per operation, and the problems found.

    SHEBAO_DATA_DIR=/tmp/me-data uv run python bench/crash_kills.py --kills 5
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/me uv run python bench/crash_kills.py \\
        --kills 5 --timed 3 --db-loss 3

--db-loss N (PostgreSQL): N imports whose connections are ended with pg_terminate_backend
while the import holds its transaction open. --real-restart CMD replaces that by running CMD
(e.g. "sudo systemctl restart postgresql") — off by default: never on a shared server.

The database named by DATABASE_URL gets a suffix (`_crashbench`, and one copy per round);
without DATABASE_URL, SQLite files under the data directory. Each round starts one to three
Python interpreters: on a busy two-core machine a round takes 30 to 90 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _prepare_database() -> None:
    """Point this process at a template database of its own and migrate it."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        from urllib.parse import urlsplit, urlunsplit

        import psycopg

        parts = urlsplit(url)
        name = parts.path.lstrip("/") + "_crashbench"
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    else:
        data = Path(os.environ.get("SHEBAO_DATA_DIR", tempfile.mkdtemp(prefix="crashbench-")))
        data.mkdir(parents=True, exist_ok=True)
        template = data / "crashbench-template.sqlite3"
        for leftover in (
            template,
            *(template.with_name(template.name + s) for s in ("-wal", "-shm")),
        ):
            leftover.unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{template}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _db_loss_round(env, rng: random.Random, real_restart: str) -> tuple[bool, list[str]]:  # type: ignore[no-untyped-def]
    from django.db import connection

    from shebao.intake.models import ImportBatch
    from shebao.jobs.choices import JobStatus
    from shebao.jobs.models import Job
    from tests.integration.crash.harness import wait_job
    from tests.integration.crash.operations import OPERATIONS
    from tests.integration.crash.pausing import MARKER

    op = OPERATIONS["import"]
    state = op.setup(env.directory)
    job_id = op.start(state)
    point = rng.choice(["audit:1", "progress:1", "progress:2"])
    worker = env.spawn(
        "worker", "--no-schedules", "--interval", "0.2", CRASH_POINT=point, CRASH_PAUSE="4"
    )
    if worker.wait_for(MARKER) is None:
        return False, ["worker never reached the point"]
    if real_restart:
        connection.close()
        subprocess.run(real_restart, shell=True, check=True)  # noqa: S602 - the operator's own
        time.sleep(2)
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    problems = []
    status = wait_job(job_id, {JobStatus.FAILED, JobStatus.SUCCEEDED})
    job = Job.objects.get(pk=job_id)
    batch = ImportBatch.objects.get(pk=state["batches"][-1])
    unclear = "Error" in job.error or "Error" in batch.error_message or batch.status != "failed"
    if status == JobStatus.FAILED and unclear:
        problems.append(f"unclear failure: {job.error!r} / {batch.status} {batch.error_message!r}")
    again = op.resume(state) if status == JobStatus.FAILED else None
    if (
        again is not None
        and wait_job(again, {JobStatus.FAILED, JobStatus.SUCCEEDED}) != "succeeded"
    ):
        problems.append("re-submitted import failed")
    if worker.process.poll() is not None:
        problems.append("the worker died")
    problems += op.final(state) if status == JobStatus.FAILED else []
    return True, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=3, help="kills per operation")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--operations", default="", help="comma-separated (default: all)")
    parser.add_argument(
        "--timed",
        type=float,
        default=0.0,
        help="also kill at random moments within this many seconds (no pause point)",
    )
    parser.add_argument("--db-loss", type=int, default=0, help="PostgreSQL connection losses")
    parser.add_argument("--real-restart", default="", help="command restarting PostgreSQL (off)")
    parser.add_argument("--json", type=Path, help="write every outcome here")
    args = parser.parse_args()

    _prepare_database()
    from django.db import connection

    from tests.integration.crash.harness import crash_env, kill_once
    from tests.integration.crash.operations import OPERATIONS

    chosen = [o for o in args.operations.split(",") if o] or list(OPERATIONS)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="crashbench-"))
    outcomes = []
    print(f"database: {connection.vendor}; seed {args.seed}; load {os.getloadavg()}")
    for name in chosen:
        for n in range(args.kills):
            points = list(OPERATIONS[name].points)
            if args.timed:
                points.append(f"time:{args.timed}")
            point = rng.choice(points)
            with crash_env(work / f"{name}-{n}", f"b{n}") as env:
                outcome = kill_once(env, name, rng, point=point)
            outcomes.append(outcome)
            verdict = "ok" if outcome.ok else ("missed" if not outcome.hit else "PROBLEM")
            print(
                f"{name:17} {outcome.point:12} +{outcome.delay:5.2f}s  {verdict:8} "
                f"{outcome.seconds:5.0f}s {outcome.problems_after_kill + outcome.problems_final}",
                flush=True,
            )
    losses: list[tuple[bool, list[str]]] = []
    if args.db_loss and connection.vendor == "postgresql":
        for n in range(args.db_loss):
            with crash_env(work / f"dbloss-{n}", f"l{n}") as env:
                losses.append(_db_loss_round(env, rng, args.real_restart))
            print(f"database loss {n + 1}: {losses[-1]}", flush=True)

    summary: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        summary[o.operation]["tried"] += 1
        summary[o.operation]["ok" if o.ok else ("missed" if not o.hit else "problem")] += 1
    print("\noperation          tried  ok  missed  problem")
    for name in chosen:
        c = summary[name]
        print(f"{name:17} {c['tried']:6} {c['ok']:3} {c['missed']:7} {c['problem']:8}")
    if losses:
        bad = sum(1 for hit, problems in losses if not hit or problems)
        kind = "real restarts" if args.real_restart else "pg_terminate_backend"
        print(f"database losses ({kind}): {len(losses)} tried, {len(losses) - bad} ok")
    print(f"load average after: {os.getloadavg()}")
    if args.json:
        args.json.write_text(
            json.dumps([o.__dict__ for o in outcomes], ensure_ascii=False, indent=1, default=str)
        )


if __name__ == "__main__":
    main()
