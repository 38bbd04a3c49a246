"""Bench of card-use uploads (issue #11 §5): batches of transit rides from offline bus
validators, sent as JSON Lines to POST /api/v1/usage/batch, against the card holders of
`bench_identity_load.py` on PostgreSQL. Each batch is then sent again (a validator that did
not get the answer retries): the retry must add nothing. Records per second for new batches
and for repeats, and the seconds per batch (p50/p95).

    # 0. once: the holders and the bench partner (bench_identity_load.py setup)
    # 1. this bench (grants the bench partner usage uploads on first run)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/e1bench SHEBAO_DATA_DIR=/tmp/e1-data \\
        uv run python bench/bench_usage_upload.py --batches 20 --size 5000 --workers 2

Sequential batches from one client (a depot's gateway sends one terminal's backlog at a
time), through `shebao serve`. Prints figures only; never personal data.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_identity_load import _bench_dir, _django, _free_port, _wait


def _grant() -> None:
    _django()
    from shebao.accounts.models import User
    from shebao.partners.models import Partner
    from shebao.partners.services.registry import partner_set_scopes

    partner = Partner.objects.get(organisation__code="BENCH-HOSP")
    if "upload_usage" not in partner.granted_services:
        partner_set_scopes(
            actor=User.objects.get(username="bench-centre"),
            partner_id=partner.pk,
            fields=list(partner.granted_fields),
            services=[*partner.granted_services, "upload_usage"],
        )


def _post(url: str, body: bytes, token: str) -> tuple[float, dict[str, int]]:
    request = urllib.request.Request(  # noqa: S310
        url,
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
        answer = json.loads(response.read())
    return time.perf_counter() - started, answer


def run(batches: int, size: int, workers: int) -> None:
    _grant()
    sample = json.loads((_bench_dir() / "sample.json").read_text())
    cards = [row[0] for row in sample]
    port = _free_port()
    log = open(_bench_dir() / "serve_usage.log", "w")  # noqa: SIM115
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
            token = json.loads(r.read())["access_token"]
        # Sequence numbers continue from earlier runs: a fresh run's batches are all new.
        base = int(time.time()) * 1000
        start = datetime.now(UTC) - timedelta(days=1)
        load_before = os.getloadavg()
        new_s: list[float] = []
        again_s: list[float] = []
        for b in range(batches):
            lines = []
            for i in range(size):
                seq = base + b * size + i
                lines.append(
                    json.dumps(
                        {
                            "sequence": seq,
                            "occurred_at": (start + timedelta(seconds=seq % 80_000)).isoformat(),
                            "service": "transit_ride",
                            "card_form": "ecard" if i % 3 == 0 else "physical",
                            "card_number": random.choice(cards),
                            "result": "ok",
                        }
                    )
                )
            payload = "\n".join(lines).encode()
            seconds, answer = _post(f"{host}/api/v1/usage/batch", payload, token)
            if answer.get("added") != size:
                raise SystemExit(f"a new batch added {answer.get('added')} of {size}")
            new_s.append(seconds)
            seconds, answer = _post(f"{host}/api/v1/usage/batch", payload, token)
            if answer.get("added") != 0 or answer.get("already") != size:
                raise SystemExit("a repeated batch added records")
            again_s.append(seconds)
        load_after = os.getloadavg()
        print(
            f"usage uploads on PostgreSQL; gunicorn workers={workers}; {batches} batches of "
            f"{size:,} rides, each sent twice; load average before {load_before[0]:.2f}, "
            f"after {load_after[0]:.2f}"
        )
        for label, times in (("new", new_s), ("repeat", again_s)):
            ordered = sorted(times)
            p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
            print(
                f"{label:>6}: {size * len(times) / sum(times):8,.0f} records/s; per batch "
                f"p50 {statistics.median(times) * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms"
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database")
    run(args.batches, args.size, args.workers)


if __name__ == "__main__":
    main()
