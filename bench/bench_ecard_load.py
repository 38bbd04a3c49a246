"""Load bench of the e-card QR flow through the web and the API (issue #11, performance):
the holder's phone asks for a fresh code (POST /ecard/qr/: signs a COSE_Sign1 with SM2,
stores the token hash, draws the PNG) and a partner terminal redeems it (POST
/api/v1/partners/qr/redeem: offline check, once-only update, business token, audit row),
with the card holders of `bench_identity_load.py` on PostgreSQL, under concurrent load from
locust on loopback against `shebao serve`. Requests per second and p50/p95/p99 of each.

    # 0. once: the 1 M holders, the bench partner and terminal
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/e1bench SHEBAO_DATA_DIR=/tmp/e1-data \\
        uv run python bench/bench_identity_load.py setup --holders 1000000
    # 1. once: e-cards, citizen accounts and signed-in sessions for H of them; the partner
    #    also granted QR redemption
    DATABASE_URL=... SHEBAO_DATA_DIR=... \\
        uv run python bench/bench_ecard_load.py setup --holders 2000
    # 2. serve with W workers, U locust users for S seconds (each: issue, then redeem)
    DATABASE_URL=... SHEBAO_DATA_DIR=... uv run python bench/bench_ecard_load.py run \\
        --users 16 --seconds 30 --workers 3

A holder may fetch 20 codes a minute (the page refreshes once a minute), so the run spreads
its users over H holders. Prints figures only; never personal data.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_identity_load import CpuMeter, _bench_dir, _django, _free_port, _wait

SESSIONS_FILE = "ecard_sessions.json"


def setup(holders: int) -> None:
    _django()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from shebao.accounts.models import User
    from shebao.cards.models import Card
    from shebao.ecard.services.ecards import ecard_issue_by_operator
    from shebao.ecard.services.holders import holder_user_for
    from shebao.partners.models import Partner
    from shebao.partners.services.registry import partner_set_scopes

    actor = User.objects.get(username="bench-centre")
    partner = Partner.objects.get(organisation__code="BENCH-HOSP")
    if "redeem_qr" not in partner.granted_services:
        partner_set_scopes(
            actor=actor,
            partner_id=partner.pk,
            fields=list(partner.granted_fields),
            services=[*partner.granted_services, "redeem_qr"],
        )
    cards = list(
        Card.objects.filter(card_number__startswith="B")
        .select_related("person")
        .order_by("pk")[:holders]
    )
    sessions = []
    started = time.perf_counter()
    for card in cards:
        ecard_issue_by_operator(card_number=card.card_number, actor=actor)
        user = holder_user_for(card.person)
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)
    bench_dir = _bench_dir()
    bench_dir.mkdir(parents=True, exist_ok=True)
    (bench_dir / SESSIONS_FILE).write_text(json.dumps(sessions))
    print(f"ready: {len(sessions):,} holders with an e-card and a session "
          f"({time.perf_counter() - started:.0f} s)")  # fmt: skip


def run(users: int, seconds: int, workers: int) -> None:
    port = _free_port()
    log = open(_bench_dir() / "serve_ecard.log", "w")  # noqa: SIM115
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "shebao", "serve", "--port", str(port), "--workers", str(workers)],
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    host = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{host}/partners/directory/", 240)
        credential = json.loads((_bench_dir() / "terminal.json").read_text())
        body = urllib.parse.urlencode({"grant_type": "client_credentials", **credential})
        with urllib.request.urlopen(f"{host}/o/token/", data=body.encode(), timeout=120) as r:  # noqa: S310
            (_bench_dir() / "token.txt").write_text(json.loads(r.read())["access_token"])
        prefix = _bench_dir() / "locust_ecard"
        load_before = os.getloadavg()
        meter = CpuMeter(server.pid)
        subprocess.run(  # noqa: S603
            [
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
            ],
            env=dict(os.environ),
            check=False,
            capture_output=True,
        )
        load_after = os.getloadavg()
        with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
            rows = {r["Name"]: r for r in csv.DictReader(f)}
        print(
            f"holders on PostgreSQL; gunicorn workers={workers}; locust users={users}, "
            f"{seconds} s; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}"
        )
        pairs = int(rows["qr_redeem"]["Request Count"]) if "qr_redeem" in rows else 0
        print(meter.report(pairs).replace("per request", "per issue + redeem pair"))
        for name in ("qr_issue", "qr_redeem"):
            row = rows.get(name)
            if row is None:
                continue
            print(
                f"{name}: requests={row['Request Count']} failures={row['Failure Count']} "
                f"rps={float(row['Requests/s']):.0f} p50={row['50%']} ms p95={row['95%']} ms "
                f"p99={row['99%']} ms max={float(row['Max Response Time']):.0f} ms"
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


try:
    from locust import FastHttpUser, task

    class HolderAndTerminal(FastHttpUser):
        """A holder shows a fresh code; the terminal in front of him redeems it."""

        sessions: list[str] = []

        def on_start(self) -> None:
            if not HolderAndTerminal.sessions:
                HolderAndTerminal.sessions = json.loads((_bench_dir() / SESSIONS_FILE).read_text())
            self.token = (_bench_dir() / "token.txt").read_text().strip()
            self.csrf = secrets.token_hex(16)

        @task
        def issue_and_redeem(self) -> None:
            session = random.choice(HolderAndTerminal.sessions)
            with self.client.post(
                "/ecard/qr/",
                headers={
                    "Cookie": f"sessionid={session}; csrftoken={self.csrf}",
                    "X-CSRFToken": self.csrf,
                    "Accept": "application/json",
                },
                name="qr_issue",
                catch_response=True,
            ) as response:
                if response.status_code != 200:
                    response.failure(f"HTTP {response.status_code}")
                    return
                text = json.loads(response.content)["text"]
            with self.client.post(
                "/api/v1/partners/qr/redeem",
                json={"text": text},
                headers={"Authorization": f"Bearer {self.token}"},
                name="qr_redeem",
                catch_response=True,
            ) as response:
                if response.status_code != 200 or not json.loads(response.content).get("ok"):
                    response.failure(f"HTTP {response.status_code}")

except ImportError:  # pragma: no cover - locust is a dev dependency
    pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--holders", type=int, default=2000)
    r = sub.add_parser("run")
    r.add_argument("--users", type=int, default=16)
    r.add_argument("--seconds", type=int, default=30)
    r.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database")
    if args.command == "setup":
        setup(args.holders)
    else:
        run(args.users, args.seconds, args.workers)


if __name__ == "__main__":
    main()
