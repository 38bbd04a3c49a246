"""An unreadable upload is refused in Chinese, naming the file, without the library's English
("File is not a zip file", "invalid Zip archive")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shebao.cards.domain.filecheck import ZipPhotos
from shebao.cards.domain.photos import PhotoSpec
from shebao.cards.domain.tables import ColumnSpec, TableError, read_table

pytestmark = pytest.mark.unit

SPECS = [ColumnSpec("id_number", "公民身份号码"), ColumnSpec("name", "姓名")]
ENGLISH = re.compile(r"[A-Za-z]{4,}")


def _english_words(message: str, file_name: str) -> list[str]:
    for allowed in (file_name, "Excel", "ZIP", ".xlsx", "UTF-8", "CSV"):
        message = message.replace(allowed, "")
    return ENGLISH.findall(message)


def test_a_text_file_named_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "集体申领.xlsx"
    path.write_text("公民身份号码,姓名\n", encoding="utf-8")
    with pytest.raises(TableError) as caught:
        read_table(path, SPECS, what="申领文件")
    message = caught.value.message
    assert caught.value.code == "UNREADABLE_FILE"
    assert "集体申领.xlsx" in message and "另存为 .xlsx" in message
    assert _english_words(message, path.name) == [], message


def test_a_photo_archive_that_is_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "照片.zip"
    path.write_bytes(b"Rar!\x1a\x07\x00 not a zip at all")
    with pytest.raises(TableError) as caught:
        ZipPhotos.open(path, PhotoSpec())
    message = caught.value.message
    assert "照片.zip" in message and "不是有效的 ZIP 压缩包" in message
    assert _english_words(message, path.name) == [], message
