"""Load bench of the e-card QR flow through the web and the API (issue #11, performance):
the holder's phone asks for a fresh code (POST /ecard/qr/: signs a COSE_Sign1 with SM2,
stores the token hash, draws the PNG) and a partner terminal redeems it (POST
/api/v1/partners/qr/redeem: offline check, once-only update, business token, audit row),
with the card holders of `bench_identity_load.py` on PostgreSQL, under concurrent load from
locust on loopback against `shebao serve`. Requests per second and p50/p95/p99 of each.

    # 0. once: the 1 M holders, the bench partner and terminal
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench SHEBAO_DATA_DIR=/tmp/bench \\
        uv run python bench/bench_identity_load.py setup --holders 1000000
    # 1. once: e-cards and citizen accounts for H of them; the partner
    #    also granted QR redemption
    DATABASE_URL=... SHEBAO_DATA_DIR=... \\
        uv run python bench/bench_ecard_load.py setup --holders 2000
    # 2. serve with W workers, U locust users for S seconds (each: issue, then redeem)
    DATABASE_URL=... SHEBAO_DATA_DIR=... uv run python bench/bench_ecard_load.py run \\
        --users 16 --seconds 30 --workers 3

A holder may fetch 20 codes a minute (the page refreshes once a minute), so the run spreads
its users over H holders. Sessions last 30 minutes (SESSION_COOKIE_AGE), so `run` signs the
H holders in afresh each time (sessions saved at setup had expired by a later run, and every
request of it failed with 401); it then checks one issue + redeem before loading and stops
with the reason if that fails. Prints rps and p50/p95/p99 per kind, the errors by kind and
the CPU per pair; never personal data.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _locust import (
    CpuMeter,
    bench_dir,
    django_setup,
    print_figures,
    require_postgres,
    run_locust,
    served,
    terminal_token,
)

HOLDERS_FILE = "ecard_holders.json"
SESSIONS_FILE = "ecard_sessions.json"


def setup(holders: int) -> None:
    django_setup()
    from shebao.accounts.models import User
    from shebao.cards.models import Card
    from shebao.ecard.selectors import ecard_of_person
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
    user_ids = []
    started = time.perf_counter()
    for card in cards:
        if ecard_of_person(card.person_id) is None:
            ecard_issue_by_operator(card_number=card.card_number, actor=actor)
        user_ids.append(holder_user_for(card.person).pk)
    bench_dir().mkdir(parents=True, exist_ok=True)
    (bench_dir() / HOLDERS_FILE).write_text(json.dumps(user_ids))
    print(f"ready: {len(user_ids):,} holders with an e-card and a citizen account "
          f"({time.perf_counter() - started:.0f} s)")  # fmt: skip


def _sign_in_holders() -> int:
    """A fresh session for each bench holder (the previous run's are deleted)."""
    django_setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    from shebao.accounts.models import User

    old = bench_dir() / SESSIONS_FILE
    if old.exists():
        Session.objects.filter(session_key__in=json.loads(old.read_text())).delete()
    user_ids = json.loads((bench_dir() / HOLDERS_FILE).read_text())
    sessions = []
    for user in User.objects.filter(pk__in=user_ids).only("pk", "password"):
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)
    old.write_text(json.dumps(sessions))
    return len(sessions)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _preflight(host: str, session: str, token: str) -> None:
    """One issue + redeem, so that a broken setup stops the bench with its reason instead
    of a run in which every request fails."""
    csrf = secrets.token_hex(16)
    status, body = _post(
        f"{host}/ecard/qr/",
        b"",
        {
            "Cookie": f"sessionid={session}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "Accept": "application/json",
        },
    )
    if status != 200:
        raise SystemExit(f"preflight qr_issue: HTTP {status} {body[:200]!r}")
    text = json.loads(body)["text"]
    status, body = _post(
        f"{host}/api/v1/partners/qr/redeem",
        json.dumps({"text": text}).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    if status != 200 or not json.loads(body).get("ok"):
        raise SystemExit(f"preflight qr_redeem: HTTP {status} {body[:200]!r}")


def run(users: int, seconds: int, workers: int) -> None:
    signed_in = _sign_in_holders()
    with served(workers, "serve_ecard.log") as server:
        token = terminal_token(server.host)
        sessions = json.loads((bench_dir() / SESSIONS_FILE).read_text())
        for session in sessions[: workers * 2]:  # each worker loads its caches once
            _preflight(server.host, session, token)
        meter = CpuMeter(server.pid)
        result = run_locust(
            __file__, server.host, users=users, seconds=seconds, prefix="locust_ecard"
        )
        pairs = int(result.rows.get("qr_redeem", {}).get("Request Count", 0))
        cpu = meter.report(pairs, unit="issue + redeem pair")
    print(
        f"{signed_in:,} signed-in holders on PostgreSQL; gunicorn workers={workers}; "
        f"locust users={users}, {seconds} s"
    )
    print_figures(result, ["qr_issue", "qr_redeem"])
    print(cpu)


try:
    from locust import FastHttpUser, task

    class HolderAndTerminal(FastHttpUser):
        """A holder shows a fresh code; the terminal in front of him redeems it."""

        sessions: list[str] = []

        def on_start(self) -> None:
            if not HolderAndTerminal.sessions:
                HolderAndTerminal.sessions = json.loads((bench_dir() / SESSIONS_FILE).read_text())
            self.token = (bench_dir() / "token.txt").read_text().strip()
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
                    response.failure(f"HTTP {response.status_code} {response.text[:80]}")
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
                    response.failure(f"HTTP {response.status_code} {response.text[:80]}")

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
    require_postgres()
    if args.command == "setup":
        setup(args.holders)
    else:
        run(args.users, args.seconds, args.workers)


if __name__ == "__main__":
    main()
