"""Load bench of the partners' identity verification API (issue #11, performance): identity
verifications per second and p50/p95/p99 latency, with N card holders on PostgreSQL, under
concurrent load from locust on loopback against `shebao serve` (gunicorn). Bounded runs.

    # 1. build the database once (migrate, regions, N persons and cards by COPY, a partner
    #    with a terminal whose client id/secret go to <data dir>/bench_identity/terminal.json)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench SHEBAO_DATA_DIR=/tmp/bench \\
        uv run python bench/bench_identity_load.py setup --holders 1000000
    # 2. serve with W workers and load it with U locust users for S seconds
    DATABASE_URL=... SHEBAO_DATA_DIR=/tmp/bench \\
        uv run python bench/bench_identity_load.py run --users 32 --seconds 30 --workers 3
    #    or the same calls from wrk (C; Debian package wrk), which costs a small fraction of
    #    locust's CPU per request: `--generator wrk` (--users is then wrk's connections)
    # 3. CPU per call inside one process, no HTTP and no locust (stable on a busy machine):
    #    the served application (the lean path, ADR 0016) against Django's handler (ninja)
    DATABASE_URL=... SHEBAO_DATA_DIR=/tmp/bench \\
        uv run python bench/bench_identity_load.py cpu --calls 2000
    #    (BENCH_PROFILE=/tmp/prof adds a cProfile, on CPU time, of each to /tmp/prof.*)

The run takes one token from /o/token/ (client credentials) for all users, then each posts
/api/v1/partners/verify as fast as it can: 80 % card number + name, 20 % ID number + name,
one in ten with a wrong name (a "no"). Every call goes through the whole path: the lean
WSGI layer in front of Django (ADR 0016), token lookup (cached per process for 10 s), the
per-partner rate limit (one upsert), the person and card lookups, the verified-persons
upsert and the audit row (one statement on PostgreSQL).

Prints figures only; never personal data (the synthetic sample file stays in the data dir).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from _locust import CpuMeter, cpu_of, database_backends, free_port, wait_for

BENCH_DIR_NAME = "bench_identity"
COUNTIES = ["420702", "420703", "420704", "420102", "420106", "420111", "420502", "420602"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华国东红建文辉玉兰萍鹏飞斌宇浩凯")


def _bench_dir() -> Path:
    return Path(os.environ["SHEBAO_DATA_DIR"]) / BENCH_DIR_NAME


def verify_payload(sample: list[list[str]], rng: random.Random | Any = random) -> dict[str, str]:
    """One call of the bench's mix: 80 % card number + name, 20 % ID number + name, one in
    ten with a wrong name (a "no")."""
    card_number, id_number, name = rng.choice(sample)
    if rng.random() < 0.1:
        name = name[0] + "某某"
    if rng.random() < 0.8:
        return {"method": "card_number", "card_number": card_number, "name": name}
    return {"method": "id_number", "id_number": id_number, "name": name}


# ---------------------------------------------------------------- setup (inside Django)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    import django

    django.setup()


def _shebao(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "shebao", *args], check=True)  # noqa: S603


def setup(holders: int, seed: int) -> None:
    import numpy as np

    _shebao("migrate", "--noinput", "-v", "0")
    _shebao("load_regions", "--no-towns")
    _django()
    from django.db import connection

    from shebao.accounts.choices import OrganisationKind, Role
    from shebao.accounts.models import Organisation, User
    from shebao.accounts.services import organisation_create, user_create
    from shebao.cards.domain.codes import card_id_code, card_number_check_char
    from shebao.cards.models import Card
    from shebao.geo.models import Region
    from shebao.identity.id_number import ID_CHECK_CHARS, ID_WEIGHTS
    from shebao.partners.models import Partner, Terminal
    from shebao.partners.services.registry import (
        partner_approve,
        partner_register,
        partner_set_rate_limit,
        partner_set_scopes,
        service_point_create,
        terminal_issue,
        terminal_rotate_secret,
    )
    from shebao.registry.models import Person

    started = time.perf_counter()
    have = Card.objects.filter(card_number__startswith="B").count()
    rng = np.random.default_rng(seed)
    if have < holders:
        k = np.arange(have, holders, dtype=np.int64)
        county = np.array(COUNTIES)[k % len(COUNTIES)]
        day = (k // len(COUNTIES)) % 20_000
        seq = k // (len(COUNTIES) * 20_000)
        births = np.datetime64("1940-01-01") + day.astype("timedelta64[D]")
        ymd = np.datetime_as_string(births, unit="D")
        ymd8 = np.char.replace(ymd, "-", "")
        first17 = np.char.add(np.char.add(county, ymd8), np.char.zfill(seq.astype(str), 3))
        digits = np.array([list(s) for s in first17], dtype=np.int64)  # (n, 17)
        check = np.array(list(ID_CHECK_CHARS))[(digits * np.array(ID_WEIGHTS)).sum(axis=1) % 11]
        id_numbers = np.char.add(first17, check)
        gender = np.where(digits[:, 16] % 2 == 1, "M", "F")
        names = np.char.add(
            np.array(SURNAMES)[rng.integers(0, len(SURNAMES), k.size)],
            np.char.add(
                np.array(GIVEN)[rng.integers(0, len(GIVEN), k.size)],
                np.array(GIVEN)[rng.integers(0, len(GIVEN), k.size)],
            ),
        )
        bodies = [f"B{n:07d}" for n in k.tolist()]
        numbers = [b + card_number_check_char(b) for b in bodies]
        codes = [
            card_id_code(c, 0xB000000000 + n)
            for c, n in zip(county.tolist(), k.tolist(), strict=True)
        ]
        now = "2026-01-01 00:00:00+08"
        person_table = Person._meta.db_table
        card_table = Card._meta.db_table
        with connection.cursor() as cursor:
            raw = cursor.connection
            with raw.cursor().copy(
                f"COPY {person_table} (id_number, name, gender, birth_date, ethnicity, "
                "hukou_region_id, relation_to_head, hukou_type, life_status, phone, photo, "
                "created_at, updated_at) FROM STDIN"
            ) as copy:
                for i in range(k.size):
                    copy.write_row(
                        (
                            id_numbers[i],
                            names[i],
                            gender[i],
                            ymd[i],
                            "汉",
                            county[i],
                            "",
                            "hukou",
                            "alive",
                            "",
                            "",
                            now,
                            now,
                        )
                    )
            cursor.execute(
                f"SELECT id, id_number FROM {person_table} WHERE id_number = ANY(%s)",  # noqa: S608
                [id_numbers.tolist()],
            )
            person_ids = {n: i for i, n in cursor.fetchall()}
            with raw.cursor().copy(
                f"COPY {card_table} (card_number, card_id_code, person_id, status, "
                "issuing_region_id, spec_version, created_at, updated_at) FROM STDIN"
            ) as copy:
                for i in range(k.size):
                    copy.write_row(
                        (
                            numbers[i],
                            codes[i],
                            person_ids[id_numbers[i]],
                            "active",
                            county[i],
                            "3.00",
                            now,
                            now,
                        )
                    )
            cursor.execute(f"ANALYZE {person_table}; ANALYZE {card_table}")
        elapsed = time.perf_counter() - started
        print(f"loaded {k.size:,} holders (persons and active cards) in {elapsed:.1f} s")

    # A sample for the load generator (synthetic people; the file stays in the data dir).
    sample = list(
        Card.objects.filter(card_number__startswith="B")
        .order_by("?")
        .values_list("card_number", "person__id_number", "person__name")[:20_000]
    )
    bench_dir = _bench_dir()
    bench_dir.mkdir(parents=True, exist_ok=True)
    (bench_dir / "sample.json").write_text(json.dumps(sample, ensure_ascii=False))

    region = Region.objects.get(code="420704")
    centre = Organisation.objects.filter(code="BENCH-CENTRE").first() or organisation_create(
        actor=None,
        code="BENCH-CENTRE",
        name="压测卡中心",
        kind=OrganisationKind.CARD_CENTRE,
        region=region,
    )
    actor = User.objects.filter(username="bench-centre").first() or user_create(
        actor=None,
        username="bench-centre",
        password="Bench@2026-" + os.urandom(8).hex(),
        organisation=centre,
        roles=[Role.CARD_CENTRE_OPERATOR],
    )
    partner = Partner.objects.filter(organisation__code="BENCH-HOSP").first()
    if partner is None:
        partner = partner_register(
            actor=actor, name="压测医院", field="medical", region=region, code="BENCH-HOSP"
        )
        partner_approve(actor=actor, partner_id=partner.pk)
        partner_set_scopes(
            actor=actor,
            partner_id=partner.pk,
            fields=["masked_name", "card_status"],
            services=["verify"],
        )
        partner_set_rate_limit(actor=actor, partner_id=partner.pk, per_minute=1_000_000)
        point = service_point_create(
            actor=actor, partner_id=partner.pk, name="门诊", region=region, kind="hospital"
        )
        credential = terminal_issue(actor=actor, service_point_id=point.pk, code="BENCH-001")
    else:
        credential = terminal_rotate_secret(
            actor=actor, terminal_id=Terminal.objects.get(code="BENCH-001").pk
        )
    (bench_dir / "terminal.json").write_text(
        json.dumps({"client_id": credential.client_id, "client_secret": credential.client_secret})
    )
    holders_now = Card.objects.filter(card_number__startswith="B").count()
    print(f"ready: {holders_now:,} bench card holders; terminal credential in {bench_dir}")


# ---------------------------------------------------------------- run (server + locust)


def run(users: int, seconds: int, workers: int, locust_processes: int, generator: str) -> None:
    port = free_port()
    env = dict(os.environ)
    log = open(_bench_dir() / "serve.log", "w")  # noqa: SIM115
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "shebao", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    host = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{host}/partners/directory/")
        # One token for the run, as a terminal holds one for an hour: the token endpoint
        # checks the client secret against its PBKDF2 hash (deliberately slow) and is not
        # what this bench measures.
        credential = json.loads((_bench_dir() / "terminal.json").read_text())
        body = urllib.parse.urlencode({"grant_type": "client_credentials", **credential})
        with urllib.request.urlopen(f"{host}/o/token/", data=body.encode(), timeout=120) as r:  # noqa: S310
            (_bench_dir() / "token.txt").write_text(json.loads(r.read())["access_token"])
        warm = {"method": "id_number", "id_number": "000000000000000000", "name": "预热"}
        for _ in range(workers * 4):  # every worker process loads the caller once
            request = urllib.request.Request(  # noqa: S310
                f"{host}/api/v1/partners/verify",
                data=json.dumps(warm).encode(),
                headers={
                    "Authorization": f"Bearer {(_bench_dir() / 'token.txt').read_text()}",
                    "Content-Type": "application/json",
                },
            )
            # 422 for the made-up number: the call still warmed the process.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(request, timeout=60).close()  # noqa: S310
        if generator == "wrk":
            _run_wrk(host, users, seconds, workers, CpuMeter(server.pid))
            return
        prefix = _bench_dir() / "locust"
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
            str(users),
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
        meter = CpuMeter(server.pid)
        subprocess.run(command, env=env, check=False, capture_output=True)  # noqa: S603
        with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
            rows = {r["Name"]: r for r in csv.DictReader(f)}
        row = rows.get("verify") or rows["Aggregated"]
        cpu = meter.report(int(row["Request Count"]))
        print(
            f"holders on PostgreSQL; gunicorn workers={workers}; locust users={users}, "
            f"processes={locust_processes}, {seconds} s"
        )
        print(
            f"verify: requests={row['Request Count']} failures={row['Failure Count']} "
            f"rps={float(row['Requests/s']):.0f} p50={row['50%']} ms p95={row['95%']} ms "
            f"p99={row['99%']} ms max={float(row['Max Response Time']):.0f} ms"
        )
        print(cpu)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


# ---------------------------------------------------------------- wrk, a load generator in C

_WRK_SCRIPT = """
local bodies = {%s}
local token = "%s"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
request = function()
  return wrk.format(nil, "/api/v1/partners/verify", nil, bodies[math.random(#bodies)])
end
"""


def _wrk_bodies(count: int = 2000) -> list[str]:
    """The locust user's mix, fixed up front: 80 % card number + name, 20 % ID number +
    name, one in ten with a wrong name."""
    sample = json.loads((_bench_dir() / "sample.json").read_text())
    rng = random.Random(7)
    return [json.dumps(verify_payload(sample, rng), ensure_ascii=True) for _ in range(count)]


def _run_wrk(host: str, connections: int, seconds: int, workers: int, meter: CpuMeter) -> None:
    """The same calls from wrk (C, one or two threads): locust itself costs 2-3 ms of CPU
    per request, as much as the server, so on two shared cores it caps what is measured."""
    import shutil

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    lua = ", ".join(json.dumps(body) for body in _wrk_bodies())
    token = (_bench_dir() / "token.txt").read_text().strip()
    script = _bench_dir() / "verify.lua"
    script.write_text(_WRK_SCRIPT % (lua, token))
    script.chmod(0o600)
    threads = min(2, connections)
    wrk = shutil.which("wrk") or "wrk"
    command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s"]
    result = subprocess.run(  # noqa: S603
        [*command, "--latency", "-s", str(script), host],
        check=False,
        capture_output=True,
        text=True,
    )
    script.unlink()
    out = result.stdout
    requests_match = re.search(r"(\d+) requests in", out)
    requests = int(requests_match.group(1)) if requests_match else 0
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, flags=re.M))
    print(
        f"holders on PostgreSQL; gunicorn workers={workers}; wrk connections={connections}, "
        f"threads={threads}, {seconds} s"
    )
    print(
        f"verify: requests={requests} non-2xx={non_2xx.group(1) if non_2xx else 0} "
        f"socket errors={socket_errors.group(1) if socket_errors else 'none'} "
        f"rps={float(rps.group(1)) if rps else 0:.0f} p50={percentiles.get('50')} "
        f"p90={percentiles.get('90')} p99={percentiles.get('99')}"
    )
    print(meter.report(requests))
    if result.returncode != 0:
        print(result.stderr.strip())


# ---------------------------------------------------------------- CPU per call, in-process


def cpu(calls: int) -> None:
    """CPU per verification inside one server process, without HTTP or a load generator:
    the served WSGI application (lean path) and Django's handler alone (the ninja route),
    each called `calls` times with the locust mix, and the PostgreSQL backend's CPU from
    /proc. Stable on a busy machine (CPU time, not wall time)."""
    _django()
    import io

    from django.core.handlers.wsgi import WSGIHandler
    from django.test import Client

    from shebao.partners.lean import LeanVerify

    credential = json.loads((_bench_dir() / "terminal.json").read_text())
    response = Client().post("/o/token/", {"grant_type": "client_credentials", **credential})
    token = response.json()["access_token"]
    sample = json.loads((_bench_dir() / "sample.json").read_text())
    rng = random.Random(11)

    def body() -> bytes:
        return json.dumps(verify_payload(sample, rng)).encode()

    def environ(data: bytes) -> dict[str, object]:
        return {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/partners/verify",
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8621",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8621",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }

    def start_response(status: str, headers: object, *_: object) -> None:
        if not status.startswith("200"):
            raise SystemExit(f"verify answered {status}")

    apps: list[tuple[str, Any]] = [
        ("lean path", LeanVerify(WSGIHandler())),
        ("Django+ninja", WSGIHandler()),
    ]
    for label, app in apps:
        for _ in range(50):  # warm: caches, the connection, the previous minute's count
            result = app(environ(body()), start_response)
            getattr(result, "close", lambda: None)()
        # Every backend of the database (a connection past CONN_MAX_AGE is replaced).
        backends = database_backends()
        bodies = [body() for _ in range(calls)]
        db0, cpu0, wall0 = cpu_of(backends), time.process_time(), time.perf_counter()
        profile = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profile = cProfile.Profile(time.process_time)
            profile.enable()
        for data in bodies:
            result = app(environ(data), start_response)
            getattr(result, "close", lambda: None)()
        server = time.process_time() - cpu0
        if profile is not None:
            profile.disable()
            profile.dump_stats(f"{os.environ['BENCH_PROFILE']}.{label.split()[0]}")
        database = cpu_of(sorted(set(backends) | set(database_backends()))) - db0
        wall = time.perf_counter() - wall0
        print(
            f"{label}: {calls} calls; CPU per call: server {server / calls * 1000:.2f} ms, "
            f"PostgreSQL backend {database / calls * 1000:.2f} ms; wall {wall / calls * 1000:.2f}"
            f" ms (load average {os.getloadavg()[0]:.2f})"
        )


# ---------------------------------------------------------------- the locust user

try:
    from locust import FastHttpUser, events, task

    class PartnerTerminal(FastHttpUser):
        """A partner terminal verifying holders as fast as it can."""

        sample: list[list[str]] = []

        def on_start(self) -> None:
            bench_dir = _bench_dir()
            if not PartnerTerminal.sample:
                PartnerTerminal.sample = json.loads((bench_dir / "sample.json").read_text())
            self.token = (bench_dir / "token.txt").read_text().strip()

        @task
        def verify(self) -> None:
            payload = verify_payload(PartnerTerminal.sample)
            with self.client.post(
                "/api/v1/partners/verify",
                json=payload,
                headers={"Authorization": f"Bearer {self.token}"},
                name="verify",
                catch_response=True,
            ) as response:
                if response.status_code != 200:
                    response.failure(f"HTTP {response.status_code}")

    _ = events
except ImportError:  # pragma: no cover - locust is a dev dependency
    pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--holders", type=int, default=100_000)
    s.add_argument("--seed", type=int, default=11)
    r = sub.add_parser("run")
    r.add_argument("--users", type=int, default=32)
    r.add_argument("--seconds", type=int, default=30)
    r.add_argument("--workers", type=int, default=3)
    r.add_argument("--locust-processes", type=int, default=1)
    r.add_argument(
        "--generator",
        choices=("locust", "wrk"),
        default="locust",
        help="load generator: locust (Python) or wrk (C, far cheaper per request)",
    )
    c = sub.add_parser("cpu", help="CPU per call in one process: lean path vs Django+ninja")
    c.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database")
    if args.command == "setup":
        setup(args.holders, args.seed)
    elif args.command == "cpu":
        cpu(args.calls)
    else:
        run(args.users, args.seconds, args.workers, args.locust_processes, args.generator)


if __name__ == "__main__":
    main()
