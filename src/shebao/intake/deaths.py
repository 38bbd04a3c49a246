"""A civil-affairs death file reaches the registry when it is imported.

`import_run` calls `deaths_record_from_batch` for a batch of kind 死亡人员, in the
transaction that records the batch as imported: each row whose ID number and name both
match a registered person exactly records the death (`registry.services.
persons_record_deaths`, with the batch as its source), which cancels the person's cards.
Rows that match less than exactly are left to the comparison's findings, for a clerk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.intake.formats.kinds import SourceKind
from shebao.intake.models import ImportBatch
from shebao.registry.services import DeathRecord, DeathsOutcome, persons_record_deaths

__all__ = ["batch_source", "deaths_record_from_batch"]


def batch_source(batch: ImportBatch) -> str:
    """The source written on each PersonChange a batch makes (`intake:<batch id>`)."""
    return f"intake:{batch.pk}"


def deaths_record_from_batch(*, batch: ImportBatch, snapshot: Path) -> dict[str, Any]:
    """Record the exact ID-and-name deaths of a death batch's standardised rows; returns the
    counts (for the job's result and the audit row)."""
    if batch.kind != SourceKind.DEATH:
        return {}
    table = pq.read_table(snapshot, columns=["row", "id_number", "name", "death_date"])
    records = [
        DeathRecord(id_number=r["id_number"], name=r["name"], died_on=r["death_date"], row=r["row"])
        for r in table.to_pylist()
        if r["id_number"] and r["name"] and r["death_date"] is not None
    ]
    outcome: DeathsOutcome = persons_record_deaths(
        actor=batch.created_by,
        records=records,
        source=batch_source(batch),
        source_label=f"民政死亡数据（导入批次#{batch.pk} {batch.file_name}）",
    )
    counts = outcome.as_dict()
    audit_record(
        actor=batch.created_by,
        action=AuditAction.UPDATE,
        target_type="import_batch",
        target_id=batch.pk,
        detail={"deaths_recorded": counts},
    )
    return counts
