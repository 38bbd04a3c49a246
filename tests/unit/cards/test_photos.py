"""The card photo check on the image itself."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from shebao.cards.domain.photos import (
    PhotoProblemCode,
    PhotoSpec,
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
