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


class ImportMode(models.TextChoices):
    """What a file holds: the department's whole data of its kind, or the rows changed since
    (applied on top of the current data of the kind, see `formats.increments`)."""

    SNAPSHOT = "snapshot", "全量"
    INCREMENT = "increment", "增量"


# A full snapshot with fewer rows than this share of the current data of its kind is refused
# unless the importer confirms it (a partial or empty file would replace the whole source).
SNAPSHOT_SHRINK_LIMIT: Final[float] = 0.5

IMPORT_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    ImportStatus.QUEUED: frozenset({ImportStatus.RUNNING, ImportStatus.FAILED}),
    ImportStatus.RUNNING: frozenset({ImportStatus.IMPORTED, ImportStatus.FAILED}),
    ImportStatus.IMPORTED: frozenset(),
    ImportStatus.FAILED: frozenset(),
}

SOURCE_KIND_CHOICES: Final[list[tuple[str, str]]] = [(k.value, k.label) for k in SourceKind]
