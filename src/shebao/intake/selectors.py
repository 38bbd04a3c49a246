"""Reads of import batches, scoped by the region of the organisation that imported them."""

from __future__ import annotations

from django.db.models import QuerySet

from shebao.accounts.models import User
from shebao.accounts.scoping import Scope
from shebao.errors import NotFound
from shebao.intake.choices import ImportStatus
from shebao.intake.formats.kinds import SourceKind
from shebao.intake.models import ImportBatch

__all__ = ["import_batch_visible", "import_batches_latest", "import_batches_visible"]


def import_batches_visible(*, actor: User) -> QuerySet[ImportBatch]:
    queryset = ImportBatch.objects.select_related("created_by", "region", "job")
    return Scope.for_user(actor).filter(queryset, region_fields=("region__code",))


def import_batch_visible(*, actor: User, batch_id: int) -> ImportBatch:
    batch = import_batches_visible(actor=actor).filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("未找到该导入批次", code="IMPORT_BATCH_NOT_FOUND")
    return batch


def import_batches_latest(*, kinds: list[SourceKind] | None = None) -> list[ImportBatch]:
    """The latest imported batch of each kind (of `kinds`, default every kind), by kind order."""
    wanted = kinds or list(SourceKind)
    out: list[ImportBatch] = []
    for kind in wanted:
        batch = (
            ImportBatch.objects.filter(kind=kind, status=ImportStatus.IMPORTED)
            .order_by("-finished_at", "-id")
            .first()
        )
        if batch is not None:
            out.append(batch)
    return out
