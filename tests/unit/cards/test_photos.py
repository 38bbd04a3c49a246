"""The card photo check on the image itself."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from shebao.cards.domain import photos
from shebao.cards.domain.photos import (
    PhotoProblemCode,
    PhotoSpec,
    _kb,
    check_photo_bytes,
    check_zip_photos,
    photo_index,
)
from tests.unit.cards.samples import photo

pytestmark = pytest.mark.unit

SPEC = PhotoSpec()


def codes(data: bytes, spec: PhotoSpec = SPEC) -> list[PhotoProblemCode]:
    return [p.code for p in check_photo_bytes(data, spec).problems]


def test_a_standard_photo_passes() -> None:
    data = photo()
    assert len(data) <= SPEC.max_bytes
    verdict = check_photo_bytes(data, SPEC)
    assert verdict.ok
    assert verdict.message == ""


def test_grey_photos_are_checked_as_well() -> None:
    assert codes(photo(mode="L")) == []


@pytest.mark.parametrize(("width", "height"), [(356, 439), (360, 443), (358, 441)])
def test_dimensions_within_the_tolerance_pass(width: int, height: int) -> None:
    assert codes(photo(width, height)) == []


@pytest.mark.parametrize(("width", "height"), [(355, 441), (358, 444), (480, 640)])
def test_dimensions_outside_the_tolerance_fail_with_numbers(width: int, height: int) -> None:
    verdict = check_photo_bytes(photo(width, height, noise=2, quality=60), SPEC)
    assert [p.code for p in verdict.problems] == [PhotoProblemCode.BAD_DIMENSIONS]
    assert f"{width}×{height}" in verdict.message
    assert "358×441" in verdict.message


def test_tolerance_is_configurable() -> None:
    assert codes(photo(350, 441), PhotoSpec(tolerance_px=10)) == []
    assert codes(photo(), PhotoSpec(width=300, height=400, tolerance_px=0)) == [
        PhotoProblemCode.BAD_DIMENSIONS
    ]


def test_a_file_over_the_size_limit_fails_and_says_how_big() -> None:
    data = photo(noise=40, quality=95)
    assert len(data) > SPEC.max_bytes
    verdict = check_photo_bytes(data, SPEC)
    assert [p.code for p in verdict.problems] == [PhotoProblemCode.TOO_LARGE]
    assert "超过 20.0 KB" in verdict.message
    assert codes(data, PhotoSpec(max_bytes=len(data))) == []


def test_a_dark_background_fails() -> None:
    verdict = check_photo_bytes(photo(background=110), SPEC)
    assert [p.code for p in verdict.problems] == [PhotoProblemCode.BACKGROUND_DARK]
    assert "背景不够浅" in verdict.message


def test_something_in_the_corner_is_not_a_plain_background() -> None:
    verdict = check_photo_bytes(photo(corner_object=True), SPEC)
    assert PhotoProblemCode.BACKGROUND_NOT_PLAIN in [p.code for p in verdict.problems]
    assert "背景不是纯色" in verdict.message


def test_background_thresholds_are_configurable() -> None:
    lenient = PhotoSpec(background_min_mean=80, background_max_std=255)
    assert codes(photo(background=110), lenient) == []
    assert codes(photo(corner_object=True), lenient) == []


@pytest.mark.parametrize(("fmt", "named"), [("PNG", "PNG"), ("BMP", "BMP"), ("GIF", "GIF")])
def test_other_image_formats_are_not_jpeg(fmt: str, named: str) -> None:
    verdict = check_photo_bytes(photo(fmt=fmt, mode="RGB" if fmt != "GIF" else "P"), SPEC)
    assert [p.code for p in verdict.problems][-1] is PhotoProblemCode.NOT_JPEG
    assert f"实际为 {named} 格式" in verdict.message


@pytest.mark.parametrize(
    ("data", "says"),
    [(b"", "文件为空"), (b"hello, not an image", "无法识别为图片")],
)
def test_non_images_are_not_jpeg(data: bytes, says: str) -> None:
    verdict = check_photo_bytes(data, SPEC)
    assert [p.code for p in verdict.problems] == [PhotoProblemCode.NOT_JPEG]
    assert says in verdict.message


def test_a_truncated_jpeg_is_not_decodable() -> None:
    data = photo()
    verdict = check_photo_bytes(data[: len(data) // 2], SPEC)
    assert [p.code for p in verdict.problems] == [PhotoProblemCode.UNDECODABLE]
    assert "无法解码" in verdict.message


def test_a_jpeg_with_a_broken_header_is_not_decodable() -> None:
    data = photo()
    verdict = check_photo_bytes(data[:3] + b"\x00" * 200 + data[203:], SPEC)
    assert [p.code for p in verdict.problems] == [PhotoProblemCode.UNDECODABLE]


def test_several_problems_are_all_reported() -> None:
    data = photo(480, 640, background=100, noise=40, quality=95)
    assert codes(data) == [
        PhotoProblemCode.TOO_LARGE,
        PhotoProblemCode.BAD_DIMENSIONS,
        PhotoProblemCode.BACKGROUND_DARK,
    ]


def test_spec_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="正数"):
        PhotoSpec(width=0)
    with pytest.raises(ValueError, match="比例"):
        PhotoSpec(corner_width=0.9)


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_photo_index_names_files_by_stem(tmp_path: Path) -> None:
    good = photo()
    archive = _zip(
        tmp_path / "p.zip",
        {
            "photos/44011319900101001x.JPG": good,
            "GZ001.png": good,
            "GZ001.jpeg": good,
            "readme.txt": b"x",
            "__MACOSX/photos/._44011319900101001x.JPG": b"x",
            "folder/": b"",
        },
    )
    index = photo_index(archive).by_stem
    assert index == {
        "44011319900101001X": "photos/44011319900101001x.JPG",
        "GZ001": "GZ001.jpeg",  # a JPEG wins over another image of the same name
    }


def test_zip_photos_are_checked_in_process_and_in_workers_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = {f"{i:04d}.jpg": photo(seed=i) if i % 7 else photo(background=100) for i in range(40)}
    entries["0099.jpg"] = photo()[:500]
    archive = _zip(tmp_path / "p.zip", entries)
    names = sorted(entries)
    here = check_zip_photos(archive, names, SPEC, workers=1)
    assert sorted(here) == names
    assert [n for n in names if not here[n].ok] == [
        *(f"{i:04d}.jpg" for i in range(0, 40, 7)),
        "0099.jpg",
    ]
    # Force the worker pool on a small archive.
    monkeypatch.setattr("shebao.cards.domain.photos._POOL_THRESHOLD", 0)
    assert check_zip_photos(archive, names, SPEC, workers=2) == here


# ---- the fast path and the Pillow path agree ------------------------------------------------


def _variants() -> dict[str, bytes]:
    """Photos of every kind a unit may send, plainly written or with the segments that send
    them down the Pillow path, whole and broken."""
    base = Image.open(io.BytesIO(photo()))
    base.load()

    def save(image: Image.Image = base, **options: object) -> bytes:
        out = io.BytesIO()
        image.save(out, "JPEG", **({"quality": 75} | options))
        return out.getvalue()

    exif = Image.Exif()
    exif[0x0131] = "相机"  # Software
    good = photo()
    out = {
        "plain": good,
        "grey": photo(mode="L"),
        "progressive": save(progressive=True),
        "optimized": save(optimize=True),
        "subsampling 4:4:4": save(subsampling=0),
        "subsampling 4:2:2": save(subsampling=1),
        "restart markers": save(restart_marker_blocks=4),
        "comment": save(comment=b"row 17"),
        "exif": save(exif=exif),
        "exif with dpi": save(exif=exif, dpi=(300, 300)),
        "icc profile": save(icc_profile=b"\0" * 128),
        "cmyk": save(base.convert("CMYK")),
        "tiny": photo(7, 5),
        "small": photo(30, 20),
        "odd size": photo(359, 437),
        "dark": photo(background=110),
        "busy corner": photo(corner_object=True),
        "large": photo(noise=40, quality=95),
        "big and wrong": photo(480, 640, background=100, noise=40, quality=95),
        "broken header": good[:3] + b"\x00" * 200 + good[203:],
        "no scan": good[: good.index(b"\xff\xda")],
        "junk after the image": good + b"\x00junk",
        "bit flips in the scan": good[:3000]
        + bytes(b ^ 0x5A for b in good[3000:3100])
        + good[3100:],
    }
    for cut in (0.1, 0.5, 0.9, 0.999):
        out[f"truncated at {cut:.1%}"] = good[: int(len(good) * cut)]
    progressive = out["progressive"]
    out["progressive truncated"] = progressive[: len(progressive) * 2 // 3]
    return out


VARIANTS = _variants()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_fast_path_gives_the_pillow_verdict(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = VARIANTS[name]
    fast = check_photo_bytes(data, SPEC)
    monkeypatch.setattr(photos, "_fast_check", lambda data, spec: None)
    assert check_photo_bytes(data, SPEC) == fast


def test_plain_photos_take_the_fast_path_and_the_rest_do_not() -> None:
    assert photos._plain_header(VARIANTS["plain"]) == (358, 441)
    assert photos._plain_header(VARIANTS["progressive"]) == (358, 441)
    assert photos._plain_header(VARIANTS["grey"]) == (358, 441)
    assert photos._plain_header(VARIANTS["restart markers"]) == (358, 441)
    for name in ("exif", "icc profile", "cmyk", "broken header", "no scan"):
        assert photos._plain_header(VARIANTS[name]) is None, name


def test_a_truncated_photo_fails_on_the_fast_path_too() -> None:
    data = VARIANTS["plain"]
    assert photos._fast_check(data, SPEC) == []
    assert photos._fast_check(data[:-2], SPEC) is None  # no EOI: libjpeg wants more
    assert [p.code for p in check_photo_bytes(data[:-2], SPEC).problems] == [
        PhotoProblemCode.UNDECODABLE
    ]


def test_zip_members_stored_or_deflated_are_read_alike(tmp_path: Path) -> None:
    entries = {f"{i:04d}.jpg": VARIANTS[name] for i, name in enumerate(sorted(VARIANTS))}
    verdicts = {}
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2):
        path = tmp_path / f"{compression}.zip"
        with zipfile.ZipFile(path, "w", compression=compression) as archive:
            for name, data in entries.items():
                archive.writestr(name, data)
        verdicts[compression] = check_zip_photos(path, sorted(entries), SPEC, workers=1)
    assert verdicts[zipfile.ZIP_STORED] == verdicts[zipfile.ZIP_DEFLATED]
    assert verdicts[zipfile.ZIP_STORED] == verdicts[zipfile.ZIP_BZIP2]
    assert verdicts[zipfile.ZIP_STORED] == {
        name: check_photo_bytes(data, SPEC) for name, data in entries.items()
    }


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_damaged_zip_member_is_reported_not_checked(tmp_path: Path, compression: int) -> None:
    path = tmp_path / "p.zip"
    good = photo()
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("a.jpg", good)
        archive.writestr("b.jpg", good)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("a.jpg")
    # A byte in the middle of a.jpg's data: the CRC (or the deflate stream) no longer agrees.
    raw[info.header_offset + 30 + len("a.jpg") + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    verdicts = check_zip_photos(path, ["a.jpg", "b.jpg"], SPEC, workers=1)
    assert verdicts["b.jpg"].ok
    assert [p.code for p in verdicts["a.jpg"].problems] == [PhotoProblemCode.UNDECODABLE]
    assert "压缩包中已损坏" in verdicts["a.jpg"].message


def test_an_oversized_zip_member_is_not_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photos, "_READ_LIMIT", 10_000)
    data = photo(noise=40, quality=95)
    archive = _zip(tmp_path / "p.zip", {"big.jpg": data})
    verdict = check_zip_photos(archive, ["big.jpg"], SPEC, workers=1)["big.jpg"]
    assert [p.code for p in verdict.problems] == [PhotoProblemCode.TOO_LARGE]
    assert _kb(len(data)) in verdict.message


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_both_pools_give_the_in_process_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, executor: photos.PoolKind
) -> None:
    entries = {f"{i:04d}.jpg": data for i, data in enumerate(VARIANTS.values())}
    archive = _zip(tmp_path / "p.zip", entries)
    names = sorted(entries)
    here = check_zip_photos(archive, names, SPEC, workers=1)
    monkeypatch.setattr(photos, "_POOL_THRESHOLD", 0)
    monkeypatch.setattr(photos, "_CHUNK_MIN", 3)
    assert check_zip_photos(archive, names, SPEC, workers=2, executor=executor) == here
