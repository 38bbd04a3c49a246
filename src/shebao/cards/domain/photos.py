"""The card photo check, on the image itself (Pillow).

Cheap checks first: the size from the ZIP directory, then the JPEG header (format and pixel
dimensions, without decoding). Then one decode, in JPEG draft mode (grey, at 1/8 scale: libjpeg
keeps only each 8×8 block's average and skips the colour conversion, but still reads the whole
entropy-coded stream, so a truncated or broken file fails), and the background test on the top
corners: a light, plain background has a high mean brightness and a low spread there (the
spread of block averages: fine texture or sensor noise is not "not plain", an object is).

Every failed check is reported, with numbers, so that the unit knows what to fix; a file that
is not a JPEG or cannot be decoded stops there.

Many photos are checked in worker processes (`check_zip_photos`): decoding is CPU-bound and
Pillow holds the GIL for most of the per-file work, so threads do not help.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from multiprocessing import get_context
from typing import Final

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = [
    "PhotoIndex",
    "PhotoProblem",
    "PhotoProblemCode",
    "PhotoSpec",
    "PhotoVerdict",
    "check_photo_bytes",
    "check_zip_photos",
    "photo_index",
]

PHOTO_SUFFIXES: Final[tuple[str, ...]] = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff")
_JPEG_MAGIC: Final[bytes] = b"\xff\xd8\xff"
# An entry bigger than this is not read at all (it fails the size check anyway); it guards
# against ZIP bombs and absurd files.
_READ_LIMIT: Final[int] = 8 * 1024 * 1024
_DRAFT_SCALE: Final[int] = 8
_CHUNK: Final[int] = 1000
# Below this many photos a worker pool costs more (starting interpreters) than it saves.
_POOL_THRESHOLD: Final[int] = 3000


@dataclass(frozen=True, slots=True)
class PhotoSpec:
    """The card photo standard, configurable per programme. Brightness is the JPEG luma
    (0 black … 255 white) of the two top corners, each `corner_width` × `corner_height` of the
    image."""

    width: int = 358
    height: int = 441
    tolerance_px: int = 2
    max_bytes: int = 20 * 1024
    background_min_mean: float = 200.0
    background_max_std: float = 18.0
    corner_width: float = 0.18
    corner_height: float = 0.10

    def __post_init__(self) -> None:
        if min(self.width, self.height, self.max_bytes) <= 0 or self.tolerance_px < 0:
            raise ValueError("照片规格的尺寸、大小须为正数，误差不能为负")
        if not (0 < self.corner_width <= 0.5 and 0 < self.corner_height <= 0.5):
            raise ValueError("背景取样区域比例应在 0 到 0.5 之间")


class PhotoProblemCode(StrEnum):
    TOO_LARGE = "TOO_LARGE"
    NOT_JPEG = "NOT_JPEG"
    BAD_DIMENSIONS = "BAD_DIMENSIONS"
    UNDECODABLE = "UNDECODABLE"
    BACKGROUND_DARK = "BACKGROUND_DARK"
    BACKGROUND_NOT_PLAIN = "BACKGROUND_NOT_PLAIN"


@dataclass(frozen=True, slots=True)
class PhotoProblem:
    code: PhotoProblemCode
    message: str


@dataclass(frozen=True, slots=True)
class PhotoVerdict:
    problems: tuple[PhotoProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def message(self) -> str:
        return "；".join(p.message for p in self.problems)


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def check_photo_bytes(data: bytes, spec: PhotoSpec, *, size: int | None = None) -> PhotoVerdict:
    """Check one photo. `size` is the file's true size when `data` was cut short on purpose
    (an oversized entry is not read whole)."""
    size = len(data) if size is None else size
    problems: list[PhotoProblem] = []
    if size > spec.max_bytes:
        problems.append(
            PhotoProblem(
                PhotoProblemCode.TOO_LARGE,
                f"照片文件大小为 {_kb(size)}，超过 {_kb(spec.max_bytes)} 的上限",
            )
        )
    if not data.startswith(_JPEG_MAGIC):
        problems.append(_not_jpeg(data))
        return PhotoVerdict(tuple(problems))
    try:
        image = Image.open(io.BytesIO(data), formats=["JPEG"])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        problems.append(PhotoProblem(PhotoProblemCode.UNDECODABLE, "照片文件头已损坏，无法识别"))
        return PhotoVerdict(tuple(problems))
    with image:
        width, height = image.size
        if (
            abs(width - spec.width) > spec.tolerance_px
            or abs(height - spec.height) > spec.tolerance_px
        ):
            problems.append(
                PhotoProblem(
                    PhotoProblemCode.BAD_DIMENSIONS,
                    f"照片尺寸为 {width}×{height} 像素，应为 {spec.width}×{spec.height} 像素"
                    f"（允许误差 ±{spec.tolerance_px} 像素）",
                )
            )
        if size > len(data):
            # Not read whole: nothing to decode, and it already failed the size check.
            return PhotoVerdict(tuple(problems))
        try:
            image.draft("L", (max(1, width // _DRAFT_SCALE), max(1, height // _DRAFT_SCALE)))
            image.load()
            grey = image if image.mode == "L" else image.convert("L")
            problems.extend(_background(grey, spec))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            problems.append(PhotoProblem(PhotoProblemCode.UNDECODABLE, "照片文件已损坏，无法解码"))
    return PhotoVerdict(tuple(problems))


def _not_jpeg(data: bytes) -> PhotoProblem:
    kind = "文件为空"
    if data:
        try:
            with Image.open(io.BytesIO(data)) as other:
                kind = f"实际为 {other.format} 格式"
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            kind = "无法识别为图片"
    return PhotoProblem(PhotoProblemCode.NOT_JPEG, f"照片不是 JPEG 格式（{kind}）")


def _background(grey: Image.Image, spec: PhotoSpec) -> list[PhotoProblem]:
    """Mean and spread of the brightness of the two top corners. Only the corners leave
    Pillow (a whole-image array costs more than the statistics)."""
    w, h = grey.size
    ch = max(1, round(h * spec.corner_height))
    cw = max(1, round(w * spec.corner_width))
    corners = grey.crop((0, 0, cw, ch)).tobytes() + grey.crop((w - cw, 0, w, ch)).tobytes()
    sample = np.frombuffer(corners, dtype=np.uint8).astype(np.int64)
    n = sample.size
    mean = int(sample.sum()) / n
    std = max(0.0, int(sample @ sample) / n - mean * mean) ** 0.5
    problems: list[PhotoProblem] = []
    if mean < spec.background_min_mean:
        problems.append(
            PhotoProblem(
                PhotoProblemCode.BACKGROUND_DARK,
                f"照片背景不够浅（亮度 {mean:.0f}，应不低于 {spec.background_min_mean:.0f}）",
            )
        )
    if std > spec.background_max_std:
        problems.append(
            PhotoProblem(
                PhotoProblemCode.BACKGROUND_NOT_PLAIN,
                f"照片背景不是纯色（亮度标准差 {std:.1f}，应不超过 {spec.background_max_std:.0f}）",
            )
        )
    return problems


@dataclass(frozen=True, slots=True)
class PhotoIndex:
    """The photos of a ZIP by name: `by_stem` maps the upper-cased file name without its
    suffix (and without folders) to the entry name, JPEG files winning over others."""

    by_stem: dict[str, str]

    def __len__(self) -> int:
        return len(self.by_stem)


def photo_index(zip_path: str | os.PathLike[str]) -> PhotoIndex:
    """Raises zipfile.BadZipFile / OSError for an unreadable archive."""
    by_stem: dict[str, str] = {}
    jpeg: set[str] = set()
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            base = info.filename.replace("\\", "/").rsplit("/", 1)[-1]
            stem, dot, suffix = base.rpartition(".")
            suffix = f"{dot}{suffix}".lower()
            if not stem or suffix not in PHOTO_SUFFIXES or base.startswith("._"):
                continue  # macOS resource forks and non-image files
            key = stem.strip().upper()
            is_jpeg = suffix in (".jpg", ".jpeg")
            if key not in by_stem or (is_jpeg and key not in jpeg):
                by_stem[key] = info.filename
                if is_jpeg:
                    jpeg.add(key)
    return PhotoIndex(by_stem)


def _check_entries(
    archive: zipfile.ZipFile, names: Sequence[str], spec: PhotoSpec
) -> list[PhotoVerdict]:
    out: list[PhotoVerdict] = []
    for name in names:
        info = archive.getinfo(name)
        try:
            if info.file_size > _READ_LIMIT:
                with archive.open(info) as fh:
                    head = fh.read(64 * 1024)
                out.append(check_photo_bytes(head, spec, size=info.file_size))
            else:
                out.append(check_photo_bytes(archive.read(info), spec))
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
            # RuntimeError: an encrypted entry.
            out.append(
                PhotoVerdict(
                    (PhotoProblem(PhotoProblemCode.UNDECODABLE, "照片在压缩包中已损坏，无法读取"),)
                )
            )
    return out


# Each worker process opens the archive once: reading the central directory of a ZIP with
# 100,000 entries takes a second or more, far too long to repeat per chunk.
_worker_archive: zipfile.ZipFile | None = None


def _open_worker_archive(path: str) -> None:
    global _worker_archive  # one archive per worker process, by design
    _worker_archive = zipfile.ZipFile(path)


def _check_chunk(names: Sequence[str], spec: PhotoSpec) -> list[PhotoVerdict]:
    if _worker_archive is None:
        raise RuntimeError("worker archive not opened")
    return _check_entries(_worker_archive, names, spec)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_zip_photos(
    zip_path: str | os.PathLike[str],
    names: Sequence[str],
    spec: PhotoSpec,
    *,
    workers: int | None = None,
) -> dict[str, PhotoVerdict]:
    """Check the named entries of a ZIP; `workers` processes (default: the CPUs this process
    may use), in this process when there are few photos or `workers` is 1."""
    path = os.fspath(zip_path)
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if workers <= 1 or len(names) < _POOL_THRESHOLD:
        with zipfile.ZipFile(path) as archive:
            return dict(zip(names, _check_entries(archive, names, spec), strict=True))
    results: dict[str, PhotoVerdict] = {}
    chunks = list(_chunks(names, _CHUNK))
    # spawn, not fork: the parent may hold DuckDB and Polars threads and locks, which fork
    # would copy. A script that calls this must guard its entry point (`if __name__ ==
    # "__main__":`), as multiprocessing requires; the `shebao` command does.
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_open_worker_archive,
        initargs=(path,),
    ) as pool:
        verdicts = pool.map(_check_chunk, chunks, [spec] * len(chunks))
        for chunk, chunk_verdicts in zip(chunks, verdicts, strict=True):
            results.update(zip(chunk, chunk_verdicts, strict=True))
    return results
