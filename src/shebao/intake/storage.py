"""Where the intake keeps files: under the data directory's `intake/` (SHEBAO_DATA_DIR).

Paths are stored relative to that root, so a data directory can be moved whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings

__all__ = ["file_sha256", "intake_path", "intake_root", "relative"]

_CHUNK = 1 << 20


def intake_root() -> Path:
    return Path(settings.DATA_DIR) / "intake"


def intake_path(relative_path: str) -> Path:
    return intake_root() / relative_path


def relative(path: Path) -> str:
    return path.relative_to(intake_root()).as_posix()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
