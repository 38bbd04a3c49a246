"""Benchmark the e-card's dynamic QR code.

1. Offline verification (what a partner terminal does with the published keys: Base45, CBOR,
   COSE_Sign1 structure, SM2-with-SM3 signature over the Sig_structure, expiry), on one core:
   this process is pinned to one CPU and runs single-threaded.
2. Optionally (``--services N``) the platform's service calls against a database: N times
   `qr_issue` (sign, store the token hash) and N times `qr_redeem` (verify, once-only update,
   business token, audit row), one after the other in this process.

    uv run python bench/bench_ecard_verify.py --seconds 10
    uv run python bench/bench_ecard_verify.py --seconds 10 --services 2000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench_ecard \\
        uv run python bench/bench_ecard_verify.py --services 2000

With ``--services`` the database named by DATABASE_URL (default: SQLite in a temporary data
directory) is migrated and gets a few bench rows: do not point it at real data. Prints rates
only; never prints personal data.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path


def offline(seconds: float, codes: int) -> None:
    from shebao.ecard.domain.qr import QrClaims, qr_encode, qr_verify_offline
    from shebao.ecard.domain.sm2 import SM2Verifier, sm2_generate_keypair, sm2_sign

    private, public = sm2_generate_keypair()
    kid = b"\x01\x02\x03\x04"
    now = int(time.time())
    texts = [
        qr_encode(
            QrClaims(token=secrets.token_bytes(16), issued_at=now, expires_at=now + 600, kid=kid),
            private,
        )
        for _ in range(codes)
    ]
    keys = {kid: SM2Verifier(public)}
    rates, cpu_rates = [], []
    for _ in range(3):
        done = 0
        started, cpu_started = time.perf_counter(), time.thread_time()
        deadline = started + seconds / 3
        while time.perf_counter() < deadline:
            for text in texts:
                if not qr_verify_offline(text, keys, now=now + 1).ok:
                    raise SystemExit("a genuine code did not verify")
            done += len(texts)
        rates.append(done / (time.perf_counter() - started))
        cpu_rates.append(done / (time.thread_time() - cpu_started))
    print(f"离线验码（单核，{codes} 个不同二维码，3 轮）：")
    print(f"  每秒 {statistics.median(rates):,.0f} 次（中位数；各轮 "
          + "、".join(f"{r:,.0f}" for r in rates) + "）")  # fmt: skip
    # On a shared machine the wall-clock rate is also other processes' load; the rate per
    # CPU second of this thread is what one core of its own would do.
    print(f"  按本线程 CPU 时间：每 CPU 秒 {statistics.median(cpu_rates):,.0f} 次")
    print(f"  每次 {1e6 / statistics.median(rates):,.0f} 微秒；负载 {os.getloadavg()[0]:.2f}")
    # The floor: the SM2 verification alone (SM3 of Z‖M and the point arithmetic), in the
    # backend in use and in the other one, on a message of a code's size.
    from shebao.ecard.domain.sm2 import sm2_backend

    message = secrets.token_bytes(160)
    signature = sm2_sign(private, message)
    backends = [sm2_backend()] + [b for b in ("openssl", "gmalglib") if b != sm2_backend()]
    for backend in backends:
        try:
            verifier = SM2Verifier(public, backend=backend)
        except ValueError:
            continue
        n = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds / 6:
            for _ in range(100):
                verifier.verify(message, signature)
            n += 100
        rate = n / (time.perf_counter() - started)
        used = "（在用）" if backend == sm2_backend() else ""
        print(f"  其中 SM2 验签本身（{backend}{used}）每秒 {rate:,.0f} 次")


def services(n: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from shebao.cards.domain.codes import CardNumberSeries, card_id_code
    from shebao.cards.domain.lifecycle import CardStatus
    from shebao.cards.models import Card
    from shebao.ecard.services.ecards import ecard_issue_by_operator
    from shebao.ecard.services.qr import qr_issue, qr_redeem
    from shebao.geo.codes import level_of, parent_code_of, prefix_of
    from shebao.geo.models import Region
    from shebao.identity.id_number import id_number_check_char
    from shebao.registry.models import Person

    for code, name in (
        ("420000", "湖北省"), ("420700", "鄂州市"), ("420704", "鄂城区"),
        ("420704001", "凤凰街道"), ("420704001201", "凤凰村村委会"),
    ):  # fmt: skip
        Region.objects.update_or_create(
            code=code,
            defaults={"name": name, "level": level_of(code), "prefix": prefix_of(code),
                      "parent_id": parent_code_of(code) if code != "420000" else None},
        )  # fmt: skip
    seq = Person.objects.count()
    body = f"420704{date(1970, 1, 1):%Y%m%d}{seq % 500 * 2:03d}"
    person = Person.objects.create(
        id_number=body + id_number_check_char(body), name="张三", gender="M",
        birth_date=date(1970, 1, 1), hukou_region_id="420704001201", phone="13800000000",
    )  # fmt: skip
    offset = Card.objects.filter(card_number__startswith="EB").count()
    now = timezone.now()
    card = Card.objects.create(
        card_number=CardNumberSeries("EB").card_number_for(offset),
        card_id_code=card_id_code("420704", 0xEC00_0000_0000_0000 + offset),
        person=person, status=CardStatus.ACTIVE.value, issuing_region_id="420704",
        created_at=now, updated_at=now,
    )  # fmt: skip
    ecard = ecard_issue_by_operator(card_number=card.card_number, actor=None, username="bench")
    print(f"服务调用（数据库：{connection.vendor}，{n:,} 次，单进程顺序调用）：")
    # In rounds of 50, so that every code is redeemed well within its 60 seconds.
    issue_s = redeem_s = 0.0
    for start in range(0, n, 50):
        size = min(50, n - start)
        started = time.perf_counter()
        texts = [qr_issue(ecard).text for _ in range(size)]
        issue_s += time.perf_counter() - started
        started = time.perf_counter()
        for text in texts:
            qr_redeem(text, terminal_code="BENCH", fields=["masked_name"])
        redeem_s += time.perf_counter() - started
    print(f"  qr_issue   每秒 {n / issue_s:8,.0f} 次")
    print(f"  qr_redeem  每秒 {n / redeem_s:8,.0f} 次")
    print(f"  签发+核验  每秒 {n / (issue_s + redeem_s):8,.0f} 对")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=9.0, help="离线验码总时长")
    parser.add_argument("--codes", type=int, default=200, help="离线验码用的不同二维码数")
    parser.add_argument("--services", type=int, default=0, help="服务调用次数（0 不测）")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    offline(args.seconds, args.codes)
    if args.services:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.setdefault("SHEBAO_DATA_DIR", str(Path(tmp)))
            services(args.services)


if __name__ == "__main__":
    main()
