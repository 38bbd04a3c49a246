"""Spreadsheet downloads of the cards pages: sheets written by the one XLSX writer of the app
(`cards.domain.xlsx`: cells are inline strings, never formulas) and sent as an attachment
with a UTF-8 file name."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final
from urllib.parse import quote

from django.http import HttpResponse

from shebao.cards.domain.xlsx import Sheet, write_xlsx

__all__ = ["XLSX_CONTENT_TYPE", "xlsx_attachment"]

XLSX_CONTENT_TYPE: Final[str] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_attachment(sheets: Sequence[Sheet], filename: str) -> HttpResponse:
    with tempfile.TemporaryDirectory(prefix="shebao-xlsx-") as tmp:
        path = Path(tmp) / "out.xlsx"
        write_xlsx(path, sheets)
        content = path.read_bytes()
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
