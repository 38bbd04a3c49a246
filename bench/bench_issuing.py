"""Benchmark: a 100,000-row collective application file with photos through the database
path — upload and eligibility against the registry, application rows, the batch forwarded up
the chain (re-checked on arrival at the card centre), production batches with card numbers
and card rows in bulk.

Generates, with numpy, a registry of N persons (loaded in bulk), a collective application
file (CSV, the seed's columns) of those persons with planted problems (unknown and invalid ID
numbers, bad phones, a non-cooperating bank, duplicates, the deceased) and a ZIP with one
JPEG per applicant, every one different (a JPEG comment carries the row number), some missing
or of the wrong size. Then times each step and prints the figures (counts and timings only).

    uv run python bench/bench_issuing.py --rows 100000          # a fresh SQLite database
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench_issuing \\
        uv run python bench/bench_issuing.py --rows 100000      # an empty PostgreSQL database

The database named by DATABASE_URL must exist; it is migrated and filled: do not point it at
real data.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import struct
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

import numpy as np

# The shared world of the benches: database setup, the Hubei regions, ID-number weights.
from _payments_world import CHECK, CITY, DISTRICT, VILLAGE, WEIGHTS, regions, setup


def _ids(rng: np.random.Generator, n: int) -> list[str]:
    birth = rng.integers(0, 60 * 365, n)
    days = np.datetime64("1960-01-01") + birth.astype("timedelta64[D]")
    ymd = np.char.replace(np.datetime_as_string(days, unit="D").astype(str), "-", "")
    seq = np.arange(n) % 1000
    bodies = np.char.add(np.char.add(DISTRICT, ymd), np.char.zfill(seq.astype(str), 3))
    digits = np.array([list(b) for b in bodies], dtype=np.int64)
    checks = CHECK[(digits @ WEIGHTS) % 11]
    ids = np.char.add(bodies, checks)
    return list(dict.fromkeys(ids.tolist()))


def _jpeg(size: tuple[int, int], seed: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    img = np.full((h, w, 3), 245.0)
    yy, xx = np.mgrid[0:h, 0:w]
    img[((xx - w / 2) / (w * 0.2)) ** 2 + ((yy - h * 0.4) / (h * 0.21)) ** 2 < 1] = (225, 185, 160)
    img[(yy > h * 0.68) & (np.abs(xx - w / 2) < w * 0.36)] = (40, 50, 100)
    img += rng.normal(0, 4, img.shape) * (yy >= h * 0.18)[..., None]
    out = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=70)
    return out.getvalue()


def _tagged(data: bytes, tag: int) -> bytes:
    payload = f"row {tag}".encode()
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def _world(ids: list[str], rng: np.random.Generator) -> dict[str, object]:
    import polars as pl

    from shebao.accounts.choices import OrganisationKind, Role
    from shebao.accounts.services import organisation_create, user_create
    from shebao.cards.models import CooperatingBank
    from shebao.geo.models import Region
    from shebao.registry.bulk import registry_bulk_load

    regions()

    def org(kind: str, code: str, region: str, name: str, parent=None):  # type: ignore[no-untyped-def]
        return organisation_create(
            actor=None,
            code=code,
            name=name,
            kind=kind,
            region=Region.objects.get(code=region),
            parent=parent,
        )

    centre = org(OrganisationKind.CARD_CENTRE, "B-CC", CITY, "鄂州市社保卡管理中心")
    district = org(OrganisationKind.DISTRICT_CARD_OFFICE, "B-DO", DISTRICT, "鄂城区卡办", centre)
    department = org(OrganisationKind.DEPARTMENT, "B-DEP", DISTRICT, "鄂城区教育局", district)
    school = org(OrganisationKind.SCHOOL, "B-SCH", DISTRICT, "鄂城区第一中学", department)
    bank = org(OrganisationKind.BANK, "B-ABC", CITY, "农业银行鄂州分行")
    CooperatingBank.objects.create(region=Region.objects.get(code=CITY), bank=bank)
    users = {}
    for key, role, o in (
        ("school", Role.EMPLOYER_CLERK, school),
        ("department", Role.DEPARTMENT_CLERK, department),
        ("district", Role.DISTRICT_CLERK, district),
        ("centre", Role.CARD_CENTRE_OPERATOR, centre),
    ):
        users[key] = user_create(
            actor=None,
            username=f"bench_{key}",
            password="Bench2026pass!",  # noqa: S106 - a throwaway benchmark database
            organisation=o,
            roles=[role],
        )
    n = len(ids)
    dead = rng.random(n) < 0.003
    persons = pl.DataFrame(
        {
            "id_number": ids,
            "name": [f"申领人{i}" for i in range(n)],
            "gender": ["M" if int(i[16]) % 2 else "F" for i in ids],
            "birth_date": [date(int(i[6:10]), int(i[10:12]), int(i[12:14])) for i in ids],
            "ethnicity": ["汉族"] * n,
            "hukou_region_code": [VILLAGE] * n,
            "residence_region_code": [VILLAGE] * n,
            "household_number": [None] * n,
            "relation_to_head": [""] * n,
            "hukou_type": ["hukou"] * n,
            "life_status": np.where(dead, "deceased", "alive").tolist(),
            "status_date": [date(2024, 1, 1) if d else None for d in dead],
            "phone": [""] * n,
        }
    )
    empty = pl.DataFrame()
    registry_bulk_load(
        households=pl.DataFrame(
            schema={"household_number": pl.String, "village_code": pl.String, "address": pl.String}
        ),
        persons=persons,
        employers=pl.DataFrame(
            schema={
                "credit_code": pl.String,
                "name": pl.String,
                "kind": pl.String,
                "region_code": pl.String,
                "registered_on": pl.Date,
                "is_active": pl.Boolean,
            }
        ),
        enrollments=pl.DataFrame(
            schema={
                "id_number": pl.String,
                "scheme_code": pl.String,
                "employer_credit_code": pl.String,
                "insurance_region_code": pl.String,
                "status": pl.String,
                "start_date": pl.Date,
                "end_date": pl.Date,
            }
        ),
    )
    del empty
    return users


def _files(
    ids: list[str], rows: int, rng: np.random.Generator, out: Path
) -> tuple[Path, Path, dict[str, int]]:
    planted = {
        "unknown_id": 0,
        "invalid_id": 0,
        "bad_phone": 0,
        "other_bank": 0,
        "duplicate": 0,
        "no_photo": 0,
        "bad_photo": 0,
    }
    good = _jpeg((358, 441), 1)
    wrong = _jpeg((300, 400), 2)
    lines = ["银行,姓名,性别,身份证号(18位),联系电话,工作证号(学籍号)"]
    chosen = ids[:rows]
    zip_path = out / "photos.zip"
    written: set[str] = set()
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as archive:
        for i, id_number in enumerate(chosen):
            r = rng.random()
            bank, phone = "农业银行", f"139{i:08d}"
            if r < 0.004:
                id_number = id_number[:6] + "19990231" + id_number[14:]  # invalid date
                planted["invalid_id"] += 1
            elif r < 0.008:
                id_number = "420702" + id_number[6:17]
                id_number += str(
                    CHECK[int(np.array(list(id_number), dtype=np.int64) @ WEIGHTS) % 11]
                )
                planted["unknown_id"] += 1
            elif r < 0.012:
                phone = "12345"
                planted["bad_phone"] += 1
            elif r < 0.016:
                bank = "邮储银行"
                planted["other_bank"] += 1
            elif r < 0.018 and i > 0:
                id_number = chosen[i - 1]
                planted["duplicate"] += 1
            p = rng.random()
            if id_number in written:
                pass
            elif p < 0.005:
                planted["no_photo"] += 1
            else:
                written.add(id_number)
                data = wrong if p < 0.01 else good
                planted["bad_photo"] += p < 0.01
                archive.writestr(f"photos/{id_number}.jpg", _tagged(data, i))
            lines.append(f"{bank},申领人{i},男,{id_number},{phone},X{i:07d}")
    csv_path = out / "申领.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, zip_path, planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--workers", type=int, default=None, help="photo worker processes")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench_issuing_") as tmp:
        data = Path(tmp)
        setup(data)
        from django.db import connection

        print(f"database: {connection.vendor}; rows: {args.rows:,}")
        t = time.perf_counter()
        ids = _ids(rng, int(args.rows * 1.02) + 10)
        users = _world(ids, rng)
        print(f"registry: {len(ids):,} persons loaded in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        csv_path, zip_path, planted = _files(ids, args.rows, rng, data)
        print(
            f"files: {csv_path.stat().st_size / 1e6:.1f} MB CSV, "
            f"{zip_path.stat().st_size / 1e6:.0f} MB ZIP in {time.perf_counter() - t:.1f} s; "
            f"planted {planted}"
        )

        from shebao.cards.models import Application, Card
        from shebao.cards.services.applications import (
            application_batch_forward,
            application_batch_upload,
        )
        from shebao.cards.services.production import production_batches_form

        total = time.perf_counter()
        t = time.perf_counter()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
        result = application_batch_upload(
            actor=users["school"], file=csv_path, photo_zip=zip_path, photo_workers=args.workers
        )
        if os.environ.get("BENCH_PROFILE"):
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        upload = time.perf_counter() - t
        print(
            f"upload + eligibility + application rows: {upload:.1f} s "
            f"({result.rows / upload:,.0f} rows/s); eligible {result.eligible:,}, "
            f"ineligible {result.ineligible:,}; reasons {result.counts}"
        )
        print(f"  steps (s): {result.seconds}")
        t = time.perf_counter()
        for key in ("school", "department", "district"):
            batch = application_batch_forward(actor=users[key], batch_id=result.batch.pk)
        forward = time.perf_counter() - t
        print(
            f"forward ×3 (re-check on arrival at the card centre): {forward:.1f} s; {batch.status}"
        )
        t = time.perf_counter()
        formed = production_batches_form(actor=users["centre"])
        production = time.perf_counter() - t
        cards = Card.objects.count()
        print(
            f"production batches: {len(formed)} with {cards:,} cards in {production:.1f} s "
            f"({cards / production:,.0f} cards/s)"
        )
        elapsed = time.perf_counter() - total
        print(
            f"TOTAL file → eligibility → production batches: {elapsed:.1f} s "
            f"for {args.rows:,} rows (target < 60 s); "
            f"applications in DB {Application.objects.count():,}"
        )
        # On a shared machine the wall time depends on the neighbours; the CPU time less so.
        cpu = sum(
            (u.ru_utime + u.ru_stime)
            for u in (
                resource.getrusage(resource.RUSAGE_SELF),
                resource.getrusage(resource.RUSAGE_CHILDREN),
            )
        )
        print(
            f"photo check {result.seconds.get('of_which_photos', 0):.1f} s of it; CPU time of "
            f"this process and its photo workers since start {cpu:.1f} s; load average "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
        )


if __name__ == "__main__":
    main()
