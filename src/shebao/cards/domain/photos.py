"""The card photo check, on the image itself (Pillow).

Cheap checks first: the size (from the ZIP directory), then the JPEG header (format and pixel
dimensions, without decoding). Then one decode at 1/8 scale, in grey: libjpeg keeps only each
8×8 block's average (the DC coefficient) and skips the colour conversion, but it still reads
the whole entropy-coded stream, so a truncated or broken file fails. Then the background test
on the two top corners: a light, plain background has a high mean brightness and a low spread
there. At 1/8 scale the spread is that of block averages: fine texture or sensor noise is not
"not plain", an object is. The thresholds hold at both scales with wide margins — on the test
photos and the generated bench photos the corner mean moves by at most 3 between full
resolution and 1/8, a textured good photo's spread falls from at most 4.3 to 0.6, and an object
in a corner keeps 45–48 (49–53 at full resolution): `background_max_std` 18 and
`background_min_mean` 200 give the full-resolution verdict on every one of them.

Two ways to the same verdict:

- the fast path (almost every photo): a strict reader of the header segments a plain JPEG has
  (APP0 JFIF, APP3–APP12/APP15, COM, DQT, DHT, DRI, one baseline/extended/progressive SOF with
  one or three 8-bit components, SOS), then Pillow's own JPEG decoder fed the whole file at
  once, with exactly the arguments `Image.open` + `draft("L", …)` + `load()` would give it;
- the Pillow path (`Image.open`, `draft`, `load`) for anything else — EXIF, ICC, Adobe or MPO
  segments, CMYK, odd markers, and every file the fast path could not decode (so that the
  message is Pillow's own).

The fast path saves Pillow's marker parsing in Python (`Image.open` reads every segment,
quantisation tables included) and `ImageFile.load`'s bookkeeping; with cheaper ZIP reads and
corner statistics that is about 30 % of the CPU time per photo. What is left is mostly
libjpeg's entropy decoding, which no shortcut may skip: the whole scan must be read for
"decodable" to mean anything. The tests check that both paths give the same verdicts.

Every failed check is reported, with numbers, so that the unit knows what to fix; a file that
is not a JPEG or cannot be decoded stops there.

Many photos (`check_zip_photos`) are checked by worker processes, each opening the ZIP once
and taking the photos in chunks of up to 2,000 names; members stored or deflated are read
with one positioned read each (CRC checked), without zipfile's per-member objects. Threads
were measured as well (`bench/bench_photos.py`): Pillow releases the GIL while libjpeg
decodes, yet on 2 busy cores two threads checked hardly more photos per second than one (each
photo still needs the GIL for a sixth of its time, and every hand-over waits for the other
thread to be scheduled), while two processes did: 98,545 photos in 44 s against 49–64 s. But
a process costs about a second to start (interpreter, imports, the ZIP directory), so a file
of a few thousand photos is checked by threads (4,000 photos: 2.3 s against 4.8 s).
"""

from __future__ import annotations

import io
import os
import threading
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from multiprocessing import get_context
from typing import Final, Literal

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
# Below this many photos a pool of threads costs more than it saves; below the second
# figure, worker processes cost more to start (an interpreter, imports, the ZIP directory:
# about a second each) than they gain over threads.
_POOL_THRESHOLD: Final[int] = 400
_PROCESS_THRESHOLD: Final[int] = 20_000
# Photos per task: big enough that handing out tasks costs nothing, small enough that the
# workers finish together.
_CHUNK_MIN: Final[int] = 64
_CHUNK_MAX: Final[int] = 2000
_TASKS_PER_WORKER: Final[int] = 8

PoolKind = Literal["thread", "process"]


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


_OK: Final[PhotoVerdict] = PhotoVerdict()


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
    if size <= len(data):
        fast = _fast_check(data, spec)
        if fast is not None:
            return PhotoVerdict((*problems, *fast)) if problems or fast else _OK
    return _pillow_check(data, spec, size, problems)


def _dimension_problem(width: int, height: int, spec: PhotoSpec) -> list[PhotoProblem]:
    if abs(width - spec.width) <= spec.tolerance_px and abs(height - spec.height) <= (
        spec.tolerance_px
    ):
        return []
    return [
        PhotoProblem(
            PhotoProblemCode.BAD_DIMENSIONS,
            f"照片尺寸为 {width}×{height} 像素，应为 {spec.width}×{spec.height} 像素"
            f"（允许误差 ±{spec.tolerance_px} 像素）",
        )
    ]


def _pillow_check(
    data: bytes, spec: PhotoSpec, size: int, problems: list[PhotoProblem]
) -> PhotoVerdict:
    """The reference path: Pillow's own header parsing, draft and load."""
    try:
        image = Image.open(io.BytesIO(data), formats=["JPEG"])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        # DecompressionBombError: a header claiming more than twice Pillow's pixel limit
        # (Image.open refuses it before decoding); it is not a ValueError.
        problems.append(PhotoProblem(PhotoProblemCode.UNDECODABLE, "照片文件头已损坏，无法识别"))
        return PhotoVerdict(tuple(problems))
    with image:
        width, height = image.size
        problems.extend(_dimension_problem(width, height, spec))
        if size > len(data):
            # Not read whole: nothing to decode, and it already failed the size check.
            return PhotoVerdict(tuple(problems))
        try:
            image.draft("L", (max(1, width // _DRAFT_SCALE), max(1, height // _DRAFT_SCALE)))
            image.load()
            grey = image if image.mode == "L" else image.convert("L")
            problems.extend(_background(np.asarray(grey), spec))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            problems.append(PhotoProblem(PhotoProblemCode.UNDECODABLE, "照片文件已损坏，无法解码"))
    return PhotoVerdict(tuple(problems))


# ---- the fast path ----------------------------------------------------------------------------

_SOF: Final[frozenset[int]] = frozenset({0xC0, 0xC1, 0xC2})  # baseline, extended, progressive
# Segments whose content Pillow's `Image.open` only stores (or skips): the fast path reads
# past them. APP1 (EXIF is parsed for the resolution), APP2 (ICC, MPO), APP13 (Photoshop) and
# APP14 (Adobe) are left to Pillow.
_PLAIN: Final[frozenset[int]] = frozenset(
    {*range(0xE3, 0xED), 0xEF, 0xFE, 0xC4, 0xDD}  # APP3–APP12, APP15, COM, DHT, DRI
)


def _plain_header(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a JPEG whose header segments are all of the plain kinds the fast
    path handles exactly as `Image.open` would; None for anything else."""
    end = len(data)
    pos = 2
    dims: tuple[int, int] | None = None
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        length = (data[pos + 2] << 8) | data[pos + 3]
        body = pos + 4
        nxt = pos + 2 + length
        if length < 2 or nxt > end:
            return None
        if marker == 0xDA:  # start of scan: the header is over
            return dims
        if marker in _SOF:
            layers = data[body + 5] if body + 5 < nxt else 0
            if (
                dims is not None
                or data[body] != 8
                or layers not in (1, 3)
                or length != 8 + 3 * layers
            ):
                return None
            height = (data[body + 1] << 8) | data[body + 2]
            width = (data[body + 3] << 8) | data[body + 4]
            if not width or not height or width * height > (Image.MAX_IMAGE_PIXELS or 1 << 62):
                return None
            dims = (width, height)
        elif marker == 0xDB:
            if not _dqt_ok(data, body, nxt):
                return None
        elif marker == 0xE0:
            # Pillow reads the JFIF version (and, if there, the density) from APP0.
            if data.startswith(b"JFIF", body) and length < 2 + 7:
                return None
        elif marker not in _PLAIN:
            return None
        pos = nxt
    return None


def _dqt_ok(data: bytes, pos: int, end: int) -> bool:
    """The quantisation tables fill their segment exactly, as Pillow requires."""
    while pos < end:
        pos += 1 + (64 if data[pos] >> 4 == 0 else 128)
        if pos > end:
            return False
    return True


def _draft_scale(width: int, height: int) -> int:
    """The DCT scale `JpegImageFile.draft` chooses for a request of 1/8 of each side."""
    scale = min(width // max(1, width // _DRAFT_SCALE), height // max(1, height // _DRAFT_SCALE))
    return next(s for s in (8, 4, 2, 1) if scale >= s)


def _fast_check(data: bytes, spec: PhotoSpec) -> list[PhotoProblem] | None:
    """The dimension and background problems of a plain JPEG read whole, or None when the
    Pillow path must decide (an unusual header, or a file that did not decode)."""
    dims = _plain_header(data)
    if dims is None:
        return None
    width, height = dims
    scale = _draft_scale(width, height)
    small = ((width + scale - 1) // scale, (height + scale - 1) // scale)
    grey = Image.new("L", small)
    # What `ImageFile.load` does for the drafted tile: ("L", "") raw mode and JPEG colour
    # space, (scale, 0) from `draft`; one call with the whole file instead of 64 KB pieces.
    decoder = Image._getdecoder("L", "jpeg", ("L", ""), (scale, 0))
    try:
        decoder.setimage(grey.im, (0, 0, *small))
        consumed, error = decoder.decode(data)
    finally:
        decoder.cleanup()
    if consumed >= 0 or error < 0:
        return None  # wants more data (truncated) or failed: Pillow says which
    return [*_dimension_problem(width, height, spec), *_background(np.asarray(grey), spec)]


def _not_jpeg(data: bytes) -> PhotoProblem:
    kind = "文件为空"
    if data:
        try:
            with Image.open(io.BytesIO(data)) as other:
                kind = f"实际为 {other.format} 格式"
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            kind = "无法识别为图片"
    return PhotoProblem(PhotoProblemCode.NOT_JPEG, f"照片不是 JPEG 格式（{kind}）")


def _background(grey: np.ndarray, spec: PhotoSpec) -> list[PhotoProblem]:
    """Mean and spread of the brightness of the two top corners of a grey image (an array
    of rows)."""
    h, w = grey.shape[:2]
    ch = max(1, round(h * spec.corner_height))
    cw = max(1, round(w * spec.corner_width))
    top = grey[:ch]
    sample = np.concatenate((top[:, :cw], top[:, w - cw :]), axis=None).astype(np.int64)
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


# ---- ZIP archives -------------------------------------------------------------------------------


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


_LOCAL_HEADER: Final[bytes] = b"PK\x03\x04"
_LOCAL_HEADER_SIZE: Final[int] = 30
_PREAD: Final[bool] = hasattr(os, "pread")  # not on Windows: zipfile reads there
_UNREADABLE: Final[PhotoVerdict] = PhotoVerdict(
    (PhotoProblem(PhotoProblemCode.UNDECODABLE, "照片在压缩包中已损坏，无法读取"),)
)


class _Archive:
    """A ZIP opened once for many readers: a stored or deflated member is read with one
    positioned read (local header and data together, no shared file position, no zipfile
    objects per member) and checked against its CRC; anything else (encrypted, another
    compression, a damaged local header or CRC) is read by zipfile, which says what is
    wrong."""

    def __init__(self, path: str) -> None:
        self._zip = zipfile.ZipFile(path)
        self._fd = os.open(path, os.O_RDONLY)
        self._lock = threading.Lock()

    def close(self) -> None:
        os.close(self._fd)
        self._zip.close()

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def getinfo(self, name: str) -> zipfile.ZipInfo:
        return self._zip.getinfo(name)

    def read(self, info: zipfile.ZipInfo) -> bytes:
        data = self._direct(info)
        if data is not None:
            return data
        with self._lock:  # zipfile's file handle is shared
            return self._zip.read(info)

    def head(self, info: zipfile.ZipInfo, size: int) -> bytes:
        with self._lock, self._zip.open(info) as fh:
            return fh.read(size)

    def _direct(self, info: zipfile.ZipInfo) -> bytes | None:
        if (
            not _PREAD
            or info.flag_bits & 0x1
            or info.compress_type
            not in (
                zipfile.ZIP_STORED,
                zipfile.ZIP_DEFLATED,
            )
        ):
            return None
        # The local header's name and extra field are usually those of the directory.
        want = _LOCAL_HEADER_SIZE + len(info.orig_filename.encode()) + 64 + info.compress_size
        block = os.pread(self._fd, want, info.header_offset)
        if not block.startswith(_LOCAL_HEADER) or len(block) < _LOCAL_HEADER_SIZE:
            return None
        start = _LOCAL_HEADER_SIZE + int.from_bytes(block[26:28], "little")
        start += int.from_bytes(block[28:30], "little")
        end = start + info.compress_size
        if end > len(block):
            block = os.pread(self._fd, end, info.header_offset)
            if end > len(block):
                return None
        raw = block[start:end]
        if info.compress_type == zipfile.ZIP_DEFLATED:
            try:
                # Never more than the declared size: a member that inflates past it (a
                # small entry that expands to gigabytes) stops here and fails the check.
                raw = zlib.decompressobj(-15).decompress(raw, info.file_size + 1)
            except zlib.error:
                return None
        if len(raw) != info.file_size or zlib.crc32(raw) != info.CRC:
            return None
        return raw


def _check_entries(archive: _Archive, names: Sequence[str], spec: PhotoSpec) -> list[PhotoVerdict]:
    out: list[PhotoVerdict] = []
    for name in names:
        try:
            info = archive.getinfo(name)
            if info.file_size > _READ_LIMIT:
                head = archive.head(info, 64 * 1024)
                out.append(check_photo_bytes(head, spec, size=info.file_size))
            else:
                out.append(check_photo_bytes(archive.read(info), spec))
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            EOFError,
            NotImplementedError,
            RuntimeError,
        ):
            # RuntimeError: an encrypted entry; zlib.error: a corrupt deflate stream, which
            # zipfile lets through.
            out.append(_UNREADABLE)
    return out


# Each worker process opens the archive once: reading the central directory of a ZIP with
# 100,000 entries takes a second or more, far too long to repeat per chunk.
_worker_archive: _Archive | None = None


def _open_worker_archive(path: str) -> None:
    global _worker_archive  # one archive per worker process, by design
    _worker_archive = _Archive(path)


def _check_chunk(names: Sequence[str], spec: PhotoSpec) -> list[PhotoVerdict]:
    if _worker_archive is None:
        raise RuntimeError("worker archive not opened")
    return _check_entries(_worker_archive, names, spec)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _chunk_size(count: int, workers: int) -> int:
    return max(_CHUNK_MIN, min(_CHUNK_MAX, -(-count // (workers * _TASKS_PER_WORKER))))


def check_zip_photos(
    zip_path: str | os.PathLike[str],
    names: Sequence[str],
    spec: PhotoSpec,
    *,
    workers: int | None = None,
    executor: PoolKind | None = None,
) -> dict[str, PhotoVerdict]:
    """Check the named entries of a ZIP with `workers` workers (default: the CPUs this
    process may use), in this thread when there are few photos or `workers` is 1. The
    workers are threads up to `_PROCESS_THRESHOLD` photos (nothing to start) and processes
    above it (they scale better), unless `executor` says which (`bench/bench_photos.py`)."""
    path = os.fspath(zip_path)
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if workers <= 1 or len(names) < _POOL_THRESHOLD:
        with _Archive(path) as archive:
            return dict(zip(names, _check_entries(archive, names, spec), strict=True))
    if executor is None:
        executor = "thread" if len(names) < _PROCESS_THRESHOLD else "process"
    chunks = list(_chunks(names, _chunk_size(len(names), workers)))
    results: dict[str, PhotoVerdict] = {}
    if executor == "thread":
        with (
            _Archive(path) as archive,
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photos") as pool,
        ):
            verdicts = pool.map(
                _check_entries, [archive] * len(chunks), chunks, [spec] * len(chunks)
            )
            for chunk, chunk_verdicts in zip(chunks, verdicts, strict=True):
                results.update(zip(chunk, chunk_verdicts, strict=True))
        return results
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
