"""Bench of a full OpenID Connect login against `shebao serve` (issue #11, performance:
"a full OIDC login (authorize → token → userinfo) p95 < 200 ms").

    # 1. once: migrate, a holder with an active card, his citizen account, a portal
    #    (confidential client, RS256) he has consented to; written to
    #    <data dir>/bench_oidc/setup.json (run again, it keeps what is there)
    [DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench_oidc] \\
    SHEBAO_DATA_DIR=/tmp/bench_oidc uv run python bench/bench_oidc_login.py setup
    # 2. sign the holder in afresh (sessions last 30 minutes), serve with W workers and run
    #    N logins from C concurrent clients
    [DATABASE_URL=...] SHEBAO_DATA_DIR=/tmp/bench_oidc uv run python bench/bench_oidc_login.py \\
        run --logins 200 --concurrency 1 --workers 2

One login is what a portal and the holder's browser do once the holder is signed in at the
provider: GET /o/authorize/ with PKCE (the browser, with the holder's session; the consent
is on record so it redirects at once, writing the code, its acr and the SSO_LOGIN audit
row), POST /o/token/ (the portal: client authentication, the code and verifier checked, the
access token and the RS256-signed ID token with the pairwise sub written), GET
/o/userinfo/ (the portal, with the access token). Timed end to end on the client side,
over loopback. Also the CPU per login of the server processes and (on PostgreSQL) the
database backends, the figure that holds on a busy machine. Prints figures only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _locust import CpuMeter


def _bench_dir() -> Path:
    return Path(os.environ["SHEBAO_DATA_DIR"]) / "bench_oidc"


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.factories
    import django

    django.setup()


def setup() -> None:
    subprocess.run([sys.executable, "-m", "shebao", "migrate", "-v", "0"], check=True)
    _django()
    from oauth2_provider.models import Application

    from shebao.accounts.models import User

    saved = _bench_dir() / "setup.json"
    if saved.exists():
        cfg = json.loads(saved.read_text())
        app = Application.objects.filter(client_id=cfg["client_id"]).first()
        if app is not None and User.objects.filter(pk=cfg.get("user_id")).exists():
            # The holder, portal and consent of an earlier setup in this database (making
            # them again would collide with them).
            print("setup already there")
            return

    from shebao.ecard.services.holders import holder_user_for
    from shebao.sso.services import consent_grant
    from tests.factories import make_card, make_org, make_person, make_regions

    make_regions()
    office = make_org("district_card_office", "420704")
    person = make_person("420704", name="赵六", phone="13900009999")
    make_card(person, custodian=office, status="active")
    user = holder_user_for(person)
    secret = secrets.token_urlsafe(32)
    redirect_uri = "https://portal.bench.invalid/cb"
    app = Application.objects.create(
        name="基准测试门户",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        algorithm=Application.RS256_ALGORITHM,
        client_secret=secret,
    )
    consent_grant(user=user, application=app, scopes=["openid", "profile"])
    _bench_dir().mkdir(parents=True, exist_ok=True)
    saved.write_text(
        json.dumps(
            {
                "client_id": app.client_id,
                "client_secret": secret,
                "redirect_uri": redirect_uri,
                "user_id": user.pk,
            }
        )
    )
    print("setup written")


def _sign_in(user_id: int) -> str:
    """A fresh session of the holder, signed in by SMS code (the acr the login carries)."""
    _django()
    from django.test import Client

    from shebao.accounts.models import User
    from shebao.sso.choices import Assurance
    from shebao.sso.services import SESSION_ACR

    client = Client()
    client.force_login(
        User.objects.get(pk=user_id), backend="shebao.accounts.backends.LockoutModelBackend"
    )
    session = client.session
    session[SESSION_ACR] = Assurance.SMS.value
    session.save()
    return str(session.session_key)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _one_login(
    base: str, cfg: dict[str, str], browser: requests.Session, portal: requests.Session
) -> tuple[float, float, float]:
    """One login; the seconds of its three requests."""
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": cfg["client_id"],
            "redirect_uri": cfg["redirect_uri"],
            "scope": "openid profile",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    t0 = time.perf_counter()
    r = browser.get(f"{base}/o/authorize/?{query}", allow_redirects=False, timeout=10)
    t1 = time.perf_counter()
    location = r.headers.get("Location", "")
    if r.status_code != 302 or not location.startswith(cfg["redirect_uri"]):
        raise RuntimeError(f"authorize {r.status_code} {location[:80]}")
    code = parse_qs(urlsplit(location).query)["code"][0]
    t = portal.post(
        f"{base}/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": cfg["redirect_uri"],
            "code_verifier": verifier,
        },
        auth=(cfg["client_id"], cfg["client_secret"]),
        timeout=10,
    )
    if t.status_code != 200 or "id_token" not in t.json():
        raise RuntimeError(f"token {t.status_code}")
    t2 = time.perf_counter()
    u = portal.get(
        f"{base}/o/userinfo/",
        headers={"Authorization": f"Bearer {t.json()['access_token']}"},
        timeout=10,
    )
    if u.status_code != 200 or "sub" not in u.json():
        raise RuntimeError(f"userinfo {u.status_code}")
    return t1 - t0, t2 - t1, time.perf_counter() - t2


def run(logins: int, concurrency: int, workers: int) -> None:
    cfg = json.loads((_bench_dir() / "setup.json").read_text())
    if "user_id" not in cfg:
        raise SystemExit("setup.json is from an older bench: run setup again")
    cfg["session"] = _sign_in(int(cfg["user_id"]))
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "shebao", "serve", "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/o/.well-known/openid-configuration", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        times: list[float] = []
        steps: list[tuple[float, float, float]] = []
        errors: list[str] = []
        lock = threading.Lock()
        per_client = max(1, logins // concurrency)

        def client_loop(warmup: int) -> None:
            browser = requests.Session()
            browser.cookies.set("sessionid", cfg["session"], domain="127.0.0.1")
            portal = requests.Session()
            for i in range(warmup + per_client):
                started = time.perf_counter()
                try:
                    step = _one_login(base, cfg, browser, portal)
                except Exception as exc:
                    with lock:
                        errors.append(str(exc))
                    continue
                elapsed = time.perf_counter() - started
                if i >= warmup:
                    with lock:
                        times.append(elapsed)
                        steps.append(step)

        threads = [threading.Thread(target=client_loop, args=(5,)) for _ in range(concurrency)]
        meter = CpuMeter(server.pid)
        client_cpu = time.process_time()
        wall = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - wall
        server_cpu, database_cpu = meter.used()
        client_cpu = time.process_time() - client_cpu
        times.sort()

        def pct(p: float) -> float:
            return times[min(len(times) - 1, int(p * len(times)))] * 1000

        db = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
        print(f"database={db} workers={workers} concurrency={concurrency}")
        print(f"logins={len(times)} errors={len(errors)} wall={wall:.1f}s")
        if times:
            print(
                f"login ms: p50={pct(0.50):.1f} p95={pct(0.95):.1f} p99={pct(0.99):.1f} "
                f"mean={statistics.mean(times) * 1000:.1f} max={times[-1] * 1000:.1f}"
            )
            print(f"logins/s={len(times) / wall:.1f}")
            # The warm-up logins are in the CPU too: per login of all that ran.
            n = len(times) + concurrency * 5
            print(
                f"CPU per login: server {server_cpu / n * 1000:.1f} ms, database backends "
                f"{database_cpu / n * 1000:.1f} ms, client {client_cpu / n * 1000:.1f} ms; "
                f"load average {os.getloadavg()[0]:.2f}"
            )
            for n, name in enumerate(("authorize", "token", "userinfo")):
                print(f"{name} ms p50={statistics.median(x[n] for x in steps) * 1000:.1f}")
        if errors:
            print("first errors:", errors[:3])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup")
    r = sub.add_parser("run")
    r.add_argument("--logins", type=int, default=300)
    r.add_argument("--concurrency", type=int, default=2)
    r.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.command == "setup":
        setup()
    else:
        run(args.logins, args.concurrency, args.workers)


if __name__ == "__main__":
    main()
