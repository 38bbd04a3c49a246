"""Rejected rows of a batch for download: CSV (UTF-8 with BOM, for Excel) or XLSX."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Final

import pyarrow.parquet as pq
from openpyxl import Workbook

from shebao.identity.spreadsheet import safe_csv_writer, xlsx_append
from shebao.intake.models import ImportBatch
from shebao.intake.storage import intake_path

__all__ = ["REJECTED_HEADER", "rejected_csv_lines", "rejected_preview", "rejected_xlsx"]

REJECTED_HEADER: Final[tuple[str, ...]] = ("文件", "行号", "列", "错误代码", "原因")
_COLUMNS: Final[list[str]] = ["source", "row", "column", "code", "reason"]


def _rows(batch: ImportBatch, limit: int | None = None) -> Iterator[list[object]]:
    if not batch.rejected_path:
        return
    path = intake_path(batch.rejected_path)
    if not path.exists():
        return
    parquet = pq.ParquetFile(path)
    seen = 0
    for record_batch in parquet.iter_batches(batch_size=65_536, columns=_COLUMNS):
        columns = [record_batch.column(i).to_pylist() for i in range(record_batch.num_columns)]
        for row in zip(*columns, strict=True):
            if limit is not None and seen >= limit:
                return
            seen += 1
            yield list(row)


def rejected_preview(batch: ImportBatch, limit: int = 50) -> list[list[object]]:
    return list(_rows(batch, limit))


class _Echo:
    def write(self, value: str) -> str:
        return value


def rejected_csv_lines(batch: ImportBatch) -> Iterator[str]:
    writer = safe_csv_writer(_Echo())
    yield "\ufeff" + writer.writerow(REJECTED_HEADER)
    for row in _rows(batch):
        yield writer.writerow(row)


def rejected_xlsx(batch: ImportBatch) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("拒收行")
    sheet.append(list(REJECTED_HEADER))
    for row in _rows(batch):
        xlsx_append(sheet, row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
