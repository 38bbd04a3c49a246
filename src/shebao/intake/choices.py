"""An import batch's statuses and the transitions between them."""

from __future__ import annotations

from typing import Final

from django.db import models

from shebao.intake.formats.kinds import SourceKind


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "导入中"
    IMPORTED = "imported", "已导入"
    FAILED = "failed", "导入失败"


IMPORT_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    ImportStatus.QUEUED: frozenset({ImportStatus.RUNNING, ImportStatus.FAILED}),
    ImportStatus.RUNNING: frozenset({ImportStatus.IMPORTED, ImportStatus.FAILED}),
    ImportStatus.IMPORTED: frozenset(),
    ImportStatus.FAILED: frozenset(),
}

SOURCE_KIND_CHOICES: Final[list[tuple[str, str]]] = [(k.value, k.label) for k in SourceKind]
