"""Benchmark: `shebao cards check-applications` end to end on a collective application file.

Generates, with numpy and Pillow, a population file, an N-row collective application file
(default 100,000) with planted problems (invalid and unknown ID numbers, the deceased,
duplicates, bad phones, a non-cooperating bank, people aged 60+, holders of a card), a card
file, and a ZIP with one JPEG per applicant named by ID number (some by work number, some
missing, some bad: too large, wrong size, dark or busy background, not a JPEG, truncated).
Every photo's bytes differ (a JPEG comment carries the row number), so nothing can be
cached by content. Then it runs the command in a fresh process and reports wall time, rows/s
and the child's peak memory.

    uv run python bench/bench_eligibility.py --rows 100000

Prints counts and timings only, never personal data (all of it is synthetic anyway).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
from PIL import Image

from shebao.synthetic.codes import id_number_strings

AS_OF = date(2025, 6, 30)
EPOCH = date(1970, 1, 1)
HUKOU_AREA = 440113  # 番禺区
OTHER_AREAS = np.array([430102, 420704, 320706, 450102, 360426], dtype=np.int64)
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文")


def _names(rng: np.random.Generator, n: int) -> pl.Series:
    surname = pl.Series(SURNAMES).gather(pl.Series(rng.integers(0, len(SURNAMES), n)))
    first = pl.Series(GIVEN).gather(pl.Series(rng.integers(0, len(GIVEN), n)))
    second = pl.Series(GIVEN).gather(pl.Series(rng.integers(0, len(GIVEN), n)))
    two = pl.Series(rng.random(n) < 0.7)
    return (
        pl.select(
            surname + pl.when(two).then(first + second).otherwise(first).alias("x")
        ).to_series()
    ).alias("name")


def _ids(rng: np.random.Generator, area: np.ndarray, age_years: np.ndarray) -> pl.Series:
    as_of_days = (AS_OF - EPOCH).days
    birth = as_of_days - (age_years * 365.25).astype(np.int64) - rng.integers(0, 365, len(area))
    addresses, index = np.unique(area, return_inverse=True)
    return id_number_strings(
        addresses, index.astype(np.int64), birth, rng.integers(0, 1000, len(area))
    )


def population(rng: np.random.Generator, n: int) -> pl.DataFrame:
    hukou = rng.random(n) < 0.85
    area = np.where(hukou, HUKOU_AREA, OTHER_AREAS[rng.integers(0, len(OTHER_AREAS), n)])
    age = rng.integers(0, 90, n)
    ids = _ids(rng, area, age)
    r = rng.random(n)
    status = np.where(r < 0.015, "死亡", np.where(r < 0.02, "迁出", "正常"))
    town = rng.integers(1, 20, n)
    village = rng.integers(1, 30, n)
    frame = pl.DataFrame(
        {
            "公民身份号码": ids,
            "姓名": _names(rng, n),
            "性别": np.where(ids.str.slice(16, 1).cast(pl.Int64).to_numpy() % 2 == 1, "男", "女"),
            "出生日期": ids.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d").cast(pl.String),
            "民族": "汉族",
            "户籍地区划代码": pl.Series(area * 1_000_000 + town * 1000 + 200 + village).cast(
                pl.String
            ),
            "户号": "",
            "与户主关系": "",
            "户籍类型": np.where(hukou, "户籍", "非户籍"),
            "人员状态": status,
            "死亡日期": np.where(status == "死亡", "2024-03-01", ""),
        }
    )
    return frame.unique("公民身份号码", keep="first", maintain_order=True)


def applications(
    rng: np.random.Generator, pop: pl.DataFrame, rows: int
) -> tuple[pl.DataFrame, dict[str, int]]:
    planted: dict[str, int] = {}
    # Mostly people in scope (alive, under 60), some 60+ and dead ones, as units send them.
    ages = AS_OF.year - pop["出生日期"].str.slice(0, 4).cast(pl.Int64)
    young = pop.filter((ages < 60) & (ages >= 16) & (pl.col("人员状态") == "正常"))
    other = pop.filter(~((ages < 60) & (ages >= 16) & (pl.col("人员状态") == "正常")))
    n_other = rows // 25
    chosen = pl.concat(
        [
            young.sample(rows - n_other, seed=int(rng.integers(1 << 31))),
            other.sample(n_other, seed=int(rng.integers(1 << 31))),
        ]
    ).sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31)))
    ids = chosen["公民身份号码"].to_numpy().astype(object)
    kind = rng.random(rows)
    # Not in the population: valid numbers of another (unused) county.
    unknown = kind < 0.01
    stranger = _ids(
        rng,
        np.full(int(unknown.sum()), 440114, dtype=np.int64),
        rng.integers(20, 50, int(unknown.sum())),
    )
    ids[unknown] = stranger.to_numpy()
    planted["NOT_IN_POPULATION (planted)"] = int(unknown.sum())
    # A wrong check character.
    bad = (kind >= 0.01) & (kind < 0.02)
    ids[bad] = [s[:17] + ("0" if s[17] != "0" else "1") for s in ids[bad]]
    planted["INVALID_ID (planted)"] = int(bad.sum())
    # Duplicates: copy an earlier row's number.
    dup = np.flatnonzero((kind >= 0.02) & (kind < 0.025))
    dup = dup[dup > 0]
    ids[dup] = ids[rng.integers(0, dup)]
    planted["DUPLICATE_APPLICATION (planted)"] = len(dup)
    phone = pl.Series(
        (13_000_000_000 + rng.integers(0, 6_999_999_999, rows)).astype(np.int64)
    ).cast(pl.String)
    bad_phone = rng.random(rows) < 0.01
    phone = pl.select(
        pl.when(pl.Series(bad_phone)).then(phone.str.slice(0, 10)).otherwise(phone)
    ).to_series()
    planted["INVALID_PHONE (planted)"] = int(bad_phone.sum())
    bank_pick = rng.random(rows)
    bank = np.where(
        bank_pick < 0.6,
        "农业银行",
        np.where(
            bank_pick < 0.8, "中国邮政储蓄银行", np.where(bank_pick < 0.97, "邮储银行", "工商银行")
        ),
    )
    planted["BANK_NOT_COOPERATING (planted)"] = int((bank_pick >= 0.97).sum())
    frame = pl.DataFrame(
        {
            "银行": bank,
            "姓名": chosen["姓名"],
            "性别": chosen["性别"],
            "身份证号(18位)": pl.Series(ids, dtype=pl.String),
            "联系电话": phone,
            "工作证号(学籍号)": pl.Series(np.arange(rows) + 20130000)
            .cast(pl.String)
            .str.replace("^", "GZ"),
        }
    )
    return frame, planted


def _jpeg(width: int, height: int, background: int, noise: float, seed: int, quality: int) -> bytes:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), dtype=np.float64)
    img[:] = background
    face = ((xx - width / 2) / (width * 0.2)) ** 2 + (
        (yy - height * 0.4) / (height * 0.21)
    ) ** 2 < 1
    img[face] = (225, 185, 160)
    img[(yy > height * 0.68) & (np.abs(xx - width / 2) < width * 0.36)] = (40, 50, 100)
    texture = rng.normal(0, noise, img.shape)
    texture[yy < height * 0.18] *= 0.15  # the background stays plain
    pixels = np.clip(img + texture, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=quality)
    return out.getvalue()


def photo_kinds() -> tuple[list[bytes], dict[str, bytes]]:
    good = [_jpeg(358, 441, 245, 4 + i / 2, seed=i, quality=75) for i in range(8)]
    png = io.BytesIO()
    Image.new("RGB", (358, 441), (250, 250, 250)).save(png, "PNG")
    bad = {
        "too_large": _jpeg(358, 441, 245, 40, seed=99, quality=95),
        "wrong_size": _jpeg(480, 640, 245, 2, seed=98, quality=60),
        "dark": _jpeg(358, 441, 110, 5, seed=97, quality=75),
        "busy": _busy(),
        "png": png.getvalue(),
        "truncated": good[0][: len(good[0]) // 2],
    }
    return good, bad


def _busy() -> bytes:
    """Light on average, but something stands in the top-left corner."""
    image = Image.open(io.BytesIO(_jpeg(358, 441, 245, 5, seed=96, quality=75)))
    pixels = np.array(image)
    pixels[:30, :40] = (150, 120, 90)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=75)
    return out.getvalue()


def _tagged(data: bytes, tag: int) -> bytes:
    """The same JPEG with a comment segment (FFFE) after SOI: distinct bytes, same image."""
    if not data.startswith(b"\xff\xd8"):
        return data
    payload = f"row {tag}".encode()
    return data[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + data[2:]


def write_photos(rng: np.random.Generator, apps: pl.DataFrame, path: Path) -> dict[str, int]:
    good, bad = photo_kinds()
    bad_names = list(bad)
    planted = {"NO_PHOTO (planted)": 0, "PHOTO_QUALITY (planted)": 0}
    r = rng.random(apps.height)
    ids = apps["身份证号(18位)"].to_list()
    work = apps["工作证号(学籍号)"].to_list()
    written: set[str] = set()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for i in range(apps.height):
            if r[i] < 0.01:
                planted["NO_PHOTO (planted)"] += 1
                continue
            name = f"{work[i]}.jpg" if r[i] > 0.95 else f"{ids[i]}.jpg"
            if name in written:
                continue  # a duplicate row: one photo serves both
            written.add(name)
            if r[i] < 0.02:
                data = bad[bad_names[i % len(bad_names)]]
                planted["PHOTO_QUALITY (planted)"] += 1
            else:
                data = good[i % len(good)]
            archive.writestr(f"photos/{name}", _tagged(data, i))
    return planted


def write_cards(rng: np.random.Generator, apps: pl.DataFrame, path: Path) -> int:
    take = apps.sample(fraction=0.03, seed=int(rng.integers(1 << 31)))
    status = np.where(
        rng.random(take.height) < 0.7,
        "正常",
        np.where(rng.random(take.height) < 0.5, "挂失", "注销"),
    )
    pl.DataFrame(
        {
            "社会保障号码": take["身份证号(18位)"],
            "卡号": [f"{i:09d}" for i in range(take.height)],
            "卡状态": status,
        }
    ).write_csv(path)
    return int((status != "注销").sum())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--population", type=int, default=0, help="persons (default 3 × rows)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("bench/out/eligibility"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--xlsx", action="store_true", help="write the application file as XLSX")
    parser.add_argument("--reuse", action="store_true", help="reuse generated inputs if present")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    data = args.out / "input"
    data.mkdir(parents=True, exist_ok=True)
    pop_path = data / "population.csv"
    app_path = data / ("applications.xlsx" if args.xlsx else "applications.csv")
    zip_path = data / "photos.zip"
    card_path = data / "cards.csv"
    if not (args.reuse and pop_path.exists() and app_path.exists() and zip_path.exists()):
        t = time.perf_counter()
        pop = population(rng, args.population or 3 * args.rows)
        pop.write_csv(pop_path)
        apps, planted = applications(rng, pop, args.rows)
        if args.xlsx:
            from openpyxl import Workbook

            book = Workbook(write_only=True)
            sheet = book.create_sheet("申领")
            sheet.append(["番禺区机关事业单位社保（市民）卡集体申领名单"])
            sheet.append(apps.columns)
            for record in apps.iter_rows():
                sheet.append(list(record))
            book.save(app_path)
        else:
            apps.write_csv(app_path)
        planted |= write_photos(rng, apps, zip_path)
        planted["HAS_CARD (planted, approx.)"] = write_cards(rng, apps, card_path)
        print(
            f"generated {pop.height:,} persons, {apps.height:,} applications, "
            f"{zip_path.stat().st_size / 1e6:,.0f} MB of photos in {time.perf_counter() - t:.1f} s"
        )
        for key, value in planted.items():
            print(f"  {key:<34} {value:,}")

    command = [
        sys.executable,
        "-m",
        "shebao",
        "cards",
        "--verbosity",
        "2",  # prints the time of each phase
        "check-applications",
        "--population",
        str(pop_path),
        "--applications",
        str(app_path),
        "--photos",
        str(zip_path),
        "--cards",
        str(card_path),
        "--banks",
        "农业银行,邮储银行",
        "--programme",
        "panyu",
        "--as-of",
        AS_OF.isoformat(),
        "--out",
        str(args.out / "result"),
    ]
    if args.workers:
        command += ["--workers", str(args.workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    wall = time.perf_counter() - started
    print(completed.stdout)
    if completed.returncode != 0:
        print(completed.stderr, file=sys.stderr)
        raise SystemExit(completed.returncode)
    with (args.out / "result" / "eligibility.csv").open(encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.reader(fh)) - 1
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    peak = after.ru_maxrss / 1024
    print(
        f"check-applications: {rows:,} rows in {wall:.1f} s wall = {rows / wall:,.0f} rows/s; "
        f"peak memory of the largest child {peak:,.0f} MB"
    )
    # On a shared machine the wall time depends on the neighbours; the CPU time does not.
    print(
        f"CPU time of the command and its photo workers: {cpu:.1f} s; load average now "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
