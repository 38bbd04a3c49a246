"""Bench of card-use uploads (issue #11 §5): batches of transit rides from offline bus
validators, sent as JSON Lines to POST /api/v1/usage/batch, against the card holders of
`bench_identity_load.py` on PostgreSQL. Each batch is then sent again (a validator that did
not get the answer retries): the retry must add nothing. Records per second for new batches
and for repeats, and the seconds per batch (p50/p95).

    # 0. once: the holders and the bench partner (bench_identity_load.py setup)
    # 1. this bench (grants the bench partner usage uploads on first run)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench SHEBAO_DATA_DIR=/tmp/bench \\
        uv run python bench/bench_usage_upload.py --batches 20 --size 5000 --workers 2

Sequential batches from one client (a depot's gateway sends one terminal's backlog at a
time), through `shebao serve`. Prints figures only; never personal data.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _locust import CpuMeter, bench_dir, django_setup, require_postgres, served, terminal_token


def _grant() -> None:
    django_setup()
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
    sample = json.loads((bench_dir() / "sample.json").read_text())
    cards = [row[0] for row in sample]
    with served(workers, "serve_usage.log") as server:
        host = server.host
        token = terminal_token(host)
        # Sequence numbers continue from earlier runs: a fresh run's batches are all new.
        base = int(time.time()) * 1000
        start = datetime.now(UTC) - timedelta(days=1)
        load_before = os.getloadavg()
        meter = CpuMeter(server.pid)
        new_s: list[float] = []
        again_s: list[float] = []
        # CPU seconds (server, PostgreSQL) of new batches and of repeats: the figure that
        # holds on a busy machine. The client (this process) is not counted.
        new_cpu, again_cpu = [0.0, 0.0], [0.0, 0.0]
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
            before = meter.used()
            seconds, answer = _post(f"{host}/api/v1/usage/batch", payload, token)
            if answer.get("added") != size:
                raise SystemExit(f"a new batch added {answer.get('added')} of {size}")
            middle = meter.used()
            new_s.append(seconds)
            seconds, answer = _post(f"{host}/api/v1/usage/batch", payload, token)
            if answer.get("added") != 0 or answer.get("already") != size:
                raise SystemExit("a repeated batch added records")
            after = meter.used()
            again_s.append(seconds)
            for k in (0, 1):
                new_cpu[k] += middle[k] - before[k]
                again_cpu[k] += after[k] - middle[k]
        load_after = os.getloadavg()
        print(
            f"usage uploads on PostgreSQL; gunicorn workers={workers}; {batches} batches of "
            f"{size:,} rides, each sent twice; load average before {load_before[0]:.2f}, "
            f"after {load_after[0]:.2f}"
        )
        for label, times, cpu in (("new", new_s, new_cpu), ("repeat", again_s, again_cpu)):
            ordered = sorted(times)
            p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
            records = size * len(times)
            print(
                f"{label:>6}: {records / sum(times):8,.0f} records/s; per batch "
                f"p50 {statistics.median(times) * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms; "
                f"CPU server {cpu[0]:.2f} s + PostgreSQL {cpu[1]:.2f} s "
                f"({(cpu[0] + cpu[1]) / records * 1e6:.0f} µs per record)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    require_postgres()
    run(args.batches, args.size, args.workers)


if __name__ == "__main__":
    main()
