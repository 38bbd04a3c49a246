"""Reads of import batches, scoped by the region of the organisation that imported them."""

from __future__ import annotations

from django.db.models import QuerySet

from shebao.accounts.models import User
from shebao.accounts.scoping import Scope
from shebao.errors import NotFound
from shebao.intake.choices import ImportStatus
from shebao.intake.formats.kinds import SourceKind
from shebao.intake.models import ImportBatch

__all__ = [
    "import_batch_chain",
    "import_batch_visible",
    "import_batches_current",
    "import_batches_visible",
]


def import_batches_visible(*, actor: User) -> QuerySet[ImportBatch]:
    queryset = ImportBatch.objects.select_related("created_by", "region", "job")
    return Scope.for_user(actor).filter(queryset, region_fields=("region__code",))


def import_batch_visible(*, actor: User, batch_id: int) -> ImportBatch:
    batch = import_batches_visible(actor=actor).filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("未找到该导入批次", code="IMPORT_BATCH_NOT_FOUND")
    return batch


def import_batches_current(*, kinds: list[SourceKind] | None = None) -> list[ImportBatch]:
    """The current batch of each kind (of `kinds`, default every kind) that has one, by kind
    order: the data a comparison uses (an increment with the batches it applies on, see
    `import_batch_chain`)."""
    wanted = [k.value for k in (kinds or list(SourceKind))]
    found = {
        b.kind: b
        for b in ImportBatch.objects.filter(
            kind__in=wanted, is_current=True, status=ImportStatus.IMPORTED
        ).select_related("created_by", "region")
    }
    return [found[k] for k in wanted if k in found]


def import_batch_chain(batch: ImportBatch) -> list[ImportBatch]:
    """The batches whose rows make up the data of `batch`'s kind when `batch` is current:
    its full snapshot first, then the increments applied on it, up to `batch`."""
    chain = [batch]
    seen = {batch.pk}
    while chain[0].base_id is not None and chain[0].base_id not in seen:
        base = ImportBatch.objects.get(pk=chain[0].base_id)
        seen.add(base.pk)
        chain.insert(0, base)
    return chain
